// AWS: the AWS config keys' validation and parsing.
import * as assert from "assert";

import { ConfigError, parseConfig } from "../config";
import { runProgram } from "./support/program";
import { problemsOf, raw } from "./support/config-problems";
import { S3_COMPATIBLE } from "./support/aws-fixtures";

describe("AWS configuration", () => {
    const IRSA_ARN = "arn:aws:iam::123456789012:oidc-provider/oidc.eks.eu-west-1.amazonaws.com/id/ABC";
    const BAD: { name: string; config: Record<string, unknown>; secret?: string[]; problem: string }[] = [
        {
            name: "a part size below 5 MiB",
            config: { storageKind: "s3", s3ChunkSize: 5242879 },
            problem: "`s3ChunkSize` must be at least 5242880 (5 MiB), S3's smallest multipart part; got 5242879",
        },
        {
            name: "an existing bucket without a name",
            config: { storageKind: "s3", s3CreateBucket: false },
            problem: "`s3Bucket` is required when `s3CreateBucket` is false: the name of the existing bucket",
        },
        {
            name: "a bad bucket name",
            config: { storageKind: "s3", s3Bucket: "My_Bucket" },
            problem:
                "`s3Bucket` must be an S3 bucket name: 3-63 lowercase letters, digits, '.' or '-', starting and ending with a letter or digit; got `My_Bucket`",
        },
        {
            name: "IRSA without the OIDC provider",
            config: { storageKind: "s3", s3Identity: "irsa" },
            problem:
                "`eksOidcProviderArn` is required when `s3Identity` is `irsa`: the ARN of the cluster's IAM OIDC provider (`aws eks describe-cluster` gives its issuer)",
        },
        {
            name: "static keys with IRSA",
            config: { storageKind: "s3", eksOidcProviderArn: IRSA_ARN, s3AccessKeyId: "AKIAEXAMPLE" },
            problem: "`s3AccessKeyId` is only used when `s3Identity` is `accessKey`; it is `irsa` (IRSA needs no static keys)",
        },
        {
            name: "a secret key stored in plain text",
            config: { storageKind: "s3", s3Identity: "accessKey", s3AccessKeyId: "AKIAEXAMPLE", s3SecretAccessKey: "x" },
            problem: "`s3SecretAccessKey` must be stored as a secret: `pulumi config set --secret s3SecretAccessKey <key>`",
        },
        {
            name: "the accessKey identity without its secret",
            config: { storageKind: "s3", s3Identity: "accessKey", s3AccessKeyId: "AKIAEXAMPLE" },
            problem: "`s3SecretAccessKey` is required when `s3Identity` is `accessKey`: `pulumi config set --secret s3SecretAccessKey`",
        },
        {
            name: "creating a bucket in an S3-compatible store",
            config: { storageKind: "s3", s3RegionEndpoint: "https://minio.example.com", s3AccessKeyId: "minio", s3SecretAccessKey: "s" },
            secret: ["s3SecretAccessKey"],
            problem:
                "`s3CreateBucket` must be false with `s3RegionEndpoint`: the program creates buckets in AWS only; create the bucket in the S3-compatible store and name it in `s3Bucket`",
        },
        {
            name: "an IAM identity for an S3-compatible store",
            config: { storageKind: "s3", s3RegionEndpoint: "https://minio.example.com", s3CreateBucket: false, s3Bucket: "registry", s3Identity: "iamUser" },
            problem:
                "`s3Identity` `iamUser` makes an AWS IAM identity, which an S3-compatible store (`s3RegionEndpoint`) does not know; use `accessKey` with `s3AccessKeyId` and `s3SecretAccessKey`",
        },
        {
            name: "a plain-HTTP endpoint with s3Secure",
            config: {
                storageKind: "s3",
                s3RegionEndpoint: "http://minio:9000",
                s3CreateBucket: false,
                s3Bucket: "registry",
                s3AccessKeyId: "minio",
                s3SecretAccessKey: "s",
            },
            secret: ["s3SecretAccessKey"],
            problem: "`s3Secure` is true but `s3RegionEndpoint` is plain HTTP; make them agree",
        },
        {
            name: "s3Secure false on AWS",
            config: { storageKind: "s3", s3Secure: false },
            problem: "`s3Secure` false is only for a plain-HTTP `s3RegionEndpoint`; AWS S3 is reached over HTTPS (the bucket policy refuses anything else)",
        },
        {
            name: "a KMS key with SSE-S3",
            config: { storageKind: "s3", s3KmsKeyArn: "arn:aws:kms:eu-west-1:123456789012:key/abc" },
            problem: "`s3KmsKeyArn` is only used when `s3Encryption` is `SSE-KMS`",
        },
        {
            name: "a KMS alias instead of a key ARN",
            config: { storageKind: "s3", s3Encryption: "SSE-KMS", s3KmsKeyArn: "alias/registry" },
            problem:
                "`s3KmsKeyArn` must be a KMS key ARN such as `arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab` (not an alias); got `alias/registry`",
        },
        {
            name: "SSE-KMS on an existing bucket without its key",
            config: { storageKind: "s3", s3CreateBucket: false, s3Bucket: "images", s3Encryption: "SSE-KMS" },
            problem:
                "`s3Encryption` `SSE-KMS` with `s3CreateBucket` false needs `s3KmsKeyArn`, the existing bucket's key (the registry writes with it and the identity may use only it)",
        },
        {
            name: "bucket settings for an existing bucket",
            config: { storageKind: "s3", s3CreateBucket: false, s3Bucket: "images", s3Versioning: true },
            problem: "`s3Versioning` configures a bucket the program creates; with `s3CreateBucket` false the existing bucket is left as it is",
        },
        {
            name: "a PVC size for a bucket",
            config: { storageKind: "s3", storageSize: "50Gi" },
            problem: "`storageSize` is not used with `storageKind` `s3`: a bucket has no size or storage class",
        },
        { name: "S3 keys without s3 storage", config: { s3Bucket: "images" }, problem: "`s3Bucket` is only used when `storageKind` is `s3`" },
        {
            name: "Route53 keys without route53",
            config: { route53ZoneName: "example.com" },
            problem: "`route53ZoneName` is only used when `dnsProvider` is `route53`",
        },
        {
            name: "route53 without a zone",
            config: { dnsProvider: "route53" },
            problem: "`dnsProvider` `route53` needs exactly one of `route53ZoneId` (Z...) and `route53ZoneName` (example.com)",
        },
        {
            name: "route53 without a load balancer",
            config: { dnsProvider: "route53", route53ZoneId: "Z123", serviceType: "ClusterIP" },
            problem: "`dnsProvider` `route53` aliases the Service's load balancer; it needs `serviceType` `LoadBalancer`",
        },
        {
            name: "dual-stack with a classic ELB",
            config: { dnsProvider: "route53", route53ZoneId: "Z123", route53DualStack: true, awsLoadBalancerType: "classic" },
            problem: "`route53DualStack` needs `awsLoadBalancerType` `nlb`: the program makes the NLB dual-stack so the AAAA alias has an IPv6 target",
        },
        {
            name: "annotations contradicting the NLB",
            config: { awsLoadBalancerType: "nlb", serviceAnnotations: ["service.beta.kubernetes.io/aws-load-balancer-type=nlb"] },
            problem:
                "`serviceAnnotations` sets `service.beta.kubernetes.io/aws-load-balancer-type=nlb`, which contradicts `awsLoadBalancerType` `nlb` (external); remove it",
        },
        {
            name: "an internal load balancer of no kind",
            config: { awsLoadBalancerInternal: true },
            problem: "`awsLoadBalancerInternal` needs `awsLoadBalancerType` `classic` or `nlb`",
        },
        {
            name: "a malformed OIDC provider ARN",
            config: { storageKind: "s3", eksOidcProviderArn: "oidc.eks.eu-west-1.amazonaws.com/id/ABC" },
            problem:
                "`eksOidcProviderArn` must be an IAM OIDC provider ARN such as `arn:aws:iam::123456789012:oidc-provider/oidc.eks.eu-west-1.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE`; got `oidc.eks.eu-west-1.amazonaws.com/id/ABC`",
        },
    ];
    BAD.push({
        name: "IRSA on the 2.8 line",
        config: { storageKind: "s3", eksOidcProviderArn: IRSA_ARN, imageTag: "2.8.3" },
        problem:
            "`storageKind` `s3` needs the distribution 3.x line, but `imageTag` is `2.8.3`; the 2.8 S3 driver cannot use IRSA (no web identity in its credential chain): leave `imageTag` empty (3.1.2) or set a 3.x version, or use `s3Identity` `iamUser`",
    });
    for (const c of BAD) {
        it(`refuses ${c.name}, naming the key`, () => {
            assert.deepStrictEqual(problemsOf(c.config, c.secret), [c.problem]);
        });
    }

    it("fails before any resource is registered", async () => {
        for (const c of BAD) {
            const r = await runProgram(c.config, { secretKeys: c.secret });
            assert.ok(r.error instanceof ConfigError, c.name);
            assert.deepStrictEqual(r.resources, [], c.name);
        }
    });

    it("picks the identity: IRSA with the OIDC provider, accessKey for an S3-compatible store, else an IAM user", () => {
        const identity = (values: Record<string, unknown>, secret: string[] = []) => {
            const cfg = parseConfig(raw({ storageKind: "s3", ...values }), (k) => secret.includes(k));
            return cfg.storage.kind === "s3" ? cfg.storage.identity.kind : undefined;
        };
        assert.strictEqual(identity({ eksOidcProviderArn: IRSA_ARN }), "irsa");
        assert.strictEqual(identity({}), "iamUser");
        assert.strictEqual(identity(S3_COMPATIBLE, ["s3SecretAccessKey"]), "accessKey");
        const cfg = parseConfig(raw({ storageKind: "s3", eksOidcProviderArn: IRSA_ARN }));
        assert.ok(
            cfg.storage.kind === "s3" && cfg.storage.identity.kind === "irsa" && cfg.storage.identity.oidcIssuer === "oidc.eks.eu-west-1.amazonaws.com/id/ABC",
        );
    });

    it("normalises the root directory and keeps a configured false", () => {
        const cfg = parseConfig(raw({ storageKind: "s3", s3RootDirectory: "images/prod/", s3RedirectDisable: false, s3Encrypt: false }));
        assert.ok(cfg.storage.kind === "s3");
        if (cfg.storage.kind === "s3") {
            assert.deepStrictEqual(
                [cfg.storage.rootDirectory, cfg.storage.redirectDisable, cfg.storage.encrypt, cfg.storage.chunkSize],
                ["/images/prod", false, false, 10485760],
            );
        }
        assert.ok(cfg.replicas === 1 && problemsOf({ storageKind: "s3", replicas: 3 }).length === 0, "a bucket is shared storage");
    });
});
