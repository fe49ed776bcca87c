// The machine's own limits for moving an image's bytes: a plain copy on the same disk, and the
// same bytes over loopback HTTPS (what TLS costs) and plain HTTP between two C programs built on
// OpenSSL: nginx (WebDAV PUT to store, static GET to serve) and curl --parallel, one transfer
// per blob, as a client moves layers in parallel.
import { execFile } from "child_process";
import * as fs from "fs";
import * as path from "path";

import { request } from "../tests/harness/http";
import { OciImage } from "../tests/harness/oci";
import { freePort, Proc, startProc, waitFor, workDir } from "../tests/harness/procs";

/** The blob files of an image layout, relative to its directory. */
export function blobFiles(image: OciImage): string[] {
    return fs.readdirSync(path.join(image.dir, "blobs", "sha256")).map((f) => path.join("blobs", "sha256", f));
}

function run(cmd: string, args: string[]): Promise<void> {
    return new Promise((resolve, reject) =>
        execFile(cmd, args, { maxBuffer: 16 * 1024 * 1024 }, (err, _stdout, stderr) =>
            err === null ? resolve() : reject(new Error(`${cmd}: ${stderr || err.message}`)),
        ),
    );
}

function sizeOf(dir: string): number {
    return fs.readdirSync(dir).reduce((a, f) => a + fs.statSync(path.join(dir, f)).size, 0);
}

/**
 * Milliseconds for `cp -r` of the image's blobs to a new directory on the same disk, without and
 * with an fsync of the copies (`sync FILE...`): the 3.x filesystem driver fsyncs every blob it
 * commits, so the second is its floor.
 */
export async function timeCopy(image: OciImage): Promise<{ copyMs: number; copySyncMs: number }> {
    const once = async (fsync: boolean) => {
        const dest = workDir("cp");
        const t0 = performance.now();
        await run("cp", ["-r", path.join(image.dir, "blobs"), dest]);
        if (fsync) {
            await run(
                "sync",
                blobFiles(image).map((f) => path.join(dest, f)),
            );
        }
        const ms = performance.now() - t0;
        fs.rmSync(dest, { recursive: true, force: true });
        return ms;
    };
    return { copyMs: await once(false), copySyncMs: await once(true) };
}

/** An nginx on 127.0.0.1 that stores PUTs under `inbox` and serves files under `root`. */
export interface LoopbackServer {
    readonly url: string;
    /** CA file to verify it by (https). */
    readonly caFile?: string;
    readonly inbox: string;
    readonly root: string;
    readonly proc: Proc;
    /** Stops nginx and deletes its directory (config, inbox, logs). */
    stop(): Promise<void>;
}

/** Starts nginx over `root` (GET /files/...) with an upload inbox (PUT /in/...); https with the given certificate. */
export async function startLoopback(scheme: "https" | "http", root: string, tls?: { cert: string; key: string; ca: string }): Promise<LoopbackServer> {
    const dir = workDir(`loop-${scheme}`);
    const inbox = path.join(dir, "in");
    const tmp = path.join(dir, "tmp");
    fs.mkdirSync(inbox);
    fs.mkdirSync(tmp);
    // nginx workers drop to an unprivileged user when started as root; they store PUTs here.
    fs.chmodSync(inbox, 0o777);
    const port = await freePort();
    // nginx's own syntax; every value comes from the bench. Two workers: the machine's cores.
    const conf = [
        `worker_processes 2; pid ${dir}/nginx.pid; error_log ${dir}/error.log warn; daemon off;`,
        "events { worker_connections 256; }",
        "http {",
        `  access_log off; client_body_temp_path ${tmp}/body; proxy_temp_path ${tmp}/p; fastcgi_temp_path ${tmp}/f; uwsgi_temp_path ${tmp}/u; scgi_temp_path ${tmp}/s;`,
        "  sendfile on; client_max_body_size 0; client_body_buffer_size 1m;",
        "  server {",
        `    listen 127.0.0.1:${port}${tls === undefined ? "" : ` ssl; ssl_certificate ${tls.cert}; ssl_certificate_key ${tls.key}`};`,
        `    location /in/ { alias ${inbox}/; dav_methods PUT; }`,
        `    location /files/ { alias ${root}/; }`,
        "  }",
        "}",
    ].join("\n");
    fs.writeFileSync(path.join(dir, "nginx.conf"), conf);
    const proc = startProc(`loopback-${scheme}`, "nginx", ["-e", path.join(dir, "error.log"), "-c", path.join(dir, "nginx.conf")], {
        env: { PATH: process.env.PATH ?? "/usr/sbin:/usr/bin:/bin" },
        logFile: path.join(dir, "stdout.log"),
    });
    const ca = tls === undefined ? undefined : fs.readFileSync(tls.ca, "utf8");
    await waitFor(`loopback nginx ${scheme}`, async () => (await request(`${scheme}://127.0.0.1:${port}/`, { ca })).status > 0, 15000, 100, proc);
    const stop = async () => {
        await proc.stop();
        fs.rmSync(dir, { recursive: true, force: true });
    };
    return { url: `${scheme}://127.0.0.1:${port}`, caFile: tls?.ca, inbox, root, proc, stop };
}

function curlArgs(server: LoopbackServer): string[] {
    return [
        "--silent",
        "--show-error",
        "--fail",
        "--parallel",
        "--parallel-immediate",
        "--parallel-max",
        "16",
        ...(server.caFile === undefined ? [] : ["--cacert", server.caFile]),
    ];
}

/** Milliseconds to upload every blob of `image` at once; checks the bytes arrived. */
export async function timeUpload(server: LoopbackServer, image: OciImage): Promise<number> {
    const blobs = blobFiles(image);
    const args = curlArgs(server);
    blobs.forEach((rel, i) => args.push("-T", path.join(image.dir, rel), `${server.url}/in/${i}`));
    const t0 = performance.now();
    await run("curl", args);
    const ms = performance.now() - t0;
    const got = sizeOf(server.inbox);
    const want = blobs.reduce((a, f) => a + fs.statSync(path.join(image.dir, f)).size, 0);
    for (const f of fs.readdirSync(server.inbox)) {
        fs.rmSync(path.join(server.inbox, f));
    }
    if (got !== want) {
        throw new Error(`loopback upload stored ${got} bytes, expected ${want}`);
    }
    return ms;
}

/**
 * Milliseconds to download every blob of `image` (served from its layout under the server's
 * root) at once, into files under `parentDir` (where the bench's pulls land too).
 */
export async function timeDownload(server: LoopbackServer, image: OciImage, parentDir: string): Promise<number> {
    const blobs = blobFiles(image);
    const dest = workDir("dl", parentDir);
    const prefix = path.relative(server.root, image.dir);
    const args = curlArgs(server);
    blobs.forEach((rel, i) => args.push("-o", path.join(dest, String(i)), `${server.url}/files/${prefix}/${rel}`));
    const t0 = performance.now();
    await run("curl", args);
    const ms = performance.now() - t0;
    const got = sizeOf(dest);
    fs.rmSync(dest, { recursive: true, force: true });
    const want = blobs.reduce((a, f) => a + fs.statSync(path.join(image.dir, f)).size, 0);
    if (got !== want) {
        throw new Error(`loopback download got ${got} bytes, expected ${want}`);
    }
    return ms;
}
