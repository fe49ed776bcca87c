import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";

import type { RegistryLine } from "../registry/config";
import type { RedisCacheConfig } from "./config";
import { restrictedContainerSecurityContext } from "../cluster";

export const REDIS_PORT = 6379;

/** What the registry needs to use a Redis blob descriptor cache. */
export interface RegistryRedis {
    /** config.yml's `redis` section (no password). */
    readonly section: pulumi.Output<Record<string, unknown>>;
    /** REGISTRY_REDIS_PASSWORD as a `secretKeyRef` (none for a Redis without a password). */
    readonly env: k8s.types.input.core.v1.EnvVar[];
}

/**
 * config.yml's `redis` section for a distribution line: 3.x takes a go-redis universal client
 * (`addrs`), 2.8 a single `addr` with a redigo pool. Timeouts are short: the cache is an
 * optimisation, a slow Redis must not stall pulls for long.
 */
export function redisSection(line: RegistryLine, address: string): Record<string, unknown> {
    return line === 3
        ? { addrs: [address], db: 0, dialtimeout: "2s", readtimeout: "2s", writetimeout: "2s", poolsize: 64, maxidleconns: 16 }
        : { addr: address, db: 0, dialtimeout: "2s", readtimeout: "2s", writetimeout: "2s", pool: { maxidle: 16, maxactive: 64, idletimeout: "300s" } };
}

/**
 * redis.conf for the in-cluster cache. Redis's own line format (`directive value`), built from
 * pairs; the password is generated (letters and digits), so it needs no quoting.
 */
export function redisConf(password: string, maxMemory: string): string {
    const directives: [string, string][] = [
        ["port", String(REDIS_PORT)],
        ["bind", "0.0.0.0 -::*"],
        ["requirepass", password],
        // A cache: nothing to persist, so no disk writes and a read-only root works. The working
        // directory is the image's WORKDIR, /data (an emptyDir).
        ["save", '""'],
        ["appendonly", "no"],
        ["maxmemory", maxMemory],
        ["maxmemory-policy", "allkeys-lru"],
    ];
    return directives.map(([k, v]) => `${k} ${v}\n`).join("");
}

export interface RedisCacheArgs {
    /** Where the cache lives (no default). */
    readonly config: RedisCacheConfig;
    /** Namespace (no default). */
    readonly namespace: pulumi.Input<string>;
    /** Name of the registry; the in-cluster Redis is `<registryName>-redis` (no default). */
    readonly registryName: string;
    /** The registry's distribution line, which decides the config shape (no default). */
    readonly line: RegistryLine;
    /** Labels of the objects (no default). */
    readonly labels: Record<string, string>;
}

/**
 * The Redis blob descriptor cache all replicas share: an in-cluster Redis (Deployment, Service,
 * generated password in a Secret) or the password Secret of an external one.
 */
export class RedisCache extends pulumi.ComponentResource implements RegistryRedis {
    public readonly section: pulumi.Output<Record<string, unknown>>;
    public readonly env: k8s.types.input.core.v1.EnvVar[];
    /** host:port the registry connects to. */
    public readonly address: pulumi.Output<string>;

    constructor(name: string, args: RedisCacheArgs, opts?: pulumi.ComponentResourceOptions) {
        super("registry:operations:RedisCache", name, {}, opts);
        const cfg = args.config;
        const meta = { namespace: args.namespace, labels: args.labels };
        let passwordSecret: k8s.core.v1.Secret | undefined;
        if (cfg.inCluster) {
            const serviceName = `${args.registryName}-redis`;
            const selector = { "app.kubernetes.io/name": serviceName };
            const podLabels = { ...args.labels, ...selector, "app.kubernetes.io/component": "cache" };
            const password = new random.RandomPassword(`${name}-password`, { length: 40, special: false }, { parent: this });
            passwordSecret = new k8s.core.v1.Secret(
                `${name}-secret`,
                {
                    metadata: meta,
                    type: "Opaque",
                    stringData: {
                        password: pulumi.secret(password.result),
                        "redis.conf": pulumi.secret(password.result.apply((pw) => redisConf(pw, "200mb"))),
                    },
                },
                { parent: this },
            );
            const service = new k8s.core.v1.Service(
                `${name}-svc`,
                {
                    metadata: { ...meta, name: serviceName },
                    spec: { type: "ClusterIP", selector, ports: [{ name: "redis", port: REDIS_PORT, targetPort: "redis", protocol: "TCP" }] },
                },
                { parent: this },
            );
            new k8s.apps.v1.Deployment(
                `${name}-server`,
                {
                    metadata: { ...meta, name: serviceName },
                    spec: {
                        replicas: 1,
                        selector: { matchLabels: selector },
                        strategy: { type: "Recreate" },
                        template: {
                            metadata: { labels: podLabels },
                            spec: {
                                automountServiceAccountToken: false,
                                enableServiceLinks: false,
                                securityContext: {
                                    runAsNonRoot: true,
                                    runAsUser: 999,
                                    runAsGroup: 999,
                                    fsGroup: 999,
                                    seccompProfile: { type: "RuntimeDefault" },
                                },
                                containers: [
                                    {
                                        name: "redis",
                                        image: cfg.image,
                                        imagePullPolicy: "IfNotPresent",
                                        command: ["redis-server", "/etc/redis/redis.conf"],
                                        ports: [{ name: "redis", containerPort: REDIS_PORT, protocol: "TCP" }],
                                        readinessProbe: { tcpSocket: { port: "redis" }, periodSeconds: 5 },
                                        livenessProbe: { tcpSocket: { port: "redis" }, initialDelaySeconds: 10, periodSeconds: 20 },
                                        resources: { requests: { cpu: "50m", memory: "64Mi" }, limits: { memory: "256Mi" } },
                                        securityContext: restrictedContainerSecurityContext(),
                                        volumeMounts: [
                                            { name: "conf", mountPath: "/etc/redis", readOnly: true },
                                            { name: "data", mountPath: "/data" },
                                        ],
                                    },
                                ],
                                volumes: [
                                    {
                                        name: "conf",
                                        secret: {
                                            secretName: passwordSecret.metadata.name,
                                            items: [{ key: "redis.conf", path: "redis.conf" }],
                                            defaultMode: 0o440,
                                        },
                                    },
                                    { name: "data", emptyDir: { sizeLimit: "256Mi" } },
                                ],
                            },
                        },
                    },
                },
                { parent: this },
            );
            this.address = pulumi.interpolate`${service.metadata.name}.${service.metadata.namespace}.svc:${REDIS_PORT}`;
        } else {
            if (cfg.password !== undefined) {
                passwordSecret = new k8s.core.v1.Secret(
                    `${name}-secret`,
                    { metadata: meta, type: "Opaque", stringData: { password: pulumi.secret(cfg.password) } },
                    { parent: this },
                );
            }
            this.address = pulumi.output(cfg.address);
        }
        this.section = this.address.apply((addr) => redisSection(args.line, addr));
        this.env =
            passwordSecret === undefined
                ? []
                : [{ name: "REGISTRY_REDIS_PASSWORD", valueFrom: { secretKeyRef: { name: passwordSecret.metadata.name, key: "password" } } }];
        this.registerOutputs({ address: this.address });
    }
}
