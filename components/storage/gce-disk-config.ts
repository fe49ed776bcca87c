// Configuration of the `gcePersistentDisk` backend: a GCE persistent disk the program makes (or
// adopts), bound to the registry through a CSI PersistentVolume.
import type { ConfigKeySpec, Reader } from "../config/reader";
import { RFC1035_LABEL } from "../config/validators";
import { refuseClaimKeys, refuseForAdopted, StorageBackendSpec, StorageKey } from "./backend";

export const GCE_DISK_KEYS = {
    gceDiskZone: {
        type: "string",
        default: "",
        description: "Zone of the GCE persistent disk, the GKE nodes' zone (e.g. europe-west1-b); required when storageKind is gcePersistentDisk.",
    },
    gceDiskType: {
        type: "string",
        default: "pd-balanced",
        description: "GCE persistent disk type: pd-balanced, pd-ssd or pd-standard (storageSize is its size, whole Gi).",
    },
    gceDiskSnapshotStartTime: {
        type: "string",
        default: "",
        description: "Daily snapshot schedule of the disk: start time in UTC, HH:00 (e.g. 03:00). Empty: no snapshot schedule.",
    },
    gceDiskSnapshotRetentionDays: { type: "integer", default: 14, description: "Days the scheduled snapshots of the disk are kept." },
    gceExistingDisk: {
        type: "string",
        default: "",
        description:
            "Use this existing GCE disk in gceDiskZone (e.g. one kept by an earlier `pulumi destroy`, named by the storageLocation output) instead of creating one; the stack never deletes or replaces it.",
    },
} as const satisfies Record<string, ConfigKeySpec>;

export type GceDiskKey = keyof typeof GCE_DISK_KEYS;

export const GCE_DISK_TYPES = ["pd-balanced", "pd-ssd", "pd-standard"] as const;

/** A GCE persistent disk made by the program, bound to the registry through a CSI PersistentVolume. */
export interface GcePersistentDiskStorageConfig {
    readonly kind: "gcePersistentDisk";
    /** Disk size in GiB (GCE's "GB" are GiB). */
    readonly sizeGb: number;
    readonly diskType: (typeof GCE_DISK_TYPES)[number];
    readonly zone: string;
    /** Daily snapshots, when scheduled. */
    readonly snapshot?: { readonly startTime: string; readonly retentionDays: number };
    /** An existing disk in `zone` to use instead of creating one; its own size counts, not `sizeGb`. */
    readonly existingDisk?: string;
}

export const GCE_DISK_STORAGE: StorageBackendSpec<GcePersistentDiskStorageConfig> = {
    // One node mounts the disk (ReadWriteOnce), and the Deployment is recreated, not rolled.
    shareable: () => false,
    lines: () => [2, 3],
    unshareableReason: () =>
        "`storageKind` `gcePersistentDisk` is ReadWriteOnce: one node mounts the disk, and the Deployment is recreated, not rolled. Set `replicas` to 1, or use `storageKind` `gcs`",
};

const GCP_ZONE = /^[a-z]+-[a-z]+[0-9]+-[a-z]$/;

export function parseGcePersistentDisk(r: Reader<GceDiskKey | StorageKey>): GcePersistentDiskStorageConfig {
    refuseClaimKeys(r, "gcePersistentDisk");
    const size = r.string("storageSize");
    const m = /^([0-9]+)(Gi|Ti)$/.exec(size);
    const sizeGb = m === null ? 0 : Number(m[1]) * (m[2] === "Ti" ? 1024 : 1);
    if (sizeGb < 10 || sizeGb > 65536) {
        r.problem(`\`storageSize\` of a \`gcePersistentDisk\` must be a whole number of Gi or Ti between 10Gi and 64Ti; got \`${size}\``);
    }
    const zone = r.string("gceDiskZone");
    if (zone === "") {
        r.problem("`gceDiskZone` is required when `storageKind` is `gcePersistentDisk`: the zone of the GKE nodes, such as `europe-west1-b`");
    } else if (!GCP_ZONE.test(zone)) {
        r.problem(`\`gceDiskZone\` must be a GCE zone such as \`europe-west1-b\`; got \`${zone}\``);
    }
    const diskType = r.oneOf("gceDiskType", GCE_DISK_TYPES);
    const startTime = r.string("gceDiskSnapshotStartTime");
    const retentionDays = r.integer("gceDiskSnapshotRetentionDays", 1, 65536);
    if (startTime !== "" && !/^([01][0-9]|2[0-3]):00$/.test(startTime)) {
        r.problem(`\`gceDiskSnapshotStartTime\` must be a whole hour in UTC such as \`03:00\` (GCE starts schedules on the hour); got \`${startTime}\``);
    }
    if (startTime === "" && r.has("gceDiskSnapshotRetentionDays")) {
        r.problem("`gceDiskSnapshotRetentionDays` needs a snapshot schedule: set `gceDiskSnapshotStartTime`");
    }
    const existingDisk = r.string("gceExistingDisk");
    if (existingDisk !== "") {
        if (!RFC1035_LABEL.test(existingDisk)) {
            r.problem(
                `\`gceExistingDisk\` must be a GCE disk name: 1-63 of a-z, 0-9, '-', starting with a letter and not ending with '-'; got \`${existingDisk}\``,
            );
        }
        refuseForAdopted(r, ["gceDiskType", "storageSize"], "gceExistingDisk", "disk");
    }
    return {
        kind: "gcePersistentDisk",
        sizeGb,
        diskType,
        zone,
        snapshot: startTime === "" ? undefined : { startTime, retentionDays },
        existingDisk: existingDisk === "" ? undefined : existingDisk,
    };
}
