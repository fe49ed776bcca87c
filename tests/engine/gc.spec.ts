// Garbage collection under the real engine: the CronJob the program declares, started by hand
// with `kubectl create job --from=cronjob/...`, runs gc.sh for real (the machine's /bin/sh and
// kubectl, in-cluster config from the pod's projected service account token, so the program's
// Role is what allows or refuses each call) against the real API server; the GC Job it creates is
// the registry's own pod spec running `registry garbage-collect` on the claim's directory.
import * as assert from "assert";
import * as k8s from "@kubernetes/client-node";
import * as fs from "fs";
import * as path from "path";

import { buildImage, MiB, OciImage, pullAndCompare, push, RegistryAccess, skopeo } from "../harness/oci";
import { CommandResult, runCommand, waitFor, workDir } from "../harness/procs";
import { EngineProject } from "./stack";
import { useEngine } from "./suite";
import type { TestCluster } from "./test-cluster";

const STACK = "dev";
const NS = "registry";

function kubectl(kubeconfig: string, args: string[]): Promise<CommandResult> {
    return runCommand("kubectl", ["--kubeconfig", kubeconfig, ...args]);
}

/** Files of the blobs a registry stores, by digest hex, under its storage root. */
function blobs(root: string): Set<string> {
    const dir = path.join(root, "docker", "registry", "v2", "blobs", "sha256");
    if (!fs.existsSync(dir)) {
        return new Set();
    }
    return new Set(fs.readdirSync(dir).flatMap((prefix) => fs.readdirSync(path.join(dir, prefix))));
}

describe("garbage collection under the real engine: gc.sh's kubectl calls against the API server, the GC Job on the claim", function () {
    let cluster: TestCluster;
    let project: EngineProject;
    let batch: k8s.BatchV1Api;
    let apps: k8s.AppsV1Api;
    let core: k8s.CoreV1Api;
    let kept: OciImage;
    let dropped: OciImage;
    let host: string;
    let access: RegistryAccess;
    let volume: string;

    const engine = useEngine();
    before(async () => {
        ({ cluster, project, batch, apps, core } = engine);
        await project.cliOk(["stack", "select", STACK, "--create"]);
        await project.setConfig(STACK, "registry:gcSchedule", "0 3 * * 0");
        await project.opOk("up", STACK);
        const o = (await project.outputs(STACK)) as Record<string, string>;
        host = o.registryHost;
        const certDir = workDir("gc-certs");
        engine.mark(certDir);
        fs.writeFileSync(path.join(certDir, "ca.crt"), o.caCertificate);
        access = { certDir, creds: { username: o.username, password: o.password } };
        const pvName = (await core.readNamespacedPersistentVolumeClaim("registry-data", NS)).body.spec?.volumeName ?? "";
        volume = (await core.readPersistentVolume(pvName)).body.spec?.hostPath?.path ?? "";
        kept = buildImage([4096, 2 * MiB], "kept");
        dropped = buildImage([8192, 3 * MiB], "dropped");
        engine.mark(kept.dir);
        engine.mark(dropped.dir);
    });
    it("runs the procedure: maintenance (scaled to 0), the GC Job, restored; only unreferenced blobs are swept", async () => {
        assert.strictEqual((await push(kept, `${host}/team/kept:v1`, access)).code, 0);
        assert.strictEqual((await push(dropped, `${host}/team/dropped:v1`, access)).code, 0);
        const del = await skopeo([
            "delete",
            "--cert-dir",
            access.certDir ?? "",
            "--creds",
            `${access.creds?.username}:${access.creds?.password}`,
            `docker://${host}/team/dropped@${dropped.manifestDigest}`,
        ]);
        assert.strictEqual(del.code, 0, del.stderr);
        const before = blobs(volume);
        const droppedLayers = dropped.layers.map((l) => l.digest.slice("sha256:".length));
        for (const hex of droppedLayers) {
            assert.ok(before.has(hex), "the deleted image's layers are still stored before GC");
        }

        const crons = (await batch.listNamespacedCronJob(NS)).body.items;
        assert.strictEqual(crons.length, 1);
        const started = await kubectl(cluster.kubeconfig, ["-n", NS, "create", "job", `--from=cronjob/${crons[0].metadata?.name}`, "gc-now"]);
        assert.strictEqual(started.code, 0, started.stderr);
        let status: k8s.V1JobStatus | undefined;
        await waitFor(
            "the gc procedure's Job to end",
            async () => {
                status = (await batch.readNamespacedJob("gc-now", NS)).body.status;
                return (status?.succeeded ?? 0) + (status?.failed ?? 0) > 0;
            },
            300_000,
            1000,
        );
        const logs = cluster.kubelet
            .containers()
            .filter((c) => c.logFile !== undefined && fs.existsSync(c.logFile))
            .map((c) => `--- ${c.pod}\n${fs.readFileSync(c.logFile ?? "", "utf8").slice(-3000)}`)
            .join("\n");
        assert.strictEqual(status?.succeeded, 1, `the procedure failed:\n${cluster.events.join("\n")}\n${logs}`);
        const procedure = cluster.kubelet.containers().find((c) => c.pod.startsWith("gc-now-"));
        assert.ok(procedure?.real, "gc.sh ran for real");
        const log = fs.readFileSync(procedure.logFile ?? "", "utf8");
        assert.match(log, /gc: scaling registry from 1 to 0/);
        assert.match(log, /gc: running job\.batch\/registry-gc-/);
        assert.match(log, /gc: done \(exit 0\)/);
        // `kubectl logs` of the GC Job, through the API server and the kubelet's log endpoint.
        assert.doesNotMatch(log, /Error from server/);
        for (const l of dropped.layers) {
            assert.match(log, new RegExp(`blob eligible for deletion: ${l.digest}`));
        }

        const gcJobs = (await batch.listNamespacedJob(NS)).body.items.filter((j) => j.metadata?.name?.startsWith("registry-gc-"));
        assert.strictEqual(gcJobs.length, 1);
        assert.strictEqual(gcJobs[0].status?.succeeded, 1, "the GC Job (registry garbage-collect) succeeded");

        const dep = (await apps.readNamespacedDeployment("registry", NS)).body;
        assert.strictEqual(dep.spec?.replicas, 1, "scaled back");
        assert.strictEqual(dep.metadata?.annotations?.["registry.day2/replicas-before-gc"], undefined, "the maintenance mark is gone");
        await waitFor(
            "the registry to be available again",
            async () => (await apps.readNamespacedDeployment("registry", NS)).body.status?.availableReplicas === 1,
            120_000,
            1000,
        );

        const after = blobs(volume);
        for (const hex of droppedLayers) {
            assert.ok(!after.has(hex), `layer ${hex} of the deleted image was swept`);
        }
        for (const l of kept.layers) {
            assert.ok(after.has(l.digest.slice("sha256:".length)), "the kept image's layers stay");
        }
        await waitFor("the kept image to pull", async () => (await pullAndCompare(kept, `${host}/team/kept:v1`, access)).length === 0, 60_000, 1000);
    });
});
