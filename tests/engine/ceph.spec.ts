// The `ceph` stack's whole life under the real engine, against a real single-node Ceph: the real
// Pulumi CLI runs the program inline (Automation API) against a real API server, the RGW Admin
// Ops dynamic providers run in the engine's dynamic-provider host against radosgw, and the
// registry pods the controller-manager makes run for real (stand-in kubelet) on what those
// providers made. First as Pulumi.ceph.yaml declares it: cephSwift through the external-gateway
// Service (a selector-less Service + EndpointSlice naming two gateway hosts in front of the one
// radosgw; the registry reaches it as `registry-rgw.registry.svc` through the kube-proxy and DNS
// stand-ins). Then a key rotation under a loop of pulls, out-of-band damage, the switch to cephS3,
// destroy and a second up on the kept bucket with a direct RGW URL, a new subuser with
// deleteStorageOnDestroy, and the opted-in destroy.
import * as assert from "assert";
import * as k8s from "@kubernetes/client-node";
import * as fs from "fs";
import * as path from "path";

import { RgwAdmin, swiftAuth } from "../../components/storage/ceph/admin-ops";
import { buildImage, compareImage, MiB, OciImage, pull, pullAndCompare, push, RegistryAccess } from "../harness/oci";
import { CephPeer, startCeph } from "../harness/peers/ceph";
import { stopAll, waitFor, workDir } from "../harness/procs";
import {
    BUCKET,
    bucketObjectCount,
    CREDS,
    CredsState,
    credsStateOf,
    PullLoop,
    RgwUserInfo,
    rgwUserInfo,
    secretSig,
    stackResources,
    STACK,
    StateResource,
    UID,
} from "./ceph-state";
import { outsideHostIp, Relay, startRelay } from "./cluster/outside-hosts";
import { EngineProject } from "./stack";
import { namespaceGone } from "./suite";
import { startTestCluster, TestCluster } from "./test-cluster";

describe("the ceph stack under the real engine (Pulumi CLI, kube-apiserver, RGW Admin Ops dynamic providers, a real single-node Ceph)", function () {
    let ceph: CephPeer;
    let cluster: TestCluster;
    let project: EngineProject;
    let core: k8s.CoreV1Api;
    let gateways: Relay[] = [];
    let certDir: string;
    let lb: string;
    let access: RegistryAccess;
    /** Pushed through Swift at the start, pulled after every change. */
    let imageA: OciImage;
    /** Small, for the pull loop. */
    let imageLoop: OciImage;
    /** Pushed through S3 after the switch. */
    let imageB: OciImage;
    /** Directories this spec made (image layouts, CA files), deleted at the end. */
    const scratch: string[] = [];

    const rgwPort = (): number => Number(new URL(ceph.rgwUrl).port);
    const rgwUser = (): Promise<RgwUserInfo | undefined> => rgwUserInfo(ceph);
    const bucketObjects = (): Promise<number | undefined> => bucketObjectCount(ceph);
    /** The stack's state as `pulumi stack export` gives it. */
    const stateResources = (showSecrets = false): Promise<StateResource[]> => stackResources(project, showSecrets);
    /** The credentials' outputs, secrets revealed. */
    const credsState = async (): Promise<CredsState> => credsStateOf(await stateResources(true));
    const registryPods = async (): Promise<k8s.V1Pod[]> =>
        (await core.listNamespacedPod("registry", undefined, undefined, undefined, undefined, "app.kubernetes.io/name=registry")).body.items;
    const registryContainers = () =>
        cluster.kubelet
            .containers()
            .filter((c) => c.namespace === "registry" && c.container === "registry" && c.real && c.pod.startsWith("registry-") && c.proc?.running === true);
    const readOutputs = async (): Promise<void> => {
        const o = (await project.outputs(STACK)) as { caCertificate: string; loadBalancerAddress: string; passwords: Record<string, string> };
        certDir = workDir("engine-ceph-certs");
        scratch.push(certDir);
        fs.writeFileSync(path.join(certDir, "ca.crt"), o.caCertificate);
        lb = o.loadBalancerAddress;
        access = { certDir, creds: { username: "admin", password: o.passwords.admin } };
    };
    const refOf = (repo: string): string => `${lb}/${repo}:v1`;
    const assertServes = async (images: readonly [OciImage, string][]): Promise<void> => {
        for (const [image, repo] of images) {
            assert.deepStrictEqual(await pullAndCompare(image, refOf(repo), access), [], `${repo} through ${lb}`);
        }
    };
    /** Pulls `image` through the load balancer again and again until stopped. */
    const pullLoop = (image: OciImage, repo: string): PullLoop => {
        let stopping = false;
        const parent = workDir("engine-ceph-loop");
        const tally: PullLoop = {
            ok: 0,
            failures: [],
            stop: async () => {
                stopping = true;
                await done;
                fs.rmSync(parent, { recursive: true, force: true });
            },
        };
        const done = (async () => {
            while (!stopping) {
                const { dir, result } = await pull(refOf(repo), access, { parentDir: parent });
                const problems = result.code === 0 ? compareImage(image, dir) : [result.stderr.trim()];
                if (problems.length === 0) {
                    tally.ok++;
                } else {
                    tally.failures.push(`${new Date().toISOString()} ${problems.join("; ")}`);
                }
                fs.rmSync(dir, { recursive: true, force: true });
            }
        })();
        return tally;
    };
    const upOk = async (): Promise<Record<string, number>> => (await project.opOk("up", STACK)).changes ?? {};
    const waitNamespaceGone = (): Promise<void> => namespaceGone(core, "registry", 180_000);

    before(async () => {
        ceph = await startCeph();
        cluster = await startTestCluster({ serviceProxy: true });
        core = cluster.controlPlane.kc.makeApiClient(k8s.CoreV1Api);
        // Two gateway hosts outside the cluster in front of the one radosgw.
        gateways = [
            await startRelay(outsideHostIp(1), rgwPort(), { host: "127.0.0.1", port: rgwPort() }),
            await startRelay(outsideHostIp(2), rgwPort(), { host: "127.0.0.1", port: rgwPort() }),
        ];
        project = await EngineProject.create({ kubeconfig: cluster.kubeconfig });
        await project.cliOk(["login", "--local"]);
        await project.cliOk(["stack", "select", STACK, "--create"]);
        // Pulumi.ceph.yaml as it is, but for where its gateways and Admin Ops are, and the admin keys.
        await project.setConfig(
            STACK,
            "registry:cephGatewayAddresses",
            gateways.map((g) => g.ip),
        );
        await project.setConfig(STACK, "registry:cephGatewayPort", String(rgwPort()));
        await project.setConfig(STACK, "registry:cephAdminUrl", ceph.rgwUrl);
        await project.setConfig(STACK, "registry:cephAdminAccessKey", ceph.adminAccessKey, true);
        await project.setConfig(STACK, "registry:cephAdminSecretKey", ceph.adminSecretKey, true);
        // One layer above the 10 MiB chunk size: a segmented Swift object.
        imageA = buildImage([4096, 3 * MiB, 17 * MiB]);
        imageLoop = buildImage([2048, 512 * 1024]);
        imageB = buildImage([1024, 2 * MiB]);
        scratch.push(...[imageA, imageLoop, imageB].map((i) => i.dir));
    });
    after(async () => {
        await cluster?.stop();
        await Promise.all(gateways.map((g) => g.stop()));
        project?.remove();
        await stopAll();
        await ceph?.stop();
        scratch.forEach((d) => fs.rmSync(d, { recursive: true, force: true }));
    });

    it("`pulumi up` (cephSwift through the gateway Service): the RGW user, subuser, Swift key and container exist as declared; two registry pods push and pull through both gateways", async () => {
        const changes = await upOk();
        assert.ok((changes.create ?? 0) >= 25, JSON.stringify(changes));
        const creds = await credsState();
        assert.deepStrictEqual([creds.fullSubuser, creds.keyType, creds.userCreated, creds.purgeUserOnDelete], [`${UID}:registry`, "swift", true, false]);
        const user = await rgwUser();
        assert.deepStrictEqual(user?.subusers, [{ id: `${UID}:registry`, permissions: "full-control" }]);
        assert.deepStrictEqual(
            user?.swift_keys.map((k) => [k.user, k.secret_key]),
            [[`${UID}:registry`, creds.secretKey]],
        );
        assert.deepStrictEqual(user?.keys, [], "the user has no key of its own; only the subuser authenticates");
        assert.strictEqual(await bucketObjects(), 0, "the container exists, owned by the registry's user, empty");

        const svc = (await core.readNamespacedService("registry-rgw", "registry")).body;
        assert.strictEqual(svc.spec?.selector, undefined);
        const slices = (
            await cluster.controlPlane.kc
                .makeApiClient(k8s.DiscoveryV1Api)
                .listNamespacedEndpointSlice("registry", undefined, undefined, undefined, undefined, "kubernetes.io/service-name=registry-rgw")
        ).body.items;
        assert.deepStrictEqual(
            slices.flatMap((s) => s.endpoints.map((e) => e.addresses[0])),
            gateways.map((g) => g.ip),
        );
        const hosts = fs.readFileSync(cluster.serviceProxy?.hostsFile ?? "", "utf8");
        assert.match(hosts, new RegExp(`^127\\.${(svc.spec?.clusterIP ?? "").slice(3).replace(/\./g, "\\.")} registry-rgw\\.registry\\.svc `, "m"));

        assert.strictEqual(registryContainers().length, 2, "two registry processes");
        await readOutputs();
        for (const [image, repo] of [
            [imageA, "team/app"],
            [imageLoop, "team/loop"],
        ] as const) {
            const pushed = await push(image, refOf(repo), access);
            assert.strictEqual(pushed.code, 0, pushed.stderr);
        }
        await assertServes([[imageA, "team/app"]]);
        assert.ok(((await bucketObjects()) ?? 0) > 0, "the blobs are in RGW");
        for (const g of gateways) {
            assert.ok((cluster.serviceProxy?.connectionsTo(g.ip) ?? 0) > 0 && g.connections() > 0, `the registry reached RGW through gateway ${g.ip}`);
        }
    });

    it("the state: no secret in the dynamic providers' serialised code (`__provider`); admin keys and the RGW key are encrypted", async () => {
        const creds = await credsState();
        const secrets = [ceph.adminAccessKey, ceph.adminSecretKey, creds.secretKey];
        const plain = await stateResources(false);
        const dynamic = plain.filter((r) => r.type === CREDS || r.type === BUCKET);
        assert.strictEqual(dynamic.length, 2);
        for (const r of dynamic) {
            const code = r.inputs?.__provider;
            assert.ok(typeof code === "string" && code.includes("exports.handler"), `${r.urn} has its provider's code`);
            for (const s of secrets) {
                assert.ok(!code.includes(s), `${r.urn}: __provider holds a secret`);
            }
            for (const k of ["adminAccessKey", "adminSecretKey", "secretKey"]) {
                assert.strictEqual(secretSig(r.outputs?.[k]), "1b47061264138c4ac30d75fd1eb44270", `${r.urn}: output ${k} is encrypted`);
            }
            // The credentials take no key as input; the bucket takes the registry's.
            for (const k of ["adminAccessKey", "adminSecretKey", ...(r.type === BUCKET ? ["secretKey"] : [])]) {
                assert.strictEqual(secretSig(r.inputs?.[k]), "1b47061264138c4ac30d75fd1eb44270", `${r.urn}: input ${k} is encrypted`);
            }
        }
        // The state file as the CLI keeps it under ~/.pulumi holds none of them in plain text.
        const file = fs.readFileSync(path.join(project.home, ".pulumi", "stacks", "registry", `${STACK}.json`), "utf8");
        for (const s of secrets) {
            assert.ok(!file.includes(s), "a secret in plain text in the state file");
        }
    });

    it("`pulumi preview --expect-no-changes` and `pulumi refresh` are clean right after up", async () => {
        await project.opOk("preview", STACK, { expectNoChanges: true });
        const refresh = await project.opOk("refresh", STACK);
        assert.deepStrictEqual(Object.keys(refresh.changes ?? {}), ["same"], JSON.stringify(refresh.changes));
        await project.opOk("preview", STACK, { expectNoChanges: true });
    });

    it("rotation (cephKeyGeneration 2) under a loop of pulls: no pull fails; the old key works until the rollout has taken the old pods out of service, then RGW refuses it", async () => {
        const old = await credsState();
        const oldPods = new Set((await registryPods()).map((p) => p.metadata?.name));
        // Every 300 ms during the up: does RGW take the old key, and is an old pod still in
        // service (not yet deleted, so in the Service's endpoints)? A deleted pod keeps running
        // through its preStop pause and drain, but gets no new connections.
        const samples: { at: number; oldKeyOk: boolean; oldPodInService: boolean }[] = [];
        let watching = true;
        const watcher = (async () => {
            while (watching) {
                const oldPodInService = (await registryPods()).some((p) => oldPods.has(p.metadata?.name) && p.metadata?.deletionTimestamp === undefined);
                const auth = await swiftAuth(ceph.rgwUrl, old.fullSubuser, old.secretKey);
                samples.push({ at: Date.now(), oldKeyOk: auth.ok, oldPodInService });
                await new Promise((r) => setTimeout(r, 300));
            }
        })();
        const loop = pullLoop(imageLoop, "team/loop");
        await project.setConfig(STACK, "registry:cephKeyGeneration", "2");
        const changes = await upOk().finally(async () => {
            await loop.stop();
            watching = false;
            await watcher;
        });
        assert.ok((changes.replace ?? 0) >= 1, JSON.stringify(changes));
        assert.deepStrictEqual(loop.failures, [], `${loop.failures.length} of ${loop.ok + loop.failures.length} pulls failed`);
        assert.ok(loop.ok >= 3, `only ${loop.ok} pulls ran during the up`);
        const lastInService = samples.filter((s) => s.oldPodInService).pop();
        const firstRefused = samples.find((s) => !s.oldKeyOk);
        assert.ok(lastInService !== undefined && firstRefused !== undefined, JSON.stringify(samples));
        assert.ok(firstRefused.at > lastInService.at, "the old key was refused while an old pod was still in service");
        assert.ok(
            samples.some((s) => s.oldKeyOk && !s.oldPodInService),
            "the old key outlived the old pods' service",
        );
        assert.ok(
            samples.every((s) => s.at < firstRefused.at || !s.oldKeyOk),
            "once refused, never accepted again",
        );

        const now = await credsState();
        assert.strictEqual(now.fullSubuser, `${UID}:registry-g2`);
        assert.deepStrictEqual(
            (await rgwUser())?.subusers.map((s) => s.id),
            [`${UID}:registry-g2`],
        );
        assert.deepStrictEqual(await swiftAuth(ceph.rgwUrl, old.fullSubuser, old.secretKey), { ok: false, status: 403 }, "RGW no longer knows the old subuser");
        await waitFor("the old pods to go", async () => registryContainers().every((c) => !oldPods.has(c.pod)), 120_000, 500);
        await assertServes([[imageA, "team/app"]]);
    });

    it("out-of-band damage: the key deleted in RGW by hand breaks the registry; `pulumi refresh` sees it gone and `pulumi up` repairs it", async () => {
        const before = await credsState();
        await ceph.radosgwAdmin(["key", "rm", `--uid=${UID}`, `--subuser=${before.fullSubuser}`, "--key-type=swift"]);
        const broken = await pull(refOf("team/app"), access);
        fs.rmSync(broken.dir, { recursive: true, force: true });
        assert.notStrictEqual(broken.result.code, 0, "the registry cannot read its storage without its key");
        // (The Deployment's status changes too, as the pods fail their storage health check.)
        const refresh = await project.opOk("refresh", STACK);
        assert.ok((refresh.changes?.update ?? 0) >= 1, JSON.stringify(refresh.changes));
        assert.strictEqual((await credsState()).secretKey, "", "the state records the key as gone");
        await upOk();
        const after = await credsState();
        assert.notStrictEqual(after.secretKey, "");
        assert.deepStrictEqual(
            (await rgwUser())?.swift_keys.map((k) => [k.user, k.secret_key]),
            [[before.fullSubuser, after.secretKey]],
        );
        await assertServes([
            [imageA, "team/app"],
            [imageLoop, "team/loop"],
        ]);
        await project.opOk("preview", STACK, { expectNoChanges: true });
    });

    it("cephSwift -> cephS3 on the same subuser: every image pushed before is served; the new S3 key and the bucket are intact, only the old Swift key went", async () => {
        const objects = (await bucketObjects()) ?? 0;
        await project.setConfig(STACK, "registry:storageKind", "cephS3");
        const changes = await upOk();
        assert.ok((changes.replace ?? 0) >= 1, JSON.stringify(changes));
        await assertServes([
            [imageA, "team/app"],
            [imageLoop, "team/loop"],
        ]);
        assert.ok(((await bucketObjects()) ?? 0) >= objects, "no object was deleted");
        const creds = await credsState();
        const list = await new RgwAdmin({ url: ceph.rgwUrl, accessKey: creds.accessKey, secretKey: creds.secretKey }).call("list", "GET", `/${UID}`, []);
        assert.strictEqual(list.status, 200, "the state's S3 key lists the bucket");
        assert.deepStrictEqual([creds.fullSubuser, creds.keyType], [`${UID}:registry-g2`, "s3"]);
        const user = await rgwUser();
        assert.deepStrictEqual(
            user?.subusers.map((s) => s.id),
            [`${UID}:registry-g2`],
        );
        assert.deepStrictEqual(
            user?.keys.map((k) => [k.user, k.access_key]),
            [[`${UID}:registry-g2`, creds.accessKey]],
        );
        assert.deepStrictEqual(user?.swift_keys, []);
        const pushed = await push(imageB, refOf("team/b"), access);
        assert.strictEqual(pushed.code, 0, pushed.stderr);
        await assertServes([[imageB, "team/b"]]);
    });

    it("`pulumi destroy` keeps the bucket with every image (and the user); the subuser and its key go", async () => {
        const objects = await bucketObjects();
        await project.opOk("destroy", STACK);
        assert.strictEqual((await stateResources()).length, 0);
        assert.strictEqual(await bucketObjects(), objects, "the bucket and its objects stay");
        const user = await rgwUser();
        assert.ok(user !== undefined, "the user stays");
        assert.deepStrictEqual([user.subusers, user.keys, user.swift_keys], [[], [], []]);
        await waitNamespaceGone();
    });

    it("a second `pulumi up` on the kept bucket, now with a direct RGW URL (no gateway Service), serves the old images", async () => {
        for (const key of ["cephGatewayAddresses", "cephGatewayPort", "cephAdminUrl"]) {
            await project.cliOk(["config", "rm", "--stack", STACK, `registry:${key}`]);
        }
        await project.setConfig(STACK, "registry:cephRgwUrl", ceph.rgwUrl);
        await upOk();
        await assert.rejects(core.readNamespacedService("registry-rgw", "registry"), (e: { statusCode?: number }) => e.statusCode === 404);
        const creds = await credsState();
        assert.strictEqual(creds.userCreated, true, "the user this stack made before is still its own");
        await readOutputs();
        await assertServes([
            [imageA, "team/app"],
            [imageB, "team/b"],
        ]);
        await project.opOk("preview", STACK, { expectNoChanges: true });
    });

    it("with deleteStorageOnDestroy, a new cephSubuser: the user, the bucket and every image stay; the old subuser goes", async () => {
        const objects = (await bucketObjects()) ?? 0;
        await project.setConfig(STACK, "registry:deleteStorageOnDestroy", "true");
        const flagged = await upOk();
        assert.strictEqual(flagged.replace ?? 0, 0, `the flag alone replaces nothing: ${JSON.stringify(flagged)}`);
        assert.strictEqual((await credsState()).purgeUserOnDelete, true);
        await project.setConfig(STACK, "registry:cephSubuser", "pusher");
        await upOk();
        const user = await rgwUser();
        assert.ok(user !== undefined, "the user stays");
        assert.ok(((await bucketObjects()) ?? 0) >= objects, "the bucket and its objects stay");
        await assertServes([
            [imageA, "team/app"],
            [imageB, "team/b"],
        ]);
        const creds = await credsState();
        assert.strictEqual(creds.fullSubuser, `${UID}:pusher-g2`);
        assert.deepStrictEqual(
            user.subusers.map((s) => s.id),
            [`${UID}:pusher-g2`],
        );
        assert.deepStrictEqual(
            user.keys.map((k) => k.access_key),
            [creds.accessKey],
        );
    });

    it("`pulumi destroy` with deleteStorageOnDestroy removes the bucket with the images, and the user the stack made", async () => {
        await project.opOk("destroy", STACK);
        assert.strictEqual(await bucketObjects(), undefined, "the bucket is gone");
        assert.strictEqual(await rgwUser(), undefined, "the user is gone");
        await waitNamespaceGone();
    });
});
