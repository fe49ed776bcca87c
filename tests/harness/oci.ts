// OCI images without a Docker daemon, and skopeo to push and pull them.
import { execFileSync } from "child_process";
import * as crypto from "crypto";
import * as fs from "fs";
import * as path from "path";
import * as zlib from "zlib";

import { CommandResult, runCommand, workDir } from "./procs";

/** An OCI image layout on disk. */
export interface OciImage {
    /** The layout directory (`oci:<dir>:<tag>`). */
    readonly dir: string;
    readonly tag: string;
    /** Digest of the image manifest. */
    readonly manifestDigest: string;
    /** Compressed layer digests and sizes, bottom first. */
    readonly layers: readonly { digest: string; size: number }[];
    readonly configDigest: string;
    /** Total bytes of the blobs. */
    readonly bytes: number;
}

const MiB = 1024 * 1024;
export { MiB };

function sha256(data: Buffer): string {
    return crypto.createHash("sha256").update(data).digest("hex");
}

function writeBlob(dir: string, data: Buffer): string {
    const hex = sha256(data);
    fs.writeFileSync(path.join(dir, "blobs", "sha256", hex), data);
    return `sha256:${hex}`;
}

/**
 * Builds an image with one layer of random bytes per entry of `layerSizes` (bytes of payload;
 * random data does not compress, so the gzip layer is about as big). Layers are tar archives made
 * by GNU tar with fixed owner and mtime, gzip-compressed (level 1 unless `opts.gzipLevel`; 0
 * stores, which builds big images fastest). The layers' files are staged under
 * `opts.scratchParent` (WORK_DIR unless given; a RAM disk makes big images faster).
 */
export function buildImage(layerSizes: readonly number[], tag = "v1", opts: { gzipLevel?: number; scratchParent?: string } = {}): OciImage {
    const dir = workDir("img");
    fs.mkdirSync(path.join(dir, "blobs", "sha256"), { recursive: true });
    const scratch = workDir("layer", opts.scratchParent);
    const layers: { digest: string; size: number }[] = [];
    const diffIds: string[] = [];
    layerSizes.forEach((size, i) => {
        const root = path.join(scratch, `l${i}`);
        fs.mkdirSync(path.join(root, "data"), { recursive: true });
        fs.writeFileSync(path.join(root, "data", `file${i}.bin`), crypto.randomBytes(size));
        const tar = execFileSync("tar", ["-C", root, "--numeric-owner", "--owner=0", "--group=0", "--mtime=@0", "--sort=name", "-cf", "-", "data"], {
            maxBuffer: size + 10 * MiB,
        });
        diffIds.push(`sha256:${sha256(tar)}`);
        const gz = zlib.gzipSync(tar, { level: opts.gzipLevel ?? 1 });
        layers.push({ digest: writeBlob(dir, gz), size: gz.length });
    });
    fs.rmSync(scratch, { recursive: true, force: true });
    const config = Buffer.from(
        JSON.stringify({ architecture: "amd64", os: "linux", config: { Cmd: ["/bin/true"] }, rootfs: { type: "layers", diff_ids: diffIds } }),
    );
    const configDigest = writeBlob(dir, config);
    const manifest = Buffer.from(
        JSON.stringify({
            schemaVersion: 2,
            mediaType: "application/vnd.oci.image.manifest.v1+json",
            config: { mediaType: "application/vnd.oci.image.config.v1+json", digest: configDigest, size: config.length },
            layers: layers.map((l) => ({ mediaType: "application/vnd.oci.image.layer.v1.tar+gzip", ...l })),
        }),
    );
    const manifestDigest = writeBlob(dir, manifest);
    fs.writeFileSync(
        path.join(dir, "index.json"),
        JSON.stringify({
            schemaVersion: 2,
            manifests: [
                {
                    mediaType: "application/vnd.oci.image.manifest.v1+json",
                    digest: manifestDigest,
                    size: manifest.length,
                    annotations: { "org.opencontainers.image.ref.name": tag },
                },
            ],
        }),
    );
    fs.writeFileSync(path.join(dir, "oci-layout"), JSON.stringify({ imageLayoutVersion: "1.0.0" }));
    const bytes = layers.reduce((a, l) => a + l.size, config.length + manifest.length);
    return { dir, tag, manifestDigest, layers, configDigest, bytes };
}

/** How skopeo authenticates to and trusts one side of a copy. */
export interface RegistryAccess {
    /** Directory with the CA as `ca.crt` (skopeo's --*-cert-dir). */
    readonly certDir?: string;
    readonly creds?: { readonly username: string; readonly password: string };
    /** A docker config.json / auth.json (the `dockerConfigJson` output). */
    readonly authFile?: string;
    /** false: skip TLS verification (only for negative controls). Default true. */
    readonly tlsVerify?: boolean;
}

export type SkopeoResult = CommandResult;

function accessFlags(side: "src" | "dest", a: RegistryAccess | undefined): string[] {
    if (a === undefined) {
        return [`--${side}-no-creds`];
    }
    const f: string[] = [];
    if (a.certDir !== undefined) {
        f.push(`--${side}-cert-dir`, a.certDir);
    }
    if (a.creds !== undefined) {
        f.push(`--${side}-creds`, `${a.creds.username}:${a.creds.password}`);
    } else if (a.authFile !== undefined) {
        f.push(`--${side}-authfile`, a.authFile);
    } else {
        f.push(`--${side}-no-creds`);
    }
    if (a.tlsVerify === false) {
        f.push(`--${side}-tls-verify=false`);
    }
    return f;
}

/** A private HOME so skopeo reads no credentials or certificates but those given. */
const skopeoHome = (() => {
    let dir: string | undefined;
    // Empty but for what skopeo caches; gone with the process.
    process.on("exit", () => {
        if (dir !== undefined) {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });
    return () => (dir ??= workDir("skopeo-home"));
})();

/** Runs skopeo with a private HOME and a bounded time; resolves with its exit code and output. */
export function skopeo(args: string[], opts: { timeoutMs?: number; env?: Record<string, string> } = {}): Promise<SkopeoResult> {
    return runCommand("skopeo", args, {
        timeoutMs: opts.timeoutMs ?? 180000,
        env: { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: skopeoHome(), ...opts.env },
    });
}

/** `skopeo copy` an image layout to `ref` (host/repo:tag). */
export function push(image: OciImage, ref: string, access: RegistryAccess, opts: { retryTimes?: number; timeoutMs?: number } = {}): Promise<SkopeoResult> {
    return skopeo(
        [
            "copy",
            "-q",
            "--preserve-digests",
            "--retry-times",
            String(opts.retryTimes ?? 0),
            ...accessFlags("dest", access),
            `oci:${image.dir}:${image.tag}`,
            `docker://${ref}`,
        ],
        { timeoutMs: opts.timeoutMs },
    );
}

/**
 * `skopeo copy` `ref` into a new image layout (under `opts.parentDir`, WORK_DIR unless given);
 * returns the layout directory and skopeo's result.
 */
export async function pull(
    ref: string,
    access: RegistryAccess,
    opts: { retryTimes?: number; timeoutMs?: number; parentDir?: string } = {},
): Promise<{ dir: string; result: SkopeoResult }> {
    const dir = workDir("pull", opts.parentDir);
    const result = await skopeo(
        [
            "copy",
            "-q",
            "--preserve-digests",
            "--retry-times",
            String(opts.retryTimes ?? 0),
            ...accessFlags("src", access),
            `docker://${ref}`,
            `oci:${dir}:pulled`,
        ],
        { timeoutMs: opts.timeoutMs },
    );
    return { dir, result };
}

/**
 * Problems with a pulled copy of `image` (empty when identical): the manifest digest must be
 * the pushed one, every blob must hash to its name, and the blob sets must match.
 */
export function compareImage(image: OciImage, pulledDir: string): string[] {
    const problems: string[] = [];
    const index = JSON.parse(fs.readFileSync(path.join(pulledDir, "index.json"), "utf8")) as { manifests: { digest: string }[] };
    if (index.manifests[0]?.digest !== image.manifestDigest) {
        problems.push(`manifest digest ${index.manifests[0]?.digest} != pushed ${image.manifestDigest}`);
    }
    const blobDir = path.join(pulledDir, "blobs", "sha256");
    const pulled = fs.readdirSync(blobDir).sort();
    for (const hex of pulled) {
        const actual = sha256(fs.readFileSync(path.join(blobDir, hex)));
        if (actual !== hex) {
            problems.push(`blob ${hex} hashes to ${actual}`);
        }
        const size = fs.statSync(path.join(blobDir, hex)).size;
        if (size === 0) {
            problems.push(`blob ${hex} is empty`);
        }
    }
    const pushed = fs.readdirSync(path.join(image.dir, "blobs", "sha256")).sort();
    if (JSON.stringify(pushed) !== JSON.stringify(pulled)) {
        problems.push(`blob sets differ: pushed ${pushed.length}, pulled ${pulled.length}`);
    }
    return problems;
}

/** Pulls `ref` and compares it with `image`; returns the problems (empty when the round trip is exact). */
export async function pullAndCompare(image: OciImage, ref: string, access: RegistryAccess): Promise<string[]> {
    const { dir, result } = await pull(ref, access);
    if (result.code !== 0) {
        return [`pull of ${ref} failed (${result.code}): ${result.stderr.trim()}`];
    }
    const problems = compareImage(image, dir);
    fs.rmSync(dir, { recursive: true, force: true });
    return problems;
}
