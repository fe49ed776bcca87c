// GCP: the GCP config keys' validation and parsing, and the pure functions behind the GCP resources.
import * as assert from "assert";

import { cloudDnsFqdn, gceLabelsFrom, gcePdVolumeHandle, gcsLifecycleRules, gcsServiceAccountId, workloadIdentityMember, zoneRegion } from "../components";
import { ConfigError, parseConfig } from "../config";
import { runProgram } from "./support/program";
import { problemsOf, raw } from "./support/config-problems";
import { GCE } from "./support/gcp-fixtures";

describe("GCP configuration", () => {
    const BAD: { name: string; config: Record<string, unknown>; problem: string }[] = [
        {
            name: "replicas > 1 on a GCE persistent disk",
            config: { ...GCE, replicas: 2 },
            problem:
                "`replicas` > 1 needs storage that several pods can share; `storageKind` `gcePersistentDisk` is ReadWriteOnce: one node mounts the disk, and the Deployment is recreated, not rolled. Set `replicas` to 1, or use `storageKind` `gcs`",
        },
        {
            name: "a disk without a zone",
            config: { storageKind: "gcePersistentDisk" },
            problem: "`gceDiskZone` is required when `storageKind` is `gcePersistentDisk`: the zone of the GKE nodes, such as `europe-west1-b`",
        },
        {
            name: "a region as the disk's zone",
            config: { ...GCE, gceDiskZone: "us-central1" },
            problem: "`gceDiskZone` must be a GCE zone such as `europe-west1-b`; got `us-central1`",
        },
        {
            name: "a disk size in Mi",
            config: { ...GCE, storageSize: "500Mi" },
            problem: "`storageSize` of a `gcePersistentDisk` must be a whole number of Gi or Ti between 10Gi and 64Ti; got `500Mi`",
        },
        {
            name: "a disk smaller than 10Gi",
            config: { ...GCE, storageSize: "5Gi" },
            problem: "`storageSize` of a `gcePersistentDisk` must be a whole number of Gi or Ti between 10Gi and 64Ti; got `5Gi`",
        },
        {
            name: "an unknown disk type",
            config: { ...GCE, gceDiskType: "hyperdisk" },
            problem: "`gceDiskType` must be one of `pd-balanced`, `pd-ssd`, `pd-standard`; got `hyperdisk`",
        },
        {
            name: "a snapshot start time off the hour",
            config: { ...GCE, gceDiskSnapshotStartTime: "03:30" },
            problem: "`gceDiskSnapshotStartTime` must be a whole hour in UTC such as `03:00` (GCE starts schedules on the hour); got `03:30`",
        },
        {
            name: "a retention without a schedule",
            config: { ...GCE, gceDiskSnapshotRetentionDays: 7 },
            problem: "`gceDiskSnapshotRetentionDays` needs a snapshot schedule: set `gceDiskSnapshotStartTime`",
        },
        {
            name: "a StorageClass for the disk",
            config: { ...GCE, storageClass: "standard" },
            problem: "`storageClass` is only used when `storageKind` is `filesystem`; `gcePersistentDisk` does not use it",
        },
        {
            name: "ReadWriteMany on the disk",
            config: { ...GCE, storageAccessMode: "ReadWriteMany" },
            problem: "`storageAccessMode` is only used when `storageKind` is `filesystem`; `gcePersistentDisk` does not use it",
        },
        {
            name: "gcs with the 2.8 line",
            config: { storageKind: "gcs", imageTag: "2.8.3" },
            problem:
                "`storageKind` `gcs` needs the distribution 3.x line, but `imageTag` is `2.8.3`; the 2.8 images have no gcs driver: leave `imageTag` empty (3.1.2) or set a 3.x version, or use `storageKind` `gcePersistentDisk`",
        },
        {
            name: "a size for a bucket",
            config: { storageKind: "gcs", storageSize: "50Gi" },
            problem: "`storageSize` is not used with `storageKind` `gcs`: a bucket has no size",
        },
        {
            name: "a bucket name with capitals",
            config: { storageKind: "gcs", gcsBucketName: "My_Bucket" },
            problem:
                "`gcsBucketName` must be a GCS bucket name: 3-63 of a-z, 0-9, '-', '_', '.', starting and ending with a letter or digit, without \"goog\"; got `My_Bucket`",
        },
        {
            name: "a bucket name starting with goog",
            config: { storageKind: "gcs", gcsBucketName: "google-images" },
            problem:
                "`gcsBucketName` must be a GCS bucket name: 3-63 of a-z, 0-9, '-', '_', '.', starting and ending with a letter or digit, without \"goog\"; got `google-images`",
        },
        {
            name: "a bad bucket location",
            config: { storageKind: "gcs", gcsLocation: "eu west" },
            problem: "`gcsLocation` must be a GCS location such as `US`, `EU` or `europe-west1`; got `eu west`",
        },
        {
            name: "a noncurrent-version rule without versioning",
            config: { storageKind: "gcs", gcsNoncurrentVersionDays: 10 },
            problem: "`gcsNoncurrentVersionDays` needs `gcsVersioning` true: without versioning there are no noncurrent versions",
        },
        {
            name: "a key ring instead of a key",
            config: { storageKind: "gcs", gcsKmsKeyName: "projects/p/locations/us/keyRings/r" },
            problem: "`gcsKmsKeyName` must be a KMS key id `projects/<p>/locations/<l>/keyRings/<r>/cryptoKeys/<k>`; got `projects/p/locations/us/keyRings/r`",
        },
        { name: "a bucket key with a disk", config: { ...GCE, gcsBucketName: "images" }, problem: "`gcsBucketName` is only used when `storageKind` is `gcs`" },
        {
            name: "a disk key with the filesystem",
            config: { gceDiskType: "pd-ssd" },
            problem: "`gceDiskType` is only used when `storageKind` is `gcePersistentDisk`",
        },
        {
            name: "Workload Identity off with a PVC",
            config: { gcpWorkloadIdentity: false },
            problem: "`gcpWorkloadIdentity` is only used when `storageKind` is `gcs`",
        },
        {
            name: "Cloud DNS without a zone",
            config: { dnsProvider: "cloudDns" },
            problem: "`cloudDnsManagedZone` is required when `dnsProvider` is `cloudDns`: the managed zone's name, such as `example-com`",
        },
        {
            name: "a DNS name as the managed zone",
            config: { dnsProvider: "cloudDns", cloudDnsManagedZone: "example.com." },
            problem: "`cloudDnsManagedZone` must be a managed zone's name (not its DNS name), such as `example-com`; got `example.com.`",
        },
        {
            name: "a record name with a trailing dot",
            config: { dnsProvider: "cloudDns", cloudDnsManagedZone: "example-com", cloudDnsRecordName: "registry." },
            problem: "`cloudDnsRecordName` must be lowercase DNS label(s) inside the zone, such as `registry`; got `registry.`",
        },
        {
            name: "Cloud DNS on a ClusterIP Service",
            config: { dnsProvider: "cloudDns", cloudDnsManagedZone: "example-com", serviceType: "ClusterIP" },
            problem: "`dnsProvider` `cloudDns` points the record at the load balancer; it needs `serviceType` `LoadBalancer`",
        },
        {
            name: "a region without a static IP",
            config: { dnsProvider: "cloudDns", cloudDnsManagedZone: "example-com", gcpRegion: "us-central1" },
            problem: "`gcpRegion` is only used when `cloudDnsStaticIp` is true",
        },
        {
            name: "a zone as the region",
            config: { dnsProvider: "cloudDns", cloudDnsManagedZone: "example-com", cloudDnsStaticIp: true, gcpRegion: "us-central1-a" },
            problem: "`gcpRegion` must be a GCP region such as `europe-west1`; got `us-central1-a`",
        },
        { name: "a Cloud DNS key without Cloud DNS", config: { cloudDnsTtl: 60 }, problem: "`cloudDnsTtl` is only used when `dnsProvider` is `cloudDns`" },
    ];

    for (const bad of BAD) {
        it(`refuses ${bad.name}`, () => {
            assert.deepStrictEqual(problemsOf(bad.config), [bad.problem]);
        });
    }

    it("refuses them in the program before any resource exists", async () => {
        for (const bad of BAD.slice(0, 3)) {
            const r = await runProgram(bad.config);
            assert.ok(r.error instanceof ConfigError, bad.name);
            assert.deepStrictEqual(r.resources, [], bad.name);
        }
    });

    it("parses the disk, with defaults applied once", () => {
        const cfg = parseConfig(raw({ ...GCE, storageSize: "1Ti", gceDiskSnapshotStartTime: "23:00" }));
        assert.deepStrictEqual(cfg.storage, {
            kind: "gcePersistentDisk",
            sizeGb: 1024,
            diskType: "pd-balanced",
            zone: "us-central1-a",
            snapshot: { startTime: "23:00", retentionDays: 14 },
            existingDisk: undefined,
        });
    });

    it("parses the bucket; gcs defaults to the 3.x image and allows replicas", () => {
        const cfg = parseConfig(raw({ storageKind: "gcs", replicas: 4 }));
        assert.deepStrictEqual(cfg.storage, {
            kind: "gcs",
            bucketName: undefined,
            existingBucket: undefined,
            location: "US",
            versioning: false,
            noncurrentVersionDays: 30,
            kmsKeyName: undefined,
            workloadIdentity: true,
        });
        assert.strictEqual(cfg.image.tag, "3.1.2");
        assert.strictEqual(cfg.replicas, 4);
    });
});

describe("GCP pure functions", () => {
    it("the CSI volume handle of a zonal disk", () => {
        assert.strictEqual(gcePdVolumeHandle("p", "europe-west1-b", "d"), "projects/p/zones/europe-west1-b/disks/d");
    });
    it("service account ids are 6-30 characters, start with a letter and end with one or a digit", () => {
        for (const [name, id] of [
            ["registry", "registry-storage"],
            ["r", "r-storage"],
            ["9lives", "r9lives-storage"],
            ["a-very-long-registry-name-for-the-team", "a-very-long-registry-n-storage"],
            ["abcdefghijklmnopqrstu-x", "abcdefghijklmnopqrstu-storage"],
        ]) {
            const got = gcsServiceAccountId(name);
            assert.strictEqual(got, id);
            assert.match(got, /^[a-z][-a-z0-9]{4,28}[a-z0-9]$/);
        }
    });
    it("the Workload Identity member of a Kubernetes ServiceAccount", () => {
        assert.strictEqual(workloadIdentityMember("acme", "tools", "registry"), "serviceAccount:acme.svc.id.goog[tools/registry]");
    });
    it("lifecycle rules only for versioned buckets with a limit", () => {
        assert.deepStrictEqual(gcsLifecycleRules({ versioning: false, noncurrentVersionDays: 30 }), []);
        assert.deepStrictEqual(gcsLifecycleRules({ versioning: true, noncurrentVersionDays: 0 }), []);
        assert.deepStrictEqual(gcsLifecycleRules({ versioning: true, noncurrentVersionDays: 7 }), [
            { action: { type: "Delete" }, condition: { daysSinceNoncurrentTime: 7, withState: "ARCHIVED" } },
        ]);
    });
    it("names, regions and labels", () => {
        assert.strictEqual(cloudDnsFqdn("registry", "example.com."), "registry.example.com");
        assert.strictEqual(cloudDnsFqdn("images.ci", "corp.example."), "images.ci.corp.example");
        assert.strictEqual(zoneRegion("europe-west1-b"), "europe-west1");
        assert.deepStrictEqual(gceLabelsFrom({ "app.kubernetes.io/name": "registry", "app.kubernetes.io/managed-by": "Pulumi", "9x": "y" }), {
            name: "registry",
            "managed-by": "pulumi",
        });
    });
});
