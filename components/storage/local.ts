import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";

import { LOCAL_STORAGE, LocalStorageConfig } from "./local-config";
import type { RegistryStorage, StorageBackend, StorageContext } from "./types";

/** Where the filesystem driver keeps images inside the container. */
export const DATA_DIR = "/var/lib/registry";

export interface LocalStorageArgs extends StorageContext {
    /** A PVC (`filesystem`) or a pod-local `emptyDir` (no default). */
    readonly config: LocalStorageConfig;
}

/**
 * The filesystem driver on a PersistentVolumeClaim, or on an emptyDir for throwaway clusters.
 * The PVC is retained on `pulumi destroy` unless the stack opts in to deleting images.
 */
export class LocalStorage extends pulumi.ComponentResource implements StorageBackend {
    public readonly storage: RegistryStorage;
    /** The PVC name ("" for emptyDir). */
    public readonly claimName: pulumi.Output<string>;

    constructor(name: string, args: LocalStorageArgs, opts?: pulumi.ComponentResourceOptions) {
        super("registry:storage:LocalStorage", name, {}, opts);
        const cfg = args.config;
        let volume: k8s.types.input.core.v1.Volume;
        if (cfg.kind === "filesystem" && cfg.existingClaim !== undefined) {
            // Adopting a claim (say, one a `pulumi destroy` kept): the stack never owns it, so
            // nothing the stack does can delete it.
            this.claimName = pulumi.output(cfg.existingClaim);
            volume = { name: "data", persistentVolumeClaim: { claimName: cfg.existingClaim } };
        } else if (cfg.kind === "filesystem") {
            const pvc = new k8s.core.v1.PersistentVolumeClaim(
                `${name}-pvc`,
                {
                    // A fixed name: people look for their images by it after a destroy, and a
                    // replacement fails on the name clash instead of silently starting empty.
                    metadata: { name: `${args.registryName}-data`, namespace: args.namespace, labels: args.labels },
                    spec: {
                        accessModes: [cfg.accessMode],
                        storageClassName: cfg.storageClass,
                        resources: { requests: { storage: cfg.size } },
                    },
                },
                { parent: this, retainOnDelete: args.retainData },
            );
            this.claimName = pvc.metadata.name;
            volume = { name: "data", persistentVolumeClaim: { claimName: pvc.metadata.name } };
        } else {
            // Fire-and-forget: the engine tracks the log RPC itself; nothing here depends on it.
            void pulumi.log.warn("`storageKind` is `emptyDir`: images are lost whenever the registry pod is deleted or rescheduled", this);
            this.claimName = pulumi.output("");
            volume = { name: "data", emptyDir: { sizeLimit: cfg.sizeLimit } };
        }
        this.storage = {
            driver: { filesystem: { rootdirectory: DATA_DIR } },
            redirectDisable: true,
            env: [],
            volumes: [volume],
            volumeMounts: [{ name: "data", mountPath: DATA_DIR }],
            shareable: LOCAL_STORAGE.shareable(cfg),
            supportedLines: LOCAL_STORAGE.lines(cfg),
            serviceAccountAnnotations: {},
            dependsOn: [],
        };
        this.registerOutputs({ claimName: this.claimName });
    }
}
