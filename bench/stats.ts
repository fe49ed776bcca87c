// Pure statistics for the bench: percentiles, throughput, ratios. No I/O.

export const MiB = 1024 * 1024;

/** Sorted copy of the finite numbers of `xs`. */
function sorted(xs: readonly number[]): number[] {
    return xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
}

/**
 * The p-th percentile (0..100) by linear interpolation between closest ranks (numpy's default,
 * Hyndman-Fan type 7), so p50 of an even count is the mean of the middle two. NaN when empty.
 */
export function percentile(xs: readonly number[], p: number): number {
    if (p < 0 || p > 100) {
        throw new Error(`percentile ${p} is outside 0..100`);
    }
    const s = sorted(xs);
    if (s.length === 0) {
        return NaN;
    }
    const rank = (p / 100) * (s.length - 1);
    const lo = Math.floor(rank);
    const hi = Math.ceil(rank);
    return s[lo] + (s[hi] - s[lo]) * (rank - lo);
}

export function median(xs: readonly number[]): number {
    return percentile(xs, 50);
}

export function mean(xs: readonly number[]): number {
    const s = sorted(xs);
    return s.length === 0 ? NaN : s.reduce((a, b) => a + b, 0) / s.length;
}

/** Summary of a sample of durations in milliseconds. */
export interface Summary {
    readonly n: number;
    readonly min: number;
    readonly p50: number;
    readonly p95: number;
    readonly p99: number;
    readonly max: number;
    readonly mean: number;
}

export function summarize(xs: readonly number[]): Summary {
    const s = sorted(xs);
    return {
        n: s.length,
        min: s.length === 0 ? NaN : s[0],
        p50: percentile(s, 50),
        p95: percentile(s, 95),
        p99: percentile(s, 99),
        max: s.length === 0 ? NaN : s[s.length - 1],
        mean: mean(s),
    };
}

/** MiB/s for `bytes` moved in `ms` milliseconds. NaN when the time is not positive. */
export function mibPerSec(bytes: number, ms: number): number {
    return ms > 0 ? bytes / MiB / (ms / 1000) : NaN;
}

/** a / b, NaN when either is not a positive finite number. */
export function ratio(a: number, b: number): number {
    return Number.isFinite(a) && Number.isFinite(b) && a > 0 && b > 0 ? a / b : NaN;
}

/**
 * Median over repetitions of `ms[i] ÷ referenceMs[i]` (each repetition's two times of the same
 * bytes, taken one right after the other): `reference`'s throughput as a fraction of the other's,
 * with a drift of the machine's load between repetitions taken out. NaN without a finite pair.
 */
export function pairedRatio(referenceMs: readonly number[], ms: readonly number[]): number {
    const pairs = referenceMs.map((r, i) => ratio(ms[i], r)).filter((x) => Number.isFinite(x));
    return pairs.length === 0 ? NaN : median(pairs);
}
