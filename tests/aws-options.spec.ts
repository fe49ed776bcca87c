// AWS under mocks: the other identities (an IAM user, a given key), SSE-KMS, dual-stack, an
// S3-compatible store, and the Route53 alias following the load balancer that exists.
import * as assert from "assert";
import * as pulumi from "@pulumi/pulumi";

import { awsLoadBalancerOfHostname, IRSA_ROLE_ANNOTATION, s3AccessPolicy } from "../components";
import { parseConfig } from "../config";
import { LB_ZONE_IDS, MOCK_REGION, MOCK_ZONE } from "./support/cloud-mocks-aws";
import { validateObject } from "./support/k8s-schema";
import { RecordedResource } from "./support/mocks";
import { registryPod, secretValue } from "./support/pod";
import { one, ofType, ProgramRun, runProgramOrThrow, StackConfig } from "./support/program";
import { VARIANTS } from "./support/variants";
import { raw } from "./support/config-problems";
import { BUCKET_RESOURCES, json, run, S3_COMPATIBLE, T } from "./support/aws-fixtures";

const GIVEN_KEY = {
    storageKind: "s3",
    s3CreateBucket: false,
    s3Bucket: "existing-registry-bucket",
    s3Region: "us-east-1",
    s3RootDirectory: "",
    s3Encryption: "SSE-KMS",
    s3KmsKeyArn: "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab",
    s3Identity: "accessKey",
    s3AccessKeyId: "AKIAIOSFODNN7EXAMPLE",
    s3SecretAccessKey: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
    serviceAnnotations: ["service.beta.kubernetes.io/aws-load-balancer-connection-idle-timeout=3600"],
};
const givenKey = () => run("givenKey", GIVEN_KEY, ["s3SecretAccessKey"]);
const s3Compatible = () => run("s3Compatible", S3_COMPATIBLE, ["s3SecretAccessKey"]);
const iamUserKms = () => run("iamUserKms", VARIANTS.awsIamUserKms);
const dualStack = () => run("dualStack", VARIANTS.awsDualStackDestroyable);

/** Whether the input at `p` arrived as a Pulumi secret (itself or an enclosing object). */
function isSecretInput(r: RecordedResource, p: string): boolean {
    return r.secretInputs.some((s) => p === s || p.startsWith(`${s}.`));
}

describe("AWS: other identities, encryption and DNS choices under mocks", () => {
    it("SSE-KMS with a created key: rotation on, kept on destroy, used by the bucket, the policy and the registry", async () => {
        const r = await iamUserKms();
        const key = one(r, T.key);
        assert.strictEqual(key.inputs.enableKeyRotation, true);
        assert.strictEqual(key.options.retainOnDelete, true);
        assert.deepStrictEqual(one(r, T.sse).inputs.rules, [
            { applyServerSideEncryptionByDefault: { sseAlgorithm: "aws:kms", kmsMasterKeyId: key.state.arn }, bucketKeyEnabled: true },
        ]);
        assert.deepStrictEqual(
            json(one(r, T.userPolicy), "policy"),
            s3AccessPolicy({ bucketArn: "arn:aws:s3:::team-registry-images", rootDirectory: "/registry", kmsKeyArn: key.state.arn }),
        );
        assert.strictEqual(registryPod(r).config.storage.s3.keyid, key.state.arn);
        assert.strictEqual(one(r, T.bucket).inputs.bucket, "team-registry-images");
        assert.match(String(registryPod(r).container.image), /:2\.8\.3$/, "key-based identities work on the 2.8 line");
    });

    it("iamUser: the created key reaches the registry only through secretKeyRef to a Secret holding it as a Pulumi secret", async () => {
        const r = await iamUserKms();
        const accessKey = one(r, T.accessKey);
        assert.strictEqual(accessKey.inputs.user, one(r, T.user).state.name);
        const secret = ofType(r, T.secret).find((s) => secretValue(s, "secretAccessKey") !== undefined);
        assert.ok(secret !== undefined);
        assert.strictEqual(secretValue(secret, "accessKeyId"), accessKey.id);
        assert.strictEqual(secretValue(secret, "secretAccessKey"), accessKey.state.secret);
        assert.ok(isSecretInput(secret, "stringData.secretAccessKey") && isSecretInput(secret, "stringData.accessKeyId"), secret.secretInputs.join());
        const env = registryPod(r).container.env as Record<string, any>[];
        for (const [name, key] of [
            ["REGISTRY_STORAGE_S3_ACCESSKEY", "accessKeyId"],
            ["REGISTRY_STORAGE_S3_SECRETKEY", "secretAccessKey"],
        ]) {
            assert.deepStrictEqual(
                env.find((e) => e.name === name),
                { name, valueFrom: { secretKeyRef: { name: secret.state.metadata.name, key } } },
            );
        }
        assert.ok(!registryPod(r).configMap.inputs.data["config.yml"].includes(accessKey.state.secret));
        assert.deepStrictEqual(ofType(r, T.role), []);
        const sa = ofType(r, T.serviceAccount).find((s) => s.state.metadata.name === "registry");
        assert.ok(!(IRSA_ROLE_ANNOTATION in (sa?.inputs.metadata.annotations ?? {})));
    });

    it("a classic internal ELB, and the alias by zone id with its canonical zone id and health evaluation off", async () => {
        const r = await iamUserKms();
        assert.strictEqual(one(r, T.service).inputs.metadata.annotations["service.beta.kubernetes.io/aws-load-balancer-internal"], "true");
        assert.ok(!Object.keys(one(r, T.service).inputs.metadata.annotations).some((k) => k.includes("aws-load-balancer-type")));
        const alias = one(r, T.record).inputs.aliases[0];
        assert.deepStrictEqual(
            { zoneId: alias.zoneId, evaluateTargetHealth: alias.evaluateTargetHealth },
            { zoneId: LB_ZONE_IDS[MOCK_REGION].classic, evaluateTargetHealth: false },
        );
        assert.strictEqual(one(r, T.record).inputs.zoneId, MOCK_ZONE.zoneId);
    });

    it("dual-stack: A and AAAA aliases to a dual-stack NLB; deleteStorageOnDestroy lets destroy empty and delete the bucket", async () => {
        const r = await dualStack();
        const records = ofType(r, T.record);
        assert.deepStrictEqual(records.map((x) => x.inputs.type).sort(), ["A", "AAAA"]);
        assert.ok(records.every((x) => x.inputs.name === "images.ci.example.com"));
        assert.strictEqual(one(r, T.service).inputs.metadata.annotations["service.beta.kubernetes.io/aws-load-balancer-ip-address-type"], "dualstack");
        assert.strictEqual(one(r, T.bucket).inputs.forceDestroy, true);
        for (const type of [...BUCKET_RESOURCES, T.versioning]) {
            assert.strictEqual(one(r, type).options.retainOnDelete, false, type);
        }
        assert.strictEqual(r.outputs.registryHost, "images.ci.example.com");
    });

    it("a given key and an existing bucket: no AWS resources at all; the key only in a Secret; the given KMS key as keyid", async () => {
        const r = await givenKey();
        assert.deepStrictEqual(
            r.resources.filter((x) => x.type.startsWith("aws:")).map((x) => x.type),
            [],
        );
        const secret = ofType(r, T.secret).find((s) => secretValue(s, "secretAccessKey") !== undefined);
        assert.strictEqual(secretValue(secret!, "secretAccessKey"), GIVEN_KEY.s3SecretAccessKey);
        assert.ok(isSecretInput(secret!, "stringData.secretAccessKey"), secret!.secretInputs.join());
        const s3 = registryPod(r).config.storage.s3;
        assert.deepStrictEqual([s3.bucket, s3.region, s3.keyid, "rootdirectory" in s3], [GIVEN_KEY.s3Bucket, "us-east-1", GIVEN_KEY.s3KmsKeyArn, false]);
        for (const res of r.resources) {
            const plain = JSON.stringify(res.inputs);
            if (plain.includes(GIVEN_KEY.s3SecretAccessKey)) {
                assert.strictEqual(res.type, T.secret, `the secret key appears in ${res.type} ${res.name}`);
            }
        }
        assert.strictEqual(r.outputs.storageLocation, "s3://existing-registry-bucket");
    });

    it("an S3-compatible store: its endpoint, path style, plain HTTP, no encryption header, no AWS calls", async () => {
        const r = await s3Compatible();
        const s3 = registryPod(r).config.storage.s3;
        assert.deepStrictEqual([s3.regionendpoint, s3.forcepathstyle, s3.secure, s3.encrypt], ["http://minio.storage.svc:9000", true, false, false]);
        assert.deepStrictEqual(
            r.resources.filter((x) => x.type.startsWith("aws:")),
            [],
        );
    });

    it("every Kubernetes object of the configs with keys passes the schema", async () => {
        for (const r of [await givenKey(), await s3Compatible()]) {
            for (const res of r.resources.filter((x) => x.type.startsWith("kubernetes:"))) {
                const [, group, kind] = res.type.split(":");
                const [g, v] = group.split("/");
                const apiVersion = g === "core" ? v : `${g}/${v}`;
                assert.deepStrictEqual(validateObject({ apiVersion, kind, ...res.inputs }), [], `${kind} ${res.name}`);
            }
        }
    });

    it("the secret access key is a Pulumi secret in the program's config", async () => {
        const cfg = parseConfig(raw(GIVEN_KEY), (k) => k === "s3SecretAccessKey");
        assert.ok(cfg.storage.kind === "s3" && cfg.storage.identity.kind === "accessKey");
        if (cfg.storage.kind === "s3" && cfg.storage.identity.kind === "accessKey") {
            assert.strictEqual(await pulumi.isSecret(cfg.storage.identity.secretAccessKey), true);
        }
    });
});

/** A run whose LoadBalancer Service gets this hostname, whatever its annotations ask for. */
async function withLoadBalancerHostname(config: StackConfig, hostname: string): Promise<ProgramRun> {
    return runProgramOrThrow(config, {
        resourceState: (type) => (type === T.service ? { status: { loadBalancer: { ingress: [{ hostname }] } } } : undefined),
    });
}

describe("AWS: the Route53 alias follows the load balancer that exists", () => {
    // What the AWS Load Balancer Controller (2.5+) makes of any LoadBalancer Service: its webhook
    // sets spec.loadBalancerClass, so the Service gets an NLB even when it asked for a classic ELB.
    const NLB = "k8s-registry-registry-1a2b3c4d5e-0123456789abcdef.elb.eu-west-1.amazonaws.com";

    it("a classic ELB asked for, but an NLB made by the AWS Load Balancer Controller: the alias takes the NLB's canonical zone id", async () => {
        const r = await withLoadBalancerHostname(VARIANTS.awsIamUserKms, NLB);
        const alias = one(r, T.record).inputs.aliases[0];
        assert.deepStrictEqual({ name: alias.name, zoneId: alias.zoneId }, { name: NLB, zoneId: LB_ZONE_IDS["eu-west-1"].network });
    });

    it("the canonical zone id is the one of the load balancer's own region, read from its hostname", async () => {
        const nlb = await withLoadBalancerHostname(
            VARIANTS.awsDualStackDestroyable,
            "k8s-registry-registry-1a2b3c4d5e-0123456789abcdef.elb.us-east-1.amazonaws.com",
        );
        assert.ok(ofType(nlb, T.record).every((x) => x.inputs.aliases[0].zoneId === LB_ZONE_IDS["us-east-1"].network));
        const elb = await withLoadBalancerHostname(
            VARIANTS.awsIamUserKms,
            "internal-a1b2c3d4e5f60718293a4b5c6d7e8f90-1234567890.eu-central-1.elb.amazonaws.com",
        );
        assert.strictEqual(one(elb, T.record).inputs.aliases[0].zoneId, LB_ZONE_IDS["eu-central-1"].classic);
    });

    it("tells an NLB's hostname from a classic ELB's, in every partition", () => {
        assert.deepStrictEqual(awsLoadBalancerOfHostname(NLB), { kind: "network", region: "eu-west-1" });
        assert.deepStrictEqual(awsLoadBalancerOfHostname("a1b2-1234567890.us-east-1.elb.amazonaws.com"), { kind: "classic", region: "us-east-1" });
        assert.deepStrictEqual(awsLoadBalancerOfHostname("internal-a1b2-1234567890.us-east-1.elb.amazonaws.com"), { kind: "classic", region: "us-east-1" });
        assert.deepStrictEqual(awsLoadBalancerOfHostname("dualstack.a1b2-1234567890.us-east-1.elb.amazonaws.com"), { kind: "classic", region: "us-east-1" });
        assert.deepStrictEqual(awsLoadBalancerOfHostname("net-0123456789abcdef.elb.cn-north-1.amazonaws.com.cn"), { kind: "network", region: "cn-north-1" });
        assert.deepStrictEqual(awsLoadBalancerOfHostname("a1b2-1234567890.cn-northwest-1.elb.amazonaws.com.cn"), { kind: "classic", region: "cn-northwest-1" });
        assert.deepStrictEqual(awsLoadBalancerOfHostname("net-0123.elb.us-gov-west-1.amazonaws.com"), { kind: "network", region: "us-gov-west-1" });
        assert.throws(
            () => awsLoadBalancerOfHostname("lb.example.net"),
            new Error(
                "`dnsProvider` `route53`: the Service's load balancer hostname `lb.example.net` is not an AWS load balancer's (`<name>.elb.<region>.amazonaws.com` for an NLB, `<name>.<region>.elb.amazonaws.com` for a classic ELB); is the cluster on AWS?",
            ),
        );
    });

    it("a classic ELB states its scheme in the annotation both the in-tree provider and the AWS Load Balancer Controller read", async () => {
        const r = await run("classicPublic", { ...VARIANTS.awsIamUserKms, awsLoadBalancerInternal: false });
        assert.strictEqual(one(r, T.service).inputs.metadata.annotations["service.beta.kubernetes.io/aws-load-balancer-internal"], "false");
    });
});
