import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";

/**
 * ingress-nginx annotations a registry needs: no body size limit and no request buffering (or
 * pushes fail with 413 or stall), long timeouts for big layers, HTTPS to the registry pod.
 * Other controllers ignore them; their equivalents go in `ingressAnnotations`.
 */
export function ingressNginxAnnotations(args: { tls: "reencrypt" | "passthrough"; caSecret?: string; upstreamName: string }): Record<string, string> {
    const p = "nginx.ingress.kubernetes.io";
    const common = {
        [`${p}/backend-protocol`]: "HTTPS",
        [`${p}/proxy-body-size`]: "0",
        [`${p}/proxy-request-buffering`]: "off",
        [`${p}/proxy-buffering`]: "off",
        [`${p}/proxy-read-timeout`]: "900",
        [`${p}/proxy-send-timeout`]: "900",
    };
    if (args.tls === "passthrough") {
        // The controller forwards the TLS stream by SNI; the registry's own certificate answers.
        return { ...common, [`${p}/ssl-passthrough`]: "true" };
    }
    return {
        ...common,
        // Re-encrypt: verify the registry pod against the registry's CA, by its Service name.
        [`${p}/proxy-ssl-secret`]: args.caSecret ?? "",
        [`${p}/proxy-ssl-verify`]: "on",
        [`${p}/proxy-ssl-verify-depth`]: "2",
        [`${p}/proxy-ssl-name`]: args.upstreamName,
        [`${p}/proxy-ssl-server-name`]: "on",
    };
}

/**
 * How long `pulumi up` waits for the Ingress: until the controller publishes its address and the
 * registry Service has endpoints. Cloud L7 load balancers (GKE's) take longer to appear than the
 * provider's default 10 minutes. Controllers that never publish an address need the
 * `pulumi.com/skipAwait: "true"` annotation (through `ingressAnnotations`).
 */
export const INGRESS_AWAIT_SECONDS = 1200;

export interface RegistryIngressArgs {
    /** The registry's namespace (no default). */
    readonly namespace: pulumi.Input<string>;
    /** Namespace name as a plain string, for the annotation naming the CA Secret (no default). */
    readonly namespaceName: string;
    /** Host names to route; the registry's certificate covers them (no default). */
    readonly hostnames: readonly string[];
    /** The registry Service and port (no default). */
    readonly serviceName: string;
    readonly servicePort: number;
    /** The Service's in-cluster FQDN, a name in the registry's certificate (no default). */
    readonly upstreamName: string;
    /** IngressClass. Default "nginx". */
    readonly className?: string;
    /** reencrypt or passthrough. Default reencrypt. */
    readonly tls?: "reencrypt" | "passthrough";
    /** The registry's certificate, key (secret) and CA, for the Ingress's TLS Secret (no default). */
    readonly certificatePem: pulumi.Input<string>;
    readonly privateKeyPem: pulumi.Input<string>;
    readonly caCertificatePem: pulumi.Input<string>;
    /** Extra annotations, over the ingress-nginx ones. Default none. */
    readonly annotations?: Readonly<Record<string, string>>;
    /** Labels. Default none. */
    readonly labels?: Record<string, string>;
}

/** An Ingress for the registry's hostnames, for clusters that expose everything through one ingress. */
export class RegistryIngress extends pulumi.ComponentResource {
    /** The Ingress name. */
    public readonly ingressName: pulumi.Output<string>;

    constructor(name: string, args: RegistryIngressArgs, opts?: pulumi.ComponentResourceOptions) {
        super("registry:access:RegistryIngress", name, {}, opts);
        const mode = args.tls ?? "reencrypt";
        const meta = { namespace: args.namespace, labels: args.labels };
        let tlsSecretName: pulumi.Output<string> | undefined;
        if (mode === "reencrypt") {
            // The certificate the ingress presents (the registry's: it covers the hostnames) and
            // `ca.crt`, which ingress-nginx's proxy-ssl-secret reads to verify the registry.
            const secret = new k8s.core.v1.Secret(
                `${name}-ingress-tls`,
                {
                    metadata: meta,
                    type: "kubernetes.io/tls",
                    stringData: { "tls.crt": args.certificatePem, "tls.key": pulumi.secret(args.privateKeyPem), "ca.crt": args.caCertificatePem },
                },
                { parent: this },
            );
            tlsSecretName = secret.metadata.name;
        }
        const annotations = (tlsSecretName ?? pulumi.output("")).apply((s) => ({
            ...ingressNginxAnnotations({ tls: mode, caSecret: `${args.namespaceName}/${s}`, upstreamName: args.upstreamName }),
            ...args.annotations,
        }));
        const backend = { service: { name: args.serviceName, port: { number: args.servicePort } } };
        const ingress = new k8s.networking.v1.Ingress(
            `${name}-ingress`,
            {
                metadata: { ...meta, annotations },
                spec: {
                    ingressClassName: args.className ?? "nginx",
                    tls: tlsSecretName === undefined ? undefined : [{ hosts: [...args.hostnames], secretName: tlsSecretName }],
                    rules: args.hostnames.map((host) => ({ host, http: { paths: [{ path: "/", pathType: "Prefix", backend }] } })),
                },
            },
            { parent: this, customTimeouts: { create: `${INGRESS_AWAIT_SECONDS}s`, update: `${INGRESS_AWAIT_SECONDS}s` } },
        );
        this.ingressName = ingress.metadata.name;
        this.registerOutputs({ ingressName: this.ingressName });
    }
}
