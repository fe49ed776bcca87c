// AWS: the S3 backend, its identity and the Route53 alias, under mocks; config validation.
import * as assert from "assert";
import * as pulumi from "@pulumi/pulumi";
import * as path from "path";

import { awsLoadBalancerOfHostname, IRSA_ROLE_ANNOTATION, irsaTrustPolicy, s3AccessPolicy, s3DriverSection, tlsOnlyBucketPolicy } from "../components";
import { ConfigError, parseConfig } from "../config";
import { LB_ZONE_IDS, MOCK_REGION, MOCK_ZONE } from "./support/cloud-mocks-aws";
import { validateObject } from "./support/k8s-schema";
import { RecordedResource, recorder } from "./support/mocks";
import { registryPod, secretValue } from "./support/pod";
import { cachedRun, loadStackFile, one, ofType, ProgramRun, ROOT, runProgram, runProgramOrThrow, StackConfig } from "./support/program";
import { VARIANTS } from "./support/variants";
import { problemsOf, raw } from "./support/config-problems";

const T = {
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

const BUCKET_RESOURCES = [T.bucket, T.pab, T.ownership, T.sse, T.lifecycle, T.policy];

const runOnce = cachedRun();
/** The run of `config` as stack `label`, once per label. */
function run(label: string, config: StackConfig, secretKeys: string[] = []): Promise<ProgramRun> {
    return runOnce(label, config, { stack: label, secretKeys });
}

/** Whether `r` was registered with an explicit dependency on `on`. */
function dependsOn(r: RecordedResource, on: RecordedResource): boolean {
    return r.options.dependencies.some((d) => d.endsWith(`$${on.type}::${on.name}`) || d.endsWith(`::${on.type}::${on.name}`));
}

const aws = () => run("aws", loadStackFile(path.join(ROOT, "Pulumi.aws.yaml")));
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
const S3_COMPATIBLE = {
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
const givenKey = () => run("givenKey", GIVEN_KEY, ["s3SecretAccessKey"]);
const s3Compatible = () => run("s3Compatible", S3_COMPATIBLE, ["s3SecretAccessKey"]);
const iamUserKms = () => run("iamUserKms", VARIANTS.awsIamUserKms);
const dualStack = () => run("dualStack", VARIANTS.awsDualStackDestroyable);

/** Whether the input at `p` arrived as a Pulumi secret (itself or an enclosing object). */
function isSecretInput(r: RecordedResource, p: string): boolean {
    return r.secretInputs.some((s) => p === s || p.startsWith(`${s}.`));
}

function json(r: RecordedResource, field: string): any {
    return JSON.parse(String(r.inputs[field]));
}

describe("AWS: the aws stack (Pulumi.aws.yaml) under mocks", () => {
    it("creates the bucket with a generated name, kept on destroy and never force-emptied", async () => {
        const b = one(await aws(), T.bucket);
        assert.strictEqual(b.inputs.bucketPrefix, "registry-");
        assert.strictEqual(b.inputs.forceDestroy, false);
        assert.strictEqual(b.options.retainOnDelete, true);
    });

    it("keeps the bucket's protections on destroy too, so a kept bucket stays encrypted and private", async () => {
        const r = await aws();
        for (const type of [...BUCKET_RESOURCES, T.versioning]) {
            assert.strictEqual(one(r, type).options.retainOnDelete, true, type);
        }
    });

    it("encrypts with SSE-S3 by default, bucket key on", async () => {
        const sse = one(await aws(), T.sse);
        assert.deepStrictEqual(sse.inputs.rules, [{ applyServerSideEncryptionByDefault: { sseAlgorithm: "AES256" }, bucketKeyEnabled: true }]);
    });

    it("blocks all public access and turns ACLs off", async () => {
        const r = await aws();
        const bucketName = one(r, T.bucket).state.bucket;
        const pab = one(r, T.pab).inputs;
        assert.deepStrictEqual(
            { ...pab },
            { bucket: bucketName, blockPublicAcls: true, blockPublicPolicy: true, ignorePublicAcls: true, restrictPublicBuckets: true },
        );
        assert.deepStrictEqual(one(r, T.ownership).inputs.rule, { objectOwnership: "BucketOwnerEnforced" });
    });

    it("denies requests without TLS through the bucket policy, set after the public access block", async () => {
        const r = await aws();
        const policy = one(r, T.policy);
        assert.deepStrictEqual(json(policy, "policy"), tlsOnlyBucketPolicy(one(r, T.bucket).state.arn));
        assert.ok(dependsOn(policy, one(r, T.pab)));
    });

    it("versioning on with noncurrent versions expiring, and incomplete multipart uploads aborted", async () => {
        const r = await aws();
        assert.deepStrictEqual(one(r, T.versioning).inputs.versioningConfiguration, { status: "Enabled" });
        assert.deepStrictEqual(one(r, T.lifecycle).inputs.rules, [
            { id: "abort-incomplete-multipart-uploads", status: "Enabled", filter: { prefix: "" }, abortIncompleteMultipartUpload: { daysAfterInitiation: 7 } },
            { id: "expire-noncurrent-versions", status: "Enabled", filter: { prefix: "" }, noncurrentVersionExpiration: { noncurrentDays: 30 } },
        ]);
        assert.ok(dependsOn(one(r, T.lifecycle), one(r, T.versioning)));
    });

    it("IRSA: a role only the registry's ServiceAccount can assume, with the least-privilege policy, and no static keys", async () => {
        const r = await aws();
        const stack = loadStackFile(path.join(ROOT, "Pulumi.aws.yaml"));
        const providerArn = String(stack["registry:eksOidcProviderArn"]);
        const role = one(r, T.role);
        assert.deepStrictEqual(
            json(role, "assumeRolePolicy"),
            irsaTrustPolicy({
                oidcProviderArn: providerArn,
                oidcIssuer: providerArn.split("oidc-provider/")[1],
                namespace: "registry",
                serviceAccount: "registry",
            }),
        );
        const trust = json(role, "assumeRolePolicy").Statement[0].Condition.StringEquals;
        assert.deepStrictEqual(Object.values(trust), ["system:serviceaccount:registry:registry", "sts.amazonaws.com"]);
        const rolePolicy = one(r, T.rolePolicy);
        assert.strictEqual(rolePolicy.inputs.role, role.state.name);
        assert.deepStrictEqual(json(rolePolicy, "policy"), s3AccessPolicy({ bucketArn: one(r, T.bucket).state.arn, rootDirectory: "/registry" }));
        assert.deepStrictEqual([...ofType(r, T.user), ...ofType(r, T.accessKey), ...ofType(r, T.userPolicy)], []);
        const pod = registryPod(r);
        assert.ok(!(pod.container.env as { name: string }[]).some((e) => e.name.startsWith("REGISTRY_STORAGE_S3_") || e.name.startsWith("AWS_")));
        assert.ok(!ofType(r, T.secret).some((s) => secretValue(s, "secretAccessKey") !== undefined));
    });

    it("annotates the registry's ServiceAccount with the role's ARN", async () => {
        const r = await aws();
        const sa = ofType(r, T.serviceAccount).find((s) => s.state.metadata.name === "registry");
        assert.strictEqual(sa?.inputs.metadata.annotations[IRSA_ROLE_ANNOTATION], one(r, T.role).state.arn);
    });

    it("the registry's config.yml names the bucket, region and root directory, and no credentials", async () => {
        const r = await aws();
        const pod = registryPod(r);
        assert.deepStrictEqual(
            pod.config.storage.s3,
            s3DriverSection({
                region: MOCK_REGION,
                bucket: one(r, T.bucket).state.bucket,
                rootDirectory: "/registry",
                encrypt: true,
                chunkSize: 16 * 1024 * 1024,
                forcePathStyle: false,
                secure: true,
            }),
        );
        assert.deepStrictEqual(pod.config.storage.redirect, { disable: true });
        assert.strictEqual(r.outputs.storageLocation, `s3://${one(r, T.bucket).state.bucket}/registry`);
    });

    it("the pods wait for the bucket's settings and the role's policy", async () => {
        const r = await aws();
        const deployment = one(r, T.deployment);
        for (const type of [T.policy, T.sse, T.pab, T.rolePolicy]) {
            assert.ok(dependsOn(deployment, one(r, type)), type);
        }
    });

    it("an NLB (AWS Load Balancer Controller, IP targets, internet-facing) and an alias A record to it", async () => {
        const r = await aws();
        const service = one(r, T.service);
        const annotations = service.inputs.metadata.annotations;
        assert.strictEqual(annotations["service.beta.kubernetes.io/aws-load-balancer-type"], "external");
        assert.strictEqual(annotations["service.beta.kubernetes.io/aws-load-balancer-nlb-target-type"], "ip");
        assert.strictEqual(annotations["service.beta.kubernetes.io/aws-load-balancer-scheme"], "internet-facing");
        const hostname = service.state.status.loadBalancer.ingress[0].hostname;
        const record = one(r, T.record);
        assert.deepStrictEqual(
            { name: record.inputs.name, type: record.inputs.type, zoneId: record.inputs.zoneId, aliases: record.inputs.aliases },
            {
                name: `registry.${MOCK_ZONE.name}`,
                type: "A",
                zoneId: MOCK_ZONE.zoneId,
                aliases: [{ name: hostname, zoneId: LB_ZONE_IDS[MOCK_REGION].network, evaluateTargetHealth: true }],
            },
        );
    });

    it("looks the zone up by name (public) and the NLB's canonical zone id", async () => {
        // A fresh run, so the recorder's calls are this stack's.
        const r = await runProgram(loadStackFile(path.join(ROOT, "Pulumi.aws.yaml")), { stack: "aws-calls" });
        assert.strictEqual(r.error, undefined);
        const calls = recorder.calls;
        assert.ok(
            calls.some((c) => c.token === "aws:route53/getZone:getZone" && c.inputs.name === "example.com" && c.inputs.privateZone === false),
            JSON.stringify(calls),
        );
        assert.ok(calls.some((c) => c.token === "aws:lb/getHostedZoneId:getHostedZoneId" && c.inputs.loadBalancerType === "network"));
        assert.ok(!calls.some((c) => c.token === "aws:elb/getHostedZoneId:getHostedZoneId"));
    });

    it("registryHost is the record's name, and the certificate covers it and the load balancer's hostname", async () => {
        const r = await aws();
        assert.strictEqual(r.outputs.registryHost, "registry.example.com");
        const csr = one(r, "tls:index/certRequest:CertRequest");
        const hostname = one(r, T.service).state.status.loadBalancer.ingress[0].hostname;
        assert.ok(csr.inputs.dnsNames.includes("registry.example.com"));
        assert.ok(csr.inputs.dnsNames.includes(hostname));
        assert.strictEqual(csr.inputs.dnsNames[0], "registry.example.com");
    });
});

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
