// The one place that reads and validates the stack configuration.
//
// Every key the program reads is declared in CONFIG_KEYS below, with the same type, default and
// description as in Pulumi.yaml (a unit test keeps the two identical). `parseConfig` is a pure
// function from raw config strings to a typed object; it throws a ConfigError listing every
// problem before any resource exists.
import { X509Certificate, createPrivateKey } from "crypto";
import { isIP } from "net";
import * as pulumi from "@pulumi/pulumi";
import * as runtimeConfig from "@pulumi/pulumi/runtime/config";

/** The kinds of value a Pulumi.yaml `config:` declaration can have. */
export type ConfigKeyType = "string" | "integer" | "boolean" | "array";

/** A declared config key. */
export interface ConfigKeySpec {
    readonly type: ConfigKeyType;
    readonly description: string;
    /** Absent for keys that have no default (optional secrets). */
    readonly default?: string | number | boolean | string[];
    readonly secret?: boolean;
}

/** Every key the program reads, with its Pulumi.yaml declaration. */
export const CONFIG_KEYS = {
    registryName: { type: "string", default: "registry", description: "Name of the registry's Kubernetes objects (Deployment, Service, ServiceAccount) and of its labels." },
    namespace: { type: "string", default: "registry", description: "Kubernetes namespace the registry runs in." },
    createNamespace: { type: "boolean", default: true, description: "Create the namespace (false: it must already exist)." },
    imageRepository: { type: "string", default: "docker.io/library/registry", description: "Registry image repository (CNCF distribution)." },
    imageTag: { type: "string", default: "", description: "Registry image tag, an exact version (3.x, or 2.8.x for Swift). Empty: 3.1.2, or 2.8.3 when the storage needs the 2.x line." },
    imageDigest: { type: "string", default: "", description: "Optional image digest (sha256:...) pinned after the tag." },
    replicas: { type: "integer", default: 1, description: "Registry pods. More than 1 needs storage several pods can share." },
    storageKind: { type: "string", default: "filesystem", description: "Image storage: filesystem (a PVC) or emptyDir (lost when the pod goes)." },
    storageSize: { type: "string", default: "10Gi", description: "Size of the PVC (filesystem) or emptyDir size limit." },
    storageClass: { type: "string", default: "", description: "StorageClass of the PVC. Empty: the cluster's default class." },
    storageAccessMode: { type: "string", default: "ReadWriteOnce", description: "PVC access mode: ReadWriteOnce, or ReadWriteMany (lets several replicas share it)." },
    storageExistingClaim: { type: "string", default: "", description: "Use this existing PVC (e.g. one kept by an earlier `pulumi destroy`) instead of creating one; storageSize/storageClass are then ignored." },
    deleteStorageOnDestroy: { type: "boolean", default: false, description: "Let `pulumi destroy` delete the stored images (PVC, bucket, disk). Off: they are kept." },
    storageDeleteEnabled: { type: "boolean", default: true, description: "Allow deleting manifests and blobs through the registry API (storage.delete.enabled)." },
    hostnames: { type: "array", default: [], description: "Public DNS names of the registry; the first is the name images are tagged with. All go into the certificate." },
    ipAddresses: { type: "array", default: [], description: "Extra IP addresses for the certificate's SANs." },
    tlsMode: { type: "string", default: "generate", description: "generate: a CA and server certificate made by the program; provided: tlsCertificate/tlsPrivateKey/tlsCaCertificate." },
    tlsKeyAlgorithm: { type: "string", default: "ECDSA", description: "Key algorithm of generated keys: ECDSA (P-256) or RSA (2048 bits)." },
    tlsValidityHours: { type: "integer", default: 8760, description: "Validity of the generated server certificate, in hours." },
    tlsEarlyRenewalHours: { type: "integer", default: 720, description: "Re-issue the server certificate on `pulumi up` this many hours before it expires." },
    tlsCaValidityHours: { type: "integer", default: 87600, description: "Validity of the generated CA certificate, in hours." },
    tlsCertificate: { type: "string", description: "PEM server certificate (chain) when tlsMode is provided." },
    tlsPrivateKey: { type: "string", secret: true, description: "PEM private key of tlsCertificate when tlsMode is provided (set with --secret)." },
    tlsCaCertificate: { type: "string", description: "PEM CA certificate that signed tlsCertificate (published as the caCertificate output)." },
    users: { type: "array", default: ["admin"], description: "htpasswd users; each gets a generated password. The first is the `username` output." },
    passwordLength: { type: "integer", default: 32, description: "Length of generated passwords (letters and digits)." },
    authRealm: { type: "string", default: "registry", description: "Basic auth realm." },
    serviceType: { type: "string", default: "LoadBalancer", description: "Service type: LoadBalancer, ClusterIP or NodePort." },
    servicePort: { type: "integer", default: 443, description: "Port the Service exposes (HTTPS)." },
    nodePort: { type: "integer", default: 0, description: "Fixed nodePort for NodePort/LoadBalancer Services (30000-32767). 0: allocated by Kubernetes." },
    serviceAnnotations: { type: "array", default: [], description: "Service annotations as key=value strings (e.g. load balancer settings)." },
    loadBalancerSourceRanges: { type: "array", default: [], description: "CIDRs allowed to reach the LoadBalancer. Empty: everyone." },
    cpuRequest: { type: "string", default: "100m", description: "CPU request of the registry container." },
    memoryRequest: { type: "string", default: "128Mi", description: "Memory request of the registry container." },
    cpuLimit: { type: "string", default: "", description: "CPU limit. Empty: none (a CPU limit throttles pushes)." },
    memoryLimit: { type: "string", default: "512Mi", description: "Memory limit of the registry container." },
    logLevel: { type: "string", default: "info", description: "Registry log level: error, warn, info or debug." },
    logFormatter: { type: "string", default: "json", description: "Registry log format: json, text or logstash." },
    accessLog: { type: "boolean", default: true, description: "Write an access log line per request." },
    dnsProvider: { type: "string", default: "none", description: "DNS record for the registry: none (use hostnames/the load balancer address as they are)." },
} as const satisfies Record<string, ConfigKeySpec>;

export type ConfigKey = keyof typeof CONFIG_KEYS;

/** The declared default of a key (undefined for keys without one). */
export function defaultOf(key: ConfigKey): ConfigKeySpec["default"] {
    const spec: ConfigKeySpec = CONFIG_KEYS[key];
    return spec.default;
}

/** Raw stack config: key (without the project prefix) to the string Pulumi stores. */
export type RawConfig = Readonly<Partial<Record<string, string>>>;

export const STORAGE_KINDS = ["filesystem", "emptyDir"] as const;
export type StorageKind = (typeof STORAGE_KINDS)[number];
export const ACCESS_MODES = ["ReadWriteOnce", "ReadWriteMany"] as const;
export const SERVICE_TYPES = ["LoadBalancer", "ClusterIP", "NodePort"] as const;
export const LOG_LEVELS = ["error", "warn", "info", "debug"] as const;
export const LOG_FORMATTERS = ["json", "text", "logstash"] as const;
export const KEY_ALGORITHMS = ["ECDSA", "RSA"] as const;

/** The exact image tags the program deploys by default, one per distribution line. */
export const DEFAULT_IMAGE_TAGS = { 3: "3.1.2", 2: "2.8.3" } as const;
export type RegistryLine = 2 | 3;

/** A PersistentVolumeClaim on the cluster's storage (`filesystem`). */
export interface FilesystemStorageConfig {
    readonly kind: "filesystem";
    readonly size: string;
    readonly storageClass?: string;
    readonly accessMode: (typeof ACCESS_MODES)[number];
    /** An existing claim to use; no PVC is created. */
    readonly existingClaim?: string;
}

/** Pod-local scratch storage (`emptyDir`); images die with the pod. */
export interface EmptyDirStorageConfig {
    readonly kind: "emptyDir";
    readonly sizeLimit: string;
}

export type StorageConfig = FilesystemStorageConfig | EmptyDirStorageConfig;

export const DNS_PROVIDERS = ["none"] as const;

/** No DNS record: clients use `hostnames` or the load balancer address. */
export interface NoDnsConfig {
    readonly provider: "none";
}

export type DnsConfig = NoDnsConfig;

export interface ImageConfig {
    readonly repository: string;
    readonly tag: string;
    readonly digest?: string;
    /** The distribution major version the tag names; decides config path and drivers. */
    readonly line: RegistryLine;
}

export interface GeneratedTlsConfig {
    readonly mode: "generate";
    readonly keyAlgorithm: (typeof KEY_ALGORITHMS)[number];
    readonly validityHours: number;
    readonly earlyRenewalHours: number;
    readonly caValidityHours: number;
}

export interface ProvidedTlsConfig {
    readonly mode: "provided";
    readonly certificatePem: string;
    readonly privateKeyPem: pulumi.Output<string>;
    readonly caCertificatePem: string;
}

export type TlsConfig = GeneratedTlsConfig | ProvidedTlsConfig;

export interface ServiceConfig {
    readonly type: (typeof SERVICE_TYPES)[number];
    readonly port: number;
    readonly nodePort?: number;
    readonly annotations: Readonly<Record<string, string>>;
    readonly loadBalancerSourceRanges: readonly string[];
}

/** The whole stack configuration, validated, defaults applied. */
export interface RegistryConfig {
    readonly registryName: string;
    readonly namespace: string;
    readonly createNamespace: boolean;
    readonly image: ImageConfig;
    readonly replicas: number;
    readonly storage: StorageConfig;
    readonly dns: DnsConfig;
    readonly deleteStorageOnDestroy: boolean;
    readonly storageDeleteEnabled: boolean;
    readonly hostnames: readonly string[];
    readonly ipAddresses: readonly string[];
    readonly tls: TlsConfig;
    readonly users: readonly string[];
    readonly passwordLength: number;
    readonly authRealm: string;
    readonly service: ServiceConfig;
    readonly resources: {
        readonly cpuRequest: string;
        readonly memoryRequest: string;
        readonly cpuLimit?: string;
        readonly memoryLimit?: string;
    };
    readonly log: {
        readonly level: (typeof LOG_LEVELS)[number];
        readonly formatter: (typeof LOG_FORMATTERS)[number];
        readonly accessLog: boolean;
    };
}

/** Thrown by parseConfig with every problem found, each naming its key. */
export class ConfigError extends Error {
    constructor(readonly problems: readonly string[]) {
        super(`Invalid stack configuration:\n${problems.map((p) => `  - ${p}`).join("\n")}`);
        this.name = "ConfigError";
    }
}

const DNS_NAME = /^(?=.{1,253}$)[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/;
const DNS_LABEL = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;
const QUANTITY = /^([0-9]+(\.[0-9]+)?|\.[0-9]+)(m|k|M|G|T|P|E|Ki|Mi|Gi|Ti|Pi|Ei)?$/;
const USERNAME = /^[a-z0-9][a-z0-9._-]{0,63}$/;
const ANNOTATION_KEY = /^([a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?\/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/;
const DIGEST = /^sha256:[a-f0-9]{64}$/;
const IMAGE_REPOSITORY = /^[a-z0-9]+([._-][a-z0-9]+)*(:[0-9]+)?(\/[a-z0-9]+([._-][a-z0-9]+)*)*$/;

/**
 * Collects problems while parsing, so one run reports every mistake at once.
 * Each reader returns the key's value (or its default) and records a problem when the
 * value is malformed.
 */
class Reader {
    readonly problems: string[] = [];

    constructor(private readonly raw: RawConfig) {}

    problem(msg: string): void {
        this.problems.push(msg);
    }

    has(key: ConfigKey): boolean {
        const v = this.raw[key];
        return v !== undefined && v !== "";
    }

    string(key: ConfigKey): string {
        return this.raw[key] ?? String(defaultOf(key) ?? "");
    }

    oneOf<T extends string>(key: ConfigKey, allowed: readonly T[]): T {
        const v = this.string(key);
        if ((allowed as readonly string[]).includes(v)) {
            return v as T;
        }
        this.problem(`\`${key}\` must be one of ${allowed.map((a) => `\`${a}\``).join(", ")}; got \`${v}\``);
        return allowed[0];
    }

    integer(key: ConfigKey, min: number, max: number): number {
        const raw = this.raw[key];
        const dflt = defaultOf(key) as number;
        if (raw === undefined) {
            return dflt;
        }
        if (!/^-?[0-9]+$/.test(raw.trim())) {
            this.problem(`\`${key}\` must be a whole number between ${min} and ${max}; got \`${raw}\``);
            return dflt;
        }
        const n = Number(raw);
        if (n < min || n > max) {
            this.problem(`\`${key}\` must be a whole number between ${min} and ${max}; got ${n}`);
            return dflt;
        }
        return n;
    }

    boolean(key: ConfigKey): boolean {
        const raw = this.raw[key];
        if (raw === undefined) {
            return defaultOf(key) as boolean;
        }
        if (raw !== "true" && raw !== "false") {
            this.problem(`\`${key}\` must be true or false; got \`${raw}\``);
            return defaultOf(key) as boolean;
        }
        return raw === "true";
    }

    /** Arrays arrive as JSON text (Pulumi stores structured values that way). */
    stringArray(key: ConfigKey): string[] {
        const raw = this.raw[key];
        if (raw === undefined) {
            return [...(defaultOf(key) as readonly string[])];
        }
        let parsed: unknown;
        try {
            parsed = JSON.parse(raw);
        } catch {
            parsed = undefined;
        }
        if (!Array.isArray(parsed) || !parsed.every((x) => typeof x === "string")) {
            this.problem(`\`${key}\` must be a list of strings (YAML list in the stack file); got \`${raw}\``);
            return [];
        }
        return parsed as string[];
    }

    quantity(key: ConfigKey, allowEmpty: boolean): string | undefined {
        const v = this.string(key);
        if (v === "" && allowEmpty) {
            return undefined;
        }
        if (!QUANTITY.test(v) || Number.parseFloat(v) <= 0) {
            this.problem(`\`${key}\` must be a positive Kubernetes quantity such as \`10Gi\` or \`500m\`; got \`${v}\``);
            return undefined;
        }
        return v;
    }
}

/** Parses the storage keys into the StorageConfig of the chosen kind. */
function parseStorage(r: Reader): StorageConfig {
    const kind = r.oneOf<StorageKind>("storageKind", STORAGE_KINDS);
    switch (kind) {
        case "filesystem": {
            const storageClass = r.string("storageClass");
            if (storageClass !== "" && !DNS_NAME.test(storageClass)) {
                r.problem(`\`storageClass\` must be a StorageClass name (lowercase DNS name); got \`${storageClass}\``);
            }
            const existingClaim = r.string("storageExistingClaim");
            if (existingClaim !== "" && !DNS_NAME.test(existingClaim)) {
                r.problem(`\`storageExistingClaim\` must be a PVC name (lowercase DNS name); got \`${existingClaim}\``);
            }
            return {
                kind,
                size: r.quantity("storageSize", false) ?? "10Gi",
                storageClass: storageClass === "" ? undefined : storageClass,
                accessMode: r.oneOf("storageAccessMode", ACCESS_MODES),
                existingClaim: existingClaim === "" ? undefined : existingClaim,
            };
        }
        case "emptyDir":
            if (r.has("storageExistingClaim")) {
                r.problem("`storageExistingClaim` needs `storageKind` `filesystem`");
            }
            return { kind, sizeLimit: r.quantity("storageSize", false) ?? "10Gi" };
    }
}

/**
 * Whether several registry pods can share the storage. Exported because the replica
 * check runs before any backend exists; each backend's `shareable` flag must agree.
 */
export function storageIsShareable(storage: StorageConfig): boolean {
    switch (storage.kind) {
        case "filesystem":
            return storage.accessMode === "ReadWriteMany";
        case "emptyDir":
            return false;
    }
}

/** The distribution line a storage kind needs, when it needs one. */
export function storageRequiredLine(_storage: StorageConfig): RegistryLine | undefined {
    return undefined;
}

/** Parses the DNS keys into the DnsConfig of the chosen provider. */
function parseDns(r: Reader): DnsConfig {
    const provider = r.oneOf("dnsProvider", DNS_PROVIDERS);
    switch (provider) {
        case "none":
            return { provider };
    }
}

function parseImage(r: Reader, storage: StorageConfig): ImageConfig {
    const repository = r.string("imageRepository");
    if (!IMAGE_REPOSITORY.test(repository)) {
        r.problem(`\`imageRepository\` must be an image repository such as \`docker.io/library/registry\`; got \`${repository}\``);
    }
    const required = storageRequiredLine(storage);
    let tag = r.string("imageTag");
    if (tag === "") {
        tag = DEFAULT_IMAGE_TAGS[required ?? 3];
    }
    const m = /^v?([0-9]+)\.([0-9]+)(\.[0-9]+)?([-+][0-9A-Za-z.-]+)?$/.exec(tag);
    let line: RegistryLine = 3;
    if (m === null || !(m[1] === "3" || (m[1] === "2" && m[2] === "8"))) {
        r.problem(`\`imageTag\` must be an exact distribution version, \`3.x.y\` or \`2.8.x\` (it decides the config path and storage drivers); got \`${tag}\``);
    } else {
        line = m[1] === "2" ? 2 : 3;
    }
    if (required !== undefined && m !== null && line !== required) {
        r.problem(`\`storageKind\` \`${storage.kind}\` needs the distribution ${required}.x line, but \`imageTag\` is \`${tag}\``);
    }
    const digest = r.string("imageDigest");
    if (digest !== "" && !DIGEST.test(digest)) {
        r.problem(`\`imageDigest\` must look like \`sha256:<64 hex digits>\`; got \`${digest}\``);
    }
    return { repository, tag, digest: digest === "" ? undefined : digest, line };
}

function parsePem(r: Reader, key: ConfigKey, value: string): X509Certificate | undefined {
    try {
        return new X509Certificate(value);
    } catch {
        r.problem(`\`${key}\` must be a PEM certificate (-----BEGIN CERTIFICATE-----)`);
        return undefined;
    }
}

function parseTls(r: Reader, hostnames: readonly string[], isSecret: (key: ConfigKey) => boolean): TlsConfig {
    const mode = r.oneOf("tlsMode", ["generate", "provided"] as const);
    if (mode === "generate") {
        for (const k of ["tlsCertificate", "tlsPrivateKey", "tlsCaCertificate"] as const) {
            if (r.has(k)) {
                r.problem(`\`${k}\` is only used when \`tlsMode\` is \`provided\`; remove it or set \`tlsMode\` to \`provided\``);
            }
        }
        const validityHours = r.integer("tlsValidityHours", 1, 876000);
        const earlyRenewalHours = r.integer("tlsEarlyRenewalHours", 0, 876000);
        if (earlyRenewalHours >= validityHours) {
            r.problem(`\`tlsEarlyRenewalHours\` (${earlyRenewalHours}) must be less than \`tlsValidityHours\` (${validityHours}), or every \`pulumi up\` re-issues the certificate`);
        }
        const caValidityHours = r.integer("tlsCaValidityHours", 1, 876000);
        if (caValidityHours < validityHours) {
            r.problem(`\`tlsCaValidityHours\` (${caValidityHours}) must be at least \`tlsValidityHours\` (${validityHours}): a certificate cannot outlive its CA`);
        }
        return { mode, keyAlgorithm: r.oneOf("tlsKeyAlgorithm", KEY_ALGORITHMS), validityHours, earlyRenewalHours, caValidityHours };
    }
    const missing = (["tlsCertificate", "tlsPrivateKey", "tlsCaCertificate"] as const).filter((k) => !r.has(k));
    for (const k of missing) {
        r.problem(`\`${k}\` is required when \`tlsMode\` is \`provided\``);
    }
    if (missing.length > 0) {
        return { mode, certificatePem: "", privateKeyPem: pulumi.secret(""), caCertificatePem: "" };
    }
    if (!isSecret("tlsPrivateKey")) {
        r.problem("`tlsPrivateKey` must be stored as a secret: `pulumi config set --secret tlsPrivateKey < key.pem`");
    }
    const certificatePem = r.string("tlsCertificate");
    const keyPem = r.string("tlsPrivateKey");
    const caCertificatePem = r.string("tlsCaCertificate");
    const cert = parsePem(r, "tlsCertificate", certificatePem);
    const ca = parsePem(r, "tlsCaCertificate", caCertificatePem);
    let key;
    try {
        key = createPrivateKey(keyPem);
    } catch {
        r.problem("`tlsPrivateKey` must be a PEM private key (-----BEGIN ... PRIVATE KEY-----)");
    }
    if (cert !== undefined && key !== undefined && !cert.checkPrivateKey(key)) {
        r.problem("`tlsPrivateKey` does not belong to `tlsCertificate`");
    }
    if (cert !== undefined && ca !== undefined && !(cert.checkIssued(ca) && cert.verify(ca.publicKey))) {
        r.problem("`tlsCertificate` was not issued by `tlsCaCertificate`");
    }
    if (cert !== undefined) {
        for (const h of hostnames) {
            if (cert.checkHost(h) === undefined) {
                r.problem(`\`tlsCertificate\` does not cover \`${h}\` from \`hostnames\`; clients would refuse it`);
            }
        }
    }
    return { mode, certificatePem, privateKeyPem: pulumi.secret(keyPem), caCertificatePem };
}

function parseService(r: Reader): ServiceConfig {
    const type = r.oneOf("serviceType", SERVICE_TYPES);
    const port = r.integer("servicePort", 1, 65535);
    const nodePortRaw = r.integer("nodePort", 0, 65535);
    let nodePort: number | undefined;
    if (nodePortRaw !== 0) {
        if (nodePortRaw < 30000 || nodePortRaw > 32767) {
            r.problem(`\`nodePort\` must be 0 (allocated) or within 30000-32767; got ${nodePortRaw}`);
        } else if (type === "ClusterIP") {
            r.problem("`nodePort` needs `serviceType` `NodePort` or `LoadBalancer`; a ClusterIP Service has no node port");
        } else {
            nodePort = nodePortRaw;
        }
    }
    const annotations: Record<string, string> = {};
    for (const entry of r.stringArray("serviceAnnotations")) {
        const eq = entry.indexOf("=");
        const key = eq < 0 ? entry : entry.slice(0, eq);
        if (eq < 0 || !ANNOTATION_KEY.test(key)) {
            r.problem(`\`serviceAnnotations\` entries must be \`key=value\` with a valid annotation key; got \`${entry}\``);
            continue;
        }
        annotations[key] = entry.slice(eq + 1);
    }
    const loadBalancerSourceRanges = r.stringArray("loadBalancerSourceRanges");
    for (const cidr of loadBalancerSourceRanges) {
        const [ip, bits, extra] = cidr.split("/");
        const family = isIP(ip ?? "");
        const max = family === 6 ? 128 : 32;
        if (family === 0 || extra !== undefined || bits === undefined || !/^[0-9]+$/.test(bits) || Number(bits) > max) {
            r.problem(`\`loadBalancerSourceRanges\` entries must be CIDRs such as \`203.0.113.0/24\`; got \`${cidr}\``);
        }
    }
    if (loadBalancerSourceRanges.length > 0 && type !== "LoadBalancer") {
        r.problem("`loadBalancerSourceRanges` only applies when `serviceType` is `LoadBalancer`");
    }
    return { type, port, nodePort, annotations, loadBalancerSourceRanges };
}

/**
 * Validates raw stack config and returns the typed configuration.
 * `isSecret` tells whether a key was stored encrypted (secret keys must be).
 * Throws ConfigError naming every bad key; never creates resources.
 */
export function parseConfig(raw: RawConfig, isSecret: (key: ConfigKey) => boolean = () => false): RegistryConfig {
    const r = new Reader(raw);
    for (const key of Object.keys(raw)) {
        if (!(key in CONFIG_KEYS)) {
            r.problem(`unknown config key \`${key}\`; known keys: ${Object.keys(CONFIG_KEYS).join(", ")}`);
        }
    }

    const registryName = r.string("registryName");
    if (!DNS_LABEL.test(registryName) || registryName.length > 52) {
        r.problem(`\`registryName\` must be a lowercase DNS label of at most 52 characters (a-z, 0-9, -); got \`${registryName}\``);
    }
    const namespace = r.string("namespace");
    if (!DNS_LABEL.test(namespace)) {
        r.problem(`\`namespace\` must be a lowercase DNS label (a-z, 0-9, -, at most 63 characters); got \`${namespace}\``);
    }

    const storage = parseStorage(r);
    const image = parseImage(r, storage);
    const replicas = r.integer("replicas", 1, 100);
    if (replicas > 1 && !storageIsShareable(storage)) {
        const why =
            storage.kind === "filesystem"
                ? `\`storageKind\` \`filesystem\` with \`storageAccessMode\` \`${storage.accessMode}\` can be mounted by one node only`
                : `\`storageKind\` \`${storage.kind}\` is private to each pod`;
        r.problem(`\`replicas\` > 1 needs storage that several pods can share; ${why}. Set \`replicas\` to 1, or use shared storage (\`storageAccessMode\` \`ReadWriteMany\`)`);
    }

    const hostnames = r.stringArray("hostnames");
    for (const h of hostnames) {
        if (!DNS_NAME.test(h)) {
            r.problem(`\`hostnames\` entries must be lowercase DNS names such as \`registry.example.com\`; got \`${h}\``);
        }
    }
    if (new Set(hostnames).size !== hostnames.length) {
        r.problem("`hostnames` lists a name twice");
    }
    const ipAddresses = r.stringArray("ipAddresses");
    for (const ip of ipAddresses) {
        if (isIP(ip) === 0) {
            r.problem(`\`ipAddresses\` entries must be IPv4 or IPv6 addresses; got \`${ip}\``);
        }
    }

    const users = r.stringArray("users");
    if (users.length === 0) {
        r.problem("`users` must list at least one user; the registry refuses anonymous access");
    }
    for (const u of users) {
        if (!USERNAME.test(u)) {
            r.problem(`\`users\` entries must be 1-64 characters of a-z, 0-9, '.', '_', '-' starting with a letter or digit; got \`${u}\``);
        }
    }
    const dup = users.find((u, i) => users.indexOf(u) !== i);
    if (dup !== undefined) {
        r.problem(`\`users\` lists \`${dup}\` twice`);
    }
    const authRealm = r.string("authRealm");
    if (authRealm === "" || /["\\]/.test(authRealm)) {
        r.problem("`authRealm` must be a non-empty string without quotes or backslashes");
    }

    const tls = parseTls(r, hostnames, isSecret);
    const service = parseService(r);

    const config: RegistryConfig = {
        registryName,
        namespace,
        createNamespace: r.boolean("createNamespace"),
        image,
        replicas,
        storage,
        dns: parseDns(r),
        deleteStorageOnDestroy: r.boolean("deleteStorageOnDestroy"),
        storageDeleteEnabled: r.boolean("storageDeleteEnabled"),
        hostnames,
        ipAddresses,
        tls,
        users,
        passwordLength: r.integer("passwordLength", 16, 128),
        authRealm,
        service,
        resources: {
            cpuRequest: r.quantity("cpuRequest", false) ?? "100m",
            memoryRequest: r.quantity("memoryRequest", false) ?? "128Mi",
            cpuLimit: r.quantity("cpuLimit", true),
            memoryLimit: r.quantity("memoryLimit", true),
        },
        log: {
            level: r.oneOf("logLevel", LOG_LEVELS),
            formatter: r.oneOf("logFormatter", LOG_FORMATTERS),
            accessLog: r.boolean("accessLog"),
        },
    };
    if (r.problems.length > 0) {
        throw new ConfigError(r.problems);
    }
    return config;
}

/** Reads this project's keys from the Pulumi runtime and parses them. */
export function loadConfig(): RegistryConfig {
    const prefix = `${pulumi.getProject()}:`;
    const all = pulumi.runtime.allConfig();
    const raw: Record<string, string> = {};
    for (const [k, v] of Object.entries(all)) {
        if (k.startsWith(prefix)) {
            raw[k.slice(prefix.length)] = v;
        }
    }
    // `isConfigSecret` is what Config.get itself uses to warn about secrets; it is exported by
    // the runtime module but left out of its typings.
    const { isConfigSecret } = runtimeConfig as unknown as { isConfigSecret(key: string): boolean };
    return parseConfig(raw, (key) => isConfigSecret(`${prefix}${key}`));
}
