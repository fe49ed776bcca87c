// Configuration of the `s3` backend: an S3 bucket the program makes (or an existing one, or an
// S3-compatible store), and the identity the registry reaches it with.
import { isIP } from "net";
import * as pulumi from "@pulumi/pulumi";

import type { ConfigKeySpec, Reader } from "../config/reader";
import { DEFAULT_IMAGE_TAGS } from "../registry/config";
import type { StorageBackendSpec, StorageKey } from "./backend";

export const S3_KEYS = {
    s3Bucket: {
        type: "string",
        default: "",
        description:
            "S3 bucket of the images. With s3CreateBucket: the name to create (empty: generated from registryName); without: an existing bucket (required).",
    },
    s3CreateBucket: {
        type: "boolean",
        default: true,
        description: "Create the bucket (encrypted, public access blocked, ACLs off, TLS-only policy). False: use the existing s3Bucket as it is.",
    },
    s3Region: { type: "string", default: "", description: "AWS region of the bucket, also given to the registry. Empty: the provider's aws:region." },
    s3RootDirectory: {
        type: "string",
        default: "/registry",
        description:
            "Key prefix of everything the registry stores in the bucket (storage.s3.rootdirectory); the identity is scoped to it. Empty: the whole bucket.",
    },
    s3Encryption: {
        type: "string",
        default: "SSE-S3",
        description: "Bucket default encryption: SSE-S3 (S3-managed keys) or SSE-KMS (s3KmsKeyArn, or a key the program creates), bucket key on.",
    },
    s3KmsKeyArn: {
        type: "string",
        default: "",
        description: "With SSE-KMS: ARN of an existing KMS key. Empty: the program creates a key (rotation on), kept on destroy like the bucket.",
    },
    s3Encrypt: {
        type: "boolean",
        default: true,
        description:
            "The registry asks S3 to encrypt every object it writes (storage.s3.encrypt, with keyid for SSE-KMS). Off only for S3-compatible stores without server-side encryption.",
    },
    s3Versioning: {
        type: "boolean",
        default: false,
        description: "Enable bucket versioning (deleted or overwritten objects stay recoverable as noncurrent versions).",
    },
    s3NoncurrentVersionDays: {
        type: "integer",
        default: 30,
        description: "With s3Versioning: delete noncurrent object versions after this many days (lifecycle rule).",
    },
    s3AbortIncompleteMultipartDays: {
        type: "integer",
        default: 7,
        description: "Lifecycle rule: abort multipart uploads still incomplete after this many days (their parts cost storage).",
    },
    s3ChunkSize: {
        type: "integer",
        default: 10485760,
        description:
            "Multipart part size in bytes (storage.s3.chunksize), at least 5242880 (5 MiB). A layer can have 10,000 parts: 10 MiB allows layers up to 97.7 GiB.",
    },
    s3RedirectDisable: {
        type: "boolean",
        default: true,
        description:
            "Serve blobs through the registry (true) instead of redirecting clients to presigned S3 URLs (false: less registry traffic, but clients must reach S3).",
    },
    s3RegionEndpoint: {
        type: "string",
        default: "",
        description:
            "S3-compatible endpoint URL (MinIO, Ceph RGW), storage.s3.regionendpoint. Empty: AWS. Needs s3CreateBucket false and the accessKey identity.",
    },
    s3ForcePathStyle: { type: "boolean", default: false, description: "Path-style bucket URLs (endpoint/bucket/key), as most S3-compatible stores need." },
    s3Secure: { type: "boolean", default: true, description: "Reach S3 over HTTPS. False only for a plain-HTTP s3RegionEndpoint." },
    s3Identity: {
        type: "string",
        default: "auto",
        description:
            "How the registry authenticates to S3: irsa (IAM role for its ServiceAccount), iamUser (a created IAM user's key in a Secret), accessKey (s3AccessKeyId/s3SecretAccessKey in a Secret), or auto: irsa with eksOidcProviderArn, accessKey with s3RegionEndpoint, else iamUser.",
    },
    eksOidcProviderArn: {
        type: "string",
        default: "",
        description: "ARN of the EKS cluster's IAM OIDC provider (arn:aws:iam::<account>:oidc-provider/oidc.eks.<region>.amazonaws.com/id/<id>), for IRSA.",
    },
    s3AccessKeyId: { type: "string", default: "", description: "accessKey identity: the access key id the registry uses." },
    s3SecretAccessKey: { type: "string", default: "", secret: true, description: "accessKey identity: the secret access key (set with --secret)." },
} as const satisfies Record<string, ConfigKeySpec>;

export type S3Key = keyof typeof S3_KEYS;

export const S3_ENCRYPTIONS = ["SSE-S3", "SSE-KMS"] as const;
export const S3_IDENTITIES = ["auto", "irsa", "iamUser", "accessKey"] as const;
/** S3's smallest multipart part (except the last) and its largest. */
export const S3_MIN_CHUNK_SIZE = 5 * 1024 * 1024;
export const S3_MAX_CHUNK_SIZE = 5 * 1024 * 1024 * 1024;
/** S3 allows at most this many parts per multipart upload. */
export const S3_MAX_PARTS = 10000;

/** How the registry authenticates to S3. */
export type S3Identity =
    /** IRSA: an IAM role the EKS OIDC provider lets the registry's ServiceAccount assume; no static keys. */
    | {
          readonly kind: "irsa";
          readonly oidcProviderArn: string;
          /** The issuer without https://, as in the trust policy's condition keys. */ readonly oidcIssuer: string;
      }
    /** An IAM user the program creates, with an access key stored in a Kubernetes Secret. */
    | { readonly kind: "iamUser" }
    /** A given access key (an existing IAM user's, or an S3-compatible store's), stored in a Kubernetes Secret. */
    | { readonly kind: "accessKey"; readonly accessKeyId: string; readonly secretAccessKey: pulumi.Output<string> };

/** Images in an S3 bucket (or an S3-compatible store), shared by any number of registry pods. */
export interface S3StorageConfig {
    readonly kind: "s3";
    /** The bucket's name; undefined: generated (only when the program creates the bucket). */
    readonly bucket?: string;
    readonly createBucket: boolean;
    /** undefined: the provider's region. */
    readonly region?: string;
    /** `/prefix` or "" for the whole bucket. */
    readonly rootDirectory: string;
    readonly encryption: (typeof S3_ENCRYPTIONS)[number];
    /** With SSE-KMS: the given key; undefined: the program creates one. */
    readonly kmsKeyArn?: string;
    /** storage.s3.encrypt. */
    readonly encrypt: boolean;
    readonly versioning: boolean;
    readonly noncurrentVersionDays: number;
    readonly abortIncompleteMultipartDays: number;
    readonly chunkSize: number;
    readonly redirectDisable: boolean;
    /** An S3-compatible endpoint; undefined: AWS. */
    readonly regionEndpoint?: string;
    readonly forcePathStyle: boolean;
    readonly secure: boolean;
    readonly identity: S3Identity;
}

export const S3_STORAGE: StorageBackendSpec<S3StorageConfig> = {
    shareable: () => true,
    // The 2.8 S3 driver builds its own credential chain (static, env, shared file, EC2 role) with
    // no web identity provider, so it cannot use IRSA (distribution#3275, fixed in 3.0).
    lines: (cfg) => (cfg.identity.kind === "irsa" ? [3] : [2, 3]),
    lineHint: () =>
        `; the 2.8 S3 driver cannot use IRSA (no web identity in its credential chain): leave \`imageTag\` empty (${DEFAULT_IMAGE_TAGS[3]}) or set a 3.x version, or use \`s3Identity\` \`iamUser\``,
};

// S3 bucket naming rules: 3-63 characters, lowercase letters, digits, dots and hyphens, a letter
// or digit at each end; no "..", not an IP address, not the reserved xn--/-s3alias forms.
const S3_BUCKET = /^(?=.{3,63}$)(?!xn--|sthree-)[a-z0-9]([a-z0-9.-]*[a-z0-9])?$/;
const AWS_REGION = /^[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-[0-9]+$/;
const KMS_KEY_ARN = /^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key\/[A-Za-z0-9-]+$/;
const OIDC_PROVIDER_ARN = /^arn:aws[a-z-]*:iam::[0-9]{12}:oidc-provider\/([a-z0-9.-]+(\/[A-Za-z0-9._-]+)*)$/;
const ROOT_DIRECTORY = /^(\/[A-Za-z0-9!_.*'()-]+)+$/;
const ACCESS_KEY_ID = /^[A-Za-z0-9:_.+=@-]{3,128}$/;

/** The key prefix in the bucket: "" (whole bucket) or `/a/b` (leading slash, no trailing one). */
function normaliseRootDirectory(r: Reader<S3Key>): string {
    const raw = r.string("s3RootDirectory");
    if (raw === "" || raw === "/") {
        return "";
    }
    const root = `/${raw.replace(/^\/+/, "").replace(/\/+$/, "")}`;
    if (!ROOT_DIRECTORY.test(root) || root.split("/").some((seg) => seg === "." || seg === "..")) {
        r.problem(`\`s3RootDirectory\` must be a key prefix such as \`/registry\` (letters, digits, !_.*'()- separated by /); got \`${raw}\``);
    }
    return root;
}

function parseS3Identity(r: Reader<S3Key>, regionEndpoint: string | undefined): S3Identity {
    const chosen = r.oneOf("s3Identity", S3_IDENTITIES);
    const oidcArn = r.string("eksOidcProviderArn");
    const kind = chosen !== "auto" ? chosen : oidcArn !== "" ? "irsa" : regionEndpoint !== undefined ? "accessKey" : "iamUser";
    if (regionEndpoint !== undefined && kind !== "accessKey") {
        r.problem(
            `\`s3Identity\` \`${kind}\` makes an AWS IAM identity, which an S3-compatible store (\`s3RegionEndpoint\`) does not know; use \`accessKey\` with \`s3AccessKeyId\` and \`s3SecretAccessKey\``,
        );
    }
    if (kind !== "irsa" && oidcArn !== "") {
        r.problem(`\`eksOidcProviderArn\` is only used when \`s3Identity\` is \`irsa\` (or \`auto\`); it is \`${kind}\``);
    }
    for (const key of ["s3AccessKeyId", "s3SecretAccessKey"] as const) {
        if (kind !== "accessKey" && r.has(key)) {
            r.problem(
                `\`${key}\` is only used when \`s3Identity\` is \`accessKey\`; it is \`${kind}\`${kind === "irsa" ? " (IRSA needs no static keys)" : ""}`,
            );
        }
    }
    switch (kind) {
        case "irsa": {
            const m = OIDC_PROVIDER_ARN.exec(oidcArn);
            if (oidcArn === "") {
                r.problem(
                    "`eksOidcProviderArn` is required when `s3Identity` is `irsa`: the ARN of the cluster's IAM OIDC provider (`aws eks describe-cluster` gives its issuer)",
                );
            } else if (m === null) {
                r.problem(
                    `\`eksOidcProviderArn\` must be an IAM OIDC provider ARN such as \`arn:aws:iam::123456789012:oidc-provider/oidc.eks.eu-west-1.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE\`; got \`${oidcArn}\``,
                );
            }
            return { kind, oidcProviderArn: oidcArn, oidcIssuer: m?.[1] ?? "" };
        }
        case "iamUser":
            return { kind };
        case "accessKey": {
            const accessKeyId = r.string("s3AccessKeyId");
            if (accessKeyId === "") {
                r.problem("`s3AccessKeyId` is required when `s3Identity` is `accessKey`");
            } else if (!ACCESS_KEY_ID.test(accessKeyId)) {
                r.problem(`\`s3AccessKeyId\` must be an access key id (3-128 letters, digits or :_.+=@-); got \`${accessKeyId}\``);
            }
            if (!r.has("s3SecretAccessKey")) {
                r.problem("`s3SecretAccessKey` is required when `s3Identity` is `accessKey`: `pulumi config set --secret s3SecretAccessKey`");
            }
            return { kind, accessKeyId, secretAccessKey: pulumi.secret(r.string("s3SecretAccessKey")) };
        }
    }
}

export function parseS3(r: Reader<S3Key | StorageKey>): S3StorageConfig {
    for (const key of ["storageClass", "storageExistingClaim", "storageSize"] as const) {
        if (r.has(key)) {
            r.problem(`\`${key}\` is not used with \`storageKind\` \`s3\`: a bucket has no size or storage class`);
        }
    }
    if (r.string("storageAccessMode") !== "ReadWriteOnce") {
        r.problem("`storageAccessMode` is not used with `storageKind` `s3`: every replica shares the bucket");
    }
    const createBucket = r.boolean("s3CreateBucket");
    const bucket = r.string("s3Bucket");
    if (bucket === "" && !createBucket) {
        r.problem("`s3Bucket` is required when `s3CreateBucket` is false: the name of the existing bucket");
    } else if (bucket !== "" && (!S3_BUCKET.test(bucket) || bucket.includes("..") || isIP(bucket) !== 0 || bucket.endsWith("-s3alias"))) {
        r.problem(
            `\`s3Bucket\` must be an S3 bucket name: 3-63 lowercase letters, digits, '.' or '-', starting and ending with a letter or digit; got \`${bucket}\``,
        );
    }
    const region = r.string("s3Region");
    if (region !== "" && !AWS_REGION.test(region)) {
        r.problem(`\`s3Region\` must be an AWS region such as \`eu-west-1\`; got \`${region}\``);
    }
    const encryption = r.oneOf("s3Encryption", S3_ENCRYPTIONS);
    const kmsKeyArn = r.string("s3KmsKeyArn");
    if (kmsKeyArn !== "" && encryption !== "SSE-KMS") {
        r.problem("`s3KmsKeyArn` is only used when `s3Encryption` is `SSE-KMS`");
    } else if (kmsKeyArn !== "" && !KMS_KEY_ARN.test(kmsKeyArn)) {
        // A key ARN, not an alias: the identity's policy grants kms actions on exactly this resource.
        r.problem(
            `\`s3KmsKeyArn\` must be a KMS key ARN such as \`arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab\` (not an alias); got \`${kmsKeyArn}\``,
        );
    }
    const chunkSize = r.integer("s3ChunkSize", 0, S3_MAX_CHUNK_SIZE);
    if (chunkSize < S3_MIN_CHUNK_SIZE) {
        r.problem(`\`s3ChunkSize\` must be at least ${S3_MIN_CHUNK_SIZE} (5 MiB), S3's smallest multipart part; got ${chunkSize}`);
    }
    const versioning = r.boolean("s3Versioning");
    const noncurrentVersionDays = r.integer("s3NoncurrentVersionDays", 1, 36500);
    if (!versioning && r.has("s3NoncurrentVersionDays")) {
        r.problem("`s3NoncurrentVersionDays` needs `s3Versioning` true: without versioning there are no noncurrent versions");
    }
    const endpointRaw = r.string("s3RegionEndpoint");
    const secure = r.boolean("s3Secure");
    let regionEndpoint: string | undefined;
    if (endpointRaw !== "") {
        let url: URL | undefined;
        try {
            url = new URL(endpointRaw);
        } catch {
            url = undefined;
        }
        if (url === undefined || !["http:", "https:"].includes(url.protocol) || url.pathname !== "/" || url.search !== "") {
            r.problem(`\`s3RegionEndpoint\` must be an http(s) URL without a path, such as \`https://minio.example.com:9000\`; got \`${endpointRaw}\``);
        } else if ((url.protocol === "https:") !== secure) {
            r.problem(`\`s3Secure\` is ${secure} but \`s3RegionEndpoint\` is ${url.protocol === "https:" ? "HTTPS" : "plain HTTP"}; make them agree`);
        }
        regionEndpoint = endpointRaw.replace(/\/$/, "");
        if (createBucket) {
            r.problem(
                "`s3CreateBucket` must be false with `s3RegionEndpoint`: the program creates buckets in AWS only; create the bucket in the S3-compatible store and name it in `s3Bucket`",
            );
        }
    } else if (!secure) {
        r.problem("`s3Secure` false is only for a plain-HTTP `s3RegionEndpoint`; AWS S3 is reached over HTTPS (the bucket policy refuses anything else)");
    }
    if (!createBucket && encryption === "SSE-KMS" && kmsKeyArn === "") {
        r.problem(
            "`s3Encryption` `SSE-KMS` with `s3CreateBucket` false needs `s3KmsKeyArn`, the existing bucket's key (the registry writes with it and the identity may use only it)",
        );
    }
    if (!createBucket) {
        for (const key of ["s3Versioning", "s3NoncurrentVersionDays", "s3AbortIncompleteMultipartDays"] as const) {
            if (r.has(key)) {
                r.problem(`\`${key}\` configures a bucket the program creates; with \`s3CreateBucket\` false the existing bucket is left as it is`);
            }
        }
    }
    return {
        kind: "s3",
        bucket: bucket === "" ? undefined : bucket,
        createBucket,
        region: region === "" ? undefined : region,
        rootDirectory: normaliseRootDirectory(r),
        encryption,
        kmsKeyArn: kmsKeyArn === "" ? undefined : kmsKeyArn,
        encrypt: r.boolean("s3Encrypt"),
        versioning,
        noncurrentVersionDays,
        abortIncompleteMultipartDays: r.integer("s3AbortIncompleteMultipartDays", 1, 3650),
        chunkSize,
        redirectDisable: r.boolean("s3RedirectDisable"),
        regionEndpoint,
        forcePathStyle: r.boolean("s3ForcePathStyle"),
        secure,
        identity: parseS3Identity(r, regionEndpoint),
    };
}
