// Day-2 operations end to end with two replicas, on the real registry binary the pod spec runs:
// - the Redis blob-descriptor cache against a real redis-server started from the program's
//   redis.conf Secret;
// - load: 20 concurrent pushes, then 50 concurrent pulls, across 2 replicas, every digest checked.
// Garbage collection is in operations-gc.spec.ts.
import * as assert from "assert";
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as path from "path";

import { request } from "../harness/http";
import { RegistryDeployment, startRegistry } from "../harness/harness";
import { buildImage, MiB, pullAndCompare, push } from "../harness/oci";
import { freePort, startProc, stopAll, waitFor, workDir } from "../harness/procs";
import { secretValue } from "../support/pod";

after(stopAll);

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
        await waitFor(
            "redis",
            async () =>
                execFileSync("redis-cli", ["-p", String(redisPort), "-a", password, "--no-auth-warning", "ping"], { encoding: "utf8" }).trim() === "PONG",
        );
        // Same program, same Secret state: pin the generated password so the registry's secretKeyRef
        // resolves to the one redis-server has (what the Pulumi state does between runs).
        reg = await startRegistry({
            config,
            mocks: {
                resourceState: (type, name) =>
                    type === "random:index/randomPassword:RandomPassword" && name === "registry-cache-password" ? { result: password } : undefined,
            },
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
        const keys = execFileSync("redis-cli", ["-p", String(redisPort), "-a", password, "--no-auth-warning", "--scan"], { encoding: "utf8" })
            .split("\n")
            .filter(Boolean);
        for (const l of image.layers) {
            assert.ok(
                keys.some((k) => k.includes(l.digest)),
                `no cache key for ${l.digest}: ${keys.slice(0, 5).join(", ")}`,
            );
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
        assert.deepStrictEqual(
            pushes.map((p) => p.code).filter((c) => c !== 0),
            [],
            pushes.map((p) => p.stderr).join("\n"),
        );
        const pushSeconds = (Date.now() - started) / 1000;
        const pulls = await Promise.all(
            Array.from({ length: 50 }, (_, j) => pullAndCompare(images[j % 20], `${reg.host}/load/app${j % 20}:v${j % 20}`, reg.access())),
        );
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
