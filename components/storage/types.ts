import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";

import type { RegistryLine } from "../registry/config";

type EnvVar = k8s.types.input.core.v1.EnvVar;
type Volume = k8s.types.input.core.v1.Volume;
type VolumeMount = k8s.types.input.core.v1.VolumeMount;

/**
 * What every storage backend gives the registry. The registry component consumes only this
 * shape, so it never knows which cloud the images live in.
 */
export interface RegistryStorage {
    /**
     * The driver part of config.yml's `storage` section, e.g. `{ s3: { bucket, region } }`.
     * Never holds credentials: those travel in `env` as `secretKeyRef`s.
     */
    readonly driver: pulumi.Input<Record<string, pulumi.Input<Record<string, unknown>>>>;
    /** `storage.redirect.disable` (true: blobs are served through the registry). */
    readonly redirectDisable: boolean;
    /** Environment variables for the registry container (credentials only by `secretKeyRef`). */
    readonly env: EnvVar[];
    /** Pod volumes the backend needs (data volume, key files). */
    readonly volumes: Volume[];
    /** Mounts of those volumes into the registry container. */
    readonly volumeMounts: VolumeMount[];
    /** Whether several registry pods may use this storage at once. */
    readonly shareable: boolean;
    /** Distribution lines whose binary has this driver. */
    readonly supportedLines: readonly RegistryLine[];
    /** Annotations for the registry's ServiceAccount (cloud workload identity). */
    readonly serviceAccountAnnotations: Record<string, pulumi.Input<string>>;
    /** Resources the registry pods must wait for (buckets, credentials). */
    readonly dependsOn: pulumi.Resource[];
    /** Where the images are, for people and CI (e.g. `s3://bucket/registry`). Default: none (""). */
    readonly location?: pulumi.Input<string>;
}

/** Arguments every storage backend receives besides its own config. */
export interface StorageContext {
    /** Namespace the registry runs in (no default). */
    readonly namespace: pulumi.Input<string>;
    /** The same namespace as a plain string, for identities bound to `system:serviceaccount:<ns>:<sa>` (no default). */
    readonly namespaceName: string;
    /** Name of the registry instance, for object names (no default). */
    readonly registryName: string;
    /** Name of the registry's ServiceAccount, for cloud identities bound to it (no default). */
    readonly serviceAccountName: string;
    /** Labels for the backend's Kubernetes objects (no default). */
    readonly labels: Record<string, string>;
    /** Keep stored images on `pulumi destroy` (no default: from `deleteStorageOnDestroy`). */
    readonly retainData: boolean;
}

/** A component that provides registry storage. */
export interface StorageBackend extends pulumi.ComponentResource {
    readonly storage: RegistryStorage;
}
