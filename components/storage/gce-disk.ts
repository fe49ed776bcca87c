import * as gcp from "@pulumi/gcp";
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";

import { GCE_DISK_STORAGE, GcePersistentDiskStorageConfig } from "./gce-disk-config";
import { DATA_DIR } from "./local";
import type { RegistryStorage, StorageBackend, StorageContext } from "./types";

/** The GKE Compute Engine persistent disk CSI driver (the in-tree `gcePersistentDisk` volume is deprecated). */
export const GCE_PD_CSI_DRIVER = "pd.csi.storage.gke.io";

/** The CSI volume handle of a zonal disk: `projects/<p>/zones/<z>/disks/<name>`. */
export function gcePdVolumeHandle(project: string, zone: string, disk: string): string {
    return `projects/${project}/zones/${zone}/disks/${disk}`;
}

/**
 * The snapshot schedule of the disk: daily at `startTime` (UTC), kept `retentionDays`; snapshots
 * outlive the disk (`KEEP_AUTO_SNAPSHOTS`), since they are the way back after a lost disk.
 */
export function snapshotSchedulePolicy(
    snapshot: { startTime: string; retentionDays: number },
    labels: Record<string, string>,
): gcp.types.input.compute.ResourcePolicySnapshotSchedulePolicy {
    return {
        schedule: { dailySchedule: { daysInCycle: 1, startTime: snapshot.startTime } },
        retentionPolicy: { maxRetentionDays: snapshot.retentionDays, onSourceDiskDelete: "KEEP_AUTO_SNAPSHOTS" },
        snapshotProperties: { labels, guestFlush: false },
    };
}

export interface GceDiskStorageArgs extends StorageContext {
    /** The disk's size, type, zone and snapshot schedule (no default). */
    readonly config: GcePersistentDiskStorageConfig;
}

/**
 * A GCE persistent disk made by the program and bound to the registry alone: a PersistentVolume
 * on the PD CSI driver, pre-bound (`claimRef`) to a PVC that names it (`volumeName`), both with
 * a StorageClass name no provisioner serves, so no other claim can take the disk and no dynamic
 * disk is made instead. The disk is ReadWriteOnce: one pod, Recreate strategy (`shareable` false).
 * The disk is kept on `pulumi destroy` unless the stack opts in; an existing disk
 * (`gceExistingDisk`) is used instead of a new one, and never deleted.
 */
export class GceDiskStorage extends pulumi.ComponentResource implements StorageBackend {
    public readonly storage: RegistryStorage;
    /** The disk's name in GCE. */
    public readonly diskName: pulumi.Output<string>;
    /** The CSI volume handle (`projects/<p>/zones/<z>/disks/<name>`). */
    public readonly volumeHandle: pulumi.Output<string>;
    /** The PVC the registry mounts. */
    public readonly claimName: pulumi.Output<string>;

    constructor(name: string, args: GceDiskStorageArgs, opts?: pulumi.ComponentResourceOptions) {
        super("registry:storage:GceDiskStorage", name, {}, opts);
        const cfg = args.config;
        // GCE labels: lowercase keys/values of [a-z0-9_-]; the Kubernetes labels mostly qualify.
        const gceLabels = gceLabelsFrom(args.labels);
        let project: pulumi.Output<string>;
        let sizeGb: pulumi.Output<number>;
        if (cfg.existingDisk !== undefined) {
            // A disk the stack did not create (say, one a `pulumi destroy` kept): looked up, never
            // managed, so nothing the stack does can replace or delete it. The claim takes the
            // disk's own size, whatever storageSize says.
            const existing = gcp.compute.getDiskOutput({ name: cfg.existingDisk, zone: cfg.zone }, { parent: this });
            this.diskName = existing.name;
            project = existing.apply((d) => {
                if (d.project === undefined || d.project === "") {
                    throw new Error(`\`gceExistingDisk\`: GCE reports no project for the disk ${cfg.existingDisk}`);
                }
                return d.project;
            });
            sizeGb = existing.size;
        } else {
            const disk = new gcp.compute.Disk(
                `${name}-disk`,
                {
                    zone: cfg.zone,
                    size: cfg.sizeGb,
                    type: cfg.diskType,
                    labels: gceLabels,
                    description: `Images of the registry ${args.registryName} (namespace ${args.namespaceName})`,
                },
                // Retained, not protected: `pulumi destroy` still works, and the images stay.
                { parent: this, retainOnDelete: args.retainData },
            );
            this.diskName = disk.name;
            project = disk.project;
            sizeGb = pulumi.output(cfg.sizeGb);
        }
        if (cfg.snapshot !== undefined) {
            const policy = new gcp.compute.ResourcePolicy(
                `${name}-snapshots`,
                { region: zoneRegion(cfg.zone), snapshotSchedulePolicy: snapshotSchedulePolicy(cfg.snapshot, gceLabels) },
                { parent: this },
            );
            new gcp.compute.DiskResourcePolicyAttachment(`${name}-snapshots`, { disk: this.diskName, zone: cfg.zone, name: policy.name }, { parent: this });
        }
        this.volumeHandle = pulumi.all([project, this.diskName]).apply(([p, d]) => gcePdVolumeHandle(p, cfg.zone, d));

        const claimName = `${args.registryName}-data`;
        // A class name of its own that no provisioner serves: the claim can only bind this PV.
        const storageClassName = `${args.registryName}-gce-pd`;
        const capacity = pulumi.interpolate`${sizeGb}Gi`;
        const pv = new k8s.core.v1.PersistentVolume(
            `${name}-pv`,
            {
                metadata: { labels: args.labels },
                spec: {
                    capacity: { storage: capacity },
                    accessModes: ["ReadWriteOnce"],
                    // Deleting the claim or the PV never deletes the disk; Pulumi owns the disk.
                    persistentVolumeReclaimPolicy: "Retain",
                    storageClassName,
                    volumeMode: "Filesystem",
                    claimRef: { namespace: args.namespaceName, name: claimName },
                    csi: { driver: GCE_PD_CSI_DRIVER, volumeHandle: this.volumeHandle, fsType: "ext4" },
                    // A zonal disk attaches only to nodes in its zone.
                    nodeAffinity: {
                        required: { nodeSelectorTerms: [{ matchExpressions: [{ key: "topology.kubernetes.io/zone", operator: "In", values: [cfg.zone] }] }] },
                    },
                },
            },
            { parent: this },
        );
        const pvc = new k8s.core.v1.PersistentVolumeClaim(
            `${name}-pvc`,
            {
                metadata: { name: claimName, namespace: args.namespace, labels: args.labels },
                spec: {
                    accessModes: ["ReadWriteOnce"],
                    storageClassName,
                    volumeName: pv.metadata.name,
                    resources: { requests: { storage: capacity } },
                },
            },
            { parent: this },
        );
        this.claimName = pvc.metadata.name;
        this.storage = {
            driver: { filesystem: { rootdirectory: DATA_DIR } },
            redirectDisable: true,
            env: [],
            volumes: [{ name: "data", persistentVolumeClaim: { claimName: pvc.metadata.name } }],
            volumeMounts: [{ name: "data", mountPath: DATA_DIR }],
            shareable: GCE_DISK_STORAGE.shareable(cfg),
            supportedLines: GCE_DISK_STORAGE.lines(cfg),
            serviceAccountAnnotations: {},
            dependsOn: [pvc],
            // The disk's path, which `gceExistingDisk` takes back after a destroy that kept it.
            location: this.volumeHandle,
        };
        this.registerOutputs({ diskName: this.diskName, volumeHandle: this.volumeHandle, claimName: this.claimName });
    }
}

/** `europe-west1-b` -> `europe-west1`. */
export function zoneRegion(zone: string): string {
    return zone.replace(/-[a-z]$/, "");
}

/** Kubernetes labels as GCE labels: keys and values lowercased, other characters to `_`, prefixes dropped. */
export function gceLabelsFrom(labels: Record<string, string>): Record<string, string> {
    const clean = (s: string) =>
        s
            .toLowerCase()
            .replace(/[^a-z0-9_-]/g, "_")
            .slice(0, 63);
    return Object.fromEntries(
        Object.entries(labels)
            .map(([k, v]): [string, string] => [clean(k.split("/").pop() ?? k), clean(v)])
            .filter(([k]) => /^[a-z]/.test(k)),
    );
}
