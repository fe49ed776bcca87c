// The bench's results as one JSON document and its Markdown rendering. Pure.
import type { AuthCost } from "./auth-cost";
import type { ChunkResult } from "./chunks";
import type { ConcurrencyResult } from "./concurrency";
import { PATH_LABELS, PathSample } from "./datapath";
import { describeChain } from "./graph";
import type { MachineInfo } from "./machine";
import type { ProgramResult } from "./program";
import { median, mibPerSec, pairedRatio, ratio } from "./stats";
import { bytes, Column, duration, markdownTable, num, times } from "./table";

export interface LoadFigures {
    readonly max: number;
    readonly mean: number;
    readonly samples: number;
}

export interface BenchResults {
    readonly mode: string;
    readonly command: string;
    readonly startedAt: string;
    readonly durationS: number;
    readonly machine: MachineInfo;
    /** 1-minute load average over the run (other work on the machine shows here). */
    readonly load: LoadFigures;
    readonly program?: readonly ProgramResult[];
    /** Per-request cost of authentication; `bcryptCost` is the program's default. */
    readonly auth?: { readonly bcryptCost?: number; readonly probes: readonly AuthCost[] };
    /** Per-request cost of the localhost proxy and the Redis blob-descriptor cache. */
    readonly requestPaths?: readonly AuthCost[];
    readonly datapath?: readonly PathSample[];
    /** What each backend of the push/pull comparison is. */
    readonly backends?: readonly { readonly name: string; readonly description: string }[];
    readonly chunks?: readonly ChunkResult[];
    readonly concurrency?: readonly ConcurrencyResult[];
    /** Wall time of each section that ran, seconds, in run order. */
    readonly sectionsS?: Readonly<Record<string, number>>;
    /** Sections that did not run, and why. */
    readonly skipped: readonly { section: string; reason: string }[];
}

/** Median throughput of a sample's push or pull, MiB/s. */
export function throughput(s: PathSample, dir: "push" | "pull"): number {
    return mibPerSec(s.bytes, median(dir === "push" ? s.pushMs : s.pullMs));
}

interface DatapathRow {
    readonly s: PathSample;
    readonly deployed?: PathSample;
}

/** "push / pull" of `ratioOf(deployed, this row)`, or "" on the deployed row itself and where nothing was deployed. */
function againstDeployed(r: DatapathRow, ratioOf: (deployed: PathSample, s: PathSample, dir: "push" | "pull") => number): string {
    const d = r.deployed;
    return d === undefined || r.s.path === "deployed" ? "" : `${times(ratioOf(d, r.s, "push"))} / ${times(ratioOf(d, r.s, "pull"))}`;
}

export function datapathTable(samples: readonly PathSample[]): string {
    const rows: DatapathRow[] = samples.map((s) => ({
        s,
        deployed: samples.find((d) => d.backend === s.backend && d.sizeMiB === s.sizeMiB && d.path === "deployed"),
    }));
    const cols: Column<DatapathRow>[] = [
        { header: "backend", value: (r) => r.s.backend },
        { header: "image", align: "right", value: (r) => bytes(r.s.bytes) },
        { header: "path", value: (r) => PATH_LABELS[r.s.path] },
        { header: "n", align: "right", value: (r) => String(r.s.pushMs.length) },
        { header: "push", align: "right", value: (r) => duration(median(r.s.pushMs)) },
        { header: "push MiB/s", align: "right", value: (r) => num(throughput(r.s, "push")) },
        { header: "pull", align: "right", value: (r) => duration(median(r.s.pullMs)) },
        { header: "pull MiB/s", align: "right", value: (r) => num(throughput(r.s, "pull")) },
        {
            header: "deployed ÷ this (push/pull)",
            align: "right",
            value: (r) => againstDeployed(r, (d, s, dir) => ratio(throughput(d, dir), throughput(s, dir))),
        },
        {
            header: "paired (push/pull)",
            align: "right",
            value: (r) => againstDeployed(r, (d, s, dir) => pairedRatio(d[`${dir}Ms`], s[`${dir}Ms`])),
        },
        { header: "errors", align: "right", value: (r) => String(r.s.errors.length) },
    ];
    return markdownTable(cols, rows);
}

export function concurrencyTable(results: readonly ConcurrencyResult[]): string {
    const cols: Column<ConcurrencyResult>[] = [
        { header: "replicas", align: "right", value: (r) => String(r.replicas) },
        { header: "bcrypt cost", align: "right", value: (r) => (r.bcryptCost === undefined ? "" : String(r.bcryptCost)) },
        {
            header: "auth cache",
            align: "right",
            value: (r) => (r.authCacheSeconds === undefined ? "" : r.authCacheSeconds === 0 ? "off" : `${r.authCacheSeconds} s`),
        },
        { header: "parallel pulls", align: "right", value: (r) => String(r.parallel) },
        { header: "image", align: "right", value: (r) => bytes(r.bytes) },
        { header: "aggregate MiB/s", align: "right", value: (r) => num(r.aggregateMiBps) },
        { header: "p50", align: "right", value: (r) => duration(r.pull.p50) },
        { header: "p95", align: "right", value: (r) => duration(r.pull.p95) },
        { header: "p99", align: "right", value: (r) => duration(r.pull.p99) },
        { header: "errors", align: "right", value: (r) => String(r.errors.length) },
        { header: "peak RSS, all", align: "right", value: (r) => bytes(r.peakRssBytes) },
        { header: "one registry", align: "right", value: (r) => bytes(r.peakRssByContainer.registry ?? 0) },
        { header: "one gate", align: "right", value: (r) => bytes(r.peakRssByContainer.gate ?? 0) },
    ];
    return markdownTable(cols, results);
}

export function authTable(probes: readonly AuthCost[], what = "GET /v2/ on a kept-alive connection"): string {
    const cols: Column<AuthCost>[] = [
        { header: what, value: (r) => r.label },
        { header: "bcrypt cost", align: "right", value: (r) => (r.bcryptCost === undefined ? "" : String(r.bcryptCost)) },
        { header: "status", align: "right", value: (r) => String(r.status) },
        { header: "n", align: "right", value: (r) => String(r.latency.n) },
        { header: "p50", align: "right", value: (r) => duration(r.latency.p50) },
        { header: "p95", align: "right", value: (r) => duration(r.latency.p95) },
    ];
    return markdownTable(cols, probes);
}

export function programTable(results: readonly ProgramResult[]): string {
    const cols: Column<ProgramResult>[] = [
        { header: "stack", value: (r) => r.stack },
        { header: "resources", align: "right", value: (r) => String(r.resources) },
        { header: "process (node + ts-node + SDK + 1st eval)", align: "right", value: (r) => duration(r.processMs) },
        { header: "1st eval", align: "right", value: (r) => duration(r.coldMs) },
        { header: "later evals (median)", align: "right", value: (r) => duration(median(r.warmMs)) },
        { header: "of which mocks' crypto", align: "right", value: (r) => duration(median(r.mockMs.slice(1))) },
        { header: "peak RSS", align: "right", value: (r) => bytes(r.maxRssBytes) },
        { header: "graph depth", align: "right", value: (r) => String(r.graph.depth) },
    ];
    return markdownTable(cols, results);
}

export function chunkTable(results: readonly ChunkResult[]): string {
    const cols: Column<ChunkResult>[] = [
        { header: "backend", value: (r) => r.backend },
        { header: "chunk size", align: "right", value: (r) => `${r.chunkMiB} MiB` },
        { header: "layer", align: "right", value: (r) => bytes(r.layerBytes) },
        { header: "parts / segments", align: "right", value: (r) => String(Math.ceil(r.layerBytes / (r.chunkMiB * 1024 * 1024))) },
        { header: "push", align: "right", value: (r) => duration(r.pushMs) },
        { header: "push MiB/s", align: "right", value: (r) => num(mibPerSec(r.layerBytes, r.pushMs)) },
        { header: "pull", align: "right", value: (r) => duration(r.pullMs) },
        { header: "errors", align: "right", value: (r) => String(r.errors.length) },
    ];
    return markdownTable(cols, results);
}

/** The whole report. */
export function renderReport(r: BenchResults): string {
    const m = r.machine;
    const out: string[] = [
        `# Benchmark results (${r.mode})`,
        "",
        `\`${r.command}\`, started ${r.startedAt}, took ${r.durationS.toFixed(0)} s.`,
        "",
        `Machine: ${m.cpuModel}, ${m.cores} cores, ${m.memoryGiB} GiB RAM, ${m.os}, kernel ${m.kernel}, Node ${m.node}, work dir on ${m.workFs}` +
            (m.clientFs === undefined
                ? "."
                : `, pulls land on ${m.clientFs}${m.clientFs === "tmpfs" ? " (RAM: the client's disk is not what is measured)" : ""}.`),
        `Tools: ${Object.entries(m.tools)
            .map(([k, v]) => `${k}: ${v}`)
            .join("; ")}.`,
        `Load (1-min average) during the run: mean ${num(r.load.mean, 2)}, max ${num(r.load.max, 2)} over ${r.load.samples} samples` +
            ` (${m.cores} cores; anything well above the bench's own use is other work on the machine).`,
        ...(r.sectionsS === undefined
            ? []
            : [
                  `Time per section: ${Object.entries(r.sectionsS)
                      .map(([k, v]) => `${k} ${v.toFixed(0)} s`)
                      .join(", ")}.`,
              ]),
        "",
    ];
    if (r.datapath !== undefined) {
        out.push(
            "## Push and pull",
            "",
            "Median of n repetitions, each a distinct image (4 random layers, ratio 1:2:3:4), skopeo against one registry process from the pod the program declares; pulls verified digest by digest after the clock stops. " +
                "`deployed ÷ this`: the deployed registry's throughput as a fraction of that path's (on the same backend; the limits are measured once, on the first backend's disk), from the medians; `paired`: the median of the same ratio taken within each repetition, where the two ran minutes apart at most, so a change of the machine's load between repetitions cancels out.",
            "",
            datapathTable(r.datapath),
            "",
            ...(r.backends ?? []).map((b) => `- \`${b.name}\`: ${b.description}`),
            "",
        );
    }
    if (r.chunks !== undefined && r.chunks.length > 0) {
        out.push(
            "## Chunk size (S3 multipart parts, Swift segments)",
            "",
            "One layer pushed through the deployed registry (the backend's stack with its chunk-size key set per row: `s3ChunkSize` for S3, `cephChunkSize` for Swift; a fresh registry and storage each), then pulled and verified. " +
                "Parts / segments: the layer's S3 multipart parts or Swift segments (layer ÷ chunk size, rounded up).",
            "",
            chunkTable(r.chunks),
            "",
        );
    }
    if (r.concurrency !== undefined) {
        out.push(
            "## Parallel pulls",
            "",
            "Deployed registry (the gate: TLS + auth) as the program declares it (its bcrypt cost and auth cache), and through one replica also as it was before the auth-cost work: cost 10 (the random provider's), every request checked; 2 replicas run behind nginx round-robin (the Service's stand-in).",
            "",
            concurrencyTable(r.concurrency),
            "",
        );
    }
    if (r.auth !== undefined) {
        out.push(
            "## Cost of authentication per request",
            "",
            `htpasswd hashes are bcrypt; the program's default cost is ${r.auth.bcryptCost ?? "unknown"}. The gate checks the hash (crypt(3)) of a request that carries credentials, ` +
                "and remembers a passed check for `gateAuthCacheSeconds`: the rows per cost have that off (0), so each request there pays one bcrypt check; " +
                "the registry as deployed (default cost and cache) on both lines, also with a wrong password, an unknown user (never remembered) and none. " +
                "Each row on a kept-alive connection of its own; the rows take turns request by request.",
            "",
            authTable(r.auth.probes),
            "",
        );
    }
    if (r.requestPaths !== undefined) {
        out.push(
            "## Other per-request costs",
            "",
            "The deployed registry at the default cost: straight, through the localhost proxy (nginx with the program's nginx.conf, and the same without its upstream `keepalive` line), and a blob `HEAD` with each blob-descriptor cache. " +
                "Valid credentials; each row on a kept-alive client connection of its own; the rows take turns request by request.",
            "",
            authTable(r.requestPaths, "request"),
            "",
        );
    }
    if (r.program !== undefined) {
        out.push(
            "## The program",
            "",
            "Each shipped stack evaluated under mocks in preview mode in a fresh process (the program's share of `pulumi preview`). " +
                "The mocks compute real keys, certificates and bcrypt hashes (in `pulumi up`, the tls/random providers do that work); the column shows the wall time while a mock ran.",
            "",
            programTable(r.program),
            "",
        );
        for (const p of r.program) {
            out.push(
                `Longest chain of \`${p.stack}\` (${p.graph.depth} resources created one after another; ${p.graph.customResources} resources, ${p.graph.components} components): ` +
                    describeChain(p.graph.chain).join(" → "),
                "",
            );
        }
    }
    for (const s of r.skipped) {
        out.push(`Not measured: ${s.section}: ${s.reason}`, "");
    }
    return out.join("\n");
}
