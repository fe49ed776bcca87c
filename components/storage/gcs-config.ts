// Configuration of the `gcs` backend: a GCS bucket the program makes (or adopts), reached through
// Workload Identity or a service-account key.
import { isIP } from "net";

import type { ConfigKeySpec, Reader } from "../config/reader";
import { DEFAULT_IMAGE_TAGS } from "../registry/config";
import { refuseClaimKeys, refuseForAdopted, StorageBackendSpec, StorageKey } from "./backend";

export const GCS_KEYS = {
    gcsBucketName: {
        type: "string",
        default: "",
        description: "Name of the GCS bucket (storageKind gcs). Empty: a unique name derived from the registry name.",
    },
    gcsExistingBucket: {
        type: "string",
        default: "",
        description:
            "Use this existing GCS bucket (e.g. one kept by an earlier `pulumi destroy`, named by the storageLocation output) instead of creating one; the registry's account is granted access to it, and the stack never deletes it.",
    },
    gcsLocation: { type: "string", default: "US", description: "Location of the GCS bucket: a multi-region (US, EU, ASIA) or a region (e.g. europe-west1)." },
    gcsVersioning: {
        type: "boolean",
        default: false,
        description: "Keep noncurrent versions of overwritten or deleted objects in the bucket (object versioning).",
    },
    gcsNoncurrentVersionDays: {
        type: "integer",
        default: 30,
        description: "With gcsVersioning, delete noncurrent object versions after this many days (lifecycle rule). 0: keep them.",
    },
    gcsKmsKeyName: {
        type: "string",
        default: "",
        description:
            "CMEK: KMS key (projects/P/locations/L/keyRings/R/cryptoKeys/K) the bucket encrypts with; the project's GCS service agent is granted it. Empty: Google-managed keys.",
    },
    gcpWorkloadIdentity: {
        type: "boolean",
        default: true,
        description:
            "Reach GCS through GKE Workload Identity (the registry's ServiceAccount acts as a Google service account). Off: a service-account key in a Secret.",
    },
} as const satisfies Record<string, ConfigKeySpec>;

export type GcsKey = keyof typeof GCS_KEYS;

/** A GCS bucket, shared by any number of registry pods. */
export interface GcsStorageConfig {
    readonly kind: "gcs";
    /** Physical bucket name; undefined: auto-named by Pulumi. */
    readonly bucketName?: string;
    /** An existing bucket to use as it is instead of creating one. */
    readonly existingBucket?: string;
    readonly location: string;
    readonly versioning: boolean;
    /** Days after which noncurrent versions are deleted; 0: kept. */
    readonly noncurrentVersionDays: number;
    /** CMEK key id, or undefined for Google-managed encryption. */
    readonly kmsKeyName?: string;
    /** Workload Identity (true) or a service-account key file (false). */
    readonly workloadIdentity: boolean;
}

export const GCS_STORAGE: StorageBackendSpec<GcsStorageConfig> = {
    shareable: () => true,
    // Only the 3.x line has the gcs driver (Debian's 2.8 build has none).
    lines: () => [3],
    lineHint: () =>
        `; the 2.8 images have no gcs driver: leave \`imageTag\` empty (${DEFAULT_IMAGE_TAGS[3]}) or set a 3.x version, or use \`storageKind\` \`gcePersistentDisk\``,
};

const GCS_LOCATION = /^[A-Za-z][A-Za-z0-9-]*[A-Za-z0-9]$/;
const GCS_BUCKET = /^(?=.{3,63}$)[a-z0-9][a-z0-9._-]*[a-z0-9]$/;
const KMS_KEY = /^projects\/[^/]+\/locations\/[^/]+\/keyRings\/[^/]+\/cryptoKeys\/[^/]+$/;

/** Records a problem on `key` when `name` breaks the GCS bucket naming rules. */
function checkGcsBucketName(r: Reader<GcsKey>, key: GcsKey, name: string): void {
    if (!GCS_BUCKET.test(name) || name.startsWith("goog") || name.includes("google") || isIP(name) !== 0) {
        r.problem(
            `\`${key}\` must be a GCS bucket name: 3-63 of a-z, 0-9, '-', '_', '.', starting and ending with a letter or digit, without "goog"; got \`${name}\``,
        );
    }
}

export function parseGcs(r: Reader<GcsKey | StorageKey>): GcsStorageConfig {
    refuseClaimKeys(r, "gcs");
    if (r.has("storageSize")) {
        r.problem("`storageSize` is not used with `storageKind` `gcs`: a bucket has no size");
    }
    const bucketName = r.string("gcsBucketName");
    if (bucketName !== "") {
        checkGcsBucketName(r, "gcsBucketName", bucketName);
    }
    const existingBucket = r.string("gcsExistingBucket");
    if (existingBucket !== "") {
        checkGcsBucketName(r, "gcsExistingBucket", existingBucket);
        if (bucketName !== "") {
            r.problem("`gcsBucketName` names a bucket the program creates; with `gcsExistingBucket` the existing bucket is used instead: set one of them");
        }
        refuseForAdopted(r, ["gcsLocation", "gcsVersioning", "gcsNoncurrentVersionDays"], "gcsExistingBucket", "bucket");
    }
    const location = r.string("gcsLocation");
    if (!GCS_LOCATION.test(location)) {
        r.problem(`\`gcsLocation\` must be a GCS location such as \`US\`, \`EU\` or \`europe-west1\`; got \`${location}\``);
    }
    const versioning = r.boolean("gcsVersioning");
    const noncurrentVersionDays = r.integer("gcsNoncurrentVersionDays", 0, 36500);
    if (!versioning && r.has("gcsNoncurrentVersionDays") && existingBucket === "") {
        r.problem("`gcsNoncurrentVersionDays` needs `gcsVersioning` true: without versioning there are no noncurrent versions");
    }
    const kmsKeyName = r.string("gcsKmsKeyName");
    if (kmsKeyName !== "" && !KMS_KEY.test(kmsKeyName)) {
        r.problem(`\`gcsKmsKeyName\` must be a KMS key id \`projects/<p>/locations/<l>/keyRings/<r>/cryptoKeys/<k>\`; got \`${kmsKeyName}\``);
    }
    return {
        kind: "gcs",
        bucketName: bucketName === "" ? undefined : bucketName,
        existingBucket: existingBucket === "" ? undefined : existingBucket,
        location,
        versioning,
        noncurrentVersionDays,
        kmsKeyName: kmsKeyName === "" ? undefined : kmsKeyName,
        workloadIdentity: r.boolean("gcpWorkloadIdentity"),
    };
}
