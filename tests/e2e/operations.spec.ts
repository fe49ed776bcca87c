// Day-2 operations end to end (issue 8), on the real registry binary the pod spec runs:
// - garbage collection driven by the real gc.sh, its kubectl answered by this test acting as the
//   API server + kubelet (rollouts restart the harness's processes with the env gc.sh sets, the
//   Job is the rendered job.json run as a pod); only unreferenced blobs go, a re-push after GC
//   serves full layers;
// - the Redis blob-descriptor cache against a real redis-server started from the program's
//   redis.conf Secret;
// - load: 20 concurrent pushes, then 50 concurrent pulls, across 2 replicas, every digest checked.
import * as assert from "assert";
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as http from "http";
import * as path from "path";

import { request } from "./http";
import { RegistryDeployment, runJobPod, startRegistry } from "./harness";
import { buildImage, MiB, OciImage, pullAndCompare, push } from "./oci";
import { freePort, startProc, stopAll, waitFor, workDir } from "./procs";
import { secretValue } from "../support/pod";

after(stopAll);

/** The blobs directory of the filesystem driver inside a claim directory. */
function blobData(claimDir: string, digest: string): string {
    const hex = digest.replace("sha256:", "");
    return path.join(claimDir, "docker", "registry", "v2", "blobs", "sha256", hex.slice(0, 2), hex, "data");
}

describe("garbage collection under the maintenance procedure (gc.sh, real registry)", () => {
    let reg: RegistryDeployment;
    let kept: OciImage;
    let dropped: OciImage;
    const observed: { pushDuringMaintenance?: number; pullDuringMaintenance?: string[]; readonlyValue?: string } = {};
    const calls: string[] = [];
    let shim: http.Server;
    let shimDir: string;
    let gcOutput = "";

    before(async function () {
        this.timeout(300000);
        reg = await startRegistry({ config: { storageAccessMode: "ReadWriteMany", replicas: 2, gcSchedule: "@daily" } });
        kept = buildImage([512 * 1024, 2 * MiB], "kept");
        dropped = buildImage([256 * 1024, 3 * MiB], "dropped");
        for (const [img, tag] of [[kept, "kept"], [dropped, "dropped"]] as const) {
            const r = await push(img, `${reg.host}/team/app:${tag}`, reg.access());
            assert.strictEqual(r.code, 0, r.stderr);
        }
    });
    after(async () => {
        shim?.close();
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
        const cm = reg.run.resources.find((r) => r.type === "kubernetes:core/v1:ConfigMap" && r.name === "registry-gc-script");
        assert.ok(cm !== undefined);
        const cron = reg.run.resources.find((r) => r.type === "kubernetes:batch/v1:CronJob");
        const cronEnv = Object.fromEntries((cron?.inputs.spec.jobTemplate.spec.template.spec.containers[0].env as Record<string, any>[]).map((e) => [e.name, e.value]));
        shimDir = workDir("gc-shim");
        fs.writeFileSync(path.join(shimDir, "gc.sh"), cm.inputs.data["gc.sh"]);
        fs.writeFileSync(path.join(shimDir, "job.json"), cm.inputs.data["job.json"]);
        let replicas = "2";
        let annotation = "";
        let job: { done: boolean; code: number | null; log: string } | undefined;
        const auth = reg.access();

        // The API server and kubelet as far as gc.sh's kubectl calls go.
        const answer = async (argv: string[]): Promise<{ out: string; code: number }> => {
            const args = argv[0] === "--namespace" ? argv.slice(2) : argv;
            const line = args.join(" ");
            calls.push(line);
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
                return { out: "deployment \"registry\" successfully rolled out", code: 0 };
            }
            if (line.startsWith("create -f ")) {
                // Maintenance is on: what clients see now.
                const extra = buildImage([100 * 1024], "during");
                observed.pushDuringMaintenance = (await push(extra, `${reg.host}/team/other:during`, auth)).code;
                observed.pullDuringMaintenance = await pullAndCompare(kept, `${reg.host}/team/app:kept`, auth);
                const manifest = JSON.parse(fs.readFileSync(args[2], "utf8"));
                job = { done: false, code: null, log: "" };
                void runJobPod(reg, manifest, { claimDirs: reg.claimDirs }).then((r) => {
                    job = { done: true, ...r };
                });
                return { out: "job.batch/registry-gc-e2e", code: 0 };
            }
            if (line.startsWith("get job.batch/registry-gc-e2e")) {
                return { out: job?.done === true ? (job.code === 0 ? "1/" : "/1") : "/", code: 0 };
            }
            if (line.startsWith("logs job.batch/registry-gc-e2e")) {
                return { out: job?.log ?? "", code: 0 };
            }
            return { out: `unexpected kubectl ${line}`, code: 1 };
        };
        shim = http.createServer((req, res) => {
            let body = "";
            req.on("data", (c) => (body += c));
            req.on("end", () => {
                void answer(JSON.parse(body) as string[]).then((a) => res.end(JSON.stringify(a)));
            });
        });
        const port = await freePort();
        await new Promise<void>((resolve) => shim.listen(port, "127.0.0.1", resolve));
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
        fs.writeFileSync(path.join(shimDir, "kubectl"), kubectl, { mode: 0o755 });
        const env = {
            PATH: `${shimDir}:${process.env.PATH ?? "/usr/bin:/bin"}`,
            NAMESPACE: "registry",
            DEPLOYMENT: String(cronEnv.DEPLOYMENT),
            MODE: String(cronEnv.MODE),
            JOB_MANIFEST: path.join(shimDir, "job.json"),
            TIMEOUT: "120s",
            POLL_SECONDS: "1",
        };
        const proc = startProc("gc.sh", "/bin/sh", [path.join(shimDir, "gc.sh")], { env, logFile: path.join(shimDir, "gc.log") });
        const code = await proc.exit;
        gcOutput = fs.readFileSync(path.join(shimDir, "gc.log"), "utf8");
        assert.strictEqual(code, 0, gcOutput);
        assert.strictEqual(cronEnv.MODE, "readonly");
        assert.strictEqual(observed.readonlyValue, '{"enabled":true}');
        assert.notStrictEqual(observed.pushDuringMaintenance, 0, "a push during read-only maintenance must fail");
        assert.deepStrictEqual(observed.pullDuringMaintenance, [], "pulls keep working during maintenance");
        assert.ok(job?.done && job.code === 0, job?.log);
        assert.match(job?.log ?? "", /blob eligible for deletion|deleting blob/i);
        assert.ok(calls.indexOf("set env deployment/registry REGISTRY_STORAGE_MAINTENANCE_READONLY-") > calls.findIndex((c) => c.startsWith("create -f")));
    });

    it("GC deleted only the unreferenced blobs: the deleted tag's layers are gone, the kept image is intact", async () => {
        const claim = Object.values(reg.claimDirs)[0];
        for (const l of dropped.layers) {
            assert.ok(!fs.existsSync(blobData(claim, l.digest)), `${l.digest} should be swept`);
        }
        for (const l of kept.layers) {
            assert.ok(fs.existsSync(blobData(claim, l.digest)), `${l.digest} must stay`);
        }
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

describe("Redis blob-descriptor cache (real redis-server from the program's redis.conf)", () => {
    let reg: RegistryDeployment;
    let redisPort: number;
    let password: string;
    before(async function () {
        this.timeout(120000);
        const config = { blobDescriptorCache: "redis", storageAccessMode: "ReadWriteMany", replicas: 2 };
        // First run: read the Redis Secret the program makes, start redis-server with it.
        const probe = await import("../support/program").then((m) => m.runProgram(config));
        const secret = probe.resources.find((r) => r.type === "kubernetes:core/v1:Secret" && r.name === "registry-cache-secret");
        assert.ok(secret !== undefined);
        const dir = workDir("redis");
        fs.writeFileSync(path.join(dir, "redis.conf"), secretValue(secret, "redis.conf") ?? "");
        redisPort = await freePort();
        // The conf as rendered; the Service address becomes a local port (`--port` and `--bind` override it; the working directory stands in for /data).
        startProc("redis", "redis-server", [path.join(dir, "redis.conf"), "--port", String(redisPort), "--bind", "127.0.0.1"], {
            env: { PATH: process.env.PATH ?? "/usr/bin:/bin" },
            cwd: dir,
            logFile: path.join(dir, "redis.log"),
        });
        password = secretValue(secret, "password") ?? "";
        await waitFor("redis", async () => execFileSync("redis-cli", ["-p", String(redisPort), "-a", password, "--no-auth-warning", "ping"], { encoding: "utf8" }).trim() === "PONG");
        // Same program, same Secret state: pin the generated password so the registry's secretKeyRef
        // resolves to the one redis-server has (what the Pulumi state does between runs).
        reg = await startRegistry({
            config,
            mocks: { resourceState: (type, name) => (type === "random:index/randomPassword:RandomPassword" && name === "registry-cache-password" ? { result: password } : undefined) },
            // The Service DNS name (registry-redis.registry.svc) is this machine's port.
            extraEnv: { REGISTRY_REDIS_ADDRS: `["127.0.0.1:${redisPort}"]` },
        });
    });
    after(async () => reg?.stop());

    it("needs the password: redis refuses commands without it", () => {
        const out = execFileSync("redis-cli", ["-p", String(redisPort), "ping"], { encoding: "utf8" });
        assert.match(out, /NOAUTH/);
    });

    it("pushes and pulls through both replicas fill the shared cache in Redis", async () => {
        const image = buildImage([1024, 2 * MiB]);
        const r = await push(image, `${reg.host}/cache/app:v1`, reg.access());
        assert.strictEqual(r.code, 0, r.stderr);
        for (const rep of reg.replicas) {
            assert.deepStrictEqual(await pullAndCompare(image, `127.0.0.1:${rep.port}/cache/app:v1`, reg.access()), []);
        }
        const keys = execFileSync("redis-cli", ["-p", String(redisPort), "-a", password, "--no-auth-warning", "--scan"], { encoding: "utf8" }).split("\n").filter(Boolean);
        for (const l of image.layers) {
            assert.ok(keys.some((k) => k.includes(l.digest)), `no cache key for ${l.digest}: ${keys.slice(0, 5).join(", ")}`);
        }
        const metrics = await request(`${reg.replicas[0].debugUrl}/metrics`);
        assert.match(metrics.body, /^registry_storage_cache_requests_total\s+[1-9]/m);
        assert.match(metrics.body, /^registry_storage_cache_errors_total\s+0$/m);
    });
});

describe("load: 20 concurrent pushes, then 50 concurrent pulls, across 2 replicas", () => {
    let reg: RegistryDeployment;
    before(async function () {
        this.timeout(60000);
        reg = await startRegistry({ config: { storageAccessMode: "ReadWriteMany", replicas: 2 } });
    });
    after(async () => reg?.stop());

    it("zero errors, every digest verified, both replicas served, within 150 s", async function () {
        this.timeout(240000);
        const started = Date.now();
        const images = Array.from({ length: 20 }, (_, i) => buildImage([64 * 1024, 512 * 1024 + i], `v${i}`));
        const pushes = await Promise.all(images.map((img, i) => push(img, `${reg.host}/load/app${i}:v${i}`, reg.access(), { timeoutMs: 120000 })));
        assert.deepStrictEqual(pushes.map((p) => p.code).filter((c) => c !== 0), [], pushes.map((p) => p.stderr).join("\n"));
        const pushSeconds = (Date.now() - started) / 1000;
        const pulls = await Promise.all(Array.from({ length: 50 }, (_, j) => pullAndCompare(images[j % 20], `${reg.host}/load/app${j % 20}:v${j % 20}`, reg.access())));
        assert.deepStrictEqual(pulls.flat(), []);
        const total = (Date.now() - started) / 1000;
        const upstreams = new Set((reg.frontend?.upstreamLog() ?? []).map((l) => l.split(" -> ")[1]?.split(" ")[0]));
        assert.strictEqual(upstreams.size, 2, [...upstreams].join(","));
        const errors = (reg.frontend?.upstreamLog() ?? []).filter((l) => / 5\d\d$/.test(l));
        assert.deepStrictEqual(errors, []);
        console.log(`      load: 20 pushes in ${pushSeconds.toFixed(1)} s, +50 pulls, ${total.toFixed(1)} s in all`);
        assert.ok(total < 150, `took ${total} s`);
    });
});
