// The engine tests' cluster on its own: a real control plane (etcd, kube-apiserver,
// kube-controller-manager, kube-scheduler v1.34.4) and the stand-ins for what a cloud and a
// kubelet would add (load balancer, volume provisioner, a Node kept alive by its Lease).
import * as k8s from "@kubernetes/client-node";
import * as assert from "assert";
import * as fs from "fs";
import * as net from "net";

import { waitFor } from "../e2e/procs";
import { ControlPlane, errorMessage, startControlPlane } from "./cluster/control-plane";
import { LoadBalancerController } from "./cluster/load-balancer";
import { HostPathProvisioner } from "./cluster/provisioner";

const NODE = "e2e-node";

describe("engine cluster: a real control plane with its stand-ins", function () {
    let cp: ControlPlane | undefined;
    let lb: LoadBalancerController | undefined;
    let provisioner: HostPathProvisioner | undefined;
    let node: FakeNode | undefined;
    let core: k8s.CoreV1Api;

    before(async function () {
        cp = await startControlPlane();
        const ms = cp.startupMs;
        console.log(`      control plane ready in ${ms.total} ms (etcd ${ms.etcd}, apiserver ${ms["kube-apiserver"]}, controller-manager ${ms["kube-controller-manager"]}, scheduler ${ms["kube-scheduler"]})`);
        console.log(`      RSS at start (MiB): ${JSON.stringify(cp.rssMiB())}`);
        core = cp.kc.makeApiClient(k8s.CoreV1Api);
        lb = await LoadBalancerController.start(cp.kc);
        provisioner = await HostPathProvisioner.start(cp.kc, { root: `${cp.workDir}/volumes` });
        node = await registerNode(cp.kc, NODE);
    });

    after(async function () {
        if (cp !== undefined) {
            console.log(`      RSS at the end (MiB): ${JSON.stringify(cp.rssMiB())}`);
        }
        await node?.stop();
        await lb?.stop();
        await provisioner?.stop();
        await cp?.stop();
    });

    it("the apiserver is v1.34.4 and enforces PodSecurity", async () => {
        const version = await cp!.kc.makeApiClient(k8s.VersionApi).getCode();
        assert.strictEqual(version.body.gitVersion, "v1.34.4");

        await namespace(core, "e2e-restricted", { "pod-security.kubernetes.io/enforce": "restricted" });
        const privileged: k8s.V1Pod = {
            metadata: { name: "privileged" },
            spec: { containers: [{ name: "c", image: "registry.test/none:1", securityContext: { privileged: true } }] },
        };
        const err = await core.createNamespacedPod("e2e-restricted", privileged).then(
            () => assert.fail("a privileged pod was admitted in a restricted namespace"),
            (e: unknown) => e as { statusCode?: number },
        );
        assert.strictEqual(err.statusCode, 403);
        assert.match(errorMessage(err), /^pods "privileged" is forbidden: violates PodSecurity "restricted:latest": privileged \(container "c" must not set securityContext.privileged=true\)/);
    });

    it("the controller-manager makes a Deployment's ReplicaSet and Pods, the scheduler binds them to the node", async () => {
        await namespace(core, "e2e-apps");
        const apps = cp!.kc.makeApiClient(k8s.AppsV1Api);
        const labels = { app: "web" };
        await apps.createNamespacedDeployment("e2e-apps", {
            metadata: { name: "web" },
            spec: {
                replicas: 2,
                selector: { matchLabels: labels },
                template: { metadata: { labels }, spec: { containers: [{ name: "web", image: "registry.test/none:1" }] } },
            },
        });
        let pods: k8s.V1Pod[] = [];
        await waitFor(
            "2 pods of Deployment web bound to the node",
            async () => {
                pods = (await core.listNamespacedPod("e2e-apps")).body.items;
                return pods.length === 2 && pods.every((p) => p.spec?.nodeName === NODE);
            },
            60000,
            250,
        );
        const replicaSets = (await apps.listNamespacedReplicaSet("e2e-apps")).body.items;
        assert.strictEqual(replicaSets.length, 1);
        assert.deepStrictEqual(
            replicaSets[0].metadata?.ownerReferences?.map((o) => `${o.kind}/${o.name}`),
            ["Deployment/web"],
        );
        for (const pod of pods) {
            assert.deepStrictEqual(pod.metadata?.ownerReferences?.map((o) => `${o.kind}/${o.name}`), [`ReplicaSet/${replicaSets[0].metadata?.name}`]);
            assert.strictEqual(pod.status?.conditions?.find((c) => c.type === "PodScheduled")?.status, "True");
        }
    });

    it("a claim with no StorageClass is bound to a provisioned hostPath volume, deleted with it", async () => {
        await namespace(core, "e2e-pvc");
        await core.createNamespacedPersistentVolumeClaim("e2e-pvc", {
            metadata: { name: "data" },
            spec: { accessModes: ["ReadWriteOnce"], resources: { requests: { storage: "1Gi" } } },
        });
        let claim: k8s.V1PersistentVolumeClaim | undefined;
        await waitFor(
            "claim e2e-pvc/data Bound",
            async () => {
                claim = (await core.readNamespacedPersistentVolumeClaim("data", "e2e-pvc")).body;
                return claim.status?.phase === "Bound";
            },
            60000,
            250,
        );
        assert.strictEqual(claim?.spec?.storageClassName, undefined);
        const pvName = claim?.spec?.volumeName ?? "";
        const pv = (await core.readPersistentVolume(pvName)).body;
        const dir = provisioner!.dirOf("e2e-pvc", "data");
        assert.strictEqual(pv.spec?.hostPath?.path, dir);
        assert.strictEqual(dir, provisioner!.dirOfVolume(pvName));
        assert.ok(fs.statSync(dir).isDirectory());
        assert.strictEqual(pv.spec?.capacity?.storage, "1Gi");
        assert.deepStrictEqual(pv.spec?.accessModes, ["ReadWriteOnce"]);
        assert.strictEqual(pv.spec?.claimRef?.uid, claim?.metadata?.uid);
        assert.strictEqual(claim?.status?.capacity?.storage, "1Gi");

        await core.deleteNamespacedPersistentVolumeClaim("data", "e2e-pvc");
        await waitFor(`volume ${pvName} deleted`, async () => (await core.readPersistentVolume(pvName).then(() => false, (e: { statusCode?: number }) => e.statusCode === 404)), 60000, 250);
        assert.ok(!fs.existsSync(dir), `${dir} is left`);
    });

    it("a LoadBalancer Service gets 127.0.0.x and forwards to its Ready pods only", async () => {
        await namespace(core, "e2e-lb");
        const podIp = "127.0.1.10";
        const pod = await tcpGreeter(podIp, 8443);
        try {
            const labels = { app: "echo" };
            await core.createNamespacedPod("e2e-lb", {
                metadata: { name: "echo", labels },
                spec: { nodeName: NODE, containers: [{ name: "echo", image: "registry.test/none:1", ports: [{ name: "https", containerPort: 8443 }] }] },
            });
            await core.createNamespacedService("e2e-lb", {
                metadata: { name: "echo" },
                spec: { type: "LoadBalancer", selector: labels, ports: [{ name: "https", port: 443, targetPort: 8443 as unknown as k8s.IntOrString }] },
            });
            let ip = "";
            await waitFor(
                "Service e2e-lb/echo's load-balancer address",
                async () => {
                    ip = (await core.readNamespacedServiceStatus("echo", "e2e-lb")).body.status?.loadBalancer?.ingress?.[0]?.ip ?? "";
                    return ip !== "";
                },
                30000,
                100,
            );
            assert.match(ip, /^127\.0\.0\.([2-9]|[1-9]\d+)$/);
            assert.strictEqual(lb!.addressOf("e2e-lb", "echo"), ip);

            // No endpoint at all yet: accepted, then closed with nothing said.
            assert.deepStrictEqual(await exchange(ip, 443), { connected: true, data: "" });

            // The kubelet's part: an IP and Running, not Ready. The slice lists it as not ready.
            await setPodStatus(core, "e2e-lb", "echo", podIp, false);
            await waitFor("a not-ready endpoint in the Service's slice", async () => (await endpoints(cp!.kc, "e2e-lb", "echo")).includes(`${podIp}:8443 ready=false`), 30000, 100);
            assert.deepStrictEqual(await exchange(ip, 443), { connected: true, data: "" });

            await setPodStatus(core, "e2e-lb", "echo", podIp, true);
            await waitFor("the pod's greeting through the load balancer", async () => (await exchange(ip, 443)).data === `hello from ${podIp}\n`, 30000, 100);
            assert.ok(pod.connections > 0);

            // Changing type gives the address back (never reused); deleting the Service stops the listener.
            await core.createNamespacedService("e2e-lb", {
                metadata: { name: "second" },
                spec: { type: "LoadBalancer", selector: labels, ports: [{ name: "https", port: 443, targetPort: 8443 as unknown as k8s.IntOrString }] },
            });
            await waitFor("Service e2e-lb/second's address", async () => lb!.addressOf("e2e-lb", "second") !== undefined, 30000, 100);
            const second = lb!.addressOf("e2e-lb", "second") ?? "";
            assert.notStrictEqual(second, ip);
            await waitFor("the second Service reaches the same pod", async () => (await exchange(second, 443)).data === `hello from ${podIp}\n`, 30000, 100);
            await core.patchNamespacedService(
                "second",
                "e2e-lb",
                { spec: { type: "ClusterIP" } },
                undefined,
                undefined,
                undefined,
                undefined,
                undefined,
                { headers: { "Content-Type": k8s.PatchUtils.PATCH_FORMAT_JSON_MERGE_PATCH } },
            );
            await waitFor("Service e2e-lb/second's address cleared", async () => (await core.readNamespacedServiceStatus("second", "e2e-lb")).body.status?.loadBalancer?.ingress === undefined, 30000, 100);
            assert.deepStrictEqual(await exchange(second, 443), { connected: false, data: "" });

            await core.deleteNamespacedService("echo", "e2e-lb");
            await waitFor("the listener of the deleted Service closed", async () => !(await exchange(ip, 443)).connected, 30000, 100);
        } finally {
            await pod.close();
        }
    });
});

/** A Node as a kubelet would register it, kept alive like a kubelet does: its Lease renewed every 10 s. */
interface FakeNode {
    stop(): Promise<void>;
}

async function registerNode(kc: k8s.KubeConfig, name: string): Promise<FakeNode> {
    const core = kc.makeApiClient(k8s.CoreV1Api);
    const now = new Date();
    await core.createNode({
        metadata: { name, labels: { "kubernetes.io/hostname": name, "kubernetes.io/os": "linux" } },
        status: {
            capacity: { cpu: "2", memory: "8Gi", pods: "110" },
            allocatable: { cpu: "2", memory: "8Gi", pods: "110" },
            addresses: [{ type: "InternalIP", address: "127.0.0.1" }],
            conditions: [{ type: "Ready", status: "True", reason: "KubeletReady", message: "fake", lastHeartbeatTime: now, lastTransitionTime: now }],
        },
    });
    return { stop: async () => undefined };
}

async function namespace(core: k8s.CoreV1Api, name: string, labels: Record<string, string> = {}): Promise<void> {
    await core.createNamespace({ metadata: { name, labels } });
    // Pods are refused until the namespace's default ServiceAccount exists.
    await waitFor(`ServiceAccount ${name}/default`, async () => (await core.readNamespacedServiceAccount("default", name)).body.metadata?.name === "default", 30000, 100);
}

/** What the node agent does for a pod: an IP, Running, and Ready or not. */
async function setPodStatus(core: k8s.CoreV1Api, ns: string, name: string, ip: string, ready: boolean): Promise<void> {
    const status = ready ? "True" : "False";
    const now = new Date().toISOString();
    await core.patchNamespacedPodStatus(
        name,
        ns,
        {
            status: {
                phase: "Running",
                hostIP: "127.0.0.1",
                hostIPs: [{ ip: "127.0.0.1" }],
                podIP: ip,
                podIPs: [{ ip }],
                conditions: [
                    { type: "Ready", status, lastTransitionTime: now },
                    { type: "ContainersReady", status, lastTransitionTime: now },
                ],
            },
        },
        undefined,
        undefined,
        "e2e-node-agent",
        undefined,
        undefined,
        // Strategic merge: conditions merge by type, so the scheduler's PodScheduled stays.
        { headers: { "Content-Type": k8s.PatchUtils.PATCH_FORMAT_STRATEGIC_MERGE_PATCH } },
    );
}

/** The Service's endpoints as "ip:port ready=bool", from its EndpointSlices. */
async function endpoints(kc: k8s.KubeConfig, ns: string, service: string): Promise<string[]> {
    const slices = (await kc.makeApiClient(k8s.DiscoveryV1Api).listNamespacedEndpointSlice(ns, undefined, undefined, undefined, undefined, `kubernetes.io/service-name=${service}`)).body.items;
    return slices.flatMap((s) => (s.endpoints ?? []).flatMap((e) => (s.ports ?? []).map((p) => `${e.addresses[0]}:${p.port} ready=${e.conditions?.ready}`)));
}

/** The "pod": says hello with its address to each connection, then closes. */
async function tcpGreeter(host: string, port: number): Promise<{ connections: number; close(): Promise<void> }> {
    const state = { connections: 0 };
    const server = net.createServer((s) => {
        state.connections++;
        s.end(`hello from ${host}\n`);
    });
    await new Promise<void>((resolve, reject) => {
        server.once("error", reject);
        server.listen(port, host, resolve);
    });
    return {
        get connections() {
            return state.connections;
        },
        close: () => new Promise((resolve) => server.close(() => resolve())),
    };
}

/** Connects, reads until the other side closes; whether it connected and what it said. */
function exchange(host: string, port: number): Promise<{ connected: boolean; data: string }> {
    return new Promise((resolve) => {
        let connected = false;
        let data = "";
        const s = net.connect({ host, port });
        s.setTimeout(5000, () => s.destroy());
        s.on("connect", () => (connected = true));
        s.on("data", (d) => (data += d.toString()));
        s.on("error", () => undefined);
        s.on("close", () => resolve({ connected, data }));
    });
}
