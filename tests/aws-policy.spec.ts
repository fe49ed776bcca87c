// AWS: the pure functions behind the S3 backend and Route53, tested alone.
import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";

import {
    awsLoadBalancerKind,
    bucketArn,
    irsaTrustPolicy,
    keyPrefix,
    maxLayerBytes,
    PolicyStatement,
    recordFqdn,
    s3AccessPolicy,
    s3DriverSection,
    tlsOnlyBucketPolicy,
} from "../components";
import { awsLoadBalancerAnnotations, S3_MAX_PARTS } from "../components";
import { ROOT } from "./support/program";

const BUCKET = "arn:aws:s3:::team-registry";
const KEY = "arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab";

function actions(s: PolicyStatement): string[] {
    return typeof s.Action === "string" ? [s.Action] : [...s.Action];
}

describe("AWS policy documents", () => {
    describe("the registry identity's policy", () => {
        it("grants exactly the S3 driver's calls, on the bucket and the root directory's keys", () => {
            assert.deepStrictEqual(s3AccessPolicy({ bucketArn: BUCKET, rootDirectory: "/registry" }), {
                Version: "2012-10-17",
                Statement: [
                    {
                        Sid: "ListRegistryPrefix",
                        Effect: "Allow",
                        Action: ["s3:ListBucket"],
                        Resource: [BUCKET],
                        Condition: { StringLike: { "s3:prefix": ["registry", "registry/*"] } },
                    },
                    {
                        Sid: "BucketMultipartAndLocation",
                        Effect: "Allow",
                        Action: ["s3:GetBucketLocation", "s3:ListBucketMultipartUploads"],
                        Resource: [BUCKET],
                    },
                    {
                        Sid: "RegistryObjects",
                        Effect: "Allow",
                        Action: ["s3:GetObject", "s3:PutObject", "s3:DeleteObject", "s3:AbortMultipartUpload", "s3:ListMultipartUploadParts"],
                        Resource: [`${BUCKET}/registry/*`],
                    },
                ],
            });
        });

        it("adds only kms:Decrypt and kms:GenerateDataKey on the bucket's key with SSE-KMS", () => {
            const p = s3AccessPolicy({ bucketArn: BUCKET, rootDirectory: "/registry", kmsKeyArn: KEY });
            const kms = p.Statement.filter((s) => actions(s).some((a) => a.startsWith("kms:")));
            assert.deepStrictEqual(kms, [{ Sid: "BucketKmsKey", Effect: "Allow", Action: ["kms:Decrypt", "kms:GenerateDataKey"], Resource: [KEY] }]);
        });

        it("covers the whole bucket without a root directory, and nested roots as one prefix", () => {
            const whole = s3AccessPolicy({ bucketArn: BUCKET, rootDirectory: "" });
            assert.strictEqual(whole.Statement[0].Condition, undefined);
            assert.deepStrictEqual(whole.Statement[2].Resource, [`${BUCKET}/*`]);
            const nested = s3AccessPolicy({ bucketArn: BUCKET, rootDirectory: "/a/b" });
            assert.deepStrictEqual(nested.Statement[0].Condition, { StringLike: { "s3:prefix": ["a/b", "a/b/*"] } });
            assert.deepStrictEqual(nested.Statement[2].Resource, [`${BUCKET}/a/b/*`]);
        });

        it("never allows a wildcard action or resource", () => {
            for (const p of [
                s3AccessPolicy({ bucketArn: BUCKET, rootDirectory: "" }),
                s3AccessPolicy({ bucketArn: BUCKET, rootDirectory: "/r", kmsKeyArn: KEY }),
            ]) {
                for (const s of p.Statement) {
                    assert.strictEqual(s.Effect, "Allow");
                    assert.ok(
                        actions(s).every((a) => !a.includes("*")),
                        JSON.stringify(s),
                    );
                    assert.ok(
                        (s.Resource ?? []).every((r) => r !== "*" && (r.startsWith(BUCKET) || r === KEY)),
                        JSON.stringify(s),
                    );
                }
            }
        });
    });

    it("the bucket policy denies every request that does not use TLS, on the bucket and its objects", () => {
        assert.deepStrictEqual(tlsOnlyBucketPolicy(BUCKET), {
            Version: "2012-10-17",
            Statement: [
                {
                    Sid: "DenyInsecureTransport",
                    Effect: "Deny",
                    Principal: "*",
                    Action: "s3:*",
                    Resource: [BUCKET, `${BUCKET}/*`],
                    Condition: { Bool: { "aws:SecureTransport": "false" } },
                },
            ],
        });
    });

    it("the IRSA trust policy admits only the registry's ServiceAccount, for STS, through the cluster's OIDC provider", () => {
        const issuer = "oidc.eks.eu-west-1.amazonaws.com/id/ABC123";
        const provider = `arn:aws:iam::123456789012:oidc-provider/${issuer}`;
        assert.deepStrictEqual(irsaTrustPolicy({ oidcProviderArn: provider, oidcIssuer: issuer, namespace: "tools", serviceAccount: "registry" }), {
            Version: "2012-10-17",
            Statement: [
                {
                    Sid: "RegistryServiceAccount",
                    Effect: "Allow",
                    Principal: { Federated: provider },
                    Action: "sts:AssumeRoleWithWebIdentity",
                    Condition: {
                        StringEquals: {
                            [`${issuer}:sub`]: "system:serviceaccount:tools:registry",
                            [`${issuer}:aud`]: "sts.amazonaws.com",
                        },
                    },
                },
            ],
        });
    });

    it("bucket ARNs and key prefixes", () => {
        assert.strictEqual(bucketArn("aws-us-gov", "b"), "arn:aws-us-gov:s3:::b");
        assert.strictEqual(keyPrefix(""), "");
        assert.strictEqual(keyPrefix("/registry/"), "registry/");
    });
});

describe("the registry's storage.s3 section", () => {
    const base = {
        region: "eu-west-1",
        bucket: "b",
        rootDirectory: "/registry",
        encrypt: true,
        chunkSize: 16 * 1024 * 1024,
        forcePathStyle: false,
        secure: true,
    };

    it("names region, bucket, root, encryption, part sizes, and no credentials", () => {
        assert.deepStrictEqual(s3DriverSection(base), {
            region: "eu-west-1",
            bucket: "b",
            rootdirectory: "/registry",
            encrypt: true,
            secure: true,
            v4auth: true,
            chunksize: 16777216,
            multipartcopychunksize: 33554432,
            multipartcopymaxconcurrency: 100,
            multipartcopythresholdsize: 33554432,
            forcepathstyle: false,
        });
    });

    it("passes the KMS key as keyid only when the registry encrypts", () => {
        assert.strictEqual(s3DriverSection({ ...base, kmsKeyArn: KEY }).keyid, KEY);
        assert.ok(!("keyid" in s3DriverSection({ ...base, encrypt: false, kmsKeyArn: KEY })));
    });

    it("an S3-compatible endpoint: regionendpoint, path style, plain HTTP; no root directory for the whole bucket", () => {
        const s = s3DriverSection({ ...base, rootDirectory: "", regionEndpoint: "http://127.0.0.1:9000", forcePathStyle: true, secure: false });
        assert.deepStrictEqual([s.regionendpoint, s.forcepathstyle, s.secure, "rootdirectory" in s], ["http://127.0.0.1:9000", true, false, false]);
    });

    it("the largest layer is chunksize x 10,000, as docs/aws.md's table says", () => {
        assert.strictEqual(maxLayerBytes(10485760), 10485760 * S3_MAX_PARTS);
        const doc = fs.readFileSync(path.join(ROOT, "docs", "aws.md"), "utf8");
        const rows = [...doc.matchAll(/^\| ([0-9]+) \([^)]*\) \| ([0-9.]+) GiB \|$/gm)];
        assert.ok(rows.length >= 3, "docs/aws.md has the chunk size table");
        for (const [, chunk, gib] of rows) {
            assert.strictEqual((maxLayerBytes(Number(chunk)) / 2 ** 30).toFixed(1), gib, `row ${chunk}`);
        }
    });
});

describe("AWS load balancers", () => {
    it("NLB for aws-load-balancer-type nlb (in-tree) or external (controller), else a classic ELB", () => {
        assert.strictEqual(awsLoadBalancerKind({ "service.beta.kubernetes.io/aws-load-balancer-type": "nlb" }), "network");
        assert.strictEqual(awsLoadBalancerKind({ "service.beta.kubernetes.io/aws-load-balancer-type": "external" }), "network");
        assert.strictEqual(awsLoadBalancerKind({ "service.beta.kubernetes.io/aws-load-balancer-internal": "true" }), "classic");
        assert.strictEqual(awsLoadBalancerKind({}), "classic");
    });

    it("annotations for an NLB (internet-facing, internal, dual-stack) and a classic ELB", () => {
        assert.deepStrictEqual(awsLoadBalancerAnnotations("nlb", false, false), {
            "service.beta.kubernetes.io/aws-load-balancer-type": "external",
            "service.beta.kubernetes.io/aws-load-balancer-nlb-target-type": "ip",
            "service.beta.kubernetes.io/aws-load-balancer-scheme": "internet-facing",
        });
        assert.strictEqual(awsLoadBalancerAnnotations("nlb", true, true)["service.beta.kubernetes.io/aws-load-balancer-scheme"], "internal");
        assert.strictEqual(awsLoadBalancerAnnotations("nlb", true, true)["service.beta.kubernetes.io/aws-load-balancer-ip-address-type"], "dualstack");
        assert.deepStrictEqual(awsLoadBalancerAnnotations("classic", true, false), { "service.beta.kubernetes.io/aws-load-balancer-internal": "true" });
        assert.deepStrictEqual(awsLoadBalancerAnnotations("classic", false, false), { "service.beta.kubernetes.io/aws-load-balancer-internal": "false" });
        assert.deepStrictEqual(awsLoadBalancerAnnotations("none", true, true), {});
    });

    it("record names are <label>.<zone> without the zone's trailing dot", () => {
        assert.strictEqual(recordFqdn("registry", "example.com."), "registry.example.com");
        assert.strictEqual(recordFqdn("images.ci", "example.com"), "images.ci.example.com");
    });
});
