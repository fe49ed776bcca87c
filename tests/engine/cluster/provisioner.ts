// A stand-in for a CSI provisioner (the external-provisioner sidecar with a driver), for claims
// that leave `storageClassName` unset: the program's PVCs do, and this cluster has no default
// StorageClass, which is how a cluster whose admin pre-provisions volumes looks. For each Pending
// claim with no class it makes a `hostPath` PersistentVolume pre-bound to the claim (`claimRef`),
// on a directory of its own under a root dir; the controller-manager's PV binder then binds the
// two, as it does a real provisioner's volumes. When the claim is deleted the volume becomes
// Released, and (reclaim policy Delete) this deletes it and its directory.
// A node agent mounts a claim's directory: `dirOf(namespace, claim)` / `dirOfVolume(pv)`.
import * as k8s from "@kubernetes/client-node";
import * as fs from "fs";
import * as path from "path";

import { WorkQueue, Watched, errorMessage, watch } from "./informers";

/**
 * Marks the volumes it made. A provisioner name outside `kubernetes.io/` also tells the
 * controller-manager the volume has an external deleter, so it leaves a Released volume to us
 * instead of failing to delete it with the in-tree hostPath plugin (which only deletes /tmp/…).
 */
export const PROVISIONED_BY = "pv.kubernetes.io/provisioned-by";
export const PROVISIONER = "registry.test/hostpath";

/** The volume made for a claim: named after the claim's UID, like the external-provisioner's. */
export function volumeName(claim: k8s.V1PersistentVolumeClaim): string {
    return `pvc-${claim.metadata?.uid ?? ""}`;
}

/** Whether this provisioner makes a volume for the claim. */
export function wantsVolume(claim: k8s.V1PersistentVolumeClaim): boolean {
    return (
        (claim.status?.phase ?? "Pending") === "Pending" &&
        claim.metadata?.deletionTimestamp === undefined &&
        (claim.spec?.storageClassName ?? "") === "" &&
        // Pre-bound to a volume someone chose, or asking for volumes by label: not ours to make.
        (claim.spec?.volumeName ?? "") === "" &&
        claim.spec?.selector === undefined &&
        // A directory is a filesystem.
        (claim.spec?.volumeMode ?? "Filesystem") === "Filesystem"
    );
}

/** The PersistentVolume for `claim` on `dir`: the claim's size and access modes, pre-bound to it. */
export function volumeFor(claim: k8s.V1PersistentVolumeClaim, dir: string): k8s.V1PersistentVolume {
    const storage = claim.spec?.resources?.requests?.storage;
    if (storage === undefined) {
        throw new Error(`claim ${claim.metadata?.namespace}/${claim.metadata?.name} has no resources.requests.storage`);
    }
    return {
        apiVersion: "v1",
        kind: "PersistentVolume",
        metadata: { name: volumeName(claim), annotations: { [PROVISIONED_BY]: PROVISIONER } },
        spec: {
            capacity: { storage },
            accessModes: claim.spec?.accessModes,
            volumeMode: "Filesystem",
            persistentVolumeReclaimPolicy: "Delete",
            storageClassName: "",
            claimRef: {
                apiVersion: "v1",
                kind: "PersistentVolumeClaim",
                namespace: claim.metadata?.namespace,
                name: claim.metadata?.name,
                uid: claim.metadata?.uid,
            },
            hostPath: { path: dir, type: "Directory" },
        },
    };
}

export interface ProvisionerOptions {
    /** The directory volumes' directories are made in (created if missing). */
    readonly root: string;
    /** Where to say what it does. Default: nowhere. */
    readonly log?: (line: string) => void;
}

/** Provisions hostPath volumes for class-less claims and deletes them when released. */
export class HostPathProvisioner {
    private constructor(
        private readonly kc: k8s.KubeConfig,
        readonly root: string,
        private readonly claims: Watched<k8s.V1PersistentVolumeClaim>,
        private readonly volumes: Watched<k8s.V1PersistentVolume>,
        private readonly queue: WorkQueue,
        private readonly log: (line: string) => void,
    ) {}

    /** Starts watching; resolves once claims and volumes are listed (synced in the background from then on). */
    static async start(kc: k8s.KubeConfig, opts: ProvisionerOptions): Promise<HostPathProvisioner> {
        const log = opts.log ?? (() => undefined);
        const root = path.resolve(opts.root);
        fs.mkdirSync(root, { recursive: true });
        // eslint-disable-next-line prefer-const -- declared before the closure that reads it, assigned once that closure exists
        let self: HostPathProvisioner | undefined;
        // The queue is paused until queue.start(), by which time `self` is set.
        const queue = new WorkQueue(
            (key) => self!.sync(key),
            (key, err) => log(`provisioner: ${key}: ${errorMessage(err)} (retrying)`),
        );
        const core = kc.makeApiClient(k8s.CoreV1Api);
        const claims = await watch<k8s.V1PersistentVolumeClaim>(
            kc,
            "/api/v1/persistentvolumeclaims",
            () => core.listPersistentVolumeClaimForAllNamespaces(),
            (c) => queue.add(`claim:${c.metadata?.namespace}/${c.metadata?.name}`),
        );
        const volumes = await watch<k8s.V1PersistentVolume>(
            kc,
            "/api/v1/persistentvolumes",
            () => core.listPersistentVolume(),
            (v) => queue.add(`volume:${v.metadata?.name}`),
        ).catch(async (err: unknown) => {
            await claims.stop();
            throw err;
        });
        self = new HostPathProvisioner(kc, root, claims, volumes, queue, log);
        queue.start();
        return self;
    }

    /** The directory of a volume this provisioner makes (whether or not it exists yet). */
    dirOfVolume(pvName: string): string {
        return path.join(this.root, pvName);
    }

    /** The directory of a claim's volume; undefined while the claim is not known here. */
    dirOf(namespace: string, claim: string): string | undefined {
        const c = this.claims.cache.get(claim, namespace);
        return c === undefined ? undefined : this.dirOfVolume(volumeName(c));
    }

    /** Stops watching. Volumes and directories stay. */
    async stop(): Promise<void> {
        await this.queue.stop();
        await Promise.all([this.claims.stop(), this.volumes.stop()]);
    }

    private async sync(key: string): Promise<void> {
        const [kind, id] = key.split(":");
        if (kind === "claim") {
            const [namespace, name] = id.split("/");
            const claim = this.claims.cache.get(name, namespace);
            if (claim !== undefined && wantsVolume(claim)) {
                await this.provision(claim);
            }
        } else {
            const pv = this.volumes.cache.get(id);
            if (pv !== undefined && pv.metadata?.annotations?.[PROVISIONED_BY] === PROVISIONER && pv.status?.phase === "Released") {
                await this.delete(pv);
            }
        }
    }

    private async provision(claim: k8s.V1PersistentVolumeClaim): Promise<void> {
        const name = volumeName(claim);
        if (this.volumes.cache.get(name) !== undefined) {
            return;
        }
        const dir = this.dirOfVolume(name);
        fs.mkdirSync(dir, { recursive: true });
        // Pods run as any user (the registry's is not root): like a fresh disk, anyone may write.
        fs.chmodSync(dir, 0o777);
        try {
            await this.kc.makeApiClient(k8s.CoreV1Api).createPersistentVolume(volumeFor(claim, dir));
        } catch (err) {
            // Made already: the cache had not seen it yet.
            if ((err as { statusCode?: number }).statusCode !== 409) {
                throw err;
            }
        }
        this.log(`provisioner: ${claim.metadata?.namespace}/${claim.metadata?.name}: ${name} on ${dir}`);
    }

    private async delete(pv: k8s.V1PersistentVolume): Promise<void> {
        const name = pv.metadata?.name ?? "";
        try {
            await this.kc.makeApiClient(k8s.CoreV1Api).deletePersistentVolume(name);
        } catch (err) {
            if ((err as { statusCode?: number }).statusCode !== 404) {
                throw err;
            }
        }
        // Only ever a directory of ours: the path in the object is not trusted.
        fs.rmSync(this.dirOfVolume(name), { recursive: true, force: true });
        this.log(`provisioner: deleted ${name} (${pv.spec?.claimRef?.namespace}/${pv.spec?.claimRef?.name} was deleted)`);
    }
}
