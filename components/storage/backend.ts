// What every storage backend declares about itself, and the storage keys all backends share.
import type { ConfigKeySpec, Reader } from "../config/reader";
import type { RegistryLine } from "../registry/config";

export const STORAGE_KEYS = {
    storageKind: {
        type: "string",
        default: "filesystem",
        description:
            "Image storage: filesystem (a PVC), emptyDir (lost when the pod goes), gcePersistentDisk (a GCE disk made by the program), gcs (a GCS bucket), s3 (an S3 bucket), cephSwift or cephS3 (Ceph RGW).",
    },
    storageSize: { type: "string", default: "10Gi", description: "Size of the PVC (filesystem) or emptyDir size limit." },
    storageClass: { type: "string", default: "", description: "StorageClass of the PVC. Empty: the cluster's default class." },
    storageAccessMode: {
        type: "string",
        default: "ReadWriteOnce",
        description: "PVC access mode: ReadWriteOnce, or ReadWriteMany (lets several replicas share it).",
    },
    storageExistingClaim: {
        type: "string",
        default: "",
        description: "Use this existing PVC (e.g. one kept by an earlier `pulumi destroy`) instead of creating one; storageSize/storageClass are then ignored.",
    },
    deleteStorageOnDestroy: {
        type: "boolean",
        default: false,
        description: "Let `pulumi destroy` delete the stored images (PVC, bucket, disk). Off: they are kept.",
    },
    storageDeleteEnabled: {
        type: "boolean",
        default: true,
        description: "Allow deleting manifests and blobs through the registry API (storage.delete.enabled).",
    },
} as const satisfies Record<string, ConfigKeySpec>;

export type StorageKey = keyof typeof STORAGE_KEYS;

/**
 * A backend's facts, stated once: configuration validates replicas and the image's line with
 * them, and the backend's component hands them to the registry in its RegistryStorage.
 */
export interface StorageBackendSpec<C> {
    /** Whether several registry pods may use the storage at once. */
    readonly shareable: (cfg: C) => boolean;
    /** Distribution lines whose binary has the driver. */
    readonly lines: (cfg: C) => readonly RegistryLine[];
    /** When not shareable: why, and what to use instead (ends the `replicas` problem). */
    readonly unshareableReason?: (cfg: C) => string;
    /** When the image's line lacks the driver: what to do instead (ends the `imageTag` problem). */
    readonly lineHint?: (cfg: C) => string;
}

/** A backend's facts for one configuration. */
export interface StorageTraits {
    readonly shareable: boolean;
    readonly lines: readonly RegistryLine[];
    readonly unshareableReason: string;
    readonly lineHint: string;
}

export function traitsOf<C>(spec: StorageBackendSpec<C>, cfg: C): StorageTraits {
    return {
        shareable: spec.shareable(cfg),
        lines: spec.lines(cfg),
        unshareableReason: spec.unshareableReason?.(cfg) ?? "",
        lineHint: spec.lineHint?.(cfg) ?? "",
    };
}

/** The PVC keys mean nothing to the GCP backends, which make their own volume or none. */
export function refuseClaimKeys(r: Reader<StorageKey>, kind: "gcePersistentDisk" | "gcs"): void {
    for (const key of ["storageClass", "storageExistingClaim"] as const) {
        if (r.has(key)) {
            r.problem(`\`${key}\` is only used when \`storageKind\` is \`filesystem\`; \`${kind}\` does not use it`);
        }
    }
    if (r.string("storageAccessMode") !== "ReadWriteOnce") {
        r.problem(`\`storageAccessMode\` is only used when \`storageKind\` is \`filesystem\`; \`${kind}\` does not use it`);
    }
}

/**
 * What an adopted disk or bucket (one the stack uses but did not create) cannot take: settings of
 * a disk or bucket the program creates, which would be silently ignored, and deletion on destroy.
 */
export function refuseForAdopted<K extends string>(r: Reader<K | StorageKey>, keys: readonly (K | StorageKey)[], adoptKey: K, what: "disk" | "bucket"): void {
    for (const key of keys.filter((k) => r.has(k))) {
        r.problem(`\`${key}\` configures a ${what} the program creates; with \`${adoptKey}\` the existing ${what} is used as it is: remove it`);
    }
    if (r.boolean("deleteStorageOnDestroy")) {
        r.problem(
            `\`deleteStorageOnDestroy\` cannot delete \`${adoptKey}\`: the stack uses that ${what} but does not own it; delete it with gcloud after \`pulumi destroy\``,
        );
    }
}
