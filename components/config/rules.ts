// The rules that span areas: what one area's choice asks of another's keys.
import type { AccessConfig } from "../access/config";
import { CLOUD_DNS_KEYS, DnsConfig, DnsKey, ROUTE53_KEYS } from "../dns/config";
import type { OperationsConfig } from "../operations/config";
import { GCE_DISK_KEYS } from "../storage/gce-disk-config";
import { GCS_KEYS } from "../storage/gcs-config";
import { S3_KEYS } from "../storage/s3-config";
import { StorageAreaKey, StorageConfig, storageTraits } from "../storage/config";
import type { Reader } from "./reader";

/** An object's keys, typed. */
function keysOf<T extends object>(o: T): (keyof T & string)[] {
    return Object.keys(o) as (keyof T & string)[];
}

/** Several replicas need storage several pods can share, as the backend declares it. */
export function checkReplicas(r: Reader<"replicas">, replicas: number, storage: StorageConfig): void {
    const traits = storageTraits(storage);
    if (replicas > 1 && !traits.shareable) {
        r.problem(`\`replicas\` > 1 needs storage that several pods can share; ${traits.unshareableReason}`);
    }
}

/**
 * Refuses a backend's or DNS provider's keys when another is chosen (they would be silently
 * ignored), and a plain `s3SecretAccessKey`. The Ceph keys are refused with the storage.
 */
export function refuseUnusedKeys(r: Reader<StorageAreaKey | DnsKey>, storage: StorageConfig, dns: DnsConfig): void {
    const unused: [readonly (StorageAreaKey | DnsKey)[], boolean, string][] = [
        [keysOf(GCE_DISK_KEYS), storage.kind === "gcePersistentDisk", "`storageKind` is `gcePersistentDisk`"],
        [keysOf(GCS_KEYS), storage.kind === "gcs", "`storageKind` is `gcs`"],
        [keysOf(CLOUD_DNS_KEYS), dns.provider === "cloudDns", "`dnsProvider` is `cloudDns`"],
        [keysOf(S3_KEYS), storage.kind === "s3", "`storageKind` is `s3`"],
        [keysOf(ROUTE53_KEYS), dns.provider === "route53", "`dnsProvider` is `route53`"],
    ];
    for (const [keys, used, when] of unused) {
        for (const key of keys.filter((k) => !used && r.has(k))) {
            r.problem(`\`${key}\` is only used when ${when}`);
        }
    }
    if (r.has("s3SecretAccessKey")) {
        r.requireSecret("s3SecretAccessKey", "<key>");
    }
}

/** What the derived names depend on. */
export interface DerivedNameInputs {
    readonly registryName: string;
    readonly storage: StorageConfig;
    readonly access: AccessConfig;
    readonly operations: OperationsConfig;
}

/** A name the program derives from `registryName`, and the limit Kubernetes or a provider puts on it. */
export interface DerivedName {
    readonly id: "gcCronJob" | "mirrorJob" | "s3BucketPrefix";
    /** What carries the name, and the key that makes it exist. */
    readonly object: string;
    /** "name", or "name prefix" when the value is a prefix the provider completes. */
    readonly label: string;
    /** The name, up to the random characters the provider appends when it auto-names. */
    readonly name: (registryName: string) => string;
    /** How many random characters the provider appends. */
    readonly random: number;
    readonly limit: number;
    /** Whose limit it is, and why. */
    readonly why: string;
    /** Another way out than a shorter `registryName`. */
    readonly instead?: string;
    /** Whether the configuration makes the object. */
    readonly exists: (cfg: Pick<DerivedNameInputs, "storage" | "access" | "operations">) => boolean;
    /** The longest `registryName` the limit allows. */
    readonly maxRegistryName: number;
}

function derivedName(d: Omit<DerivedName, "maxRegistryName">): DerivedName {
    return { ...d, maxRegistryName: d.limit - d.name("").length - d.random };
}

/**
 * Every name derived from `registryName` whose limit is tighter than the 52 characters
 * `registryName` may have, so a name that would break `pulumi up` half-way is refused before
 * anything exists. tests/names.spec.ts checks each against the name the program registers.
 */
export const DERIVED_NAMES: readonly DerivedName[] = [
    derivedName({
        id: "gcCronJob",
        object: "the garbage collection CronJob (`gcSchedule`)",
        label: "name",
        name: (n) => `${n}-gc-cronjob-`,
        random: 8,
        limit: 52,
        why: "Kubernetes' limit for CronJob names: the Jobs it starts add 11 characters",
        exists: (cfg) => cfg.operations.gc !== undefined,
    }),
    derivedName({
        id: "mirrorJob",
        object: "the image mirroring Job (`mirrorImages`)",
        label: "name",
        name: (n) => `${n}-mirror-`,
        random: 8,
        limit: 63,
        why: "Kubernetes' limit for Job names: the Job's pods carry it in a label",
        exists: (cfg) => cfg.access.mirror.images.length > 0,
    }),
    derivedName({
        id: "s3BucketPrefix",
        object: "the S3 bucket's generated name (`s3Bucket` empty)",
        label: "name prefix",
        name: (n) => `${n}-`,
        random: 0,
        limit: 37,
        why: "the AWS provider's limit for `bucketPrefix`, to which it adds 26 characters",
        instead: "name the bucket in `s3Bucket`",
        exists: (cfg) => cfg.storage.kind === "s3" && cfg.storage.createBucket && cfg.storage.bucket === undefined,
    }),
];

/** The derived names of this configuration that would exceed their limits, as problems naming `registryName`. */
export function derivedNameProblems(cfg: DerivedNameInputs): string[] {
    return DERIVED_NAMES.filter((d) => d.exists(cfg) && d.name(cfg.registryName).length + d.random > d.limit).map((d) => {
        const fixed = d.name(cfg.registryName);
        return (
            `\`registryName\` is too long for ${d.object}: its ${d.label} \`${fixed}\`${d.random > 0 ? ` + ${d.random} random characters` : ""} ` +
            `would be ${fixed.length + d.random} characters, over ${d.limit} (${d.why}); use a \`registryName\` of at most ${d.maxRegistryName} characters` +
            (d.instead === undefined ? "" : `, or ${d.instead}`)
        );
    });
}
