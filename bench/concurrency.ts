// Parallel pulls of one image through the deployed registry (1 or 2 replicas behind the
// round-robin proxy): aggregate throughput, pull-time percentiles, errors, peak RSS.
import * as fs from "fs";

import { compareImage, OciImage, pull, push } from "../tests/harness/oci";
import { RssSampler } from "./machine";
import { BenchRegistry, bcryptCost, gateAuthCacheSeconds } from "./registries";
import { mibPerSec, summarize, Summary } from "./stats";
import { imageBytes } from "./datapath";

export interface ConcurrencyResult {
    readonly replicas: number;
    /** bcrypt cost of the registry's htpasswd hashes. */
    readonly bcryptCost?: number;
    /** Seconds the gate remembers a passed check (0: every request checked). */
    readonly authCacheSeconds?: number;
    readonly parallel: number;
    readonly bytes: number;
    /** From the first pull's start to the last one's end. */
    readonly wallMs: number;
    readonly aggregateMiBps: number;
    readonly pull: Summary;
    readonly errors: string[];
    /** Peak summed RSS of the pods' processes (and the proxy in front), bytes. */
    readonly peakRssBytes: number;
    /** Peak RSS of one instance of each container (registry, gate: a process and its children), bytes. */
    readonly peakRssByContainer: Readonly<Record<string, number>>;
}

/** Pushes `image` once, then for each level pulls it `parallel` times at once. */
export async function measureConcurrency(
    reg: BenchRegistry,
    replicas: number,
    image: OciImage,
    levels: readonly number[],
    clientDir: string,
    log: (s: string) => void,
): Promise<ConcurrencyResult[]> {
    const ref = `${reg.host}/bench/concurrent:${image.tag}`;
    const pushed = await push(image, ref, reg.access, { timeoutMs: 600000 });
    if (pushed.code !== 0) {
        throw new Error(`push ${ref} failed: ${pushed.stderr}`);
    }
    const bytes = imageBytes(image);
    const out: ConcurrencyResult[] = [];
    for (const parallel of levels) {
        const rss = new RssSampler(() => reg.containers());
        const t0 = performance.now();
        const results = await Promise.all(
            Array.from({ length: parallel }, async () => {
                const s = performance.now();
                const r = await pull(ref, reg.access, { timeoutMs: 600000, parentDir: clientDir });
                return { ...r, ms: performance.now() - s };
            }),
        );
        const wallMs = performance.now() - t0;
        const peak = rss.stop();
        const errors: string[] = [];
        for (const r of results) {
            if (r.result.code !== 0) {
                errors.push(r.result.stderr.trim());
            } else {
                errors.push(...compareImage(image, r.dir));
            }
            fs.rmSync(r.dir, { recursive: true, force: true });
        }
        const ok = results.filter((r) => r.result.code === 0).map((r) => r.ms);
        const res: ConcurrencyResult = {
            replicas,
            bcryptCost: bcryptCost(reg),
            authCacheSeconds: gateAuthCacheSeconds(reg),
            parallel,
            bytes,
            wallMs,
            aggregateMiBps: mibPerSec(bytes * ok.length, wallMs),
            pull: summarize(ok),
            errors,
            peakRssBytes: peak.total,
            peakRssByContainer: peak.byContainer,
        };
        out.push(res);
        log(
            `  ${replicas} replica(s), cost ${res.bcryptCost}, auth cache ${res.authCacheSeconds} s, ${parallel} parallel: ${res.aggregateMiBps.toFixed(1)} MiB/s, p50 ${res.pull.p50.toFixed(0)} ms, errors ${errors.length}`,
        );
    }
    return out;
}
