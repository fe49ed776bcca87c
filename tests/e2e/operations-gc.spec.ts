// Day-2 operations end to end, on the real registry binary the pod spec runs: garbage collection
// driven by the real gc.sh, its kubectl answered by this test acting as the API server + kubelet
// (rollouts restart the harness's processes with the env gc.sh sets, the Job is the rendered
// job.json run as a pod); only unreferenced blobs go, a re-push after GC serves full layers. Both
// modes: read-only maintenance on shared storage, and scale to 0 on a ReadWriteOnce volume. The
// Redis cache and the load test are in operations-replicas.spec.ts.
import * as assert from "assert";
import * as fs from "fs";
import * as http from "http";
import * as path from "path";

import { request } from "../harness/http";
import { RegistryDeployment, runJobPod, startRegistry } from "../harness/harness";
import { buildImage, MiB, OciImage, pullAndCompare, push } from "../harness/oci";
import { freePort, startProc, stopAll, workDir } from "../harness/procs";

after(stopAll);

/** The blobs directory of the filesystem driver inside a claim directory. */
function blobData(claimDir: string, digest: string): string {
    const hex = digest.replace("sha256:", "");
    return path.join(claimDir, "docker", "registry", "v2", "blobs", "sha256", hex.slice(0, 2), hex, "data");
}

/** Two images pushed to `team/app` (tags kept and dropped) for a garbage collection to sort out. */
async function pushGcImages(reg: RegistryDeployment): Promise<{ kept: OciImage; dropped: OciImage }> {
    const kept = buildImage([512 * 1024, 2 * MiB], "kept");
    const dropped = buildImage([256 * 1024, 3 * MiB], "dropped");
    for (const [img, tag] of [
        [kept, "kept"],
        [dropped, "dropped"],
    ] as const) {
        const r = await push(img, `${reg.host}/team/app:${tag}`, reg.access());
        assert.strictEqual(r.code, 0, r.stderr);
    }
    return { kept, dropped };
}

/** After GC: every layer of `dropped` is gone from the claim, every layer of `kept` is still there. */
function assertSwept(claimDir: string, dropped: OciImage, kept: OciImage): void {
    for (const l of dropped.layers) {
        assert.ok(!fs.existsSync(blobData(claimDir, l.digest)), `${l.digest} should be swept`);
    }
    for (const l of kept.layers) {
        assert.ok(fs.existsSync(blobData(claimDir, l.digest)), `${l.digest} must stay`);
    }
}

/** What gc.sh's kubectl calls get: stdout and exit code. */
type KubectlAnswer = { out: string; code: number };

/**
 * Runs the program's real gc.sh (from its ConfigMap, with the CronJob's env) with a `kubectl`
 * on PATH that posts its argv to `answer` (this test acting as API server and kubelet).
 * Returns gc.sh's exit code and output, and every kubectl call without `--namespace <ns>`.
 */
async function runGcScript(
    reg: RegistryDeployment,
    answer: (args: string[], line: string) => Promise<KubectlAnswer>,
): Promise<{ code: number | null; output: string; calls: string[]; cronEnv: Record<string, string> }> {
    const cm = reg.run.resources.find((r) => r.type === "kubernetes:core/v1:ConfigMap" && r.name === "registry-gc-script");
    assert.ok(cm !== undefined, "the program declares the GC script ConfigMap");
    const cron = reg.run.resources.find((r) => r.type === "kubernetes:batch/v1:CronJob");
    const cronEnv = Object.fromEntries(
        (cron?.inputs.spec.jobTemplate.spec.template.spec.containers[0].env as Record<string, any>[]).map((e) => [e.name, String(e.value)]),
    );
    const dir = workDir("gc-shim");
    fs.writeFileSync(path.join(dir, "gc.sh"), cm.inputs.data["gc.sh"]);
    fs.writeFileSync(path.join(dir, "job.json"), cm.inputs.data["job.json"]);
    const calls: string[] = [];
    const shim = http.createServer((req, res) => {
        let body = "";
        req.on("data", (c) => (body += c));
        req.on("end", () => {
            const argv = JSON.parse(body) as string[];
            const args = argv[0] === "--namespace" ? argv.slice(2) : argv;
            calls.push(args.join(" "));
            void answer(args, args.join(" ")).then((a) => res.end(JSON.stringify(a)));
        });
    });
    const port = await freePort();
    await new Promise<void>((resolve) => shim.listen(port, "127.0.0.1", resolve));
    try {
        // kubectl: posts its argv to the shim, prints the answer, exits with its code.
        const kubectl = [
            "#!/usr/bin/env node",
            "const http = require('http');",
            `const req = http.request({ host: '127.0.0.1', port: ${port}, method: 'POST' }, (res) => {`,
            "  let b = ''; res.on('data', (c) => (b += c));",
            "  res.on('end', () => { const a = JSON.parse(b); process.stdout.write(a.out); process.exit(a.code); });",
            "});",
            "req.end(JSON.stringify(process.argv.slice(2)));",
        ].join("\n");
        fs.writeFileSync(path.join(dir, "kubectl"), kubectl, { mode: 0o755 });
        const env = {
            PATH: `${dir}:${process.env.PATH ?? "/usr/bin:/bin"}`,
            NAMESPACE: "registry",
            DEPLOYMENT: cronEnv.DEPLOYMENT,
            MODE: cronEnv.MODE,
            JOB_MANIFEST: path.join(dir, "job.json"),
            TIMEOUT: "120s",
            POLL_SECONDS: "1",
        };
        const proc = startProc("gc.sh", "/bin/sh", [path.join(dir, "gc.sh")], { env, logFile: path.join(dir, "gc.log") });
        const code = await proc.exit;
        return { code, output: fs.readFileSync(path.join(dir, "gc.log"), "utf8"), calls, cronEnv };
    } finally {
        shim.close();
    }
}

/** The GC Job (job.json as gc.sh created it) run as a pod on the deployment's claims; `job` follows it. */
function startGcJob(reg: RegistryDeployment, manifestFile: string): { state: { done: boolean; code: number | null; log: string } } {
    const tracker = { state: { done: false, code: null as number | null, log: "" } };
    const manifest = JSON.parse(fs.readFileSync(manifestFile, "utf8"));
    void runJobPod(reg, manifest, { claimDirs: reg.claimDirs }).then((r) => {
        tracker.state = { done: true, ...r };
    });
    return tracker;
}

/** kubectl's answers about a GC Job that `tracker` follows. */
function jobAnswer(line: string, tracker: { state: { done: boolean; code: number | null; log: string } } | undefined): KubectlAnswer | undefined {
    if (line.startsWith("get job.batch/registry-gc-e2e")) {
        return { out: tracker?.state.done === true ? (tracker.state.code === 0 ? "1/" : "/1") : "/", code: 0 };
    }
    if (line.startsWith("logs job.batch/registry-gc-e2e")) {
        return { out: tracker?.state.log ?? "", code: 0 };
    }
    return undefined;
}

describe("garbage collection under the maintenance procedure (gc.sh, real registry)", () => {
    let reg: RegistryDeployment;
    let kept: OciImage;
    let dropped: OciImage;
    const observed: { pushDuringMaintenance?: number; pullDuringMaintenance?: string[]; readonlyValue?: string } = {};
    const calls: string[] = [];

    before(async function () {
        this.timeout(300000);
        reg = await startRegistry({ config: { storageAccessMode: "ReadWriteMany", replicas: 2, gcSchedule: "@daily" } });
        ({ kept, dropped } = await pushGcImages(reg));
    });
    after(async () => {
        await reg?.stop();
    });

    it("deleting a tag's manifest leaves its blobs on disk (before GC) and warms every replica's cache", async () => {
        const auth = { username: reg.username, password: reg.password };
        const del = await request(`${reg.url}/v2/team/app/manifests/${dropped.manifestDigest}`, { ca: reg.caPem, auth, method: "DELETE" });
        assert.strictEqual(del.status, 202);
        const claim = Object.values(reg.claimDirs)[0];
        for (const l of dropped.layers) {
            assert.ok(fs.existsSync(blobData(claim, l.digest)), l.digest);
            // Each replica caches the descriptor (the stale entry distribution #1803/#3743 is about).
            for (const r of reg.replicas) {
                const head = await request(`${r.url}/v2/team/app/blobs/${l.digest}`, { ca: reg.caPem, auth, method: "HEAD" });
                assert.strictEqual(head.status, 200);
            }
        }
    });

    it("gc.sh: read-only rollout, the GC Job, read-write rollout; pulls work and pushes are refused during maintenance", async function () {
        this.timeout(300000);
        const replicas = "2";
        let annotation = "";
        let job: ReturnType<typeof startGcJob> | undefined;
        const auth = reg.access();

        // The API server and kubelet as far as gc.sh's kubectl calls go.
        const gc = await runGcScript(reg, async (args, line) => {
            if (line.startsWith("get deployment registry -o jsonpath={.metadata.annotations")) {
                return { out: annotation, code: 0 };
            }
            if (line === "get deployment registry -o jsonpath={.spec.replicas}") {
                return { out: replicas, code: 0 };
            }
            if (line.startsWith("annotate")) {
                annotation = line.endsWith("-") ? "" : (line.split("=").pop() ?? "");
                return { out: "", code: 0 };
            }
            if (line.startsWith("set env deployment/registry ")) {
                // A rollout: every pod replaced, one at a time, with the template's new env.
                const assignment = args[3];
                const env: Record<string, string> = {};
                if (!assignment.endsWith("-")) {
                    const eq = assignment.indexOf("=");
                    env[assignment.slice(0, eq)] = assignment.slice(eq + 1);
                    observed.readonlyValue = assignment.slice(eq + 1);
                }
                for (const r of reg.replicas) {
                    await r.restart(env);
                }
                return { out: "deployment.apps/registry env updated", code: 0 };
            }
            if (line.startsWith("rollout status")) {
                return { out: 'deployment "registry" successfully rolled out', code: 0 };
            }
            if (line.startsWith("create -f ")) {
                // Maintenance is on: what clients see now.
                const extra = buildImage([100 * 1024], "during");
                observed.pushDuringMaintenance = (await push(extra, `${reg.host}/team/other:during`, auth)).code;
                observed.pullDuringMaintenance = await pullAndCompare(kept, `${reg.host}/team/app:kept`, auth);
                job = startGcJob(reg, args[2]);
                return { out: "job.batch/registry-gc-e2e", code: 0 };
            }
            return jobAnswer(line, job) ?? { out: `unexpected kubectl ${line}`, code: 1 };
        });
        calls.push(...gc.calls);
        assert.strictEqual(gc.code, 0, gc.output);
        assert.strictEqual(gc.cronEnv.MODE, "readonly");
        assert.strictEqual(observed.readonlyValue, '{"enabled":true}');
        assert.notStrictEqual(observed.pushDuringMaintenance, 0, "a push during read-only maintenance must fail");
        assert.deepStrictEqual(observed.pullDuringMaintenance, [], "pulls keep working during maintenance");
        assert.ok(job?.state.done && job.state.code === 0, job?.state.log);
        assert.match(job?.state.log ?? "", /blob eligible for deletion|deleting blob/i);
        assert.ok(calls.indexOf("set env deployment/registry REGISTRY_STORAGE_MAINTENANCE_READONLY-") > calls.findIndex((c) => c.startsWith("create -f")));
    });

    it("GC deleted only the unreferenced blobs: the deleted tag's layers are gone, the kept image is intact", async () => {
        const claim = Object.values(reg.claimDirs)[0];
        assertSwept(claim, dropped, kept);
        assert.deepStrictEqual(await pullAndCompare(kept, `${reg.host}/team/app:kept`, reg.access()), []);
        // Read-write again.
        const again = buildImage([64 * 1024], "after");
        assert.strictEqual((await push(again, `${reg.host}/team/other:after`, reg.access())).code, 0);
    });

    it("a re-push of the collected image after GC serves full (non-empty) layers from every replica", async () => {
        const r = await push(dropped, `${reg.host}/team/app:dropped`, reg.access());
        assert.strictEqual(r.code, 0, r.stderr);
        for (const rep of reg.replicas) {
            assert.deepStrictEqual(await pullAndCompare(dropped, `127.0.0.1:${rep.port}/team/app:dropped`, reg.access()), [], `replica ${rep.index}`);
        }
        const claim = Object.values(reg.claimDirs)[0];
        for (const l of dropped.layers) {
            assert.strictEqual(fs.statSync(blobData(claim, l.digest)).size, l.size);
        }
    });
});

describe("garbage collection on a ReadWriteOnce volume: scale to 0, GC Job, scale back (gc.sh, real registry)", () => {
    let reg: RegistryDeployment;
    let kept: OciImage;
    let dropped: OciImage;

    before(async function () {
        this.timeout(300000);
        // The dev stack's storage: one PVC, ReadWriteOnce, one replica.
        reg = await startRegistry({ config: { gcSchedule: "@daily" } });
        ({ kept, dropped } = await pushGcImages(reg));
        const del = await request(`${reg.url}/v2/team/app/manifests/${dropped.manifestDigest}`, {
            ca: reg.caPem,
            auth: { username: reg.username, password: reg.password },
            method: "DELETE",
        });
        assert.strictEqual(del.status, 202);
    });
    after(async () => reg?.stop());

    it("the GC Job runs only while no registry pod holds the volume; clients are refused meanwhile; the registry comes back with only unreferenced blobs swept", async function () {
        this.timeout(300000);
        const replica = reg.replicas[0];
        const claim = Object.values(reg.claimDirs)[0];
        const matchLabels = reg.pod.deployment.inputs.spec.selector.matchLabels as Record<string, string>;
        let replicas = 1;
        let annotation = "";
        let job: ReturnType<typeof startGcJob> | undefined;
        const seen: { selector?: string; runningAtJob?: boolean; pushDuring?: number; pullDuring?: string[]; annotationDuring?: string } = {};
        const auth = reg.access();

        const gc = await runGcScript(reg, async (args, line) => {
            if (line.startsWith("get deployment registry -o jsonpath={.metadata.annotations")) {
                return { out: annotation, code: 0 };
            }
            if (line === "get deployment registry -o jsonpath={.spec.replicas}") {
                return { out: String(replicas), code: 0 };
            }
            if (line === "get deployment registry -o jsonpath={.spec.selector.matchLabels}") {
                return { out: JSON.stringify(matchLabels), code: 0 };
            }
            if (line.startsWith("annotate")) {
                annotation = line.endsWith("-") ? "" : (line.split("=").pop() ?? "");
                return { out: "", code: 0 };
            }
            if (line.startsWith("scale deployment/registry --replicas=")) {
                replicas = Number(line.split("=").pop());
                if (replicas === 0) {
                    await replica.proc.stop();
                } else {
                    await replica.restart();
                }
                return { out: "deployment.apps/registry scaled", code: 0 };
            }
            if (line.startsWith("wait --for=delete pod --selector=")) {
                seen.selector = /--selector=(\S+)/.exec(line)?.[1];
                return replica.proc.running ? { out: "timed out waiting for the condition", code: 1 } : { out: "", code: 0 };
            }
            if (line.startsWith("rollout status")) {
                return { out: 'deployment "registry" successfully rolled out', code: 0 };
            }
            if (line.startsWith("create -f ")) {
                seen.runningAtJob = replica.proc.running;
                seen.annotationDuring = annotation;
                seen.pushDuring = (await push(buildImage([100 * 1024], "during"), `${reg.host}/team/other:during`, auth)).code;
                seen.pullDuring = await pullAndCompare(kept, `${reg.host}/team/app:kept`, auth);
                job = startGcJob(reg, args[2]);
                return { out: "job.batch/registry-gc-e2e", code: 0 };
            }
            return jobAnswer(line, job) ?? { out: `unexpected kubectl ${line}`, code: 1 };
        });
        assert.strictEqual(gc.code, 0, gc.output);
        assert.strictEqual(gc.cronEnv.MODE, "scale");
        // The order gc.sh must keep: down, gone, Job, up.
        const at = (prefix: string) => gc.calls.findIndex((c) => c.startsWith(prefix));
        assert.ok(at("scale deployment/registry --replicas=0") < at("wait --for=delete pod"), gc.calls.join("\n"));
        assert.ok(at("wait --for=delete pod") < at("create -f "), gc.calls.join("\n"));
        assert.ok(at("create -f ") < at("scale deployment/registry --replicas=1"), gc.calls.join("\n"));
        assert.strictEqual(
            seen.selector,
            Object.entries(matchLabels)
                .map(([k, v]) => `${k}=${v}`)
                .join(","),
        );
        assert.strictEqual(seen.runningAtJob, false, "no registry process may hold the volume while the GC Job runs");
        assert.strictEqual(seen.annotationDuring, "1", "the replica count to restore is recorded on the Deployment");
        assert.notStrictEqual(seen.pushDuring, 0, "with the registry scaled to 0, a push cannot succeed");
        assert.notDeepStrictEqual(seen.pullDuring, [], "with the registry scaled to 0, a pull cannot succeed (the RWO mode's downtime)");
        assert.ok(job?.state.done && job.state.code === 0, job?.state.log);
        assert.match(job?.state.log ?? "", /blob eligible for deletion|deleting blob/i);
        assert.strictEqual(replicas, 1);
        assert.strictEqual(annotation, "", "the annotation is removed once restored");
        assert.ok(replica.proc.running);

        assertSwept(claim, dropped, kept);
        assert.deepStrictEqual(await pullAndCompare(kept, `${reg.host}/team/app:kept`, auth), []);
        const r = await push(dropped, `${reg.host}/team/app:dropped`, auth);
        assert.strictEqual(r.code, 0, r.stderr);
        assert.deepStrictEqual(await pullAndCompare(dropped, `${reg.host}/team/app:dropped`, auth), []);
        for (const l of dropped.layers) {
            assert.strictEqual(fs.statSync(blobData(claim, l.digest)).size, l.size);
        }
    });
});
