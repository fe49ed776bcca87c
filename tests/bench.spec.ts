// The bench's pure parts: statistics, table rendering, the dependency-graph depth, the plan and
// the report. (The bench itself runs in tests/e2e/bench.spec.ts, without timed assertions.)
import * as assert from "assert";
import { spawn } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";

import { GraphNode, longestChain, waitsFor } from "../bench/graph";
import { discardImage, layerSplit, PathSample } from "../bench/datapath";
import { stackForRoot } from "../bench/backends";
import { parsePlan } from "../bench/plan";
import { processTree, RssSampler } from "../bench/machine";
import { cephMemoryBytes, checkDisk, diskNeedsMiB } from "../bench/run";
import { BenchResults, datapathTable, renderReport, throughput } from "../bench/report";
import { mean, median, mibPerSec, MiB, pairedRatio, percentile, ratio, summarize } from "../bench/stats";
import { bytes, duration, markdownTable, num, times } from "../bench/table";
import { loadStackFile, runProgram, stackFiles } from "./support/program";
import { VARIANTS } from "./support/variants";

describe("bench: statistics", () => {
    it("percentiles interpolate between closest ranks (numpy's default)", () => {
        const xs = [15, 20, 35, 40, 50];
        assert.strictEqual(percentile(xs, 0), 15);
        assert.strictEqual(percentile(xs, 50), 35);
        assert.strictEqual(percentile(xs, 100), 50);
        assert.strictEqual(percentile(xs, 40), 29);
        assert.strictEqual(percentile([4, 1, 3, 2], 50), 2.5);
        assert.ok(Math.abs(percentile([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 95) - 9.55) < 1e-9);
        assert.ok(Number.isNaN(percentile([], 50)));
        assert.throws(() => percentile([1], 101), /outside 0..100/);
    });

    it("summaries ignore non-finite samples (a failed transfer has no time)", () => {
        const s = summarize([30, NaN, 10, 20]);
        assert.deepStrictEqual(s, { n: 3, min: 10, p50: 20, p95: 29, p99: 29.8, max: 30, mean: 20 });
        assert.strictEqual(median([NaN]), NaN);
        assert.strictEqual(mean([2, 4]), 3);
    });

    it("throughput and ratios", () => {
        assert.strictEqual(mibPerSec(10 * MiB, 2000), 5);
        assert.ok(Number.isNaN(mibPerSec(MiB, 0)));
        assert.strictEqual(ratio(1, 4), 0.25);
        assert.ok(Number.isNaN(ratio(1, NaN)));
        assert.ok(Number.isNaN(ratio(0, 1)));
    });
});

describe("bench: RSS of a container's processes", () => {
    it("counts a process with its children (nginx's workers under its master), each container's largest instance apart", async () => {
        // A shell holding a child that holds 64 MiB: the child is what the parent's tree must add.
        const parent = spawn(
            "/bin/sh",
            ["-c", `python3 -c 'import time; b = bytearray(64 << 20); b[::4096] = b"x" * (len(b) // 4096); time.sleep(30)' & wait`],
            {
                stdio: "ignore",
                detached: true,
            },
        );
        const pid = parent.pid ?? 0;
        try {
            let tree: number[] = [];
            for (let i = 0; i < 100 && tree.length < 2; i++) {
                await new Promise((r) => setTimeout(r, 50));
                tree = processTree(pid);
            }
            assert.strictEqual(tree[0], pid);
            assert.ok(tree.length >= 2, `no child of ${pid} found`);
            // "both" is one container running as two instances (two replicas): its peak is the larger instance's, not their sum.
            const sampler = new RssSampler(() => ({ one: [pid], other: [process.pid], both: [pid, process.pid] }), 20);
            await new Promise((r) => setTimeout(r, 600));
            const peak = sampler.stop();
            const { one, other, both } = peak.byContainer;
            assert.ok(one >= 64 * 1024 * 1024, `the child's 64 MiB is not counted: ${one}`);
            assert.ok(other > 0);
            assert.ok(peak.total >= one);
            // Each sample reads /proc once per instance, so this process's RSS may move a little between the two readings.
            assert.ok(both >= 0.9 * Math.max(one, other) && both <= 1.1 * Math.max(one, other), `both ${both}, one ${one}, other ${other}`);
            assert.ok(both < one + other - 32 * 1024 * 1024, `both ${both} is the instances' sum (${one} + ${other})`);
        } finally {
            process.kill(-pid, "SIGTERM");
        }
    });
});

describe("bench: table rendering", () => {
    it("renders an aligned Markdown table, numbers right-aligned, pipes escaped", () => {
        const t = markdownTable(
            [
                { header: "path", value: (r: { p: string; v: number }) => r.p },
                { header: "MiB/s", align: "right", value: (r) => num(r.v) },
            ],
            [
                { p: "deployed", v: 12.345 },
                { p: "a|b", v: NaN },
            ],
        );
        assert.strictEqual(t, ["| path     | MiB/s |", "| -------- | ----: |", "| deployed |  12.3 |", "| a\\|b     |   n/a |"].join("\n"));
    });

    it("formats durations, ratios and sizes", () => {
        assert.strictEqual(duration(5.25), "5.3 ms");
        assert.strictEqual(duration(850), "850 ms");
        assert.strictEqual(duration(1234), "1.23 s");
        assert.strictEqual(duration(61000), "61.0 s");
        assert.strictEqual(duration(NaN), "n/a");
        assert.strictEqual(times(0.4242), "0.42×");
        assert.strictEqual(bytes(10 * MiB), "10.0 MiB");
        assert.strictEqual(bytes(1024 * MiB), "1.00 GiB");
        assert.strictEqual(bytes(2048), "2.0 KiB");
    });
});

function node(urn: string, opts: Partial<GraphNode> = {}): GraphNode {
    return { urn, type: `t:${urn}`, name: urn, custom: true, parent: "", dependencies: [], propertyDependencies: {}, ...opts };
}

/** Longest weighted path by relaxing edges n times (Bellman-Ford on negated weights): an independent check. */
function bruteForceDepth(nodes: readonly GraphNode[]): number {
    const depth = new Map(nodes.map((n) => [n.urn, n.custom ? 1 : 0]));
    for (let i = 0; i < nodes.length; i++) {
        for (const n of nodes) {
            for (const d of waitsFor(n)) {
                if (depth.has(d)) {
                    depth.set(n.urn, Math.max(depth.get(n.urn) as number, (depth.get(d) as number) + (n.custom ? 1 : 0)));
                }
            }
        }
    }
    return Math.max(0, ...depth.values());
}

describe("bench: dependency graph depth", () => {
    it("follows dependencies, property dependencies and parents; components weigh nothing", () => {
        const nodes = [
            node("a"),
            node("comp", { custom: false, dependencies: ["a"] }),
            node("b", { parent: "comp" }),
            node("c", { propertyDependencies: { x: ["b"] } }),
            node("d", { dependencies: ["a"] }),
        ];
        const r = longestChain(nodes);
        assert.strictEqual(r.depth, 3);
        assert.deepStrictEqual(
            r.chain.map((n) => n.urn),
            ["a", "comp", "b", "c"],
        );
        assert.strictEqual(r.customResources, 4);
        assert.strictEqual(r.components, 1);
    });

    it("reports edges to unregistered URNs and refuses cycles", () => {
        assert.deepStrictEqual(longestChain([node("a", { dependencies: ["ghost"] })]).unknownTargets, ["ghost"]);
        assert.throws(() => longestChain([node("a", { dependencies: ["b"] }), node("b", { dependencies: ["a"] })]), /dependency cycle/);
        assert.deepStrictEqual(longestChain([]).chain, []);
    });

    const stacks: [string, Record<string, unknown>][] = [
        ...Object.entries(stackFiles()).map(([s, f]): [string, Record<string, unknown>] => [`stack ${s}`, loadStackFile(f)]),
        ...Object.entries(VARIANTS).map(([v, c]): [string, Record<string, unknown>] => [`variant ${v}`, c]),
    ];
    for (const [label, config] of stacks) {
        it(`${label}: the chain is a real path of waits and as long as an independent computation finds`, async () => {
            const run = await runProgram(config);
            assert.ifError(run.error);
            const nodes: GraphNode[] = run.resources.map((r) => ({
                urn: r.engineUrn,
                type: r.type,
                name: r.name,
                custom: r.custom,
                parent: r.options.parent,
                dependencies: r.options.dependencies,
                propertyDependencies: r.options.propertyDependencies,
            }));
            const g = longestChain(nodes);
            // Every recorded dependency names a registered resource: the engine URNs match.
            assert.deepStrictEqual(g.unknownTargets, []);
            for (let i = 1; i < g.chain.length; i++) {
                assert.ok(waitsFor(g.chain[i]).includes(g.chain[i - 1].urn), `${g.chain[i].urn} does not wait for ${g.chain[i - 1].urn}`);
            }
            assert.strictEqual(g.depth, g.chain.filter((n) => n.custom).length);
            assert.strictEqual(g.depth, bruteForceDepth(nodes));
            // The Deployment cannot start before its config and Secrets exist.
            assert.ok(g.depth >= 2, `depth ${g.depth}`);
        });
    }
});

describe("bench: plan", () => {
    it("defaults: the full plan's sizes and parallelism; --quick is smaller", () => {
        const full = parsePlan([], "/out");
        assert.deepStrictEqual(full.sizesMiB, [10, 200, 1024]);
        assert.deepStrictEqual(full.concurrency, [1, 4, 16, 32]);
        assert.deepStrictEqual(full.replicas, [1, 2]);
        assert.deepStrictEqual(full.backends, ["filesystem", "s3-swift", "s3-ceph", "swift-ceph"]);
        assert.deepStrictEqual(full.objectSizesMiB, [10]);
        assert.strictEqual(full.outDir, "/out");
        const quick = parsePlan(["--quick"], "/out");
        assert.strictEqual(quick.mode, "quick");
        assert.ok(Math.max(...quick.sizesMiB) < 200);
    });

    it("compares all three registries on the filesystem, the deployed one and the baseline on the object stores unless asked", () => {
        const p = parsePlan([], "/o");
        assert.deepStrictEqual(p.variantsFor("filesystem"), ["deployed", "deployed-nocache", "deployed-cost10", "tls-noauth", "registry-tls", "baseline"]);
        assert.deepStrictEqual(p.variantsFor("swift-ceph"), ["deployed", "baseline"]);
        assert.deepStrictEqual(parsePlan(["--object-variants=deployed,tls-noauth"], "/o").variantsFor("s3-swift"), ["deployed", "tls-noauth"]);
        assert.throws(
            () => parsePlan(["--object-variants=deployed,plain"], "/o"),
            /--object-variants: unknown registry plain; known: deployed, deployed-nocache, deployed-cost10, tls-noauth, registry-tls, baseline/,
        );
        assert.throws(() => parsePlan(["--object-variants=baseline"], "/o"), /must start with deployed/);
        assert.deepStrictEqual(
            [p.repsFor(10, "filesystem"), p.repsFor(200, "filesystem"), p.repsFor(1024, "filesystem"), p.repsFor(10, "s3-ceph"), p.repsFor(200, "s3-ceph")],
            [3, 1, 1, 2, 1],
        );
    });

    it("compares htpasswd bcrypt costs 4, 5, 6 and 10 unless asked for others, within Go's bcrypt range", () => {
        assert.deepStrictEqual(parsePlan([], "/o").authCosts, [4, 5, 6, 10]);
        assert.deepStrictEqual([parsePlan([], "/o").pathRequests, parsePlan(["--quick"], "/o").pathRequests], [200, 50]);
        assert.deepStrictEqual(parsePlan(["--auth-costs=5,12"], "/o").authCosts, [5, 12]);
        assert.throws(() => parsePlan(["--auth-costs=3"], "/o"), /--auth-costs takes bcrypt costs, whole numbers from 4 to 31; got "3"/);
        assert.throws(() => parsePlan(["--auth-costs=4.5"], "/o"), /--auth-costs takes bcrypt costs/);
    });

    it("takes overrides and refuses unknown or malformed options with the fix", () => {
        const p = parsePlan(["--sizes=1,2", "--concurrency=2", "--sections=program,datapath", "--out=/x", "--reps=3"], "/out");
        assert.deepStrictEqual(p.sizesMiB, [1, 2]);
        assert.deepStrictEqual(p.concurrency, [2]);
        assert.deepStrictEqual(p.sections, ["program", "datapath"]);
        assert.strictEqual(p.repsFor(1024, "filesystem"), 3);
        assert.throws(() => parsePlan(["--size=1"], "/o"), /^Error: unknown option --size; known: --quick, --sizes/);
        assert.throws(() => parsePlan(["--sizes=1,x"], "/o"), /--sizes takes positive numbers separated by commas, got "1,x"/);
        assert.throws(() => parsePlan(["--sections=nope"], "/o"), /--sections: unknown section nope; known: program, auth, datapath, concurrency, chunks/);
        assert.throws(() => parsePlan(["quick"], "/o"), /unknown argument quick/);
        assert.throws(
            () => parsePlan(["--backends=filesystem,minio"], "/o"),
            /--backends: unknown backend minio; known: filesystem, s3-swift, s3-ceph, swift-ceph$/,
        );
    });

    it("runs chunk sizes on the object stores only, once per driver (S3, Swift): 5 MiB (the classic recipe's), the program's 10 MiB default, up to 64 MiB", () => {
        const p = parsePlan([], "/o");
        assert.deepStrictEqual(p.chunkMiB, [5, 10, 16, 32, 64]);
        assert.strictEqual(p.chunkLayerMiB, 1024);
        assert.deepStrictEqual(p.chunkBackends, ["s3-swift", "swift-ceph"]);
        assert.deepStrictEqual(parsePlan(["--quick"], "/o").chunkBackends, ["s3-swift"]);
        assert.deepStrictEqual(parsePlan(["--chunk-backends=s3-swift,s3-ceph,filesystem"], "/o").chunkBackends, ["s3-swift", "s3-ceph"]);
        assert.deepStrictEqual(parsePlan(["--backends=filesystem"], "/o").chunkBackends, []);
        assert.deepStrictEqual(parsePlan(["--backends=filesystem", "--chunk-backends=s3-swift"], "/o").chunkBackends, ["s3-swift"]);
    });

    it("sizes Ceph's in-memory OSD for everything the plan pushes to it (three registries per image), and nothing when no Ceph backend runs", () => {
        const none = parsePlan(["--backends=filesystem,s3-swift"], "/o");
        assert.strictEqual(cephMemoryBytes(none), 1024 * MiB);
        // swift-ceph only: 2 MiB x 1 rep x 2 registries, plus a 6 MiB layer at two chunk sizes.
        const one = parsePlan(["--backends=swift-ceph", "--object-sizes=2", "--reps=1", "--chunks=5,10", "--chunk-layer=6"], "/o");
        assert.strictEqual(cephMemoryBytes(one), Math.ceil(((4 + 12) * 1.5 + 1024) * MiB));
        const three = parsePlan(
            ["--backends=swift-ceph,s3-ceph", "--object-sizes=2", "--reps=1", "--sections=datapath", "--object-variants=deployed,tls-noauth,baseline"],
            "/o",
        );
        assert.strictEqual(cephMemoryBytes(three), Math.ceil((12 * 1.5 + 1024) * MiB));
    });

    it("sizes the work disk for what the stores and the client hold at once, and refuses a plan that does not fit before anything starts", () => {
        // The run that filled a 63 GB disk when every registry kept its images: 10 MiB and 1 GiB,
        // 11 repetitions, six registries on the filesystem. Each image now leaves the filesystem
        // stores once its pull is verified; the client still stages all of them up front.
        const big = parsePlan(["--sections=datapath", "--backends=filesystem", "--sizes=10,1024", "--reps=11"], "/o");
        assert.deepStrictEqual(diskNeedsMiB(big), { storeMiB: 1024, clientMiB: (10 + 1024) * 11 + 1024 });
        const bigNeed = diskNeedsMiB(big).storeMiB + diskNeedsMiB(big).clientMiB;
        assert.doesNotThrow(() => checkDisk(big, bigNeed, 63 * 1024 * MiB, "/w"));
        assert.throws(
            () => checkDisk(big, bigNeed, 10 * 1024 * MiB, "/w"),
            /^Error: the plan writes about 15\.4 GiB to \/w \(the client stages every image up front; registries on object stores keep theirs until the section ends\), and 10\.0 GiB is free: lower --reps, --sizes \(now 10,1024 MiB\) or --object-sizes \(now 10 MiB\)/,
        );
        // Ceph's in-memory OSD is not on the disk; Swift's store is, and keeps every image; chunk runs keep one layer per chunk size.
        const objects = parsePlan(["--sections=datapath,chunks", "--backends=s3-swift,swift-ceph", "--object-sizes=10", "--reps=2"], "/o");
        assert.deepStrictEqual(diskNeedsMiB(objects), { storeMiB: 10 * 2 * 2 + 1024 * 5, clientMiB: 2048 });
        // Parallel pulls hold one copy each, next to the image they pull.
        assert.strictEqual(diskNeedsMiB(parsePlan(["--sections=concurrency", "--concurrency=1,32"], "/o")).clientMiB, 20 * 33);
    });

    it("deletes a verified image's blobs and repository from a filesystem store, and nothing else", () => {
        const root = fs.mkdtempSync(path.join(os.tmpdir(), "bench-discard-"));
        try {
            const write = (file: string, bytes: number) => {
                fs.mkdirSync(path.dirname(file), { recursive: true });
                fs.writeFileSync(file, Buffer.alloc(bytes));
            };
            const hex = (c: string) => c.repeat(64);
            // The image as skopeo reads it: an OCI layout with two blobs.
            const image = path.join(root, "image");
            write(path.join(image, "blobs", "sha256", hex("a")), 300);
            write(path.join(image, "blobs", "sha256", hex("b")), 20);
            // Two claims (a registry's data and, say, a second one); another image's blob and repository stay.
            const trees = [path.join(root, "claim-1", "docker", "registry", "v2"), path.join(root, "claim-2", "docker", "registry", "v2")];
            for (const t of trees) {
                for (const h of [hex("a"), hex("b"), hex("c")]) {
                    write(path.join(t, "blobs", "sha256", h.slice(0, 2), h, "data"), h === hex("b") ? 20 : 300);
                }
                write(path.join(t, "repositories", "bench", "s10-r0", "_layers", "link"), 1);
                write(path.join(t, "repositories", "bench", "s10-r1", "_layers", "link"), 1);
            }
            const claims = { one: path.join(root, "claim-1"), two: path.join(root, "claim-2"), missing: path.join(root, "none") };
            assert.strictEqual(discardImage(claims, { dir: image }, "bench/s10-r0"), 2 * 320);
            for (const t of trees) {
                assert.ok(!fs.existsSync(path.join(t, "blobs", "sha256", "aa", hex("a"))));
                assert.ok(!fs.existsSync(path.join(t, "blobs", "sha256", "bb", hex("b"))));
                assert.ok(!fs.existsSync(path.join(t, "repositories", "bench", "s10-r0")));
                assert.ok(fs.existsSync(path.join(t, "blobs", "sha256", "cc", hex("c"), "data")));
                assert.ok(fs.existsSync(path.join(t, "repositories", "bench", "s10-r1", "_layers", "link")));
            }
            // The image itself is the client's: untouched. A registry with no claims (object stores) frees nothing.
            assert.strictEqual(fs.readdirSync(path.join(image, "blobs", "sha256")).length, 2);
            assert.strictEqual(discardImage({}, { dir: image }, "bench/s10-r0"), 0);
        } finally {
            fs.rmSync(root, { recursive: true, force: true });
        }
    });

    it("names a stack of its own per root for backends without a root directory (the RGW user and container follow the stack)", () => {
        assert.strictEqual(stackForRoot("/dp-deployed"), "bench-dp-deployed");
        assert.strictEqual(stackForRoot("/chunk-16"), "bench-chunk-16");
        assert.strictEqual(stackForRoot("/Conc//X_1/"), "bench-conc-x-1");
        assert.throws(() => stackForRoot("/"), /root "\/" names no stack/);
    });

    it("splits an image into four layers 1:2:3:4 that add up to its size", () => {
        const l = layerSplit(10);
        assert.strictEqual(l.length, 4);
        assert.strictEqual(
            l.reduce((a, b) => a + b, 0),
            10 * MiB,
        );
        assert.deepStrictEqual(
            l.slice(0, 3),
            [1, 2, 3].map((k) => Math.floor(k * MiB)),
        );
    });
});

describe("bench: report", () => {
    const sample = (path: PathSample["path"], pushMs: number[], pullMs: number[], errors: string[] = []): PathSample => ({
        backend: "filesystem",
        sizeMiB: 10,
        bytes: 10 * MiB,
        path,
        pushMs,
        pullMs,
        errors,
    });
    const samples = [sample("deployed", [2000, 4000, 3000], [1000, 1000, 1000]), sample("baseline", [500, 1000, 500], [250, 250, 250])];

    it("computes median throughput and the deployed/baseline ratio from the raw figures", () => {
        assert.strictEqual(throughput(samples[0], "push"), mibPerSec(10 * MiB, 3000));
        const table = datapathTable(samples);
        assert.match(
            table,
            /\| filesystem \| 10\.0 MiB \| same binary, no TLS\/auth \|\s+3 \|\s+500 ms \|\s+20\.0 \|\s+250 ms \|\s+40\.0 \|\s+0\.17× \/ 0\.25× \|\s+0\.25× \/ 0\.25× \|\s+0 \|/,
        );
    });

    it("pairs the repetitions: the median of per-repetition ratios, a failed transfer left out", () => {
        // Repetition 2 ran while the machine was busy: both times doubled; its ratio is the same.
        assert.strictEqual(pairedRatio([100, 200, 100], [90, 180, 90]), 0.9);
        assert.strictEqual(pairedRatio([100, 200, 100, 100], [90, 180, NaN, 110]), 0.9);
        assert.ok(Number.isNaN(pairedRatio([NaN], [1])));
        // Ratio of medians vs median of ratios: a drift between repetitions moves only the first.
        assert.strictEqual(median([100, 300, 300]) / median([90, 100, 280]), 3);
        assert.ok(Math.abs(pairedRatio([90, 100, 280], [100, 300, 300]) - 100 / 90) < 1e-9);
    });

    it("names what was skipped and shows the machine and load", () => {
        const r: BenchResults = {
            mode: "quick",
            command: "npm run bench -- --quick",
            startedAt: "2026-01-01T00:00:00.000Z",
            durationS: 90,
            machine: { cpuModel: "cpu", cores: 2, memoryGiB: 4, kernel: "k", os: "os", node: "v20", workFs: "ext2/ext3", tools: { skopeo: "1.9" } },
            load: { max: 3.5, mean: 2.25, samples: 10 },
            datapath: samples,
            sectionsS: { program: 41.2, datapath: 300.4 },
            skipped: [{ section: "chunks", reason: "no peers" }],
        };
        const md = renderReport(r);
        assert.match(md, /Time per section: program 41 s, datapath 300 s\./);
        assert.match(md, /^# Benchmark results \(quick\)/);
        assert.match(md, /Load \(1-min average\) during the run: mean 2\.25, max 3\.50 over 10 samples/);
        assert.match(md, /Not measured: chunks: no peers/);
        assert.doesNotMatch(md, /## Parallel pulls/);
    });
});
