// The operations area's keys: scheduling and autoscaling, the blob descriptor cache, garbage
// collection, the pull-through cache, metrics, and password and certificate rotation.
import type * as pulumi from "@pulumi/pulumi";

import type { ConfigKeySpec, Reader } from "../config/reader";
import { LABEL_VALUE, QUALIFIED_NAME, splitKeyValue } from "../config/validators";

export const OPERATIONS_KEYS = {
    podAntiAffinity: { type: "string", default: "soft", description: "Keep registry pods on different nodes: soft (preferred), hard (required) or none." },
    topologySpreadZones: {
        type: "boolean",
        default: true,
        description: "Spread registry pods evenly over zones (topology.kubernetes.io/zone), best effort, when there are several.",
    },
    autoscalingMaxReplicas: {
        type: "integer",
        default: 0,
        description: "Add a HorizontalPodAutoscaler from `replicas` up to this many pods. 0: no autoscaler.",
    },
    autoscalingCpuPercent: { type: "integer", default: 75, description: "Average CPU use, in percent of the request, the autoscaler aims for." },
    blobDescriptorCache: { type: "string", default: "inmemory", description: "Blob descriptor cache: inmemory (per pod) or redis (shared by all replicas)." },
    redisAddress: {
        type: "string",
        default: "",
        description: "host:port of an external Redis for the redis cache. Empty: the program runs a Redis in the namespace.",
    },
    redisPassword: {
        type: "string",
        default: "",
        secret: true,
        description: "Password of the external Redis (set with --secret). The in-cluster Redis gets a generated one.",
    },
    redisImage: { type: "string", default: "docker.io/library/redis:7.4.2-alpine", description: "Image of the in-cluster Redis." },
    gcSchedule: { type: "string", default: "", description: "Cron schedule of the garbage collection job (e.g. `0 3 * * 0`). Empty: no garbage collection." },
    gcDeleteUntagged: { type: "boolean", default: false, description: "Garbage collection also deletes manifests no tag points to (`--delete-untagged`)." },
    gcDryRun: {
        type: "boolean",
        default: false,
        description: "Garbage collection only reports what it would delete (`--dry-run`); the registry still goes through maintenance.",
    },
    gcKubectlImage: {
        type: "string",
        default: "docker.io/alpine/k8s:1.33.4",
        description: "Image with kubectl and a POSIX shell that runs the garbage collection procedure.",
    },
    proxyRemoteUrl: {
        type: "string",
        default: "",
        description: "Run a second, pull-through cache registry (`<registryName>-mirror`) of this upstream, e.g. https://registry-1.docker.io. Empty: none.",
    },
    proxyUsername: { type: "string", default: "", description: "User name for the upstream of the pull-through cache. Empty: anonymous." },
    proxyPassword: {
        type: "string",
        default: "",
        secret: true,
        description: "Password or token for the upstream of the pull-through cache (set with --secret).",
    },
    proxyTtl: { type: "string", default: "168h", description: "How long the pull-through cache keeps a blob it fetched (a Go duration such as 168h)." },
    proxyCacheSize: { type: "string", default: "20Gi", description: "Size limit of the pull-through cache's emptyDir (the cache refills from upstream)." },
    metricsServiceMonitor: {
        type: "boolean",
        default: false,
        description: "Create a prometheus-operator ServiceMonitor for the metrics port (needs its CRDs).",
    },
    metricsAlertRules: {
        type: "boolean",
        default: false,
        description: "Create a prometheus-operator PrometheusRule with alerts on 5xx rate, storage health, restarts (needs its CRDs).",
    },
    metricsLabels: {
        type: "array",
        default: [],
        description:
            "Labels (key=value) of the ServiceMonitor and PrometheusRule, for a Prometheus that selects them by label (kube-prometheus-stack by default: release=<its Helm release>).",
    },
    passwordRotation: {
        type: "array",
        default: [],
        description: "`user=token` entries: changing a user's token gives that user a new password on the next `pulumi up` (pods roll).",
    },
    tlsRotation: {
        type: "string",
        default: "",
        description: "Change this value to re-issue the server key and certificate on the next `pulumi up` (same CA; pods roll).",
    },
} as const satisfies Record<string, ConfigKeySpec>;

export type OperationsKey = keyof typeof OPERATIONS_KEYS;

export const ANTI_AFFINITY_MODES = ["soft", "hard", "none"] as const;
export type AntiAffinityMode = (typeof ANTI_AFFINITY_MODES)[number];
export const BLOB_DESCRIPTOR_CACHES = ["inmemory", "redis"] as const;

/** Where the redis blob descriptor cache lives. */
export type RedisCacheConfig =
    | { readonly kind: "redis"; readonly inCluster: true; readonly image: string }
    | { readonly kind: "redis"; readonly inCluster: false; readonly address: string; readonly password?: pulumi.Output<string> };

export type BlobCacheConfig = { readonly kind: "inmemory" } | RedisCacheConfig;

/** Garbage collection under maintenance (off unless scheduled). */
export interface GcConfig {
    readonly schedule: string;
    readonly deleteUntagged: boolean;
    readonly dryRun: boolean;
    readonly kubectlImage: string;
}

/** A second registry instance in pull-through cache mode. */
export interface ProxyConfig {
    readonly remoteUrl: string;
    readonly username?: string;
    readonly password?: pulumi.Output<string>;
    readonly ttl: string;
    readonly cacheSize: string;
}

/** Day-2 operations: scheduling, autoscaling, cache, GC, pull-through, metrics, rotation. */
export interface OperationsConfig {
    readonly antiAffinity: AntiAffinityMode;
    readonly spreadZones: boolean;
    /** Absent: no HorizontalPodAutoscaler. */
    readonly autoscaling?: { readonly minReplicas: number; readonly maxReplicas: number; readonly cpuPercent: number };
    readonly cache: BlobCacheConfig;
    /** Absent: no garbage collection CronJob. */
    readonly gc?: GcConfig;
    /** Absent: no pull-through cache instance. */
    readonly proxy?: ProxyConfig;
    readonly serviceMonitor: boolean;
    readonly alertRules: boolean;
    /** Labels of the ServiceMonitor and PrometheusRule, which Prometheus selects them by. */
    readonly metricsLabels: Readonly<Record<string, string>>;
    /** user → rotation token (users without an entry have none). */
    readonly passwordRotation: Readonly<Record<string, string>>;
    /** Rotation token of the generated server key and certificate ("" = never rotated). */
    readonly tlsRotation: string;
}

const CRON_FIELD = /^[0-9A-Za-z*,/?-]+$/;
const CRON_MACROS = ["@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight", "@hourly"];
const GO_DURATION = /^([0-9]+(\.[0-9]+)?(ns|us|µs|ms|s|m|h))+$/;
const HOST_PORT = /^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*|\[[0-9a-f:]+\]|[0-9.]+):[0-9]{1,5}$/;

/**
 * Parses the day-2 operations keys. Runs after the storage, users and TLS are known, because
 * several operations depend on them; `ctx` carries what they need.
 */
export function parseOperations(
    r: Reader<OperationsKey>,
    ctx: { storageKind: string; shareable: boolean; replicas: number; users: readonly string[]; tlsMode: "generate" | "provided" },
): OperationsConfig {
    const maxReplicas = r.integer("autoscalingMaxReplicas", 0, 100);
    const cpuPercent = r.integer("autoscalingCpuPercent", 1, 1000);
    let autoscaling: OperationsConfig["autoscaling"];
    if (maxReplicas > 0) {
        if (!ctx.shareable) {
            r.problem(
                "`autoscalingMaxReplicas` needs storage that several pods can share (the autoscaler adds pods); set it to 0 or use shared storage (`storageAccessMode` `ReadWriteMany`)",
            );
        } else if (maxReplicas <= ctx.replicas) {
            r.problem(
                `\`autoscalingMaxReplicas\` (${maxReplicas}) must be 0 (no autoscaler) or more than \`replicas\` (${ctx.replicas}), the autoscaler's floor`,
            );
        }
        autoscaling = { minReplicas: ctx.replicas, maxReplicas, cpuPercent };
    }

    const cacheKind = r.oneOf("blobDescriptorCache", BLOB_DESCRIPTOR_CACHES);
    let cache: BlobCacheConfig = { kind: "inmemory" };
    const redisAddress = r.string("redisAddress");
    if (cacheKind === "redis") {
        if (redisAddress === "") {
            if (r.has("redisPassword")) {
                r.problem("`redisPassword` is for an external Redis (`redisAddress`); the in-cluster Redis gets a generated password");
            }
            const image = r.string("redisImage");
            if (!/^[a-z0-9]+([._/:-][a-zA-Z0-9]+)*(@sha256:[a-f0-9]{64})?$/.test(image)) {
                r.problem(`\`redisImage\` must be an image reference such as \`docker.io/library/redis:7.4.2-alpine\`; got \`${image}\``);
            }
            cache = { kind: "redis", inCluster: true, image };
        } else {
            if (!HOST_PORT.test(redisAddress)) {
                r.problem(`\`redisAddress\` must be \`host:port\` such as \`redis.cache.svc:6379\`; got \`${redisAddress}\``);
            }
            cache = { kind: "redis", inCluster: false, address: redisAddress, password: r.optionalSecret("redisPassword") };
        }
    } else {
        for (const k of ["redisAddress", "redisPassword"] as const) {
            if (r.has(k)) {
                r.problem(`\`${k}\` is only used when \`blobDescriptorCache\` is \`redis\``);
            }
        }
    }

    const schedule = r.string("gcSchedule").trim();
    let gc: GcConfig | undefined;
    if (schedule !== "") {
        const fields = schedule.split(/\s+/);
        if (!(CRON_MACROS.includes(schedule) || (fields.length === 5 && fields.every((f) => CRON_FIELD.test(f))))) {
            r.problem(`\`gcSchedule\` must be a cron schedule of five fields such as \`0 3 * * 0\` (or @daily, @weekly...); got \`${schedule}\``);
        }
        if (ctx.storageKind === "emptyDir") {
            r.problem("`gcSchedule` needs storage the garbage collection Job can mount; `storageKind` `emptyDir` is private to the registry pod");
        }
        gc = { schedule, deleteUntagged: r.boolean("gcDeleteUntagged"), dryRun: r.boolean("gcDryRun"), kubectlImage: r.string("gcKubectlImage") };
    } else {
        for (const k of ["gcDeleteUntagged", "gcDryRun"] as const) {
            if (r.has(k)) {
                r.problem(`\`${k}\` is only used when \`gcSchedule\` is set`);
            }
        }
    }

    const remoteUrl = r.string("proxyRemoteUrl");
    let proxy: ProxyConfig | undefined;
    if (remoteUrl !== "") {
        let url: URL | undefined;
        try {
            url = new URL(remoteUrl);
        } catch {
            url = undefined;
        }
        if (url === undefined || !["https:", "http:"].includes(url.protocol) || url.username !== "" || url.password !== "") {
            r.problem(`\`proxyRemoteUrl\` must be an http(s) URL without credentials such as \`https://registry-1.docker.io\`; got \`${remoteUrl}\``);
        }
        const username = r.string("proxyUsername");
        const password = r.optionalSecret("proxyPassword");
        if ((username === "") !== (password === undefined)) {
            r.problem("`proxyUsername` and `proxyPassword` go together: set both (authenticated upstream) or neither (anonymous)");
        }
        const ttl = r.string("proxyTtl");
        if (!GO_DURATION.test(ttl)) {
            r.problem(`\`proxyTtl\` must be a Go duration such as \`168h\` or \`30m\`; got \`${ttl}\``);
        }
        proxy = { remoteUrl, username: username === "" ? undefined : username, password, ttl, cacheSize: r.quantity("proxyCacheSize", false) ?? "20Gi" };
    } else {
        for (const k of ["proxyUsername", "proxyPassword", "proxyTtl", "proxyCacheSize"] as const) {
            if (r.has(k)) {
                r.problem(`\`${k}\` is only used when \`proxyRemoteUrl\` is set`);
            }
        }
    }

    const serviceMonitor = r.boolean("metricsServiceMonitor");
    const alertRules = r.boolean("metricsAlertRules");
    const metricsLabels: Record<string, string> = {};
    for (const entry of r.stringArray("metricsLabels")) {
        const { key, value } = splitKeyValue(entry);
        if (value === undefined || !QUALIFIED_NAME.test(key) || !LABEL_VALUE.test(value)) {
            r.problem(
                `\`metricsLabels\` entries must be \`key=value\` with a label key and a label value (at most 63 letters, digits, '-', '_', '.'); got \`${entry}\``,
            );
        } else if (key.startsWith("app.kubernetes.io/")) {
            r.problem(`\`metricsLabels\` may not set \`${key}\`: the program sets the \`app.kubernetes.io/\` labels itself`);
        } else {
            metricsLabels[key] = value;
        }
    }
    if (r.has("metricsLabels") && !serviceMonitor && !alertRules) {
        r.problem("`metricsLabels` is only used when `metricsServiceMonitor` or `metricsAlertRules` is true");
    }

    const passwordRotation: Record<string, string> = {};
    for (const entry of r.stringArray("passwordRotation")) {
        const eq = entry.indexOf("=");
        const user = entry.slice(0, eq);
        if (eq <= 0 || eq === entry.length - 1) {
            r.problem(`\`passwordRotation\` entries must be \`user=token\`; got \`${entry}\``);
        } else if (!ctx.users.includes(user)) {
            r.problem(`\`passwordRotation\` names \`${user}\`, who is not a user (\`users\`, \`pullUsers\` or \`pullUser\`)`);
        } else {
            passwordRotation[user] = entry.slice(eq + 1);
        }
    }
    const tlsRotation = r.string("tlsRotation");
    if (tlsRotation !== "" && ctx.tlsMode === "provided") {
        r.problem("`tlsRotation` only applies to generated certificates (`tlsMode` `generate`); with `provided`, set the new tlsCertificate and tlsPrivateKey");
    }

    return {
        antiAffinity: r.oneOf("podAntiAffinity", ANTI_AFFINITY_MODES),
        spreadZones: r.boolean("topologySpreadZones"),
        autoscaling,
        cache,
        gc,
        proxy,
        serviceMonitor,
        alertRules,
        metricsLabels,
        passwordRotation,
        tlsRotation,
    };
}
