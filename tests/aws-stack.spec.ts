// AWS: the aws stack (Pulumi.aws.yaml) under mocks: the S3 bucket and its protections, IRSA, the
// driver section, the NLB and the Route53 alias.
import * as assert from "assert";
import * as path from "path";

import { IRSA_ROLE_ANNOTATION, irsaTrustPolicy, s3AccessPolicy, s3DriverSection, tlsOnlyBucketPolicy } from "../components";
import { LB_ZONE_IDS, MOCK_REGION, MOCK_ZONE } from "./support/cloud-mocks-aws";
import { RecordedResource, recorder } from "./support/mocks";
import { registryPod, secretValue } from "./support/pod";
import { loadStackFile, one, ofType, ROOT, runProgram } from "./support/program";
import { BUCKET_RESOURCES, json, run, T } from "./support/aws-fixtures";

/** Whether `r` was registered with an explicit dependency on `on`. */
function dependsOn(r: RecordedResource, on: RecordedResource): boolean {
    return r.options.dependencies.some((d) => d.endsWith(`$${on.type}::${on.name}`) || d.endsWith(`::${on.type}::${on.name}`));
}

const aws = () => run("aws", loadStackFile(path.join(ROOT, "Pulumi.aws.yaml")));

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
