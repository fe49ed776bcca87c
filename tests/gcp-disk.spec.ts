// GCP: the gcp stack (Pulumi.gcp.yaml) under mocks: the GCE persistent disk, its snapshots, the CSI
// volume, Cloud DNS and the static IP; and the disk and Cloud DNS options.
import * as assert from "assert";
import { X509Certificate } from "crypto";

import { MOCK_GCP_PROJECT } from "./support/cloud-mocks-gcp";
import { registryPod, secretValue } from "./support/pod";
import { loadStackFile, one, ofType, ProgramRun, runProgram, stackFiles } from "./support/program";
import { VARIANTS } from "./support/variants";
import { DEPLOYMENT, DISK, GCE, PV, PVC, dependsOn, run } from "./support/gcp-fixtures";

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
