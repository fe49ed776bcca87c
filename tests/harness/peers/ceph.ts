// A single-node Ceph cluster on 127.0.0.1 for end-to-end tests: one monitor, one OSD on
// memstore (RAM, no disk), one radosgw; no manager (RGW does not need one). Comes up in about
// 15 s with about 150 MiB of memory. Every daemon runs in the foreground as a child process
// (stopped by PID), on ports picked free at start, in a work directory of its own.
//
// Traps (see /work/shared/reference/ceph and the README's Ceph section):
// - `auth ... = none` needs `ms mon client mode = crc`, or radosgw waits 300 s on the monitor;
// - `osd max object name len` must stay at its default: Swift segment names are long;
// - memstore loses everything when the OSD restarts, so the OSD is never restarted here.
import { execFile } from "child_process";
import * as crypto from "crypto";
import * as fs from "fs";
import * as path from "path";

import { request } from "../http";
import { freePort, Proc, startProc, waitFor, workDir } from "../procs";

export interface CephOptions {
    /** Memory the memstore OSD may use, in bytes. Default 2 GiB (a cap, not an allocation). */
    readonly memstoreBytes?: number;
    /** Admin user capabilities. Default `users=*;buckets=*` (Admin Ops on users and buckets). */
    readonly adminCaps?: string;
    /** Give up when the cluster is not answering after this long. Default 90 s. */
    readonly timeoutMs?: number;
}

/** A running single-node Ceph with radosgw. */
export interface CephPeer {
    /** `http://127.0.0.1:<port>`: S3, Swift (`/auth/1.0`, `/swift/v1`) and Admin Ops (`/admin`). */
    readonly rgwUrl: string;
    /** S3 keys of the admin user (caps from `adminCaps`), for Admin Ops. */
    readonly adminAccessKey: string;
    readonly adminSecretKey: string;
    /** The ceph.conf, for `radosgw-admin -c`/`ceph -c` in tests. */
    readonly confFile: string;
    /** Runs `radosgw-admin` against this cluster; resolves with stdout. */
    radosgwAdmin(args: string[]): Promise<string>;
    /** Stops every daemon (by PID) and removes the work directory. */
    stop(): Promise<void>;
}

const BINARIES = ["ceph-mon", "ceph-osd", "radosgw", "radosgw-admin", "monmaptool", "ceph"];

/** Whether the Ceph daemons are installed (tests/harness/debs/ceph.txt). */
export function cephInstalled(): boolean {
    return BINARIES.every((b) => fs.existsSync(`/usr/bin/${b}`));
}

function run(cmd: string, args: string[], env: Record<string, string>, timeoutMs = 60000): Promise<string> {
    return new Promise((resolve, reject) => {
        execFile(cmd, args, { env, timeout: timeoutMs, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
            if (err !== null) {
                reject(new Error(`${cmd} ${args.join(" ")} failed: ${err.message}\n${stderr}`));
            } else {
                resolve(stdout);
            }
        });
    });
}

/** The ceph.conf of a one-node cluster rooted at `dir`. */
export function cephConf(dir: string, fsid: string, monV2: number, monV1: number, rgwPort: number, memstoreBytes: number): string {
    const global: Record<string, string | number | boolean> = {
        fsid,
        "mon host": `[v2:127.0.0.1:${monV2},v1:127.0.0.1:${monV1}]`,
        "mon initial members": "a",
        "public addr": "127.0.0.1",
        "cluster addr": "127.0.0.1",
        "public network": "127.0.0.1/32",
        "ms bind ipv6": false,
        // With cephx off the monitor must accept crc-mode clients, or radosgw hangs 300 s.
        "ms mon client mode": "crc",
        "auth cluster required": "none",
        "auth service required": "none",
        "auth client required": "none",
        "auth allow insecure global id reclaim": false,
        "run dir": `${dir}/run`,
        "log file": `${dir}/log/$name.log`,
        "admin socket": `${dir}/run/$name.asok`,
        "pid file": `${dir}/run/$name.pid`,
        keyring: "/dev/null",
        "mon data": `${dir}/data/mon/$cluster-$id`,
        "osd data": `${dir}/data/osd/$cluster-$id`,
        "osd objectstore": "memstore",
        "memstore device bytes": memstoreBytes,
        "osd pool default size": 1,
        "osd pool default min size": 1,
        "osd pool default pg num": 8,
        "osd pool default pgp num": 8,
        "osd pool default pg autoscale mode": "off",
        "osd crush chooseleaf type": 0,
        "mon allow pool size one": true,
        "mon allow pool delete": true,
        "mon warn on pool no redundancy": false,
        "mon max pg per osd": 1000,
    };
    const rgw: Record<string, string | number> = {
        "rgw frontends": `beast endpoint=127.0.0.1:${rgwPort}`,
        "rgw data": `${dir}/data/rgw/$cluster-$id`,
        "rgw thread pool size": 64,
    };
    const section = (name: string, kv: Record<string, string | number | boolean>) =>
        [`[${name}]`, ...Object.entries(kv).map(([k, v]) => `${k} = ${String(v)}`)].join("\n");
    return `${section("global", global)}\n\n${section("client.rgw.a", rgw)}\n`;
}

/** Starts a single-node Ceph with radosgw and an admin user; resolves when RGW answers. */
export async function startCeph(opts: CephOptions = {}): Promise<CephPeer> {
    const timeoutMs = opts.timeoutMs ?? 90000;
    const dir = workDir("ceph");
    for (const d of ["run", "log", "data/mon/ceph-a", "data/rgw/ceph-rgw.a"]) {
        fs.mkdirSync(path.join(dir, d), { recursive: true });
    }
    const [monV2, monV1, rgwPort] = [await freePort(), await freePort(), await freePort()];
    const fsid = crypto.randomUUID();
    const conf = path.join(dir, "ceph.conf");
    fs.writeFileSync(conf, cephConf(dir, fsid, monV2, monV1, rgwPort, opts.memstoreBytes ?? 2 * 1024 * 1024 * 1024));
    const env = { PATH: "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", CEPH_CONF: conf, HOME: dir };
    const procs: Proc[] = [];
    const daemon = (name: string, cmd: string, args: string[]) => {
        const p = startProc(`ceph ${name}`, cmd, ["-c", conf, "-f", ...args], { env, logFile: path.join(dir, "log", `${name}.out`) });
        procs.push(p);
        return p;
    };
    const stop = async () => {
        // Reverse order: the gateway, then the OSD, then the monitor.
        for (const p of [...procs].reverse()) {
            await p.stop(10000);
        }
        fs.rmSync(dir, { recursive: true, force: true });
    };
    try {
        const monmap = path.join(dir, "monmap");
        await run("monmaptool", ["--clobber", "--create", "--fsid", fsid, "--addv", "a", `[v2:127.0.0.1:${monV2},v1:127.0.0.1:${monV1}]`, monmap], env);
        await run("ceph-mon", ["-c", conf, "--mkfs", "-i", "a", "--monmap", monmap], env);
        const mon = daemon("mon.a", "ceph-mon", ["-i", "a"]);
        const ceph = (args: string[]) => run("ceph", ["-c", conf, "--connect-timeout", "30", ...args], env);
        const osdUuid = crypto.randomUUID();
        const osdId = (await ceph(["osd", "new", osdUuid])).trim();
        fs.mkdirSync(path.join(dir, "data", "osd", `ceph-${osdId}`), { recursive: true });
        await run("ceph-osd", ["-c", conf, "-i", osdId, "--mkfs", "--osd-uuid", osdUuid], env);
        const osd = daemon(`osd.${osdId}`, "ceph-osd", ["-i", osdId]);
        await waitFor("the OSD to be up", async () => /1 up/.test(await ceph(["osd", "stat"])), timeoutMs, 500, osd);
        if (!mon.running) {
            throw new Error(`ceph-mon exited:\n${mon.log()}`);
        }
        const rgw = daemon("client.rgw.a", "radosgw", ["-n", "client.rgw.a"]);
        const rgwUrl = `http://127.0.0.1:${rgwPort}`;
        await waitFor(`radosgw at ${rgwUrl}`, async () => (await request(`${rgwUrl}/`, { timeoutMs: 2000 })).status === 200, timeoutMs, 250, rgw);
        const adminAccessKey = `ADMIN${crypto.randomBytes(8).toString("hex").toUpperCase()}`;
        const adminSecretKey = crypto.randomBytes(24).toString("base64url");
        const radosgwAdmin = (args: string[]) => run("radosgw-admin", ["-c", conf, "-n", "client.admin", ...args], env);
        await radosgwAdmin([
            "user",
            "create",
            "--uid=admin",
            "--display-name=admin",
            `--access-key=${adminAccessKey}`,
            `--secret-key=${adminSecretKey}`,
            `--caps=${opts.adminCaps ?? "users=*;buckets=*"}`,
        ]);
        return { rgwUrl, adminAccessKey, adminSecretKey, confFile: conf, radosgwAdmin, stop };
    } catch (e) {
        await stop().catch(() => undefined);
        throw e;
    }
}
