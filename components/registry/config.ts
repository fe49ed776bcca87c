// The registry area's keys: the image and its distribution line, replicas, the container's
// resources and logging, and which URLs pushed layers may carry.
import type { ConfigKeySpec, Reader } from "../config/reader";

export const REGISTRY_KEYS = {
    imageRepository: { type: "string", default: "docker.io/library/registry", description: "Registry image repository (CNCF distribution)." },
    imageTag: {
        type: "string",
        default: "",
        description: "Registry image tag, an exact version (3.x, or 2.8.x for Swift). Empty: 3.1.2, or 2.8.3 when the storage needs the 2.x line.",
    },
    imageDigest: { type: "string", default: "", description: "Optional image digest (sha256:...) pinned after the tag." },
    gateImage: {
        type: "string",
        default: "docker.io/nginxinc/nginx-unprivileged:1.28.0",
        description:
            "Image of the gate, the nginx sidecar in every registry pod that terminates TLS and checks each request's user and role; the registry is reachable only through it (pinned tag or digest; Debian-based: musl's bcrypt stops at cost 11).",
    },
    replicas: { type: "integer", default: 1, description: "Registry pods. More than 1 needs storage several pods can share." },
    cpuRequest: { type: "string", default: "100m", description: "CPU request of the registry container." },
    memoryRequest: { type: "string", default: "128Mi", description: "Memory request of the registry container." },
    cpuLimit: { type: "string", default: "", description: "CPU limit. Empty: none (a CPU limit throttles pushes)." },
    memoryLimit: { type: "string", default: "512Mi", description: "Memory limit of the registry container." },
    logLevel: { type: "string", default: "info", description: "Registry log level: error, warn, info or debug." },
    logFormatter: { type: "string", default: "json", description: "Registry log format: json, text or logstash." },
    accessLog: { type: "boolean", default: true, description: "Write an access log line per request." },
    foreignLayerUrlsAllow: {
        type: "array",
        default: [],
        description:
            "Accept pushed layers that carry `urls` (foreign, non-distributable layers, which clients download from that URL instead of the registry) when every URL matches one of these RE2 patterns, each starting with `^` (validation.manifests.urls.allow). Empty: refuse them, distribution's default: in an air-gapped cluster nodes could not reach the URL.",
    },
    foreignLayerUrlsDeny: {
        type: "array",
        default: [],
        description: "RE2 patterns of layer URLs to refuse even when foreignLayerUrlsAllow matches (validation.manifests.urls.deny).",
    },
} as const satisfies Record<string, ConfigKeySpec>;

export type RegistryKey = keyof typeof REGISTRY_KEYS;

/** The distribution major versions the program deploys: 2 (2.8.x) and 3. */
export type RegistryLine = 2 | 3;

/** The exact image tags the program deploys by default, one per distribution line. */
export const DEFAULT_IMAGE_TAGS = { 3: "3.1.2", 2: "2.8.3" } as const;

export const LOG_LEVELS = ["error", "warn", "info", "debug"] as const;
export const LOG_FORMATTERS = ["json", "text", "logstash"] as const;

export interface ImageConfig {
    readonly repository: string;
    readonly tag: string;
    readonly digest?: string;
    /** The distribution major version the tag names; decides config path and drivers. */
    readonly line: RegistryLine;
}

/** What the storage asks of the image's distribution line. */
export interface LineNeed {
    readonly storageKind: string;
    /** The one line whose binary has the storage's driver; undefined: either. */
    readonly line?: RegistryLine;
    /** Appended to the mismatch problem: what to do instead. */
    readonly hint: string;
}

export interface ResourcesConfig {
    readonly cpuRequest: string;
    readonly memoryRequest: string;
    readonly cpuLimit?: string;
    readonly memoryLimit?: string;
}

export interface LogConfig {
    readonly level: (typeof LOG_LEVELS)[number];
    readonly formatter: (typeof LOG_FORMATTERS)[number];
    readonly accessLog: boolean;
}

const DIGEST = /^sha256:[a-f0-9]{64}$/;
const IMAGE_REPOSITORY = /^[a-z0-9]+([._-][a-z0-9]+)*(:[0-9]+)?(\/[a-z0-9]+([._-][a-z0-9]+)*)*$/;

/** The image keys; an empty `imageTag` is the default tag of the line the storage needs. */
export function parseImage(r: Reader<RegistryKey>, need: LineNeed): ImageConfig {
    const repository = r.string("imageRepository");
    if (!IMAGE_REPOSITORY.test(repository)) {
        r.problem(`\`imageRepository\` must be an image repository such as \`docker.io/library/registry\`; got \`${repository}\``);
    }
    let tag = r.string("imageTag");
    if (tag === "") {
        tag = DEFAULT_IMAGE_TAGS[need.line ?? 3];
    }
    const m = /^v?([0-9]+)\.([0-9]+)(\.[0-9]+)?([-+][0-9A-Za-z.-]+)?$/.exec(tag);
    let line: RegistryLine = 3;
    if (m === null || !(m[1] === "3" || (m[1] === "2" && m[2] === "8"))) {
        r.problem(
            `\`imageTag\` must be an exact distribution version, \`3.x.y\` or \`2.8.x\` (it decides the config path and storage drivers); got \`${tag}\``,
        );
    } else {
        line = m[1] === "2" ? 2 : 3;
    }
    if (need.line !== undefined && m !== null && line !== need.line) {
        r.problem(`\`storageKind\` \`${need.storageKind}\` needs the distribution ${need.line}.x line, but \`imageTag\` is \`${tag}\`${need.hint}`);
    }
    const digest = r.string("imageDigest");
    if (digest !== "" && !DIGEST.test(digest)) {
        r.problem(`\`imageDigest\` must look like \`sha256:<64 hex digits>\`; got \`${digest}\``);
    }
    return { repository, tag, digest: digest === "" ? undefined : digest, line };
}

export function parseReplicas(r: Reader<RegistryKey>): number {
    return r.integer("replicas", 1, 100);
}

export function parseResources(r: Reader<RegistryKey>): ResourcesConfig {
    return {
        cpuRequest: r.quantity("cpuRequest", false) ?? "100m",
        memoryRequest: r.quantity("memoryRequest", false) ?? "128Mi",
        cpuLimit: r.quantity("cpuLimit", true),
        memoryLimit: r.quantity("memoryLimit", true),
    };
}

export function parseLog(r: Reader<RegistryKey>): LogConfig {
    return {
        level: r.oneOf("logLevel", LOG_LEVELS),
        formatter: r.oneOf("logFormatter", LOG_FORMATTERS),
        accessLog: r.boolean("accessLog"),
    };
}
