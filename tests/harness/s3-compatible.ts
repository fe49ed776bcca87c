// Config keys that point the program's S3 storage at a local S3-compatible store (Swift's s3api,
// Ceph RGW) through the program's own keys; shared by the aws e2e, the fault tests and the bench.
import type { StackConfig } from "../support/program";

/** Where an S3-compatible store is and the key that may write its bucket. */
export interface S3CompatibleStore {
    readonly endpoint: string;
    readonly region: string;
    readonly bucket: string;
    readonly accessKey: string;
    readonly secretKey: string;
}

/** An existing bucket at a plain-HTTP, path-style endpoint, written with an access key (a config secret: `s3SecretAccessKey`). */
export function s3CompatibleStorage(s3: S3CompatibleStore): StackConfig {
    return {
        s3CreateBucket: false,
        s3Bucket: s3.bucket,
        s3Region: s3.region,
        s3RegionEndpoint: s3.endpoint,
        s3ForcePathStyle: true,
        s3Secure: false,
        s3Identity: "accessKey",
        s3AccessKeyId: s3.accessKey,
        s3SecretAccessKey: s3.secretKey,
    };
}

/**
 * The aws stack's config without what an S3-compatible store cannot have: the IRSA provider (no
 * IAM there), the settings of a bucket the program would create, and the Route53 record (nothing
 * resolves it here; its resources are unit-tested).
 */
export function withoutAwsOnlyKeys(config: StackConfig): StackConfig {
    const out: StackConfig = { ...config, dnsProvider: "none" };
    for (const key of Object.keys(out)) {
        if (
            ["eksOidcProviderArn", "s3Encryption", "s3Versioning", "s3NoncurrentVersionDays", "s3AbortIncompleteMultipartDays"].includes(key) ||
            key.startsWith("route53")
        ) {
            delete out[key];
        }
    }
    return out;
}
