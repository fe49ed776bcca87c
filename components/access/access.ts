import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";

import type { RegistryUser } from "../security/auth";
import type { AccessConfig } from "./config";
import { RegistryIngress } from "./ingress";
import { LocalhostProxy } from "./localhost-proxy";
import { MirrorJob } from "./mirror";
import { hostWithPort } from "../registry/endpoints";
import { NodeTrust } from "./node-trust";
import { PullSecrets } from "./pull-secrets";

/** What the access components need from the rest of the program. */
export interface AccessContext {
    /** registryName (no default). */
    readonly registryName: string;
    /** The registry's namespace, as an Output and as a plain name (no default). */
    readonly namespace: pulumi.Input<string>;
    readonly namespaceName: string;
    /** Labels of the registry's objects (no default). */
    readonly labels: Record<string, string>;
    /** Configured public host names (no default). */
    readonly hostnames: readonly string[];
    /** Every `host[:port]` the registry is reached by, `registryHost` first (no default). */
    readonly hosts: pulumi.Input<string[]>;
    /** The registry Service: name, port and in-cluster FQDN (no default). */
    readonly serviceName: string;
    readonly servicePort: number;
    readonly serviceFqdn: string;
    /** TLS material: the CA clients trust, and the server certificate and key (secret) (no default). */
    readonly caCertificatePem: pulumi.Input<string>;
    readonly certificatePem: pulumi.Input<string>;
    readonly privateKeyPem: pulumi.Input<string>;
    /** Every user with its role and password; the first (the primary push user) pushes mirrored images (no default). */
    readonly users: readonly RegistryUser[];
    /** The registry Deployment, which the mirroring Job waits for. Default none. */
    readonly registryDeployment?: pulumi.Resource;
}

/** What the access components give back. */
export interface RegistryAccess {
    /** `localhost:<port>` when the localhost proxy runs. */
    readonly localProxyHost?: string;
    /** The pull Secret's name in every `pullSecretNamespaces` entry, when there are any. */
    readonly pullSecretName?: string;
}

/**
 * The namespace of the node DaemonSets. hostPath and hostPort are refused by the "baseline" and
 * "restricted" Pod Security Standards that guard the registry's namespace, so the DaemonSets
 * live apart, in a namespace that holds nothing else, at the "privileged" level.
 */
export class NodeNamespace extends pulumi.ComponentResource {
    /** The namespace name, known once it exists. */
    public readonly name: pulumi.Output<string>;

    constructor(name: string, args: { readonly name: string; readonly labels?: Record<string, string> }, opts?: pulumi.ComponentResourceOptions) {
        super("registry:access:NodeNamespace", name, {}, opts);
        const ns = new k8s.core.v1.Namespace(
            `${name}-node-namespace`,
            { metadata: { name: args.name, labels: { ...args.labels, "pod-security.kubernetes.io/enforce": "privileged" } } },
            { parent: this },
        );
        this.name = ns.metadata.name;
        this.registerOutputs({ name: this.name });
    }
}

/**
 * Creates the ways in the config asks for: the `<namespace>-node` namespace with the node trust
 * and localhost proxy DaemonSets, pull Secrets, the Ingress, and the mirroring Job.
 */
export function createAccess(name: string, cfg: AccessConfig, ctx: AccessContext, opts?: pulumi.ComponentResourceOptions): RegistryAccess {
    const result: { localProxyHost?: string; pullSecretName?: string } = {};
    if (cfg.nodeTrust.enabled || cfg.localProxy.enabled) {
        const nodeNs = new NodeNamespace(name, { name: cfg.nodeNamespace, labels: ctx.labels }, opts);
        if (cfg.nodeTrust.enabled) {
            new NodeTrust(
                name,
                {
                    namespace: nodeNs.name,
                    hosts: ctx.hosts,
                    caCertificatePem: ctx.caCertificatePem,
                    owner: `${ctx.namespaceName}/${ctx.registryName}`,
                    image: cfg.nodeTrust.image,
                    instance: ctx.registryName,
                    tolerations: cfg.tolerations,
                },
                opts,
            );
        }
        if (cfg.localProxy.enabled) {
            const proxy = new LocalhostProxy(
                name,
                {
                    namespace: nodeNs.name,
                    upstreamFqdn: ctx.serviceFqdn,
                    upstreamPort: ctx.servicePort,
                    caCertificatePem: ctx.caCertificatePem,
                    hostPort: cfg.localProxy.port,
                    image: cfg.localProxy.image,
                    instance: ctx.registryName,
                    tolerations: cfg.tolerations,
                },
                opts,
            );
            result.localProxyHost = proxy.host;
        }
    }
    if (cfg.pullSecrets.namespaces.length > 0) {
        const user = pullUserOf(ctx.users, cfg);
        // Pods there may also name the registry `localhost:<port>` through the localhost proxy.
        const localHost = result.localProxyHost;
        const secrets = new PullSecrets(
            name,
            {
                namespaces: cfg.pullSecrets.namespaces,
                secretName: `${ctx.registryName}-pull`,
                hosts: pulumi.output(ctx.hosts).apply((hosts) => (localHost === undefined ? hosts : [...hosts, localHost])),
                username: user.name,
                password: user.password,
                patchDefaultServiceAccount: cfg.pullSecrets.patchDefaultServiceAccount,
                labels: ctx.labels,
            },
            opts,
        );
        result.pullSecretName = secrets.secretName;
    }
    if (cfg.ingress.enabled) {
        new RegistryIngress(
            name,
            {
                namespace: ctx.namespace,
                namespaceName: ctx.namespaceName,
                hostnames: ctx.hostnames,
                serviceName: ctx.serviceName,
                servicePort: ctx.servicePort,
                upstreamName: ctx.serviceFqdn,
                className: cfg.ingress.className,
                tls: cfg.ingress.tls,
                certificatePem: ctx.certificatePem,
                privateKeyPem: ctx.privateKeyPem,
                caCertificatePem: ctx.caCertificatePem,
                annotations: cfg.ingress.annotations,
                labels: ctx.labels,
            },
            opts,
        );
    }
    if (cfg.mirror.images.length > 0) {
        new MirrorJob(
            name,
            {
                namespace: ctx.namespace,
                images: cfg.mirror.images,
                destination: hostWithPort(ctx.serviceFqdn, ctx.servicePort),
                caCertificatePem: ctx.caCertificatePem,
                // The Job writes, so it needs a push user; it lives in the registry's namespace only.
                username: ctx.users[0].name,
                password: ctx.users[0].password,
                image: cfg.mirror.image,
                instance: ctx.registryName,
                dependsOn: ctx.registryDeployment === undefined ? [] : [ctx.registryDeployment],
            },
            opts,
        );
    }
    return result;
}

/** The users by role: push users as configured; pull-only users as configured, then `pullUser` when not listed. */
export function registryUsers(users: readonly string[], pullUsers: readonly string[], cfg: AccessConfig): { users: string[]; pullUsers: string[] } {
    return { users: [...users], pullUsers: [...pullUsers, ...cfg.extraPullUsers] };
}

/** `pullUser` among the users; it must be a pull-only one (config.ts refuses a push user). */
export function pullUserOf(users: readonly RegistryUser[], cfg: AccessConfig): RegistryUser {
    const user = users.find((u) => u.name === cfg.pullSecrets.user);
    if (user === undefined || user.role !== "pull") {
        throw new Error(`the pull user ${cfg.pullSecrets.user} is not a pull-only user`);
    }
    return user;
}
