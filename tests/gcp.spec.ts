// GCP: GCE persistent disk, GCS bucket, Cloud DNS and the static IP, under mocks.
import * as assert from "assert";
import { X509Certificate } from "crypto";

import { cloudDnsFqdn, gceLabelsFrom, gcePdVolumeHandle, gcsLifecycleRules, gcsServiceAccountId, workloadIdentityMember, zoneRegion } from "../components";
import { ConfigError, parseConfig } from "../config";
import { MOCK_GCP_PROJECT, MOCK_GCP_PROJECT_NUMBER } from "./support/cloud-mocks-gcp";
import type { RecordedResource } from "./support/mocks";
import { registryPod, secretValue } from "./support/pod";
import { recorder } from "./support/mocks";
import { loadStackFile, one, ofType, ProgramRun, runProgram, runProgramOrThrow, RunOptions, stackFiles, StackConfig } from "./support/program";
import { VARIANTS } from "./support/variants";
import { problemsOf, raw } from "./support/config-problems";

function run(config: StackConfig, stack = "test", opts: RunOptions = {}): Promise<ProgramRun> {
    return runProgramOrThrow(config, { ...opts, stack });
}

const DISK = "gcp:compute/disk:Disk";
const PV = "kubernetes:core/v1:PersistentVolume";
const PVC = "kubernetes:core/v1:PersistentVolumeClaim";
const DEPLOYMENT = "kubernetes:apps/v1:Deployment";
const BUCKET = "gcp:storage/bucket:Bucket";
const GSA = "gcp:serviceaccount/account:Account";

/** Whether `r` was registered with an explicit dependency on `on` (URNs compared by type and name). */
function dependsOn(r: RecordedResource, on: RecordedResource): boolean {
    return r.options.dependencies.some((d) => d.endsWith(`$${on.type}::${on.name}`) || d.endsWith(`::${on.type}::${on.name}`));
}

const GCE = { storageKind: "gcePersistentDisk", gceDiskZone: "us-central1-a" };

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

describe("Pulumi.gcp.yaml: GCE persistent disk, Cloud DNS, static IP", () => {
    let r: ProgramRun;
    before(async () => {
        r = await run(loadStackFile(stackFiles().gcp), "gcp");
    });

    it("makes the disk with the stack's size, type and zone, retained on destroy", () => {
        const disk = one(r, DISK);
        assert.strictEqual(disk.inputs.size, 100);
        assert.strictEqual(disk.inputs.type, "pd-balanced");
        assert.strictEqual(disk.inputs.zone, "europe-west1-b");
        assert.strictEqual(disk.options.retainOnDelete, true);
        assert.deepStrictEqual(disk.inputs.labels, { name: "registry", instance: "registry", component: "registry", "managed-by": "pulumi" });
    });

    it("schedules daily snapshots in the disk's region and attaches the policy to the disk", () => {
        const policy = one(r, "gcp:compute/resourcePolicy:ResourcePolicy");
        assert.strictEqual(policy.inputs.region, "europe-west1");
        assert.deepStrictEqual(policy.inputs.snapshotSchedulePolicy.schedule, { dailySchedule: { daysInCycle: 1, startTime: "03:00" } });
        assert.deepStrictEqual(policy.inputs.snapshotSchedulePolicy.retentionPolicy, { maxRetentionDays: 14, onSourceDiskDelete: "KEEP_AUTO_SNAPSHOTS" });
        const attachment = one(r, "gcp:compute/diskResourcePolicyAttachment:DiskResourcePolicyAttachment");
        assert.strictEqual(attachment.inputs.disk, one(r, DISK).state.name);
        assert.strictEqual(attachment.inputs.zone, "europe-west1-b");
        assert.strictEqual(attachment.inputs.name, policy.state.name);
    });

    it("binds the disk through a CSI PersistentVolume pre-bound to the registry's claim", () => {
        const disk = one(r, DISK);
        const pv = one(r, PV);
        const pvc = one(r, PVC);
        assert.deepStrictEqual(pv.inputs.spec.csi, {
            driver: "pd.csi.storage.gke.io",
            volumeHandle: `projects/${MOCK_GCP_PROJECT}/zones/europe-west1-b/disks/${disk.state.name}`,
            fsType: "ext4",
        });
        assert.deepStrictEqual(pv.inputs.spec.accessModes, ["ReadWriteOnce"]);
        assert.strictEqual(pv.inputs.spec.persistentVolumeReclaimPolicy, "Retain");
        assert.deepStrictEqual(pv.inputs.spec.capacity, { storage: "100Gi" });
        assert.deepStrictEqual(pv.inputs.spec.claimRef, { namespace: "registry", name: "registry-data" });
        assert.deepStrictEqual(pv.inputs.spec.nodeAffinity.required.nodeSelectorTerms[0].matchExpressions, [
            { key: "topology.kubernetes.io/zone", operator: "In", values: ["europe-west1-b"] },
        ]);
        assert.strictEqual(pvc.state.metadata.name, "registry-data");
        assert.strictEqual(pvc.state.metadata.namespace, "registry");
        assert.strictEqual(pvc.inputs.spec.volumeName, pv.state.metadata.name);
        assert.strictEqual(pvc.inputs.spec.storageClassName, "registry-gce-pd");
        assert.strictEqual(pv.inputs.spec.storageClassName, "registry-gce-pd");
        assert.deepStrictEqual(pvc.inputs.spec.resources, { requests: { storage: "100Gi" } });
        // No StorageClass object: a class name no provisioner serves cannot make a dynamic disk.
        assert.deepStrictEqual(ofType(r, "kubernetes:storage.k8s.io/v1:StorageClass"), []);
    });

    it("runs one pod with the Recreate strategy on the claim, the filesystem driver on the disk", () => {
        const pod = registryPod(r);
        const deployment = one(r, DEPLOYMENT);
        assert.strictEqual(deployment.inputs.spec.replicas, 1);
        assert.deepStrictEqual(deployment.inputs.spec.strategy, { type: "Recreate" });
        const data = pod.podSpec.volumes.find((v: any) => v.name === "data");
        assert.deepStrictEqual(data, { name: "data", persistentVolumeClaim: { claimName: "registry-data" } });
        assert.deepStrictEqual(pod.config.storage.filesystem, { rootdirectory: "/var/lib/registry" });
        assert.deepStrictEqual(ofType(r, "kubernetes:policy/v1:PodDisruptionBudget"), []);
    });

    it("the deployment waits for the claim", () => {
        const deployment = one(r, DEPLOYMENT);
        assert.ok(dependsOn(deployment, one(r, PVC)), deployment.options.dependencies.join(", "));
    });

    it("the namespace is not retained for the disk's sake: the images are on the disk, not in the namespace", () => {
        assert.strictEqual(one(r, "kubernetes:core/v1:Namespace", "registry-namespace").options.retainOnDelete, false);
    });

    it("reserves a regional static IP and gives it to the Service by annotation and loadBalancerIP", () => {
        const address = one(r, "gcp:compute/address:Address");
        assert.strictEqual(address.inputs.region, "europe-west1");
        assert.strictEqual(address.inputs.addressType, "EXTERNAL");
        const service = one(r, "kubernetes:core/v1:Service");
        assert.strictEqual(service.inputs.metadata.annotations["networking.gke.io/load-balancer-ip-addresses"], address.state.name);
        assert.strictEqual(service.inputs.spec.loadBalancerIP, "203.0.113.80");
        assert.strictEqual(r.outputs.loadBalancerAddress, "203.0.113.80");
    });

    it("publishes registry.<zone> as an A record at the reserved IP", () => {
        const record = one(r, "gcp:dns/recordSet:RecordSet");
        assert.deepStrictEqual(
            {
                managedZone: record.inputs.managedZone,
                name: record.inputs.name,
                type: record.inputs.type,
                ttl: record.inputs.ttl,
                rrdatas: record.inputs.rrdatas,
            },
            { managedZone: "example-com", name: "registry.example.com.", type: "A", ttl: 300, rrdatas: ["203.0.113.80"] },
        );
    });

    it("registryHost is the record's name, and the server certificate covers it and the IP", () => {
        assert.strictEqual(r.outputs.registryHost, "registry.example.com");
        assert.strictEqual(r.outputs.registryUrl, "https://registry.example.com");
        const pod = registryPod(r);
        const tlsVolume = pod.podSpec.volumes.find((v: any) => v.name === "tls");
        const cert = new X509Certificate(secretValue(pod.secrets.get(tlsVolume.secret.secretName)!, "tls.crt")!);
        assert.strictEqual(cert.checkHost("registry.example.com"), "registry.example.com");
        assert.strictEqual(cert.checkIP("203.0.113.80"), "203.0.113.80");
        assert.match(JSON.parse(String(r.outputs.dockerConfigJson)).auths["registry.example.com"].auth, /^[A-Za-z0-9+/=]+$/);
    });

    it("looks the zone up by name", async () => {
        const res = await runProgram(loadStackFile(stackFiles().gcp), {
            stack: "gcp",
            calls: { "gcp:dns/getManagedZone:getManagedZone": (i) => ({ name: i.name, dnsName: "corp.example.net." }) },
        });
        assert.strictEqual(res.error, undefined, String(res.error));
        assert.strictEqual(one(res, "gcp:dns/recordSet:RecordSet").inputs.name, "registry.corp.example.net.");
        assert.strictEqual(res.outputs.registryHost, "registry.corp.example.net");
    });
});

describe("GCE disk and Cloud DNS options", () => {
    it("a stack that opts in lets destroy delete the disk; no snapshot schedule unless asked", async () => {
        const r = await run(VARIANTS.gceDiskNoDns);
        assert.strictEqual(one(r, DISK).options.retainOnDelete, false);
        assert.strictEqual(one(r, DISK).inputs.size, 20);
        assert.deepStrictEqual(ofType(r, "gcp:compute/resourcePolicy:ResourcePolicy"), []);
        assert.deepStrictEqual(ofType(r, "gcp:dns/recordSet:RecordSet"), []);
    });

    it("without a static IP, the record points at the load balancer's IP and no address is reserved", async () => {
        const r = await run({ ...GCE, dnsProvider: "cloudDns", cloudDnsManagedZone: "example-com", cloudDnsRecordName: "images", cloudDnsTtl: 60 });
        assert.deepStrictEqual(ofType(r, "gcp:compute/address:Address"), []);
        const record = one(r, "gcp:dns/recordSet:RecordSet");
        assert.deepStrictEqual([record.inputs.name, record.inputs.ttl, record.inputs.rrdatas], ["images.example.com.", 60, ["203.0.113.10"]]);
        const service = one(r, "kubernetes:core/v1:Service");
        assert.strictEqual(service.inputs.spec.loadBalancerIP, undefined);
        assert.strictEqual(service.inputs.metadata.annotations?.["networking.gke.io/load-balancer-ip-addresses"], undefined);
    });
});

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
