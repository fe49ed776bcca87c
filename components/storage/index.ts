import * as pulumi from "@pulumi/pulumi";

import type { StorageConfig } from "./config";
import { CephStorage } from "./ceph/storage";
import { GceDiskStorage } from "./gce-disk";
import { GcsStorage } from "./gcs";
import { LocalStorage } from "./local";
import { S3Storage } from "./s3";
import type { StorageBackend, StorageContext } from "./types";

export * from "./backend";
export * from "./config";
export * from "./gce-disk";
export * from "./gce-disk-config";
export * from "./gcs";
export * from "./gcs-config";
export * from "./local";
export * from "./local-config";
export * from "./s3";
export * from "./s3-config";
export * from "./s3-policy";
export * from "./types";

/** Creates the storage backend the config asks for; the only place that branches on the kind. */
export function createStorage(name: string, config: StorageConfig, ctx: StorageContext, opts?: pulumi.ComponentResourceOptions): StorageBackend {
    switch (config.kind) {
        case "filesystem":
        case "emptyDir":
            return new LocalStorage(name, { ...ctx, config }, opts);
        case "gcePersistentDisk":
            return new GceDiskStorage(name, { ...ctx, config }, opts);
        case "gcs":
            return new GcsStorage(name, { ...ctx, config }, opts);
        case "s3":
            return new S3Storage(name, { ...ctx, config }, opts);
        case "cephSwift":
        case "cephS3":
            return new CephStorage(name, { ...ctx, config }, opts);
    }
}

/**
 * Whether the stored images live in objects inside the registry's namespace (a PVC), so the
 * namespace must outlive `pulumi destroy` when the data is retained.
 */
export function dataLivesInNamespace(config: StorageConfig): boolean {
    return config.kind === "filesystem";
}
