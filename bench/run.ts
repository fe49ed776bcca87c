// `npm run bench` (default plan, < 10 min) and `npm run bench -- --quick` (< 2 min): what the
// deployed configuration costs on the data path, measured side by side in one run. Prints the
// report and writes bench/results/<mode>.md and .json. Exits 1 if any transfer failed.
import * as fs from "fs";
import * as path from "path";

import { DEBIAN_REGISTRY } from "../tests/e2e/harness";
import { buildImage, OciImage } from "../tests/e2e/oci";
import { CACHE_BIN, stopAll, WORK_DIR } from "../tests/e2e/procs";
import { loadStackFile, stackFiles } from "../tests/support/program";
import { measureAuth } from "./auth-cost";
import { ConcurrencyResult, measureConcurrency } from "./concurrency";
import { layerSplit, measureSize, PathSample } from "./datapath";
import { startLoopback } from "./loopback";
import { LoadSampler, machineInfo } from "./machine";
import { parsePlan, Plan } from "./plan";
import { measurePrograms } from "./program";
import { BenchRegistry, bcryptCost, startBaseline, startDeployed, tlsFiles } from "./registries";
import { BenchResults, renderReport } from "./report";

import peers from "../tests/e2e/peers.json";

/** The stack the data path runs: the repository's local-cluster stack, as a user deploys it. */
function devConfig(): Record<string, unknown> {
    const file = stackFiles().dev;
    if (file === undefined) {
        throw new Error("Pulumi.dev.yaml is missing; the bench runs the dev stack");
    }
    return loadStackFile(file);
}

/** Distinct images of about `sizeMiB` each (stored, not compressed: building 1 GiB stays fast). */
function images(sizeMiB: number, count: number, tagPrefix: string): OciImage[] {
    return Array.from({ length: count }, (_, i) => buildImage(layerSplit(sizeMiB), `${tagPrefix}${i}`, { gzipLevel: 0 }));
}

function cleanup(imgs: readonly OciImage[]): void {
    for (const i of imgs) {
        fs.rmSync(i.dir, { recursive: true, force: true });
    }
}

/** Runs the plan; returns the results (also written under plan.outDir). */
export async function runBench(plan: Plan, command: string, log: (s: string) => void = (s) => process.stderr.write(`${s}\n`)): Promise<BenchResults> {
    const started = new Date();
    const t0 = performance.now();
    const load = new LoadSampler();
    const skipped: { section: string; reason: string }[] = [];
    const machine = machineInfo(WORK_DIR, { "registry 3.x": path.join(CACHE_BIN, peers.go.registry3.binary), "registry 2.8": DEBIAN_REGISTRY });
    const want = new Set(plan.sections);
    const results: { -readonly [K in keyof BenchResults]?: BenchResults[K] } = {};
    const config = devConfig();
    const stops: (() => Promise<void>)[] = [];
    try {
        if (want.has("program")) {
            log("== program evaluation and dependency graph");
            results.program = await measurePrograms(plan.programRuns, log);
        }
        if (want.has("auth") || want.has("datapath")) {
            log("== filesystem: deployed registry and baseline");
            const deployed = await startDeployed(config);
            stops.push(() => deployed.deployment.stop());
            const baseline = await startBaseline(config);
            stops.push(() => baseline.deployment.stop());
            if (want.has("auth")) {
                log("== cost of authentication per request");
                results.auth = { bcryptCost: bcryptCost(deployed), probes: await measureAuth(deployed, baseline, plan.authRequests) };
            }
            if (want.has("datapath")) {
                const files = tlsFiles(deployed);
                const https = await startLoopback("https", WORK_DIR, files);
                stops.push(() => https.proc.stop());
                const http = await startLoopback("http", WORK_DIR);
                stops.push(() => http.proc.stop());
                const samples: PathSample[] = [];
                for (const size of plan.sizesMiB) {
                    log(`== push/pull ${size} MiB x${plan.repsFor(size)}`);
                    const imgs = images(size, plan.repsFor(size), `s${size}-`);
                    samples.push(...(await measureSize({ backend: "filesystem", deployed, baseline, limits: { https, http } }, size, imgs, log)));
                    cleanup(imgs);
                }
                results.datapath = samples;
            }
            await Promise.all(stops.splice(0).map((s) => s()));
        }
        if (want.has("concurrency")) {
            const conc: ConcurrencyResult[] = [];
            const img = images(plan.concurrencyImageMiB, 1, "conc-")[0];
            for (const replicas of plan.replicas) {
                log(`== parallel pulls through ${replicas} replica(s)`);
                const cfg = replicas === 1 ? config : { ...config, storageAccessMode: "ReadWriteMany", replicas };
                const reg: BenchRegistry = await startDeployed(cfg);
                try {
                    conc.push(...(await measureConcurrency(reg, replicas, img, plan.concurrency, log)));
                } finally {
                    await reg.deployment.stop();
                }
            }
            cleanup([img]);
            results.concurrency = conc;
        }
        if (want.has("chunks")) {
            skipped.push({ section: "S3/Swift chunk size and object-store backends", reason: "the Swift and Ceph test peers are not on main yet" });
        }
    } finally {
        await Promise.all(stops.map((s) => s()));
    }
    const full: BenchResults = {
        mode: plan.mode,
        command,
        startedAt: started.toISOString(),
        durationS: (performance.now() - t0) / 1000,
        machine,
        load: load.stop(),
        ...results,
        skipped,
    };
    fs.mkdirSync(plan.outDir, { recursive: true });
    fs.writeFileSync(path.join(plan.outDir, `${plan.mode}.json`), `${JSON.stringify(full, null, 2)}\n`);
    fs.writeFileSync(path.join(plan.outDir, `${plan.mode}.md`), renderReport(full));
    return full;
}

/** Every failed transfer in the results. */
export function failures(r: BenchResults): string[] {
    return [...(r.datapath ?? []).flatMap((s) => s.errors), ...(r.concurrency ?? []).flatMap((c) => c.errors)];
}

if (require.main === module) {
    const argv = process.argv.slice(2);
    const plan = parsePlan(argv, path.join(__dirname, "results"));
    runBench(plan, ["npm run bench", ...(argv.length > 0 ? ["--", ...argv] : [])].join(" "))
        .then(async (r) => {
            process.stdout.write(renderReport(r));
            await stopAll();
            const f = failures(r);
            if (f.length > 0) {
                process.stderr.write(`${f.length} transfers failed:\n${f.join("\n")}\n`);
            }
            process.exit(f.length > 0 ? 1 : 0);
        })
        .catch(async (e: unknown) => {
            process.stderr.write(`${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
            await stopAll();
            process.exit(2);
        });
}
