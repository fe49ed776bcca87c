// What the GCP unit specs (tests/gcp-*.spec.ts) share: the program's run as a stack, the resource
// types they look up, and the dependency check.
import type { RecordedResource } from "./mocks";
import { ProgramRun, runProgramOrThrow, RunOptions, StackConfig } from "./program";

export function run(config: StackConfig, stack = "test", opts: RunOptions = {}): Promise<ProgramRun> {
    return runProgramOrThrow(config, { ...opts, stack });
}

export const DISK = "gcp:compute/disk:Disk";
export const PV = "kubernetes:core/v1:PersistentVolume";
export const PVC = "kubernetes:core/v1:PersistentVolumeClaim";
export const DEPLOYMENT = "kubernetes:apps/v1:Deployment";
export const BUCKET = "gcp:storage/bucket:Bucket";

/** Whether `r` was registered with an explicit dependency on `on` (URNs compared by type and name). */
export function dependsOn(r: RecordedResource, on: RecordedResource): boolean {
    return r.options.dependencies.some((d) => d.endsWith(`$${on.type}::${on.name}`) || d.endsWith(`::${on.type}::${on.name}`));
}

export const GCE = { storageKind: "gcePersistentDisk", gceDiskZone: "us-central1-a" };
