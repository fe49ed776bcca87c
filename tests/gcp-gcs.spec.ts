// GCP: the GCS bucket under mocks, with Workload Identity and with a service-account key.
import * as assert from "assert";

import { MOCK_GCP_PROJECT, MOCK_GCP_PROJECT_NUMBER } from "./support/cloud-mocks-gcp";
import { registryPod, secretValue } from "./support/pod";
import { one, ofType, ProgramRun } from "./support/program";
import { VARIANTS } from "./support/variants";
import { BUCKET, DEPLOYMENT, PVC, dependsOn, run } from "./support/gcp-fixtures";

const GSA = "gcp:serviceaccount/account:Account";

describe("GCS with Workload Identity (several replicas)", () => {
    let r: ProgramRun;
    before(async () => {
        r = await run(VARIANTS.gcsWorkloadIdentity);
    });

    it("makes a private bucket: uniform access, public access prevention, versioning with a lifecycle rule, CMEK", () => {
        const bucket = one(r, BUCKET);
        assert.strictEqual(bucket.inputs.uniformBucketLevelAccess, true);
        assert.strictEqual(bucket.inputs.publicAccessPrevention, "enforced");
        assert.deepStrictEqual(bucket.inputs.versioning, { enabled: true });
        assert.deepStrictEqual(bucket.inputs.lifecycleRules, [
            { action: { type: "Delete" }, condition: { daysSinceNoncurrentTime: 30, withState: "ARCHIVED" } },
        ]);
        assert.deepStrictEqual(bucket.inputs.encryption, { defaultKmsKeyName: "projects/p/locations/us/keyRings/registry/cryptoKeys/images" });
        assert.strictEqual(bucket.inputs.location, "US");
        assert.strictEqual(bucket.options.retainOnDelete, true);
        assert.strictEqual(bucket.inputs.forceDestroy, false);
    });

    it("grants the GCS service agent the key before the bucket names it", () => {
        const member = one(r, "gcp:kms/cryptoKeyIAMMember:CryptoKeyIAMMember");
        assert.deepStrictEqual(
            [member.inputs.cryptoKeyId, member.inputs.role, member.inputs.member],
            [
                "projects/p/locations/us/keyRings/registry/cryptoKeys/images",
                "roles/cloudkms.cryptoKeyEncrypterDecrypter",
                `serviceAccount:service-${MOCK_GCP_PROJECT_NUMBER}@gs-project-accounts.iam.gserviceaccount.com`,
            ],
        );
        assert.ok(dependsOn(one(r, BUCKET), member));
    });

    it("keeps the GCS service agent's grant on the key after destroy: a kept bucket stays readable, other buckets on the key keep theirs", async () => {
        assert.strictEqual(one(r, "gcp:kms/cryptoKeyIAMMember:CryptoKeyIAMMember").options.retainOnDelete, true);
        // Even a stack that deletes its bucket leaves the grant: the agent is the project's, shared by every bucket on that key.
        const d = await run({ ...VARIANTS.gcsWorkloadIdentity, deleteStorageOnDestroy: true });
        assert.strictEqual(one(d, "gcp:kms/cryptoKeyIAMMember:CryptoKeyIAMMember").options.retainOnDelete, true);
    });

    it("gives a dedicated Google service account objectAdmin on this bucket only", () => {
        const gsa = one(r, GSA);
        assert.strictEqual(gsa.inputs.accountId, "registry-storage");
        const access = one(r, "gcp:storage/bucketIAMMember:BucketIAMMember");
        assert.deepStrictEqual(
            [access.inputs.bucket, access.inputs.role, access.inputs.member],
            [one(r, BUCKET).state.name, "roles/storage.objectAdmin", `serviceAccount:registry-storage@${MOCK_GCP_PROJECT}.iam.gserviceaccount.com`],
        );
        // Nothing project-wide.
        assert.deepStrictEqual(
            r.resources.filter((x) => x.type.startsWith("gcp:projects/")),
            [],
        );
    });

    it("binds the registry's Kubernetes ServiceAccount through Workload Identity; no key exists", () => {
        const binding = one(r, "gcp:serviceaccount/iAMMember:IAMMember");
        assert.strictEqual(binding.inputs.serviceAccountId, one(r, GSA).state.name);
        assert.strictEqual(binding.inputs.role, "roles/iam.workloadIdentityUser");
        assert.strictEqual(binding.inputs.member, `serviceAccount:${MOCK_GCP_PROJECT}.svc.id.goog[registry/registry]`);
        const ksa = one(r, "kubernetes:core/v1:ServiceAccount");
        assert.strictEqual(ksa.state.metadata.name, "registry");
        assert.deepStrictEqual(ksa.inputs.metadata.annotations, {
            "iam.gke.io/gcp-service-account": `registry-storage@${MOCK_GCP_PROJECT}.iam.gserviceaccount.com`,
        });
        assert.deepStrictEqual(ofType(r, "gcp:serviceaccount/key:Key"), []);
    });

    it("configures the gcs driver without credentials, redirects off, three replicas rolling", () => {
        const pod = registryPod(r);
        assert.deepStrictEqual(pod.config.storage.gcs, { bucket: one(r, BUCKET).state.name, chunksize: 16777216 });
        assert.deepStrictEqual(pod.config.storage.redirect, { disable: true });
        assert.match(pod.container.image, /:3\.1\.2$/);
        const deployment = one(r, DEPLOYMENT);
        assert.strictEqual(deployment.inputs.spec.replicas, 3);
        assert.strictEqual(deployment.inputs.spec.strategy.type, "RollingUpdate");
        assert.deepStrictEqual(ofType(r, PVC), []);
        assert.ok(dependsOn(deployment, one(r, "gcp:serviceaccount/iAMMember:IAMMember")));
        assert.ok(dependsOn(deployment, one(r, "gcp:storage/bucketIAMMember:BucketIAMMember")));
    });
});

describe("GCS with a service-account key", () => {
    let r: ProgramRun;
    before(async () => {
        r = await run(VARIANTS.gcsKeyFile);
    });

    it("names the bucket as configured, in the configured location", () => {
        assert.strictEqual(one(r, BUCKET).inputs.name, "acme-registry-images");
        assert.strictEqual(one(r, BUCKET).inputs.location, "EU");
        assert.deepStrictEqual(one(r, BUCKET).inputs.lifecycleRules, []);
    });

    it("stores the key file in a Secret as a Pulumi secret and mounts it read-only as the driver's keyfile", () => {
        const key = one(r, "gcp:serviceaccount/key:Key");
        assert.strictEqual(key.inputs.serviceAccountId, one(r, GSA).state.name);
        const pod = registryPod(r);
        const volume = pod.podSpec.volumes.find((v: any) => v.name === "gcs-key");
        const secret = pod.secrets.get(volume.secret.secretName)!;
        assert.ok(
            secret.secretInputs.some((p) => p === "data" || p.startsWith("data.")),
            secret.secretInputs.join(","),
        );
        const keyFile = JSON.parse(secretValue(secret, "keyfile.json")!);
        assert.strictEqual(keyFile.type, "service_account");
        assert.strictEqual(keyFile.client_email, `registry-storage@${MOCK_GCP_PROJECT}.iam.gserviceaccount.com`);
        assert.strictEqual(volume.secret.defaultMode, 0o440);
        assert.deepStrictEqual(
            pod.container.volumeMounts.find((m: any) => m.name === "gcs-key"),
            { name: "gcs-key", mountPath: "/etc/registry/gcs", readOnly: true },
        );
        assert.strictEqual(pod.config.storage.gcs.keyfile, "/etc/registry/gcs/keyfile.json");
        assert.doesNotMatch(pod.configMap.inputs.data["config.yml"], /PRIVATE KEY|private_key/);
    });

    it("has no Workload Identity binding or annotation", () => {
        assert.deepStrictEqual(ofType(r, "gcp:serviceaccount/iAMMember:IAMMember"), []);
        assert.deepStrictEqual(one(r, "kubernetes:core/v1:ServiceAccount").inputs.metadata.annotations ?? {}, {});
    });

    it("with deleteStorageOnDestroy, the bucket may go even when not empty", async () => {
        const d = await run({ ...VARIANTS.gcsKeyFile, deleteStorageOnDestroy: true });
        assert.strictEqual(one(d, BUCKET).options.retainOnDelete, false);
        assert.strictEqual(one(d, BUCKET).inputs.forceDestroy, true);
    });
});
