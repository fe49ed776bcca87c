// What the AWS unit specs (tests/aws-*.spec.ts) share: the resource types they look up, one
// memoised run per stack label for all of them, and the S3-compatible store's config.
import { RecordedResource } from "./mocks";
import { cachedRun, ProgramRun, StackConfig } from "./program";

export const T = {
    bucket: "aws:s3/bucket:Bucket",
    pab: "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock",
    ownership: "aws:s3/bucketOwnershipControls:BucketOwnershipControls",
    sse: "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
    versioning: "aws:s3/bucketVersioning:BucketVersioning",
    lifecycle: "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration",
    policy: "aws:s3/bucketPolicy:BucketPolicy",
    key: "aws:kms/key:Key",
    role: "aws:iam/role:Role",
    rolePolicy: "aws:iam/rolePolicy:RolePolicy",
    user: "aws:iam/user:User",
    userPolicy: "aws:iam/userPolicy:UserPolicy",
    accessKey: "aws:iam/accessKey:AccessKey",
    record: "aws:route53/record:Record",
    secret: "kubernetes:core/v1:Secret",
    service: "kubernetes:core/v1:Service",
    serviceAccount: "kubernetes:core/v1:ServiceAccount",
    deployment: "kubernetes:apps/v1:Deployment",
} as const;

export const BUCKET_RESOURCES = [T.bucket, T.pab, T.ownership, T.sse, T.lifecycle, T.policy];

const runOnce = cachedRun();
/** The run of `config` as stack `label`, once per label. */
export function run(label: string, config: StackConfig, secretKeys: string[] = []): Promise<ProgramRun> {
    return runOnce(label, config, { stack: label, secretKeys });
}

export const S3_COMPATIBLE = {
    storageKind: "s3",
    s3CreateBucket: false,
    s3Bucket: "registry",
    s3Region: "us-east-1",
    s3RegionEndpoint: "http://minio.storage.svc:9000",
    s3ForcePathStyle: true,
    s3Secure: false,
    s3Encrypt: false,
    s3AccessKeyId: "registry",
    s3SecretAccessKey: "minio-secret-key",
    serviceType: "ClusterIP",
};

export function json(r: RecordedResource, field: string): any {
    return JSON.parse(String(r.inputs[field]));
}
