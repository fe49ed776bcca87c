// The storage area: `storageKind` picks a backend, which parses its own keys and states its facts.
import { CEPH_KEYS, CEPH_STORAGE, CephKey, CephStorageConfig, parseCephStorage, refuseUnusedCephKeys } from "./ceph/config";
import type { Reader } from "../config/reader";
import type { LineNeed } from "../registry/config";
import { STORAGE_KEYS, StorageKey, StorageTraits, traitsOf } from "./backend";
import { GCE_DISK_KEYS, GCE_DISK_STORAGE, GceDiskKey, GcePersistentDiskStorageConfig, parseGcePersistentDisk } from "./gce-disk-config";
import { GCS_KEYS, GCS_STORAGE, GcsKey, GcsStorageConfig, parseGcs } from "./gcs-config";
import { EmptyDirStorageConfig, FilesystemStorageConfig, LOCAL_STORAGE, parseLocalStorage } from "./local-config";
import { parseS3, S3_KEYS, S3_STORAGE, S3Key, S3StorageConfig } from "./s3-config";

/** The storage keys: the shared ones, then each backend's. */
export const STORAGE_AREA_KEYS = { ...STORAGE_KEYS, ...GCE_DISK_KEYS, ...GCS_KEYS, ...S3_KEYS, ...CEPH_KEYS } as const;

export type StorageAreaKey = StorageKey | GceDiskKey | GcsKey | S3Key | CephKey;

export const STORAGE_KINDS = ["filesystem", "emptyDir", "gcePersistentDisk", "gcs", "s3", "cephSwift", "cephS3"] as const;
export type StorageKind = (typeof STORAGE_KINDS)[number];

export type StorageConfig =
    FilesystemStorageConfig | EmptyDirStorageConfig | GcePersistentDiskStorageConfig | GcsStorageConfig | S3StorageConfig | CephStorageConfig;

/** Parses the storage keys into the StorageConfig of the chosen kind; `ceph*` keys are refused for other kinds. */
export function parseStorage(r: Reader<StorageAreaKey>): StorageConfig {
    const storage = parseBackend(r, r.oneOf<StorageKind>("storageKind", STORAGE_KINDS));
    refuseUnusedCephKeys(r, storage.kind);
    return storage;
}

function parseBackend(r: Reader<StorageAreaKey>, kind: StorageKind): StorageConfig {
    switch (kind) {
        case "filesystem":
        case "emptyDir":
            return parseLocalStorage(r, kind);
        case "gcePersistentDisk":
            return parseGcePersistentDisk(r);
        case "gcs":
            return parseGcs(r);
        case "s3":
            return parseS3(r);
        case "cephSwift":
        case "cephS3":
            return parseCephStorage(r, kind);
    }
}

/** The facts the chosen backend states about this configuration. */
export function storageTraits(storage: StorageConfig): StorageTraits {
    switch (storage.kind) {
        case "filesystem":
        case "emptyDir":
            return traitsOf(LOCAL_STORAGE, storage);
        case "gcePersistentDisk":
            return traitsOf(GCE_DISK_STORAGE, storage);
        case "gcs":
            return traitsOf(GCS_STORAGE, storage);
        case "s3":
            return traitsOf(S3_STORAGE, storage);
        case "cephSwift":
        case "cephS3":
            return traitsOf(CEPH_STORAGE, storage);
    }
}

/** What the storage asks of the image's line: the one line that has its driver, if only one does. */
export function storageLineNeed(storage: StorageConfig): LineNeed {
    const traits = storageTraits(storage);
    return { storageKind: storage.kind, line: traits.lines.length === 1 ? traits.lines[0] : undefined, hint: traits.lineHint };
}
