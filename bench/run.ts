// `npm run bench` (default plan, < 10 min) and `npm run bench -- --quick` (< 2 min): what the
// deployed configuration costs on the data path, measured side by side in one run. Prints the
// report and writes bench/results/<mode>.md and .json. Exits 1 if any transfer failed.
import * as fs from "fs";
import * as path from "path";

import { DEFAULT_IMAGE_TAGS, defaultOf } from "../config";
import { DEBIAN_REGISTRY } from "../tests/harness/harness";
import { buildImage, MiB, OciImage } from "../tests/harness/oci";
import { CACHE_BIN, stopAll, WORK_DIR } from "../tests/harness/procs";
import { FULL_BCRYPT_COST } from "../components/security/htpasswd";
import { CostedRegistry, measureAuth } from "./auth-cost";
import { Backend, BackendPool } from "./backends";
import { ChunkResult, measureChunks } from "./chunks";
import { ConcurrencyResult, measureConcurrency } from "./concurrency";
import { DatapathTargets, layerSplit, measureSize, PathSample } from "./datapath";
import { startLoopback } from "./loopback";
import { clientDir, LoadSampler, machineInfo } from "./machine";
import { BACKENDS, BackendName, parsePlan, Plan } from "./plan";
import { measurePrograms } from "./program";
import { BenchRegistry, bcryptCost, startDeployed, startVariant, tlsFiles, Variant } from "./registries";
import { measureRequestPaths } from "./request-paths";
import { BenchResults, renderReport } from "./report";

import peers from "../tests/harness/peers.json";

/** Distinct images of about `sizeMiB` each (stored, not compressed: building 1 GiB stays fast), staged in `scratch`. */
function images(sizeMiB: number, count: number, tagPrefix: string, scratch: string): OciImage[] {
    return Array.from({ length: count }, (_, i) => buildImage(layerSplit(sizeMiB), `${tagPrefix}${i}`, { gzipLevel: 0, scratchParent: scratch }));
}

function cleanup(imgs: readonly OciImage[]): void {
    for (const i of imgs) {
        fs.rmSync(i.dir, { recursive: true, force: true });
    }
}

/** Backends whose peer is the run's one Ceph. */
const ON_CEPH: readonly BackendName[] = ["s3-ceph", "swift-ceph"];

/**
 * MiB the registries on `backends` hold at most. On the object stores each compared registry keeps
 * every image it was pushed, and each chunk run its layer, until its section ends; on the
 * filesystem each image is deleted from the store once its pull is verified (discardImage), so
 * the stores hold one image at a time.
 */
function storedMiB(plan: Plan, backends: readonly BackendName[]): number {
    let mib = 0;
    for (const b of backends) {
        if (plan.sections.includes("datapath") && plan.backends.includes(b)) {
            mib +=
                b === "filesystem"
                    ? Math.max(0, ...plan.sizesMiB)
                    : plan.objectSizesMiB.reduce((a, size) => a + size * plan.repsFor(size, b) * plan.variantsFor(b).length, 0);
        }
        if (plan.sections.includes("chunks") && plan.chunkBackends.includes(b)) {
            mib += plan.chunkLayerMiB * plan.chunkMiB.length;
        }
    }
    return mib;
}

/** Memory for Ceph's in-memory OSD: everything the plan pushes to it, with headroom. */
export function cephMemoryBytes(plan: Plan): number {
    return Math.ceil((storedMiB(plan, ON_CEPH) * 1.5 + 1024) * MiB);
}

/**
 * MiB the plan writes at most: the registries' stores on the work disk (every backend but Ceph's
 * in-memory OSD), and the client's directory (the push/pull section stages all its images up
 * front and pulls one at a time; the parallel pulls hold one copy each).
 */
export function diskNeedsMiB(plan: Plan): { storeMiB: number; clientMiB: number } {
    const staged = new Map<number, number>();
    if (plan.sections.includes("datapath")) {
        for (const b of plan.backends) {
            for (const size of b === "filesystem" ? plan.sizesMiB : plan.objectSizesMiB) {
                staged.set(size, Math.max(staged.get(size) ?? 0, plan.repsFor(size, b)));
            }
        }
    }
    const clientMiB = Math.max(
        [...staged].reduce((a, [size, n]) => a + size * n, 0) + Math.max(0, ...staged.keys()),
        plan.sections.includes("chunks") ? 2 * plan.chunkLayerMiB : 0,
        plan.sections.includes("concurrency") ? plan.concurrencyImageMiB * (Math.max(...plan.concurrency) + 1) : 0,
    );
    return {
        storeMiB: storedMiB(
            plan,
            BACKENDS.filter((b) => !ON_CEPH.includes(b)),
        ),
        clientMiB,
    };
}

/** Refuses a plan the work disk cannot hold (a full disk fails every registry with HTTP 500), before anything starts. */
export function checkDisk(plan: Plan, needMiB: number, freeBytes: number, dir: string): void {
    const need = Math.ceil((needMiB * 1.1 + 1024) * MiB);
    if (freeBytes < need) {
        const gib = (b: number) => `${(b / 1024 / MiB).toFixed(1)} GiB`;
        throw new Error(
            `the plan writes about ${gib(need)} to ${dir} (the client stages every image up front; registries on object stores keep theirs until the section ends), and ${gib(freeBytes)} is free: ` +
                `lower --reps, --sizes (now ${plan.sizesMiB.join(",")} MiB) or --object-sizes (now ${plan.objectSizesMiB.join(",")} MiB), or point REGISTRY_E2E_WORK at a bigger disk`,
        );
    }
}

/** Runs the plan; returns the results (also written under plan.outDir). */
export async function runBench(plan: Plan, command: string, log: (s: string) => void = (s) => process.stderr.write(`${s}\n`)): Promise<BenchResults> {
    const started = new Date();
    const t0 = performance.now();
    const load = new LoadSampler();
    const skipped: { section: string; reason: string }[] = [];
    const needs = diskNeedsMiB(plan);
    fs.mkdirSync(WORK_DIR, { recursive: true });
    const client = clientDir(WORK_DIR, Math.ceil((needs.clientMiB * 1.2 + 256) * MiB));
    try {
        const work = fs.statfsSync(WORK_DIR);
        checkDisk(plan, needs.storeMiB + (client.dir.startsWith(WORK_DIR) ? needs.clientMiB : 0), work.bavail * work.bsize, WORK_DIR);
    } catch (e) {
        fs.rmSync(client.dir, { recursive: true, force: true });
        throw e;
    }
    const machine = {
        ...machineInfo(WORK_DIR, { "registry 3.x": path.join(CACHE_BIN, peers.go.registry3.binary), "registry 2.8": DEBIAN_REGISTRY }),
        clientFs: client.fs,
    };
    const want = new Set(plan.sections);
    const results: { -readonly [K in keyof BenchResults]?: BenchResults[K] } = {};
    const sectionsS: Record<string, number> = {};
    const timed = async (section: string, f: () => Promise<void>): Promise<void> => {
        const t = performance.now();
        try {
            await f();
        } finally {
            sectionsS[section] = (performance.now() - t) / 1000;
        }
    };
    const stops: (() => Promise<void>)[] = [];
    const pool = new BackendPool(cephMemoryBytes(plan));
    const withBackend = async <T>(name: BackendName, f: (b: Backend) => Promise<T>): Promise<T> => f(await pool.get(name));
    const started1 = async (variant: Variant, b: Backend, root: string, overrides?: Record<string, unknown>): Promise<BenchRegistry> => {
        const prepared = await b.prepare(root, overrides);
        const reg = await startVariant(variant, prepared.config, prepared.extra);
        stops.push(() => reg.deployment.remove());
        return reg;
    };
    try {
        if (want.has("program")) {
            await timed("program", async () => {
                log("== program evaluation and dependency graph");
                results.program = await measurePrograms(plan.programRuns, log);
            });
        }
        if (want.has("auth")) {
            await timed("auth", async () => {
                log("== cost of authentication per request (filesystem)");
                await withBackend("filesystem", async (b) => {
                    // One registry per htpasswd cost checking every request; the deployed one (its
                    // default cost, its auth cache) on both lines.
                    const defaultCost = defaultOf("htpasswdBcryptCost") as number;
                    const byCost: CostedRegistry[] = [];
                    for (const cost of plan.authCosts) {
                        const reg = await started1("deployed", b, `/auth-cost${cost}`, { htpasswdBcryptCost: cost, gateAuthCacheSeconds: 0 });
                        byCost.push({ cost: bcryptCost(reg), reg });
                    }
                    const deployed = await started1("deployed", b, "/auth-default");
                    const atDefault = { cost: bcryptCost(deployed), reg: deployed };
                    const line2 = await started1("deployed", b, "/auth-2.8", { imageTag: DEFAULT_IMAGE_TAGS[2] });
                    const baseline = await started1("baseline", b, "/auth-baseline");
                    const defaults = [
                        { line: "3.x", at: atDefault },
                        { line: "2.8 (Debian)", at: { cost: bcryptCost(line2), reg: line2 } },
                    ];
                    results.auth = { bcryptCost: defaultCost, probes: await measureAuth(byCost, defaults, baseline, plan.authRequests) };
                    log("== other per-request costs: the localhost proxy, the Redis cache");
                    results.requestPaths = await measureRequestPaths(atDefault.reg, (await b.prepare("/paths")).config, plan.pathRequests, client.dir);
                    await Promise.all(stops.splice(0).map((s) => s()));
                });
            });
        }
        if (want.has("datapath")) {
            await timed("datapath", async () => {
                const samples: PathSample[] = [];
                const backends: { name: string; description: string }[] = [];
                const sizesOf = (b: BackendName) => (b === "filesystem" ? plan.sizesMiB : plan.objectSizesMiB);
                // Images per size: as many as the backend wanting most repetitions needs, shared (each registry has its own storage).
                const counts = new Map<number, number>();
                for (const b of plan.backends) {
                    for (const size of sizesOf(b)) {
                        counts.set(size, Math.max(counts.get(size) ?? 0, plan.repsFor(size, b)));
                    }
                }
                const imgs = new Map([...counts].map(([size, n]) => [size, images(size, n, `s${size}-`, client.dir)]));
                for (const name of plan.backends) {
                    log(`== push/pull on ${name}`);
                    try {
                        await withBackend(name, async (b) => {
                            backends.push({ name, description: b.description });
                            const registries: { variant: Variant; reg: BenchRegistry }[] = [];
                            for (const variant of plan.variantsFor(name)) {
                                registries.push({ variant, reg: await started1(variant, b, `/dp-${variant}`) });
                            }
                            let limits: DatapathTargets["limits"];
                            if (name === plan.backends[0]) {
                                const https = await startLoopback("https", WORK_DIR, tlsFiles(registries[0].reg));
                                stops.push(() => https.stop());
                                const http = await startLoopback("http", WORK_DIR);
                                stops.push(() => http.stop());
                                limits = { https, http };
                            }
                            for (const size of sizesOf(name)) {
                                const reps = (imgs.get(size) ?? []).slice(0, plan.repsFor(size, name));
                                samples.push(...(await measureSize({ backend: name, registries, limits, clientDir: client.dir }, size, reps, log)));
                            }
                            await Promise.all(stops.splice(0).map((s) => s()));
                        });
                    } catch (e) {
                        skipped.push({ section: `push/pull on ${name}`, reason: (e as Error).message.split("\n")[0] });
                        log(`  skipped ${name}: ${(e as Error).message}`);
                        await Promise.all(stops.splice(0).map((s) => s()));
                    }
                }
                cleanup([...imgs.values()].flat());
                results.datapath = samples;
                results.backends = backends;
            });
        }
        if (want.has("chunks")) {
            await timed("chunks", async () => {
                const chunks: ChunkResult[] = [];
                const img = buildImage([plan.chunkLayerMiB * MiB], "chunk", { gzipLevel: 0, scratchParent: client.dir });
                for (const name of plan.chunkBackends) {
                    log(`== chunk size on ${name}, one ${plan.chunkLayerMiB} MiB layer`);
                    try {
                        chunks.push(...(await withBackend(name, (b) => measureChunks(b, img, plan.chunkMiB, client.dir, log))));
                    } catch (e) {
                        skipped.push({ section: `chunk sizes on ${name}`, reason: (e as Error).message.split("\n")[0] });
                        log(`  skipped ${name}: ${(e as Error).message}`);
                    }
                }
                cleanup([img]);
                results.chunks = chunks;
            });
        }
        // The object stores' peers are idle from here on: stopped, so they take no CPU from what follows.
        await pool.stop();
        if (want.has("concurrency")) {
            await timed("concurrency", async () => {
                const conc: ConcurrencyResult[] = [];
                const img = images(plan.concurrencyImageMiB, 1, "conc-", client.dir)[0];
                await withBackend("filesystem", async (b) => {
                    for (const replicas of plan.replicas) {
                        // Through one replica also as before the auth-cost work (the provider's bcrypt
                        // cost, every request checked): before and after, in one run.
                        for (const cost of replicas === 1 ? [undefined, FULL_BCRYPT_COST] : [undefined]) {
                            log(`== parallel pulls through ${replicas} replica(s)${cost === undefined ? "" : `, bcrypt cost ${cost}, every request checked`}`);
                            const overrides = {
                                ...(replicas === 1 ? {} : { storageAccessMode: "ReadWriteMany", replicas }),
                                ...(cost === undefined ? {} : { htpasswdBcryptCost: cost, gateAuthCacheSeconds: 0 }),
                            };
                            const cfg = await b.prepare("/conc", overrides);
                            const reg: BenchRegistry = await startDeployed(cfg.config, { ...cfg.extra, replicas });
                            try {
                                conc.push(...(await measureConcurrency(reg, replicas, img, plan.concurrency, client.dir, log)));
                            } finally {
                                await reg.deployment.remove();
                            }
                        }
                    }
                });
                cleanup([img]);
                results.concurrency = conc;
            });
        }
    } finally {
        await Promise.all(stops.map((s) => s()));
        await pool.stop();
        fs.rmSync(client.dir, { recursive: true, force: true });
    }
    const full: BenchResults = {
        mode: plan.mode,
        command,
        startedAt: started.toISOString(),
        durationS: (performance.now() - t0) / 1000,
        machine,
        load: load.stop(),
        ...results,
        sectionsS,
        skipped,
    };
    fs.mkdirSync(plan.outDir, { recursive: true });
    fs.writeFileSync(path.join(plan.outDir, `${plan.mode}.json`), `${JSON.stringify(full, null, 2)}\n`);
    fs.writeFileSync(path.join(plan.outDir, `${plan.mode}.md`), renderReport(full));
    return full;
}

/** Every failed transfer in the results. */
export function failures(r: BenchResults): string[] {
    return [...(r.datapath ?? []).flatMap((s) => s.errors), ...(r.concurrency ?? []).flatMap((c) => c.errors), ...(r.chunks ?? []).flatMap((c) => c.errors)];
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
