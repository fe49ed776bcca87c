// What a bench run measures: the default plan (< 10 min), --quick (< 2 min), and overrides
// from the command line. Pure.
import { BCRYPT_MAX_COST, BCRYPT_MIN_COST } from "../components/security/htpasswd";

/** Storage backends the bench can run the registry on (bench/backends.ts). */
export const BACKENDS = ["filesystem", "s3-swift", "s3-ceph", "swift-ceph"] as const;
export type BackendName = (typeof BACKENDS)[number];

/**
 * The registries compared on each backend (bench/registries.ts): the deployed one, the same at
 * bcrypt cost 10 (the random provider's, what htpasswd had before its cost was configurable), and
 * the same pod with the gate's auth off, the registry binary serving TLS itself (no gate, no
 * auth: what TLS costs apart from the gate), and the same binary without TLS or auth.
 */
export const VARIANTS = ["deployed", "deployed-nocache", "deployed-cost10", "tls-noauth", "registry-tls", "baseline"] as const;
export type VariantName = (typeof VARIANTS)[number];

export type Section = "program" | "auth" | "datapath" | "concurrency" | "chunks";
export const SECTIONS: readonly Section[] = ["program", "auth", "datapath", "concurrency", "chunks"];

export interface Plan {
    readonly mode: "full" | "quick";
    readonly sections: readonly Section[];
    /** Image totals for push/pull on the filesystem, MiB. */
    readonly sizesMiB: readonly number[];
    /** Image totals on the object stores (slower per request; their 1 GiB push is the chunk run). */
    readonly objectSizesMiB: readonly number[];
    /**
     * Registries compared on each backend: all of them on the filesystem; by default the deployed
     * one and the baseline on the object stores (what TLS and auth cost apart is measured on
     * the filesystem, where the store adds the least).
     */
    readonly variantsFor: (backend: BackendName) => readonly VariantName[];
    /** Repetitions per image size and backend (distinct images; the median is reported). */
    readonly repsFor: (sizeMiB: number, backend: BackendName) => number;
    /** Parallel pulls, and the replica counts they go through. */
    readonly concurrency: readonly number[];
    readonly replicas: readonly number[];
    /** Image pulled in the concurrency runs, MiB. */
    readonly concurrencyImageMiB: number;
    /** Sequential requests per auth-cost probe. */
    readonly authRequests: number;
    /** htpasswd bcrypt costs the auth section compares, one registry each. */
    readonly authCosts: readonly number[];
    /** Rounds of the other per-request probes (proxy, cache), whose differences are a fraction of a millisecond. */
    readonly pathRequests: number;
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
 * `--sections=a,b`, `--backends=filesystem,s3-swift`, `--object-variants=deployed,tls-noauth,baseline`,
 * `--chunks=5,16`, `--chunk-layer=MiB`, `--chunk-backends=s3-swift`, `--auth-costs=4,5,6,10`, `--out=dir`.
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
    const known = new Set([
        "quick",
        "sizes",
        "concurrency",
        "replicas",
        "sections",
        "out",
        "reps",
        "backends",
        "chunks",
        "chunk-layer",
        "chunk-backends",
        "object-sizes",
        "object-variants",
        "auth-costs",
    ]);
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
    const authCosts = list("auth-costs") ?? [4, 5, 6, 10];
    if (authCosts.some((c) => !Number.isInteger(c) || c < BCRYPT_MIN_COST || c > BCRYPT_MAX_COST)) {
        throw new Error(`--auth-costs takes bcrypt costs, whole numbers from ${BCRYPT_MIN_COST} to ${BCRYPT_MAX_COST}; got "${opts.get("auth-costs")}"`);
    }
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
    const objectVariants = opts.get("object-variants")?.split(",") ?? ["deployed", "baseline"];
    for (const v of objectVariants) {
        if (!(VARIANTS as readonly string[]).includes(v)) {
            throw new Error(`--object-variants: unknown registry ${v}; known: ${VARIANTS.join(", ")}`);
        }
    }
    if (objectVariants[0] !== "deployed") {
        throw new Error("--object-variants must start with deployed (the registry the others are compared with)");
    }
    // --quick leaves Ceph out (its start alone is ~15 s); --backends brings it back.
    const backends = backendList("backends", quick ? ["filesystem", "s3-swift"] : BACKENDS);
    return {
        mode: quick ? "quick" : "full",
        sections: sections as Section[],
        sizesMiB: list("sizes") ?? (quick ? [10, 50] : [10, 200, 1024]),
        // Big images on the object stores go through the chunk-size run (1 GiB, deployed registry);
        // `--object-sizes=10,200` adds the side-by-side comparison at 200 MiB (about a minute more).
        objectSizesMiB: list("object-sizes") ?? [10],
        variantsFor: (backend) => (backend === "filesystem" ? VARIANTS : (objectVariants as VariantName[])),
        repsFor: (size, backend) => reps ?? (quick || size >= 100 ? 1 : backend !== "filesystem" ? 2 : 3),
        concurrency: list("concurrency") ?? (quick ? [1, 4, 16] : [1, 4, 16, 32]),
        replicas: list("replicas") ?? [1, 2],
        concurrencyImageMiB: quick ? 4 : 20,
        authRequests: quick ? 10 : 40,
        authCosts,
        pathRequests: quick ? 50 : 200,
        programRuns: quick ? 2 : 3,
        backends,
        // 5 MiB is the classic S3 registry recipe's value and S3's minimum part size; 10 MiB the program's default.
        chunkMiB: list("chunks") ?? [5, 10, 16, 32, 64],
        chunkLayerMiB: list("chunk-layer")?.[0] ?? (quick ? 32 : 1024),
        // The filesystem driver has no chunk size. A 1 GiB layer at five chunk sizes takes minutes
        // per store: by default once per driver, S3 on Swift's s3api and Swift on Ceph RGW.
        chunkBackends: backendList(
            "chunk-backends",
            backends.filter((b) => b === "s3-swift" || b === "swift-ceph"),
        ).filter((b) => b !== "filesystem"),
        outDir: opts.get("out") ?? defaultOutDir,
    };
}
