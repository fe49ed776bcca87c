import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";

import type { ImageConfig, RegistryLine } from "../registry/config";
import type { ProxyConfig } from "./config";
import { Registry } from "../registry/registry";
import type { RegistryStorage } from "../storage/types";

/** Where the cache instance keeps blobs inside its container. */
export const MIRROR_DATA_DIR = "/var/lib/registry";

/** config.yml's `proxy` section (credentials come from env); 2.8 has no `ttl`. */
export function proxySection(cfg: Pick<ProxyConfig, "remoteUrl" | "ttl">, line: RegistryLine): Record<string, unknown> {
    return line === 3 ? { remoteurl: cfg.remoteUrl, ttl: cfg.ttl } : { remoteurl: cfg.remoteUrl };
}

export interface PullThroughCacheArgs {
    /** Upstream, credentials, TTL and cache size (no default). */
    readonly config: ProxyConfig;
    /** Name of the cache's Deployment, e.g. `<registryName>-mirror` (no default). */
    readonly registryName: string;
    /** Namespace (no default). */
    readonly namespace: pulumi.Input<string>;
    /** Labels and selector of the cache instance (no default). */
    readonly labels: Record<string, string>;
    readonly selector: Record<string, string>;
    /** The registry image (no default). */
    readonly image: ImageConfig;
    /** The gate's nginx image (no default). */
    readonly gateImage: string;
    /** Seconds the gate remembers a passed check. Default: the registry's default. */
    readonly gateAuthCacheSeconds?: number;
    /** Server certificate and key; the certificate must name the cache's Service (no default). */
    readonly tls: { readonly certificatePem: pulumi.Input<string>; readonly privateKeyPem: pulumi.Input<string> };
    /** The gate's htpasswd files, the registry's: every user may pull through it (no default). */
    readonly htpasswd: { readonly pull: pulumi.Input<string>; readonly push: pulumi.Input<string> };
    /** Its own http.secret (no default). */
    readonly httpSecret: pulumi.Input<string>;
    /** Basic auth realm. Default "registry". */
    readonly authRealm?: string;
    /** Logging. Default info, json, access log on. */
    readonly log?: { readonly level: string; readonly formatter: string; readonly accessLog: boolean };
}

/**
 * A second registry in pull-through cache mode (`proxy.remoteurl`), e.g. a Docker Hub mirror
 * beside the private registry. Same image, TLS and users as the registry; the upstream
 * credentials live in a Secret and reach it as `secretKeyRef`s. The cache is an emptyDir:
 * whatever it loses, it fetches again. Clients can only pull from it (distribution refuses
 * pushes to a proxy); its pods have the same gate as the registry's, so pull-only users pull
 * through it too.
 */
export class PullThroughCache extends pulumi.ComponentResource {
    /** The cache's Deployment name. */
    public readonly deploymentName: pulumi.Output<string>;

    constructor(name: string, args: PullThroughCacheArgs, opts?: pulumi.ComponentResourceOptions) {
        super("registry:operations:PullThroughCache", name, {}, opts);
        const cfg = args.config;
        const env: k8s.types.input.core.v1.EnvVar[] = [];
        if (cfg.username !== undefined && cfg.password !== undefined) {
            const creds = new k8s.core.v1.Secret(
                `${name}-upstream`,
                {
                    metadata: { namespace: args.namespace, labels: args.labels },
                    type: "Opaque",
                    stringData: { username: cfg.username, password: pulumi.secret(cfg.password) },
                },
                { parent: this },
            );
            env.push(
                { name: "REGISTRY_PROXY_USERNAME", valueFrom: { secretKeyRef: { name: creds.metadata.name, key: "username" } } },
                { name: "REGISTRY_PROXY_PASSWORD", valueFrom: { secretKeyRef: { name: creds.metadata.name, key: "password" } } },
            );
        }
        const storage: RegistryStorage = {
            driver: { filesystem: { rootdirectory: MIRROR_DATA_DIR } },
            redirectDisable: true,
            env: [],
            volumes: [{ name: "data", emptyDir: { sizeLimit: cfg.cacheSize } }],
            volumeMounts: [{ name: "data", mountPath: MIRROR_DATA_DIR }],
            shareable: false,
            supportedLines: [2, 3],
            serviceAccountAnnotations: {},
            dependsOn: [],
        };
        const registry = new Registry(
            name,
            {
                registryName: args.registryName,
                namespace: args.namespace,
                labels: args.labels,
                selector: args.selector,
                image: args.image,
                gateImage: args.gateImage,
                gateAuthCacheSeconds: args.gateAuthCacheSeconds,
                replicas: 1,
                storage,
                tls: args.tls,
                htpasswd: args.htpasswd,
                httpSecret: args.httpSecret,
                authRealm: args.authRealm,
                // The proxy's TTL scheduler removes expired blobs through the storage API.
                deleteEnabled: true,
                log: args.log,
                extraConfig: { proxy: proxySection(cfg, args.image.line) },
                extraEnv: env,
            },
            { parent: this },
        );
        this.deploymentName = registry.deploymentName;
        this.registerOutputs({ deploymentName: this.deploymentName });
    }
}
