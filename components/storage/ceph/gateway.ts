import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { isIP } from "net";

export interface RgwGatewayArgs {
    /** Namespace of the Service (no default). */
    readonly namespace: pulumi.Input<string>;
    /** The same namespace as a plain string, for the in-cluster URL (no default). */
    readonly namespaceName: string;
    /** Service name, fixed because the registry's config names it (no default). */
    readonly serviceName: string;
    /** Gateway IP addresses, one address family (no default). */
    readonly addresses: readonly string[];
    /** Gateway port (no default). */
    readonly port: number;
    /** Gateways speak HTTPS. Default false. */
    readonly tls?: boolean;
    /** Labels of both objects (no default). */
    readonly labels: Record<string, string>;
}

/** `http(s)://<service>.<namespace>.svc:<port>`: how pods reach the gateways. */
export function gatewayUrl(serviceName: string, namespaceName: string, port: number, tls: boolean): string {
    return `${tls ? "https" : "http"}://${serviceName}.${namespaceName}.svc:${port}`;
}

/**
 * RGW gateways outside the cluster, reachable by one in-cluster name: a Service without a
 * selector and an EndpointSlice listing the gateway addresses. kube-proxy spreads connections
 * over them, so one gateway going down does not take the registry's storage with it (the
 * "HA radosgw" trick, without a load balancer in front of RGW).
 */
export class RgwGateway extends pulumi.ComponentResource {
    /** The URL the registry uses. */
    public readonly url: string;
    public readonly serviceName: pulumi.Output<string>;

    constructor(name: string, args: RgwGatewayArgs, opts?: pulumi.ComponentResourceOptions) {
        super("registry:ceph:RgwGateway", name, {}, opts);
        const tls = args.tls ?? false;
        const portName = tls ? "https" : "http";
        const service = new k8s.core.v1.Service(
            `${name}-rgw`,
            {
                metadata: {
                    name: args.serviceName,
                    namespace: args.namespace,
                    labels: args.labels,
                    // Nothing to wait for but the Service itself: its endpoints are the slice
                    // below, which is created after it.
                    annotations: { "pulumi.com/waitFor": "jsonpath={.spec.clusterIP}" },
                },
                // No selector: the endpoints come from the EndpointSlice below, not from pods.
                spec: { type: "ClusterIP", ports: [{ name: portName, port: args.port, targetPort: args.port, protocol: "TCP" }] },
            },
            { parent: this },
        );
        new k8s.discovery.v1.EndpointSlice(
            `${name}-rgw-endpoints`,
            {
                metadata: {
                    namespace: args.namespace,
                    labels: {
                        ...args.labels,
                        // Ties the slice to the Service; the other label keeps the endpointslice
                        // controller's hands off a slice it did not make.
                        "kubernetes.io/service-name": args.serviceName,
                        "endpointslice.kubernetes.io/managed-by": "registry.pulumi",
                    },
                },
                addressType: isIP(args.addresses[0] ?? "") === 6 ? "IPv6" : "IPv4",
                endpoints: args.addresses.map((a) => ({ addresses: [a], conditions: { ready: true } })),
                ports: [{ name: portName, port: args.port, protocol: "TCP" }],
            },
            { parent: this, dependsOn: [service] },
        );
        this.serviceName = service.metadata.name;
        this.url = gatewayUrl(args.serviceName, args.namespaceName, args.port, tls);
        this.registerOutputs({ serviceName: this.serviceName, url: this.url });
    }
}
