// What a bench run measures: the default plan (< 10 min), --quick (< 2 min), and overrides
// from the command line. Pure.

/** Storage backends the bench can run the registry on (bench/backends.ts). */
export const BACKENDS = ["filesystem", "s3-swift", "s3-ceph", "swift-ceph"] as const;
export type BackendName = (typeof BACKENDS)[number];

export type Section = "program" | "auth" | "datapath" | "concurrency" | "chunks";
export const SECTIONS: readonly Section[] = ["program", "auth", "datapath", "concurrency", "chunks"];

export interface Plan {
    readonly mode: "full" | "quick";
    readonly sections: readonly Section[];
    /** Image totals for push/pull on the filesystem, MiB. */
    readonly sizesMiB: readonly number[];
    /** Image totals on the object stores (slower per request; their 1 GiB push is the chunk run). */
    readonly objectSizesMiB: readonly number[];
    /** Repetitions per image size and backend (distinct images; the median is reported). */
    readonly repsFor: (sizeMiB: number, backend: BackendName) => number;
    /** Parallel pulls, and the replica counts they go through. */
    readonly concurrency: readonly number[];
    readonly replicas: readonly number[];
    /** Image pulled in the concurrency runs, MiB. */
    readonly concurrencyImageMiB: number;
    /** Sequential requests per auth-cost probe. */
    readonly authRequests: number;
    /** Evaluations of each stack per process (the first is cold). */
    readonly programRuns: number;
    /** Storage backends of the push/pull comparison. */
    readonly backends: readonly BackendName[];
    /** S3 chunk sizes (MiB), the one-layer image pushed at each (MiB), and the backends they run on. */
    readonly chunkMiB: readonly number[];
    readonly chunkLayerMiB: number;
    readonly chunkBackends: readonly BackendName[];
    /** Where results go (`<mode>.md` and `<mode>.json`). */
    readonly outDir: string;
}

/**
 * Parses `--quick`, `--sizes=10,200`, `--object-sizes=10`, `--reps=N`, `--concurrency=1,4`, `--replicas=1,2`,
 * `--sections=a,b`, `--backends=filesystem,s3-swift`, `--chunks=5,16`, `--chunk-layer=MiB`,
 * `--chunk-backends=s3-swift`, `--out=dir`.
 */
export function parsePlan(argv: readonly string[], defaultOutDir: string): Plan {
    const opts = new Map<string, string>();
    for (const a of argv) {
        const m = /^--([a-z-]+)(?:=(.*))?$/.exec(a);
        if (m === null) {
            throw new Error(`unknown argument ${a}; use --quick or --<option>=<value>`);
        }
        opts.set(m[1], m[2] ?? "");
    }
    const known = new Set(["quick", "sizes", "concurrency", "replicas", "sections", "out", "reps", "backends", "chunks", "chunk-layer", "chunk-backends", "object-sizes"]);
    for (const k of opts.keys()) {
        if (!known.has(k)) {
            throw new Error(`unknown option --${k}; known: ${[...known].map((x) => `--${x}`).join(", ")}`);
        }
    }
    const list = (key: string): number[] | undefined => {
        const v = opts.get(key);
        if (v === undefined) {
            return undefined;
        }
        const xs = v.split(",").map(Number);
        if (xs.length === 0 || xs.some((x) => !Number.isFinite(x) || x <= 0)) {
            throw new Error(`--${key} takes positive numbers separated by commas, got "${v}"`);
        }
        return xs;
    };
    const quick = opts.has("quick");
    const sections = opts.get("sections")?.split(",") ?? [...SECTIONS];
    for (const s of sections) {
        if (!(SECTIONS as readonly string[]).includes(s)) {
            throw new Error(`--sections: unknown section ${s}; known: ${SECTIONS.join(", ")}`);
        }
    }
    const reps = list("reps")?.[0];
    const backendList = (key: string, dflt: readonly BackendName[]): BackendName[] => {
        const names = opts.get(key)?.split(",") ?? [...dflt];
        for (const b of names) {
            if (!(BACKENDS as readonly string[]).includes(b)) {
                throw new Error(`--${key}: unknown backend ${b}; known: ${BACKENDS.join(", ")}`);
            }
        }
        return names as BackendName[];
    };
    // --quick leaves Ceph out (its start alone is ~15 s); --backends brings it back.
    const backends = backendList("backends", quick ? ["filesystem", "s3-swift"] : BACKENDS);
    return {
        mode: quick ? "quick" : "full",
        sections: sections as Section[],
        sizesMiB: list("sizes") ?? (quick ? [10, 50] : [10, 200, 1024]),
        objectSizesMiB: list("object-sizes") ?? (quick ? [10] : [10, 200]),
        repsFor: (size, backend) => reps ?? (quick ? 1 : backend !== "filesystem" ? (size >= 100 ? 1 : 3) : size >= 1024 ? 1 : size >= 100 ? 2 : 5),
        concurrency: list("concurrency") ?? (quick ? [1, 4, 16] : [1, 4, 16, 32]),
        replicas: list("replicas") ?? [1, 2],
        concurrencyImageMiB: quick ? 4 : 20,
        authRequests: quick ? 10 : 40,
        programRuns: quick ? 2 : 5,
        backends,
        // 5 MiB is the seed's value and S3's minimum part size; 10 MiB the program's default.
        chunkMiB: list("chunks") ?? [5, 10, 16, 32, 64],
        chunkLayerMiB: list("chunk-layer")?.[0] ?? (quick ? 32 : 1024),
        // The filesystem driver has no chunk size. A 1 GiB layer at five chunk sizes takes minutes
        // per store: by default once per driver, S3 on Swift's s3api and Swift on Ceph RGW.
        chunkBackends: backendList("chunk-backends", backends.filter((b) => b === "s3-swift" || b === "swift-ceph")).filter((b) => b !== "filesystem"),
        outDir: opts.get("out") ?? defaultOutDir,
    };
}
