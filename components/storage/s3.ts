import * as aws from "@pulumi/aws";
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";

import { S3_STORAGE, S3StorageConfig } from "./s3-config";
import { bucketArn, irsaTrustPolicy, s3AccessPolicy, s3DriverSection, tlsOnlyBucketPolicy } from "./s3-policy";
import type { RegistryStorage, StorageBackend, StorageContext } from "./types";

/** The ServiceAccount annotation the EKS pod identity webhook reads (IRSA). */
export const IRSA_ROLE_ANNOTATION = "eks.amazonaws.com/role-arn";

export interface S3StorageArgs extends StorageContext {
    /** The bucket, its encryption and the registry's identity (no default). */
    readonly config: S3StorageConfig;
}

/**
 * Images in S3: an encrypted bucket with all public access blocked, ACLs off, TLS-only access and
 * a lifecycle rule for abandoned multipart uploads (or an existing bucket, or an S3-compatible
 * store), and a least-privilege identity for the registry: an IRSA role, or an access key in a
 * Kubernetes Secret read only through `secretKeyRef`. The bucket, its settings and a created KMS
 * key are kept on `pulumi destroy` unless the stack opts in to deleting images.
 */
export class S3Storage extends pulumi.ComponentResource implements StorageBackend {
    public readonly storage: RegistryStorage;
    /** The bucket's name. */
    public readonly bucketName: pulumi.Output<string>;
    /** The bucket's ARN. */
    public readonly bucketArn: pulumi.Output<string>;
    /** The region the registry reaches the bucket in. */
    public readonly region: pulumi.Output<string>;
    /** `s3://<bucket><rootdirectory>`. */
    public readonly location: pulumi.Output<string>;
    /** The SSE-KMS key ("" with SSE-S3). */
    public readonly kmsKeyArn: pulumi.Output<string>;
    /** The IRSA role's ARN ("" for key-based identities). */
    public readonly roleArn: pulumi.Output<string>;
    /** The least-privilege policy granted to the identity, as JSON (also for a given access key's owner to attach). */
    public readonly accessPolicyJson: pulumi.Output<string>;

    constructor(name: string, args: S3StorageArgs, opts?: pulumi.ComponentResourceOptions) {
        super("registry:storage:S3Storage", name, {}, opts);
        const cfg = args.config;
        const parent = { parent: this };
        // Kept unless the stack opts in: images, and the settings that protect the kept bucket.
        const keep = { parent: this, retainOnDelete: args.retainData };
        const onAws = cfg.regionEndpoint === undefined;
        const tags = { "app.kubernetes.io/name": args.registryName, "app.kubernetes.io/managed-by": "pulumi" };
        const dependsOn: pulumi.Resource[] = [];

        this.region = cfg.region !== undefined ? pulumi.output(cfg.region) : aws.getRegionOutput({}, parent).region;
        const partition = onAws ? aws.getPartitionOutput({}, parent).partition : pulumi.output("aws");

        let kmsKeyArn: pulumi.Output<string> | undefined;
        if (cfg.encryption === "SSE-KMS") {
            kmsKeyArn =
                cfg.kmsKeyArn !== undefined
                    ? pulumi.output(cfg.kmsKeyArn)
                    : new aws.kms.Key(
                          `${name}-key`,
                          {
                              description: `Encrypts the images of registry ${args.registryName} in S3`,
                              enableKeyRotation: true,
                              // Deleting the key makes every object unreadable: give a mistake time to be undone.
                              deletionWindowInDays: 30,
                              region: cfg.region,
                              tags,
                          },
                          keep,
                      ).arn;
        }
        this.kmsKeyArn = kmsKeyArn ?? pulumi.output("");

        if (cfg.createBucket) {
            const bucket = new aws.s3.Bucket(
                `${name}-bucket`,
                {
                    bucket: cfg.bucket,
                    bucketPrefix: cfg.bucket === undefined ? `${args.registryName}-` : undefined,
                    // With retained data Pulumi never deletes the bucket; with deleteStorageOnDestroy
                    // it empties it first (a non-empty bucket cannot be deleted).
                    forceDestroy: !args.retainData,
                    region: cfg.region,
                    tags,
                },
                keep,
            );
            this.bucketName = bucket.bucket;
            this.bucketArn = bucket.arn;
            const common = { bucket: bucket.bucket, region: cfg.region };
            const pab = new aws.s3.BucketPublicAccessBlock(
                `${name}-public-access`,
                { ...common, blockPublicAcls: true, blockPublicPolicy: true, ignorePublicAcls: true, restrictPublicBuckets: true },
                keep,
            );
            const ownership = new aws.s3.BucketOwnershipControls(`${name}-ownership`, { ...common, rule: { objectOwnership: "BucketOwnerEnforced" } }, keep);
            const sse = new aws.s3.BucketServerSideEncryptionConfiguration(
                `${name}-encryption`,
                {
                    ...common,
                    rules: [
                        {
                            applyServerSideEncryptionByDefault:
                                kmsKeyArn === undefined ? { sseAlgorithm: "AES256" } : { sseAlgorithm: "aws:kms", kmsMasterKeyId: kmsKeyArn },
                            // One data key per bucket instead of a KMS call per object.
                            bucketKeyEnabled: true,
                        },
                    ],
                },
                keep,
            );
            // Versioning must be on before lifecycle rules about noncurrent versions.
            const versioning = cfg.versioning
                ? new aws.s3.BucketVersioning(`${name}-versioning`, { ...common, versioningConfiguration: { status: "Enabled" } }, keep)
                : undefined;
            const lifecycle = new aws.s3.BucketLifecycleConfiguration(
                `${name}-lifecycle`,
                {
                    ...common,
                    rules: [
                        {
                            id: "abort-incomplete-multipart-uploads",
                            status: "Enabled",
                            filter: { prefix: "" },
                            abortIncompleteMultipartUpload: { daysAfterInitiation: cfg.abortIncompleteMultipartDays },
                        },
                        ...(cfg.versioning
                            ? [
                                  {
                                      id: "expire-noncurrent-versions",
                                      status: "Enabled",
                                      filter: { prefix: "" },
                                      noncurrentVersionExpiration: { noncurrentDays: cfg.noncurrentVersionDays },
                                  },
                              ]
                            : []),
                    ],
                },
                { ...keep, dependsOn: versioning === undefined ? [] : [versioning] },
            );
            // After the public access block: S3 refuses a policy while a previous put is in flight.
            const policy = new aws.s3.BucketPolicy(
                `${name}-policy`,
                { ...common, policy: bucket.arn.apply((arn) => JSON.stringify(tlsOnlyBucketPolicy(arn))) },
                { ...keep, dependsOn: [pab, ownership] },
            );
            dependsOn.push(bucket, pab, ownership, sse, lifecycle, policy, ...(versioning === undefined ? [] : [versioning]));
        } else {
            // An existing bucket (or one in an S3-compatible store): used as it is, never owned.
            const existing = cfg.bucket ?? "";
            this.bucketName = pulumi.output(existing);
            this.bucketArn = partition.apply((p) => bucketArn(p, existing));
        }
        this.location = pulumi.interpolate`s3://${this.bucketName}${cfg.rootDirectory}`;

        const accessPolicy = pulumi
            .all([this.bucketArn, kmsKeyArn ?? pulumi.output(undefined)])
            .apply(([arn, key]) => JSON.stringify(s3AccessPolicy({ bucketArn: arn, rootDirectory: cfg.rootDirectory, kmsKeyArn: key })));
        this.accessPolicyJson = accessPolicy;

        const env: k8s.types.input.core.v1.EnvVar[] = [];
        const serviceAccountAnnotations: Record<string, pulumi.Input<string>> = {};
        let roleArn: pulumi.Output<string> = pulumi.output("");
        const keySecret = (id: pulumi.Input<string>, secret: pulumi.Input<string>): void => {
            const s = new k8s.core.v1.Secret(
                `${name}-credentials`,
                {
                    // Auto-named: a new key makes a new Secret, which rolls the pods.
                    metadata: { namespace: args.namespace, labels: args.labels },
                    type: "Opaque",
                    stringData: { accessKeyId: pulumi.secret(id), secretAccessKey: pulumi.secret(secret) },
                },
                parent,
            );
            env.push(
                { name: "REGISTRY_STORAGE_S3_ACCESSKEY", valueFrom: { secretKeyRef: { name: s.metadata.name, key: "accessKeyId" } } },
                { name: "REGISTRY_STORAGE_S3_SECRETKEY", valueFrom: { secretKeyRef: { name: s.metadata.name, key: "secretAccessKey" } } },
            );
        };
        switch (cfg.identity.kind) {
            case "irsa": {
                const role = new aws.iam.Role(
                    `${name}-role`,
                    {
                        description: `IRSA role of registry ${args.registryName} (${args.namespaceName}/${args.serviceAccountName})`,
                        assumeRolePolicy: JSON.stringify(
                            irsaTrustPolicy({
                                oidcProviderArn: cfg.identity.oidcProviderArn,
                                oidcIssuer: cfg.identity.oidcIssuer,
                                namespace: args.namespaceName,
                                serviceAccount: args.serviceAccountName,
                            }),
                        ),
                        tags,
                    },
                    parent,
                );
                const rolePolicy = new aws.iam.RolePolicy(`${name}-role-policy`, { role: role.name, policy: accessPolicy }, parent);
                serviceAccountAnnotations[IRSA_ROLE_ANNOTATION] = role.arn;
                roleArn = role.arn;
                dependsOn.push(rolePolicy);
                break;
            }
            case "iamUser": {
                const user = new aws.iam.User(`${name}-user`, { path: "/registry/", tags }, parent);
                const userPolicy = new aws.iam.UserPolicy(`${name}-user-policy`, { user: user.name, policy: accessPolicy }, parent);
                const key = new aws.iam.AccessKey(`${name}-access-key`, { user: user.name }, { parent: this, dependsOn: [userPolicy] });
                keySecret(key.id, key.secret);
                dependsOn.push(userPolicy);
                break;
            }
            case "accessKey":
                keySecret(cfg.identity.accessKeyId, cfg.identity.secretAccessKey);
                break;
        }
        this.roleArn = roleArn;

        this.storage = {
            driver: pulumi.all([this.region, this.bucketName, kmsKeyArn ?? pulumi.output(undefined)]).apply(([region, bucket, key]) => ({
                s3: s3DriverSection({
                    region,
                    bucket,
                    rootDirectory: cfg.rootDirectory,
                    encrypt: cfg.encrypt,
                    kmsKeyArn: key,
                    chunkSize: cfg.chunkSize,
                    regionEndpoint: cfg.regionEndpoint,
                    forcePathStyle: cfg.forcePathStyle,
                    secure: cfg.secure,
                }),
            })),
            redirectDisable: cfg.redirectDisable,
            env,
            volumes: [],
            volumeMounts: [],
            shareable: S3_STORAGE.shareable(cfg),
            supportedLines: S3_STORAGE.lines(cfg),
            serviceAccountAnnotations,
            dependsOn,
            location: this.location,
        };
        this.registerOutputs({
            bucketName: this.bucketName,
            bucketArn: this.bucketArn,
            location: this.location,
            roleArn: this.roleArn,
            kmsKeyArn: this.kmsKeyArn,
        });
    }
}
