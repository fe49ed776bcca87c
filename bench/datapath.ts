// Push and pull of multi-layer images through the deployed registry, the same binary without
// TLS and auth, and the machine's limits (copy on the same disk, loopback TLS / plain HTTP),
// interleaved repetition by repetition so a load change on the shared machine hits all alike.
// Each repetition starts one registry further on, and each clock after a `sync`.
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as path from "path";

import { compareImage, MiB, OciImage, pull, push } from "../tests/harness/oci";
import { BenchRegistry, Variant } from "./registries";
import { LoopbackServer, timeCopy, timeDownload, timeUpload } from "./loopback";

/** One way of moving the bytes. */
export type PathKind = Variant | "loopback-https" | "loopback-http" | "cp" | "cp+fsync";

export const PATH_LABELS: Readonly<Record<PathKind, string>> = {
    deployed: "deployed: TLS + auth",
    "deployed-nocache": "deployed, no auth cache",
    "deployed-cost10": "deployed, bcrypt cost 10",
    "tls-noauth": "same binary, TLS, no auth",
    "registry-tls": "same binary, own TLS, no gate",
    baseline: "same binary, no TLS/auth",
    "loopback-https": "limit: loopback HTTPS",
    "loopback-http": "limit: loopback HTTP",
    cp: "limit: cp same disk",
    "cp+fsync": "limit: cp + fsync",
};

/** Raw figures of one path for one backend and image size. */
export interface PathSample {
    readonly backend: string;
    readonly sizeMiB: number;
    /** Bytes of the image's blobs (what moves). */
    readonly bytes: number;
    readonly path: PathKind;
    /** Per repetition, milliseconds (a copy has no direction: its time is in both). */
    readonly pushMs: number[];
    readonly pullMs: number[];
    readonly errors: string[];
}

/**
 * Layer sizes (bytes) of a multi-layer image of about `totalMiB`: four layers in the ratio
 * 1:2:3:4, as base image, runtime, dependencies and application would be.
 */
export function layerSplit(totalMiB: number): number[] {
    const total = Math.round(totalMiB * MiB);
    const parts = [1, 2, 3, 4].map((k) => Math.floor((total * k) / 10));
    parts[3] += total - parts.reduce((a, b) => a + b, 0);
    return parts;
}

/** Bytes a push or pull of `image` moves: its blobs. */
export function imageBytes(image: OciImage): number {
    const dir = path.join(image.dir, "blobs", "sha256");
    return fs.readdirSync(dir).reduce((a, f) => a + fs.statSync(path.join(dir, f)).size, 0);
}

async function timed<T>(f: () => Promise<T>): Promise<{ ms: number; value: T }> {
    const t0 = performance.now();
    const value = await f();
    return { ms: performance.now() - t0, value };
}

/** The distribution storage trees in a registry's claim directories (the filesystem driver's `rootdirectory` is the claim's mount). */
function storageTrees(claimDirs: Readonly<Record<string, string>>): string[] {
    return Object.values(claimDirs)
        .map((d) => path.join(d, "docker", "registry", "v2"))
        .filter((t) => fs.existsSync(t));
}

/**
 * Deletes `image` (its blobs and `repo`) from a registry's filesystem storage, once its pull is
 * verified: the images are distinct, so nothing later needs them, and a run of many 1 GiB
 * repetitions then needs the disk for one image at a time. Registries on object stores have no
 * claim directories; their images stay. Returns the bytes freed.
 */
export function discardImage(claimDirs: Readonly<Record<string, string>>, image: Pick<OciImage, "dir">, repo: string): number {
    const digests = fs.readdirSync(path.join(image.dir, "blobs", "sha256"));
    let freed = 0;
    for (const t of storageTrees(claimDirs)) {
        for (const hex of digests) {
            const blob = path.join(t, "blobs", "sha256", hex.slice(0, 2), hex);
            const data = path.join(blob, "data");
            freed += fs.existsSync(data) ? fs.statSync(data).size : 0;
            fs.rmSync(blob, { recursive: true, force: true });
        }
        fs.rmSync(path.join(t, "repositories", ...repo.split("/")), { recursive: true, force: true });
    }
    return freed;
}

/** Pushes then pulls `image` through `reg` into `clientDir`; digests checked after the clock stops. */
export async function roundTrip(
    reg: BenchRegistry,
    image: OciImage,
    repo: string,
    clientDir: string,
): Promise<{ pushMs: number; pullMs: number; errors: string[] }> {
    const ref = `${reg.host}/${repo}:${image.tag}`;
    const errors: string[] = [];
    // Each clock starts with nothing left to write back: dirty pages of an earlier step (1 GiB
    // from the previous push or copy) would otherwise be flushed while this one is timed.
    execFileSync("sync");
    const p = await timed(() => push(image, ref, reg.access, { timeoutMs: 900000 }));
    if (p.value.code !== 0) {
        return { pushMs: NaN, pullMs: NaN, errors: [`push ${ref}: ${p.value.stderr.trim()}`] };
    }
    execFileSync("sync");
    const q = await timed(() => pull(ref, reg.access, { timeoutMs: 900000, parentDir: clientDir }));
    if (q.value.result.code !== 0) {
        errors.push(`pull ${ref}: ${q.value.result.stderr.trim()}`);
    } else {
        errors.push(...compareImage(image, q.value.dir).map((e) => `pull ${ref}: ${e}`));
    }
    fs.rmSync(q.value.dir, { recursive: true, force: true });
    return { pushMs: p.ms, pullMs: errors.length === 0 ? q.ms : NaN, errors };
}

export interface DatapathTargets {
    readonly backend: string;
    /** The registries compared, the deployed one first. */
    readonly registries: readonly { readonly variant: Variant; readonly reg: BenchRegistry }[];
    /** Machine limits are measured with the first backend only (they do not depend on it). */
    readonly limits?: { readonly https: LoopbackServer; readonly http: LoopbackServer };
    /** Where pulls and downloads land. */
    readonly clientDir: string;
}

/** Runs every repetition of one image size against the targets; `images` are distinct (a registry skips blobs it has). */
export async function measureSize(t: DatapathTargets, sizeMiB: number, images: readonly OciImage[], log: (s: string) => void): Promise<PathSample[]> {
    const bytes = imageBytes(images[0]);
    const sample = (kind: PathKind): PathSample => ({ backend: t.backend, sizeMiB, bytes, path: kind, pushMs: [], pullMs: [], errors: [] });
    const kinds: PathKind[] = [
        ...t.registries.map((r) => r.variant),
        ...(t.limits === undefined ? [] : (["loopback-https", "loopback-http", "cp", "cp+fsync"] as PathKind[])),
    ];
    const out = new Map<PathKind, PathSample>(kinds.map((k) => [k, sample(k)]));
    const add = (k: PathKind, pushMs: number, pullMs: number, errors: string[] = []) => {
        const s = out.get(k) as PathSample;
        s.pushMs.push(pushMs);
        s.pullMs.push(pullMs);
        s.errors.push(...errors);
    };
    for (const [i, image] of images.entries()) {
        const repo = `bench/s${sizeMiB}-r${i}`;
        // Rotated: otherwise the same registry always runs right after the limits' big writes.
        const n = t.registries.length;
        for (const { variant: kind, reg } of t.registries.map((_, j) => t.registries[(i + j) % n])) {
            const r = await roundTrip(reg, image, repo, t.clientDir);
            // A filesystem store that did not hold the pushed layers (nine tenths of the bytes: the
            // manifest may be re-serialised) means its layout moved and the disk would fill again:
            // reported like a failed transfer.
            const freed = discardImage(reg.deployment.claimDirs, image, repo);
            if (Number.isFinite(r.pushMs) && Object.keys(reg.deployment.claimDirs).length > 0 && freed < 0.9 * bytes) {
                r.errors.push(`discard ${repo}: the store held ${freed} of the image's ${bytes} bytes`);
            }
            add(kind, r.pushMs, r.pullMs, r.errors);
            log(
                `  ${t.backend} ${sizeMiB} MiB #${i + 1} ${kind}: push ${r.pushMs.toFixed(0)} ms, pull ${r.pullMs.toFixed(0)} ms${r.errors.length > 0 ? ` ERRORS ${r.errors.join("; ")}` : ""}`,
            );
        }
        if (t.limits !== undefined) {
            execFileSync("sync");
            for (const [kind, server] of [
                ["loopback-https", t.limits.https],
                ["loopback-http", t.limits.http],
            ] as const) {
                const up = await timeUpload(server, image);
                const down = await timeDownload(server, image, t.clientDir);
                add(kind, up, down);
            }
            const c = await timeCopy(image);
            add("cp", c.copyMs, c.copyMs);
            add("cp+fsync", c.copySyncMs, c.copySyncMs);
        }
    }
    return [...out.values()];
}
