// Configuration of the local backends: a PersistentVolumeClaim (`filesystem`) or the pod's own
// scratch space (`emptyDir`).
import type { Reader } from "../config/reader";
import { DNS_NAME } from "../config/validators";
import type { StorageBackendSpec, StorageKey } from "./backend";

export const ACCESS_MODES = ["ReadWriteOnce", "ReadWriteMany"] as const;

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

export type LocalStorageConfig = FilesystemStorageConfig | EmptyDirStorageConfig;

export const LOCAL_STORAGE: StorageBackendSpec<LocalStorageConfig> = {
    // A ReadWriteOnce claim is mounted by one node; an emptyDir belongs to one pod.
    shareable: (cfg) => cfg.kind === "filesystem" && cfg.accessMode === "ReadWriteMany",
    lines: () => [2, 3],
    unshareableReason: (cfg) =>
        cfg.kind === "filesystem"
            ? `\`storageKind\` \`filesystem\` with \`storageAccessMode\` \`${cfg.accessMode}\` can be mounted by one node only. Set \`replicas\` to 1, or use shared storage (\`storageAccessMode\` \`ReadWriteMany\`)`
            : `\`storageKind\` \`${cfg.kind}\` is private to each pod. Set \`replicas\` to 1, or use shared storage (\`storageAccessMode\` \`ReadWriteMany\`)`,
};

export function parseLocalStorage(r: Reader<StorageKey>, kind: LocalStorageConfig["kind"]): LocalStorageConfig {
    if (kind === "emptyDir") {
        if (r.has("storageExistingClaim")) {
            r.problem("`storageExistingClaim` needs `storageKind` `filesystem`");
        }
        return { kind, sizeLimit: r.quantity("storageSize", false) ?? "10Gi" };
    }
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
