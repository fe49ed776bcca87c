// The bench runs end to end in a tiny plan, so CI proves `npm run bench` works. No timed
// assertions: timings depend on the machine; what must hold is that every transfer succeeded
// and was verified, each compared path was measured, and the results were written.
import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";

import { failures, runBench } from "../../bench/run";
import { parsePlan } from "../../bench/plan";
import { BenchResults } from "../../bench/report";
import { stackFiles } from "../support/program";
import { stopAll, workDir } from "../harness/procs";

after(stopAll);

describe("bench (smoke run, tiny sizes)", function () {
    this.timeout(600000);
    let out: string;
    let r: BenchResults;
    before(async () => {
        out = workDir("bench-results");
        // Push/pull on the filesystem and on Swift's API (the ceph stack's cephSwift storage on Ceph
        // RGW, distribution 2.8); S3 (Swift's s3api) and Swift through the chunk-size run: a 6 MiB
        // layer in 5 MiB parts / segments.
        const plan = parsePlan(
            [
                "--quick",
                "--sizes=2",
                "--object-sizes=2",
                "--concurrency=1,4",
                "--reps=1",
                "--backends=filesystem,swift-ceph",
                "--chunks=5",
                "--chunk-layer=6",
                "--chunk-backends=s3-swift,swift-ceph",
                "--auth-costs=5,10",
                `--out=${out}`,
            ],
            out,
        );
        r = await runBench(plan, "smoke", () => undefined);
    });

    it("every push and pull succeeded and pulled back identical digests", () => {
        assert.deepStrictEqual(failures(r), []);
    });

    it("measured every path side by side: deployed, deployed without the auth cache, deployed at bcrypt cost 10, the same pod without auth, the same binary with its own TLS and without TLS, loopback HTTPS/HTTP, copies; on Swift deployed and baseline", () => {
        const paths = (r.datapath ?? []).map((s) => `${s.backend} ${s.path}`).sort();
        assert.deepStrictEqual(paths, [
            "filesystem baseline",
            "filesystem cp",
            "filesystem cp+fsync",
            "filesystem deployed",
            "filesystem deployed-cost10",
            "filesystem deployed-nocache",
            "filesystem loopback-http",
            "filesystem loopback-https",
            "filesystem registry-tls",
            "filesystem tls-noauth",
            "swift-ceph baseline",
            "swift-ceph deployed",
        ]);
        assert.deepStrictEqual(r.skipped, []);
        for (const s of r.datapath ?? []) {
            assert.strictEqual(s.pushMs.length, 1);
            assert.ok(s.pushMs.every(Number.isFinite) && s.pullMs.every(Number.isFinite), `${s.path}: ${JSON.stringify(s)}`);
            assert.ok(s.bytes >= 2 * 1024 * 1024);
        }
    });

    it("the auth probes saw each registry at the cost asked, the deployed one remembering passed checks, wrong and missing credentials refused on both lines, the baseline open", () => {
        assert.deepStrictEqual(
            r.auth?.probes.map((p) => [p.bcryptCost, p.status]),
            [
                // Every request checked, at each cost asked.
                [5, 200],
                [10, 200],
                // 3.x as deployed: valid (the gate's remembered check), wrong password, unknown user, none.
                [5, 200],
                [5, 401],
                [5, 401],
                [5, 401],
                // 2.8: valid, wrong password, unknown user, none.
                [5, 200],
                [5, 401],
                [5, 401],
                [5, 401],
                [undefined, 200],
            ],
        );
        assert.strictEqual(r.auth?.bcryptCost, 5);
        assert.deepStrictEqual(
            r.auth?.probes.filter((p) => p.status === 200 && p.bcryptCost !== undefined).map((p) => /every request checked/.test(p.label)),
            [true, true, false, false],
        );
    });

    it("measured the other per-request paths: straight, the localhost proxy with and without upstream keepalive, blob HEAD with each cache", () => {
        assert.deepStrictEqual(
            r.requestPaths?.map((p) => p.status),
            [200, 200, 200, 200, 200],
        );
    });

    it("parallel pulls through 1 and 2 replicas, with zero errors and the registry's memory sampled", () => {
        assert.deepStrictEqual(
            (r.concurrency ?? []).map((c) => [c.replicas, c.parallel, c.pull.n, c.errors.length]),
            [
                [1, 1, 1, 0],
                [1, 4, 4, 0],
                [1, 1, 1, 0],
                [1, 4, 4, 0],
                [2, 1, 1, 0],
                [2, 4, 4, 0],
            ],
        );
        assert.deepStrictEqual(
            (r.concurrency ?? []).map((c) => c.bcryptCost),
            [5, 5, 10, 10, 5, 5],
        );
        assert.deepStrictEqual(
            (r.concurrency ?? []).map((c) => c.authCacheSeconds),
            [60, 60, 0, 0, 60, 60],
        );
        assert.ok((r.concurrency ?? []).every((c) => c.peakRssBytes > 0));
        // Each container's own peak (the gate: nginx's master and its workers), under the total.
        for (const c of r.concurrency ?? []) {
            const { registry, gate } = c.peakRssByContainer;
            assert.ok(registry > 0 && gate > 0 && registry <= c.peakRssBytes && gate <= c.peakRssBytes, JSON.stringify(c.peakRssByContainer));
        }
    });

    it("pushed and pulled a multi-part layer through S3 (aws stack on Swift's s3api) and Swift (ceph stack on RGW, 2.8) at the chunk size asked", () => {
        assert.deepStrictEqual(
            (r.chunks ?? []).map((c) => [c.backend, c.chunkMiB, c.errors]),
            [
                ["s3-swift", 5, []],
                ["swift-ceph", 5, []],
            ],
        );
        assert.ok((r.chunks ?? []).every((c) => Number.isFinite(c.pushMs) && Number.isFinite(c.pullMs)));
    });

    it("evaluated every shipped stack and found its dependency chain", () => {
        assert.deepStrictEqual((r.program ?? []).map((p) => p.stack).sort(), Object.keys(stackFiles()).sort());
        for (const p of r.program ?? []) {
            assert.ok(p.resources > 0 && p.maxRssBytes > 0 && p.graph.depth >= 2, JSON.stringify({ ...p, graph: undefined }));
            assert.strictEqual(p.graph.chain.filter((n) => n.custom).length, p.graph.depth);
        }
    });

    it("wrote the report as Markdown and JSON with the machine info", () => {
        const md = fs.readFileSync(path.join(out, "quick.md"), "utf8");
        assert.match(md, /## Push and pull/);
        assert.match(md, /## Parallel pulls/);
        assert.match(md, /## Chunk size \(S3 multipart parts, Swift segments\)/);
        assert.match(md, /Time per section: program \d+ s, auth \d+ s, datapath \d+ s, chunks \d+ s, concurrency \d+ s\./);
        assert.match(md, /Machine: .* cores/);
        const json = JSON.parse(fs.readFileSync(path.join(out, "quick.json"), "utf8")) as BenchResults;
        assert.strictEqual(json.machine.cores, r.machine.cores);
    });
});
