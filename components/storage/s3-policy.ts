// Pure functions behind the S3 backend: IAM and bucket policy documents, and the registry's
// `storage.s3` section. Each is tested alone (tests/aws-policy.spec.ts); s3.ts only wires them.

/** An IAM / bucket policy statement (the subset this program writes). */
export interface PolicyStatement {
    readonly Sid: string;
    readonly Effect: "Allow" | "Deny";
    readonly Principal?: "*" | { readonly Federated: string } | { readonly AWS: string };
    readonly Action: string | readonly string[];
    readonly Resource?: readonly string[];
    readonly Condition?: Readonly<Record<string, Readonly<Record<string, string | readonly string[]>>>>;
}

export interface PolicyDocument {
    readonly Version: "2012-10-17";
    readonly Statement: readonly PolicyStatement[];
}

/** `arn:<partition>:s3:::<bucket>`. */
export function bucketArn(partition: string, bucket: string): string {
    return `arn:${partition}:s3:::${bucket}`;
}

/** The key prefix of a root directory: "" for the whole bucket, else `a/b/` (no leading slash). */
export function keyPrefix(rootDirectory: string): string {
    const trimmed = rootDirectory.replace(/^\/+/, "").replace(/\/+$/, "");
    return trimmed === "" ? "" : `${trimmed}/`;
}

export interface S3AccessPolicyArgs {
    readonly bucketArn: string;
    /** `/prefix` or "" (whole bucket). */
    readonly rootDirectory: string;
    /** The SSE-KMS key, when the bucket uses one. */
    readonly kmsKeyArn?: string;
}

/**
 * What the registry's S3 driver needs and nothing more (distribution's S3 driver docs list the
 * calls): list the bucket, under the root directory only; read, write and delete objects under
 * it; run and clean up multipart uploads; and, with SSE-KMS, use exactly that key.
 */
export function s3AccessPolicy(args: S3AccessPolicyArgs): PolicyDocument {
    const prefix = keyPrefix(args.rootDirectory);
    const statements: PolicyStatement[] = [
        {
            Sid: "ListRegistryPrefix",
            Effect: "Allow",
            Action: ["s3:ListBucket"],
            Resource: [args.bucketArn],
            // The driver lists `<root>/...` and stats `<root>` itself; nothing else in the bucket.
            ...(prefix === "" ? {} : { Condition: { StringLike: { "s3:prefix": [prefix.slice(0, -1), `${prefix}*`] } } }),
        },
        {
            Sid: "BucketMultipartAndLocation",
            Effect: "Allow",
            Action: ["s3:GetBucketLocation", "s3:ListBucketMultipartUploads"],
            Resource: [args.bucketArn],
        },
        {
            Sid: "RegistryObjects",
            Effect: "Allow",
            Action: ["s3:GetObject", "s3:PutObject", "s3:DeleteObject", "s3:AbortMultipartUpload", "s3:ListMultipartUploadParts"],
            Resource: [`${args.bucketArn}/${prefix}*`],
        },
    ];
    if (args.kmsKeyArn !== undefined) {
        statements.push({
            Sid: "BucketKmsKey",
            Effect: "Allow",
            // GenerateDataKey to write (and start multipart uploads), Decrypt to read and to
            // complete multipart uploads.
            Action: ["kms:Decrypt", "kms:GenerateDataKey"],
            Resource: [args.kmsKeyArn],
        });
    }
    return { Version: "2012-10-17", Statement: statements };
}

/** A bucket policy refusing every request that does not come over TLS. */
export function tlsOnlyBucketPolicy(bucketArnValue: string): PolicyDocument {
    return {
        Version: "2012-10-17",
        Statement: [
            {
                Sid: "DenyInsecureTransport",
                Effect: "Deny",
                Principal: "*",
                Action: "s3:*",
                Resource: [bucketArnValue, `${bucketArnValue}/*`],
                Condition: { Bool: { "aws:SecureTransport": "false" } },
            },
        ],
    };
}

export interface IrsaTrustArgs {
    readonly oidcProviderArn: string;
    /** The issuer without `https://`, e.g. `oidc.eks.eu-west-1.amazonaws.com/id/ABC`. */
    readonly oidcIssuer: string;
    readonly namespace: string;
    readonly serviceAccount: string;
}

/**
 * The IRSA trust policy: only tokens the cluster's OIDC provider issued for exactly this
 * ServiceAccount (`sub`), meant for STS (`aud`), may assume the role.
 */
export function irsaTrustPolicy(args: IrsaTrustArgs): PolicyDocument {
    return {
        Version: "2012-10-17",
        Statement: [
            {
                Sid: "RegistryServiceAccount",
                Effect: "Allow",
                Principal: { Federated: args.oidcProviderArn },
                Action: "sts:AssumeRoleWithWebIdentity",
                Condition: {
                    StringEquals: {
                        [`${args.oidcIssuer}:sub`]: `system:serviceaccount:${args.namespace}:${args.serviceAccount}`,
                        [`${args.oidcIssuer}:aud`]: "sts.amazonaws.com",
                    },
                },
            },
        ],
    };
}

/** distribution's defaults for server-side copies (used when a finished upload is moved into place). */
export const MULTIPART_COPY = { chunkSize: 32 * 1024 * 1024, maxConcurrency: 100, thresholdSize: 32 * 1024 * 1024 } as const;

export interface S3DriverArgs {
    readonly region: string;
    readonly bucket: string;
    readonly rootDirectory: string;
    readonly encrypt: boolean;
    readonly kmsKeyArn?: string;
    readonly chunkSize: number;
    readonly regionEndpoint?: string;
    readonly forcePathStyle: boolean;
    readonly secure: boolean;
}

/**
 * config.yml's `storage.s3` section. No credentials: with IRSA the SDK finds the web identity
 * token; with keys they come from REGISTRY_STORAGE_S3_ACCESSKEY/SECRETKEY `secretKeyRef`s.
 */
export function s3DriverSection(a: S3DriverArgs): Record<string, unknown> {
    return {
        region: a.region,
        bucket: a.bucket,
        ...(a.rootDirectory === "" ? {} : { rootdirectory: a.rootDirectory }),
        encrypt: a.encrypt,
        ...(a.encrypt && a.kmsKeyArn !== undefined ? { keyid: a.kmsKeyArn } : {}),
        secure: a.secure,
        v4auth: true,
        chunksize: a.chunkSize,
        multipartcopychunksize: MULTIPART_COPY.chunkSize,
        multipartcopymaxconcurrency: MULTIPART_COPY.maxConcurrency,
        multipartcopythresholdsize: MULTIPART_COPY.thresholdSize,
        ...(a.regionEndpoint === undefined ? {} : { regionendpoint: a.regionEndpoint }),
        // 2.8 ignores it (and always uses path style with a regionendpoint); 3.x reads it.
        forcepathstyle: a.forcePathStyle,
    };
}

/** The largest blob the registry can upload with this part size: S3 allows 10,000 parts. */
export function maxLayerBytes(chunkSize: number): number {
    return chunkSize * 10000;
}
