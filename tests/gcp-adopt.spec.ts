// GCP: deploying again on the disk or bucket a `pulumi destroy` kept (gceExistingDisk,
// gcsExistingBucket), under mocks, and those keys' validation.
import * as assert from "assert";

import { MOCK_GCP_PROJECT } from "./support/cloud-mocks-gcp";
import { recorder } from "./support/mocks";
import { registryPod } from "./support/pod";
import { loadStackFile, one, ofType, stackFiles } from "./support/program";
import { VARIANTS } from "./support/variants";
import { problemsOf } from "./support/config-problems";
import { BUCKET, DISK, PV, PVC, run } from "./support/gcp-fixtures";

describe("GCP: deploying again on a disk or bucket a `pulumi destroy` kept", () => {
    // What GCE reports for the disk the first deployment made and `pulumi destroy` kept.
    const KEPT_DISK = {
        id: `projects/${MOCK_GCP_PROJECT}/zones/europe-west1-b/disks/registry-disk-0a1b2c3`,
        name: "registry-disk-0a1b2c3",
        project: MOCK_GCP_PROJECT,
        zone: "europe-west1-b",
        size: 200,
        type: "pd-ssd",
        selfLink: `https://www.googleapis.com/compute/v1/projects/${MOCK_GCP_PROJECT}/zones/europe-west1-b/disks/registry-disk-0a1b2c3`,
        users: [],
    };
    const keptDisk = { "gcp:compute/getDisk:getDisk": () => KEPT_DISK };
    const ADOPT_DISK = { storageKind: "gcePersistentDisk", gceDiskZone: "europe-west1-b", gceExistingDisk: "registry-disk-0a1b2c3" };

    it("the stack's own disk is named in storageLocation, the name to adopt it by", async () => {
        const r = await run(loadStackFile(stackFiles().gcp), "gcp");
        assert.strictEqual(r.outputs.storageLocation, `projects/${MOCK_GCP_PROJECT}/zones/europe-west1-b/disks/${one(r, DISK).state.name}`);
    });

    it("gceExistingDisk: the kept disk is looked up and used as it is; no disk is created, so none can be replaced or deleted", async () => {
        const r = await run(ADOPT_DISK, "test", { calls: keptDisk });
        assert.deepStrictEqual(ofType(r, DISK), []);
        assert.ok(
            recorder.calls.some((c) => c.token === "gcp:compute/getDisk:getDisk" && c.inputs.name === KEPT_DISK.name && c.inputs.zone === "europe-west1-b"),
            JSON.stringify(recorder.calls),
        );
        const pv = one(r, PV);
        assert.strictEqual(pv.inputs.spec.csi.volumeHandle, KEPT_DISK.id);
        // The disk's own size, not storageSize's default: the claim must fit the volume.
        assert.deepStrictEqual(pv.inputs.spec.capacity, { storage: "200Gi" });
        assert.deepStrictEqual(one(r, PVC).inputs.spec.resources, { requests: { storage: "200Gi" } });
        assert.deepStrictEqual(pv.inputs.spec.nodeAffinity.required.nodeSelectorTerms[0].matchExpressions[0].values, ["europe-west1-b"]);
        assert.strictEqual(r.outputs.storageLocation, KEPT_DISK.id);
        assert.deepStrictEqual(
            registryPod(r).podSpec.volumes.find((v: any) => v.name === "data"),
            { name: "data", persistentVolumeClaim: { claimName: "registry-data" } },
        );
    });

    it("gceExistingDisk: the snapshot schedule attaches to the adopted disk", async () => {
        const r = await run({ ...ADOPT_DISK, gceDiskSnapshotStartTime: "02:00" }, "test", { calls: keptDisk });
        assert.strictEqual(one(r, "gcp:compute/diskResourcePolicyAttachment:DiskResourcePolicyAttachment").inputs.disk, KEPT_DISK.name);
    });

    it("gcsExistingBucket: the kept bucket is looked up and used as it is; the registry's account gets access to it", async () => {
        const bucket = {
            id: "registry-bucket-4d5e6f7",
            name: "registry-bucket-4d5e6f7",
            project: MOCK_GCP_PROJECT,
            location: "US",
            url: "gs://registry-bucket-4d5e6f7",
            encryptions: [],
        };
        const r = await run({ storageKind: "gcs", gcsExistingBucket: bucket.name, replicas: 2 }, "test", {
            calls: { "gcp:storage/getBucket:getBucket": () => bucket },
        });
        assert.deepStrictEqual(ofType(r, BUCKET), []);
        assert.ok(recorder.calls.some((c) => c.token === "gcp:storage/getBucket:getBucket" && c.inputs.name === bucket.name));
        const access = one(r, "gcp:storage/bucketIAMMember:BucketIAMMember");
        assert.deepStrictEqual([access.inputs.bucket, access.inputs.role], [bucket.name, "roles/storage.objectAdmin"]);
        assert.strictEqual(registryPod(r).config.storage.gcs.bucket, bucket.name);
        assert.strictEqual(r.outputs.storageLocation, `gs://${bucket.name}`);
    });

    it("the stack's own bucket is named in storageLocation", async () => {
        const r = await run(VARIANTS.gcsKeyFile);
        assert.strictEqual(r.outputs.storageLocation, "gs://acme-registry-images");
    });

    const BAD: { name: string; config: Record<string, unknown>; problem: string }[] = [
        {
            name: "a disk name with capitals",
            config: { ...ADOPT_DISK, gceExistingDisk: "Registry-Disk" },
            problem: "`gceExistingDisk` must be a GCE disk name: 1-63 of a-z, 0-9, '-', starting with a letter and not ending with '-'; got `Registry-Disk`",
        },
        {
            name: "a disk type for an adopted disk",
            config: { ...ADOPT_DISK, gceDiskType: "pd-ssd" },
            problem: "`gceDiskType` configures a disk the program creates; with `gceExistingDisk` the existing disk is used as it is: remove it",
        },
        {
            name: "a size for an adopted disk",
            config: { ...ADOPT_DISK, storageSize: "100Gi" },
            problem: "`storageSize` configures a disk the program creates; with `gceExistingDisk` the existing disk is used as it is: remove it",
        },
        {
            name: "deleting an adopted disk on destroy",
            config: { ...ADOPT_DISK, deleteStorageOnDestroy: true },
            problem:
                "`deleteStorageOnDestroy` cannot delete `gceExistingDisk`: the stack uses that disk but does not own it; delete it with gcloud after `pulumi destroy`",
        },
        {
            name: "an adopted disk with a bucket",
            config: { storageKind: "gcs", gceExistingDisk: "d" },
            problem: "`gceExistingDisk` is only used when `storageKind` is `gcePersistentDisk`",
        },
        {
            name: "a bucket both named and adopted",
            config: { storageKind: "gcs", gcsExistingBucket: "kept-images", gcsBucketName: "new-images" },
            problem: "`gcsBucketName` names a bucket the program creates; with `gcsExistingBucket` the existing bucket is used instead: set one of them",
        },
        {
            name: "versioning for an adopted bucket",
            config: { storageKind: "gcs", gcsExistingBucket: "kept-images", gcsVersioning: true },
            problem: "`gcsVersioning` configures a bucket the program creates; with `gcsExistingBucket` the existing bucket is used as it is: remove it",
        },
        {
            name: "a location for an adopted bucket",
            config: { storageKind: "gcs", gcsExistingBucket: "kept-images", gcsLocation: "EU" },
            problem: "`gcsLocation` configures a bucket the program creates; with `gcsExistingBucket` the existing bucket is used as it is: remove it",
        },
        {
            name: "deleting an adopted bucket on destroy",
            config: { storageKind: "gcs", gcsExistingBucket: "kept-images", deleteStorageOnDestroy: true },
            problem:
                "`deleteStorageOnDestroy` cannot delete `gcsExistingBucket`: the stack uses that bucket but does not own it; delete it with gcloud after `pulumi destroy`",
        },
        {
            name: "a bad adopted bucket name",
            config: { storageKind: "gcs", gcsExistingBucket: "Kept_Images" },
            problem:
                "`gcsExistingBucket` must be a GCS bucket name: 3-63 of a-z, 0-9, '-', '_', '.', starting and ending with a letter or digit, without \"goog\"; got `Kept_Images`",
        },
    ];
    for (const bad of BAD) {
        it(`refuses ${bad.name}`, () => {
            assert.deepStrictEqual(problemsOf(bad.config), [bad.problem]);
        });
    }
});
