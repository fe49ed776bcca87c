// The engine tests' cluster on its own: a real control plane (etcd, kube-apiserver,
// kube-controller-manager, kube-scheduler v1.34.4) and the stand-ins for what a cloud and a
// kubelet would add (load balancer, volume provisioner, a Node kept alive by its Lease).
import * as k8s from "@kubernetes/client-node";
import * as assert from "assert";
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as net from "net";
import * as os from "os";

import { waitFor } from "../harness/procs";
import { ControlPlane, startControlPlane } from "./cluster/control-plane";
import { errorMessage } from "./cluster/informers";
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
        console.log(
            `      control plane ready in ${ms.total} ms (etcd ${ms.etcd}, apiserver ${ms["kube-apiserver"]}, controller-manager ${ms["kube-controller-manager"]}, scheduler ${ms["kube-scheduler"]})`,
        );
        console.log(`      RSS at start (MiB): ${JSON.stringify(cp.rssMiB())}`);
        core = cp.kc.makeApiClient(k8s.CoreV1Api);
        lb = await LoadBalancerController.start(cp.kc);
        provisioner = await HostPathProvisioner.start(cp.kc, { root: `${cp.workDir}/volumes` });
        node = await registerNode(cp.kc, NODE);
    });

    after(async function () {
        try {
            if (cp !== undefined) {
                console.log(`      RSS at the end (MiB): ${JSON.stringify(cp.rssMiB())}`);
            }
            await node?.stop();
            await lb?.stop();
            await provisioner?.stop();
        } finally {
            await cp?.stop();
        }
    });

    it("the apiserver is v1.34.4 and enforces PodSecurity", async () => {
        const version = await cp!.kc.makeApiClient(k8s.VersionApi).getCode();
        assert.strictEqual(version.body.gitVersion, "v1.34.4");
        // The kubeconfig file works on its own, as the Pulumi provider and kubectl will read it.
        const kubectl = JSON.parse(
            execFileSync("kubectl", ["--kubeconfig", cp!.kubeconfig, "version", "-o", "json"], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] }),
        ) as { serverVersion?: { gitVersion?: string } };
        assert.strictEqual(kubectl.serverVersion?.gitVersion, "v1.34.4");

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
        assert.match(
            errorMessage(err),
            /^pods "privileged" is forbidden: violates PodSecurity "restricted:latest": privileged \(container "c" must not set securityContext.privileged=true\)/,
        );
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
            assert.deepStrictEqual(
                pod.metadata?.ownerReferences?.map((o) => `${o.kind}/${o.name}`),
                [`ReplicaSet/${replicaSets[0].metadata?.name}`],
            );
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
        await waitFor(
            `volume ${pvName} deleted`,
            async () =>
                await core.readPersistentVolume(pvName).then(
                    () => false,
                    (e: { statusCode?: number }) => e.statusCode === 404,
                ),
            60000,
            250,
        );
        assert.ok(!fs.existsSync(dir), `${dir} is left`);
    });

    it("a LoadBalancer Service gets 127.0.0.x and forwards to its Ready pods only, round-robin", async () => {
        await namespace(core, "e2e-lb");
        // Two "pods" on one address (see podAddress), told apart by port: the Service's named
        // targetPort resolves to each pod's own containerPort, so each gets a slice of its own.
        const podIp = podAddress();
        const pods = { a: await tcpGreeter(podIp), b: await tcpGreeter(podIp) };
        try {
            const labels = { app: "echo" };
            for (const [name, pod] of Object.entries(pods)) {
                await core.createNamespacedPod("e2e-lb", {
                    metadata: { name, labels },
                    spec: {
                        nodeName: NODE,
                        containers: [{ name: "echo", image: "registry.test/none:1", ports: [{ name: "https", containerPort: pod.port }] }],
                    },
                });
            }
            const spec: k8s.V1ServiceSpec = { type: "LoadBalancer", selector: labels, ports: [{ name: "https", port: 443, targetPort: "https" }] };
            await core.createNamespacedService("e2e-lb", { metadata: { name: "echo" }, spec });
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
            const closed = { connected: true, data: "" };

            // No endpoint at all yet: accepted, then closed with nothing said.
            assert.deepStrictEqual(await exchange(ip, 443), closed);

            // The kubelet's part: an IP and Running, not Ready. The slices list them as not ready.
            await setPodStatus(core, "e2e-lb", "a", podIp, false);
            await setPodStatus(core, "e2e-lb", "b", podIp, false);
            const notReady = [`${podIp}:${pods.a.port} ready=false`, `${podIp}:${pods.b.port} ready=false`].sort();
            await waitFor(
                "two not-ready endpoints in the Service's slices",
                async () => JSON.stringify((await endpoints(cp!.kc, "e2e-lb", "echo")).sort()) === JSON.stringify(notReady),
                30000,
                100,
            );
            assert.deepStrictEqual(await exchange(ip, 443), closed);

            await setPodStatus(core, "e2e-lb", "a", podIp, true);
            await waitFor("pod a's greeting through the load balancer", async () => (await exchange(ip, 443)).data === pods.a.greeting, 30000, 100);
            assert.deepStrictEqual(
                await Promise.all([1, 2, 3].map(() => exchange(ip, 443))),
                [1, 2, 3].map(() => ({ connected: true, data: pods.a.greeting })),
            );

            await setPodStatus(core, "e2e-lb", "b", podIp, true);
            await waitFor("pod b's greeting through the load balancer", async () => (await exchange(ip, 443)).data === pods.b.greeting, 30000, 100);
            const turns: string[] = [];
            for (let i = 0; i < 4; i++) {
                turns.push((await exchange(ip, 443)).data);
            }
            assert.deepStrictEqual(
                turns,
                turns[0] === pods.a.greeting
                    ? [pods.a, pods.b, pods.a, pods.b].map((p) => p.greeting)
                    : [pods.b, pods.a, pods.b, pods.a].map((p) => p.greeting),
            );

            // A second Service gets another address; made a ClusterIP, it gives it up (not to be reused).
            await core.createNamespacedService("e2e-lb", { metadata: { name: "second" }, spec });
            await waitFor("Service e2e-lb/second's address", async () => lb!.addressOf("e2e-lb", "second") !== undefined, 30000, 100);
            const second = lb!.addressOf("e2e-lb", "second") ?? "";
            assert.notStrictEqual(second, ip);
            // Its own EndpointSlices come a moment after the Service: until then it closes connections.
            await waitFor("the second Service reaches a pod", async () => /^hello from /.test((await exchange(second, 443)).data), 30000, 100);
            await core.patchNamespacedService("second", "e2e-lb", { spec: { type: "ClusterIP" } }, undefined, undefined, undefined, undefined, undefined, {
                headers: { "Content-Type": k8s.PatchUtils.PATCH_FORMAT_JSON_MERGE_PATCH },
            });
            await waitFor(
                "Service e2e-lb/second's address cleared",
                async () => (await core.readNamespacedServiceStatus("second", "e2e-lb")).body.status?.loadBalancer?.ingress === undefined,
                30000,
                100,
            );
            assert.deepStrictEqual(await exchange(second, 443), { connected: false, data: "" });

            // No ready pod again: closed again.
            await setPodStatus(core, "e2e-lb", "a", podIp, false);
            await setPodStatus(core, "e2e-lb", "b", podIp, false);
            await waitFor("connections closed with no ready pod", async () => JSON.stringify(await exchange(ip, 443)) === JSON.stringify(closed), 30000, 100);

            await core.deleteNamespacedService("echo", "e2e-lb");
            await waitFor("the listener of the deleted Service closed", async () => !(await exchange(ip, 443)).connected, 30000, 100);
        } finally {
            await Promise.all(Object.values(pods).map((p) => p.close()));
        }
    });
});

/**
 * A Node as a kubelet registers it, kept Ready as a kubelet keeps it. The node lifecycle
 * controller marks a node whose Lease (kube-node-lease/<node>) has not been renewed for 50 s
 * (--node-monitor-grace-period) Ready=Unknown, taints it unreachable (NoSchedule, and NoExecute
 * when another node is healthy) and sets its pods' Ready condition to False — which takes them
 * out of their Services' endpoints. Renewing the Lease alone is enough; the Node's own status
 * need not change (a kubelet updates it every 5 minutes).
 */
interface FakeNode {
    stop(): Promise<void>;
}

async function registerNode(kc: k8s.KubeConfig, name: string): Promise<FakeNode> {
    const core = kc.makeApiClient(k8s.CoreV1Api);
    const coordination = kc.makeApiClient(k8s.CoordinationV1Api);
    const now = new Date();
    // Unlike most objects, a Node keeps the status it is created with (a kubelet registers that way).
    const node = await core.createNode({
        metadata: { name, labels: { "kubernetes.io/hostname": name, "kubernetes.io/os": "linux" } },
        status: {
            capacity: { cpu: "2", memory: "8Gi", pods: "110" },
            allocatable: { cpu: "2", memory: "8Gi", pods: "110" },
            addresses: [{ type: "InternalIP", address: "127.0.0.1" }],
            conditions: [{ type: "Ready", status: "True", reason: "KubeletReady", message: "fake", lastHeartbeatTime: now, lastTransitionTime: now }],
        },
    });
    await coordination.createNamespacedLease("kube-node-lease", {
        metadata: { name, ownerReferences: [{ apiVersion: "v1", kind: "Node", name, uid: node.body.metadata?.uid ?? "" }] },
        spec: { holderIdentity: name, leaseDurationSeconds: 40 },
    });
    // client-node 0.22 writes a Date with milliseconds, and the apiserver wants MicroTime's six
    // digits ("cannot parse .889Z as .000000"): the renewal is a merge patch of a string.
    const renew = () =>
        coordination.patchNamespacedLease(
            name,
            "kube-node-lease",
            { spec: { renewTime: new Date().toISOString().replace(/Z$/, "000Z") } },
            undefined,
            undefined,
            undefined,
            undefined,
            undefined,
            {
                headers: { "Content-Type": k8s.PatchUtils.PATCH_FORMAT_JSON_MERGE_PATCH },
            },
        );
    await renew();
    // A kubelet renews every 10 s (a quarter of the 40 s lease).
    const timer = setInterval(() => void renew().catch(() => undefined), 10_000);
    return { stop: async () => clearInterval(timer) };
}

async function namespace(core: k8s.CoreV1Api, name: string, labels: Record<string, string> = {}): Promise<void> {
    await core.createNamespace({ metadata: { name, labels } });
    // Pods are refused until the namespace's default ServiceAccount exists.
    await waitFor(
        `ServiceAccount ${name}/default`,
        async () => (await core.readNamespacedServiceAccount("default", name)).body.metadata?.name === "default",
        30000,
        100,
    );
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
    const slices = (
        await kc
            .makeApiClient(k8s.DiscoveryV1Api)
            .listNamespacedEndpointSlice(ns, undefined, undefined, undefined, undefined, `kubernetes.io/service-name=${service}`)
    ).body.items;
    return slices.flatMap((s) => (s.endpoints ?? []).flatMap((e) => (s.ports ?? []).map((p) => `${e.addresses[0]}:${p.port} ready=${e.conditions?.ready}`)));
}

/**
 * The "pod"'s address: one of this machine's own non-loopback addresses, because a pod at
 * 127.0.1.x never gets into an EndpointSlice (see load-balancer.ts).
 */
function podAddress(): string {
    const ip = Object.values(os.networkInterfaces())
        .flat()
        .find((a) => a?.family === "IPv4" && !a.internal)?.address;
    if (ip === undefined) {
        throw new Error("this machine has no non-loopback IPv4 address for the test pod");
    }
    return ip;
}

/** The "pod": greets each connection with its address and port, then closes. On a free port. */
async function tcpGreeter(host: string): Promise<{ port: number; greeting: string; close(): Promise<void> }> {
    const server = net.createServer((s) => s.end(`hello from ${host}:${(server.address() as net.AddressInfo).port}\n`));
    await new Promise<void>((resolve, reject) => {
        server.once("error", reject);
        server.listen(0, host, resolve);
    });
    const port = (server.address() as net.AddressInfo).port;
    return { port, greeting: `hello from ${host}:${port}\n`, close: () => new Promise((resolve) => server.close(() => resolve())) };
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
