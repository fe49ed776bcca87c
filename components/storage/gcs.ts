import * as gcp from "@pulumi/gcp";
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";

import { GCS_STORAGE, GcsStorageConfig } from "./gcs-config";
import { gceLabelsFrom } from "./gce-disk";
import type { RegistryStorage, StorageBackend, StorageContext } from "./types";

/** The gcs driver's chunk size (its default, set explicitly so tests and docs can name it). */
export const GCS_CHUNK_SIZE = 16 * 1024 * 1024;
/** Where the service-account key file is mounted when Workload Identity is off. */
export const GCS_KEY_DIR = "/etc/registry/gcs";
export const GCS_KEY_FILE = "keyfile.json";
/** The GKE annotation that binds a Kubernetes ServiceAccount to a Google service account. */
export const WORKLOAD_IDENTITY_ANNOTATION = "iam.gke.io/gcp-service-account";

/**
 * The Google service account id for a registry: 6-30 characters of [a-z0-9-], starting with a
 * letter. Derived from the registry name so two registries in one project do not collide.
 */
export function gcsServiceAccountId(registryName: string): string {
    const base = /^[a-z]/.test(registryName) ? registryName : `r${registryName}`;
    return `${base.slice(0, 22).replace(/-+$/, "")}-storage`;
}

/** The IAM member a GKE Workload Identity pool gives a Kubernetes ServiceAccount. */
export function workloadIdentityMember(project: string, namespace: string, serviceAccount: string): string {
    return `serviceAccount:${project}.svc.id.goog[${namespace}/${serviceAccount}]`;
}

/** The bucket's lifecycle rules: noncurrent versions go after `noncurrentVersionDays` (when versioned). */
export function gcsLifecycleRules(cfg: Pick<GcsStorageConfig, "versioning" | "noncurrentVersionDays">): gcp.types.input.storage.BucketLifecycleRule[] {
    if (!cfg.versioning || cfg.noncurrentVersionDays === 0) {
        return [];
    }
    return [{ action: { type: "Delete" }, condition: { daysSinceNoncurrentTime: cfg.noncurrentVersionDays, withState: "ARCHIVED" } }];
}

export interface GcsStorageArgs extends StorageContext {
    /** Bucket settings and how the registry authenticates (no default). */
    readonly config: GcsStorageConfig;
}

/**
 * A GCS bucket for the registry's gcs driver (distribution 3.x): uniform bucket-level access,
 * public access prevention enforced, optional versioning with a lifecycle rule and CMEK. The
 * registry acts as a Google service account that has `roles/storage.objectAdmin` on this bucket
 * only, through GKE Workload Identity or, when that is off, a key mounted from a Secret.
 * The bucket is kept on `pulumi destroy` unless the stack opts in; an existing bucket
 * (`gcsExistingBucket`) is used as it is instead of a new one, and never deleted.
 */
export class GcsStorage extends pulumi.ComponentResource implements StorageBackend {
    public readonly storage: RegistryStorage;
    /** The bucket's name. */
    public readonly bucketName: pulumi.Output<string>;
    /** The Google service account the registry acts as. */
    public readonly serviceAccountEmail: pulumi.Output<string>;

    constructor(name: string, args: GcsStorageArgs, opts?: pulumi.ComponentResourceOptions) {
        super("registry:storage:GcsStorage", name, {}, opts);
        const cfg = args.config;
        const labels = gceLabelsFrom(args.labels);

        // With CMEK, GCS itself (the project's service agent) encrypts and decrypts with the
        // key; it needs the grant before the bucket can name the key. The grant outlives
        // `pulumi destroy`: the agent is the project's, shared by every bucket on that key (which
        // may have had the grant before this stack), and a kept bucket is unreadable without it.
        const bucketDeps: pulumi.Resource[] = [];
        if (cfg.kmsKeyName !== undefined) {
            const agent = gcp.storage.getProjectServiceAccountOutput({}, { parent: this });
            bucketDeps.push(
                new gcp.kms.CryptoKeyIAMMember(
                    `${name}-kms-agent`,
                    {
                        cryptoKeyId: cfg.kmsKeyName,
                        role: "roles/cloudkms.cryptoKeyEncrypterDecrypter",
                        member: pulumi.interpolate`serviceAccount:${agent.emailAddress}`,
                    },
                    { parent: this, retainOnDelete: true },
                ),
            );
        }
        const bucketResources: pulumi.Resource[] = [];
        if (cfg.existingBucket !== undefined) {
            // A bucket the stack did not create (say, one a `pulumi destroy` kept): looked up, so
            // a missing one fails the preview, and never managed, so nothing the stack does can
            // replace or delete it.
            this.bucketName = gcp.storage.getBucketOutput({ name: cfg.existingBucket }, { parent: this }).name;
        } else {
            const bucket = new gcp.storage.Bucket(
                `${name}-bucket`,
                {
                    name: cfg.bucketName,
                    location: cfg.location,
                    storageClass: "STANDARD",
                    uniformBucketLevelAccess: true,
                    publicAccessPrevention: "enforced",
                    versioning: { enabled: cfg.versioning },
                    lifecycleRules: gcsLifecycleRules(cfg),
                    encryption: cfg.kmsKeyName === undefined ? undefined : { defaultKmsKeyName: cfg.kmsKeyName },
                    labels,
                    // Only a stack that opted in to deleting images may delete a non-empty bucket.
                    forceDestroy: !args.retainData,
                },
                { parent: this, retainOnDelete: args.retainData, dependsOn: bucketDeps },
            );
            this.bucketName = bucket.name;
            bucketResources.push(bucket);
        }

        const gsa = new gcp.serviceaccount.Account(
            `${name}-gsa`,
            {
                accountId: gcsServiceAccountId(args.registryName),
                displayName: `registry ${args.registryName} storage`,
                description: `The registry ${args.registryName} (namespace ${args.namespaceName}) reads and writes its GCS bucket as this account`,
            },
            { parent: this },
        );
        this.serviceAccountEmail = gsa.email;
        // Object access on this bucket only, nothing project-wide.
        const access = new gcp.storage.BucketIAMMember(
            `${name}-bucket-access`,
            { bucket: this.bucketName, role: "roles/storage.objectAdmin", member: pulumi.interpolate`serviceAccount:${gsa.email}` },
            { parent: this },
        );

        const driver: Record<string, pulumi.Input<unknown>> = { bucket: this.bucketName, chunksize: GCS_CHUNK_SIZE };
        const volumes: k8s.types.input.core.v1.Volume[] = [];
        const volumeMounts: k8s.types.input.core.v1.VolumeMount[] = [];
        const serviceAccountAnnotations: Record<string, pulumi.Input<string>> = {};
        const dependsOn: pulumi.Resource[] = [...bucketDeps, ...bucketResources, access];
        if (cfg.workloadIdentity) {
            // The registry's Kubernetes ServiceAccount may act as the Google service account.
            dependsOn.push(
                new gcp.serviceaccount.IAMMember(
                    `${name}-workload-identity`,
                    {
                        serviceAccountId: gsa.name,
                        role: "roles/iam.workloadIdentityUser",
                        member: gsa.project.apply((project) => workloadIdentityMember(project, args.namespaceName, args.serviceAccountName)),
                    },
                    { parent: this },
                ),
            );
            serviceAccountAnnotations[WORKLOAD_IDENTITY_ANNOTATION] = gsa.email;
        } else {
            const key = new gcp.serviceaccount.Key(`${name}-gsa-key`, { serviceAccountId: gsa.name }, { parent: this });
            // `privateKey` is the key file (JSON), base64-encoded: exactly what a Secret's `data` holds.
            const secret = new k8s.core.v1.Secret(
                `${name}-gcs-key`,
                { metadata: { namespace: args.namespace, labels: args.labels }, type: "Opaque", data: { [GCS_KEY_FILE]: pulumi.secret(key.privateKey) } },
                { parent: this },
            );
            volumes.push({
                name: "gcs-key",
                secret: { secretName: secret.metadata.name, defaultMode: 0o440, items: [{ key: GCS_KEY_FILE, path: GCS_KEY_FILE }] },
            });
            volumeMounts.push({ name: "gcs-key", mountPath: GCS_KEY_DIR, readOnly: true });
            driver.keyfile = `${GCS_KEY_DIR}/${GCS_KEY_FILE}`;
            dependsOn.push(secret);
        }
        this.storage = {
            driver: { gcs: driver },
            // Redirects would hand clients signed URLs, which need a private key (none under
            // Workload Identity) and clients that can reach GCS; the registry serves blobs itself.
            redirectDisable: true,
            env: [],
            volumes,
            volumeMounts,
            shareable: GCS_STORAGE.shareable(cfg),
            supportedLines: GCS_STORAGE.lines(cfg),
            serviceAccountAnnotations,
            dependsOn,
            location: pulumi.interpolate`gs://${this.bucketName}`,
        };
        this.registerOutputs({ bucketName: this.bucketName, serviceAccountEmail: this.serviceAccountEmail });
    }
}
