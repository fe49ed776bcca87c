// Processes and ports for end-to-end tests: every server binds 127.0.0.1 on a free port, is
// waited for with bounded retries, and is stopped by PID (its whole process group).
import { ChildProcess, execFile, spawn } from "child_process";
import * as fs from "fs";
import * as net from "net";
import * as path from "path";

import { ROOT } from "../support/program";

/** Where e2e tests keep their temporary roots, logs and data. */
export const WORK_DIR = process.env.REGISTRY_E2E_WORK ?? path.join(ROOT, ".e2e");

/** Where `scripts/install-test-deps.sh` caches Go-built peers. */
export const CACHE_BIN = path.join(process.env.REGISTRY_E2E_CACHE ?? path.join(process.env.HOME ?? "/root", ".cache", "registry-e2e"), "bin");

/** A free TCP port on 127.0.0.1 (the OS picks it; we release it right away). */
export function freePort(): Promise<number> {
    return new Promise((resolve, reject) => {
        const srv = net.createServer();
        srv.unref();
        srv.on("error", reject);
        srv.listen(0, "127.0.0.1", () => {
            const addr = srv.address();
            srv.close(() => (typeof addr === "object" && addr !== null ? resolve(addr.port) : reject(new Error("no port"))));
        });
    });
}

/** A fresh directory under `parent` (WORK_DIR unless given). */
export function workDir(prefix: string, parent: string = WORK_DIR): string {
    fs.mkdirSync(parent, { recursive: true });
    const dir = fs.mkdtempSync(path.join(parent, `${prefix}-`));
    // mkdtemp makes 0700; registry processes run as the pod's (non-root) user and must traverse it.
    fs.chmodSync(dir, 0o755);
    return dir;
}

/** A process started by a test, its log file and how to stop it. */
export class Proc {
    private exited = false;
    readonly exit: Promise<number | null>;

    constructor(
        readonly name: string,
        readonly child: ChildProcess,
        readonly logFile: string,
    ) {
        this.exit = new Promise((resolve) => {
            child.on("exit", (code) => {
                this.exited = true;
                resolve(code);
            });
        });
    }

    get pid(): number {
        return this.child.pid ?? -1;
    }

    get running(): boolean {
        return !this.exited;
    }

    /** The tail of the log, for assertion messages. */
    log(lines = 40): string {
        try {
            return fs.readFileSync(this.logFile, "utf8").split("\n").slice(-lines).join("\n");
        } catch {
            return "";
        }
    }

    /** Sends a signal to the process group. */
    signal(sig: NodeJS.Signals): void {
        if (!this.exited) {
            try {
                process.kill(-this.pid, sig);
            } catch {
                // already gone
            }
        }
    }

    /** `signal` (SIGTERM, or an image's STOPSIGNAL), then SIGKILL after `graceMs`; resolves when the process has exited. */
    async stop(graceMs = 5000, signal: NodeJS.Signals = "SIGTERM"): Promise<void> {
        if (this.exited) {
            return;
        }
        this.signal(signal);
        const timer = setTimeout(() => this.signal("SIGKILL"), graceMs);
        await this.exit;
        clearTimeout(timer);
    }

    /** `kill -9`, no grace. */
    async kill(): Promise<void> {
        this.signal("SIGKILL");
        await this.exit;
    }
}

const running = new Set<Proc>();

/** Starts a process in its own process group, output to `logFile`, with exactly `env`. */
export function startProc(name: string, cmd: string, args: string[], opts: { env: Record<string, string>; logFile: string; cwd?: string }): Proc {
    const out = fs.openSync(opts.logFile, "a");
    const child = spawn(cmd, args, { env: opts.env, cwd: opts.cwd, detached: true, stdio: ["ignore", out, out] });
    fs.closeSync(out);
    const p = new Proc(name, child, opts.logFile);
    running.add(p);
    void p.exit.then(() => running.delete(p));
    return p;
}

/** Stops every process the tests started and that is still running. */
export async function stopAll(): Promise<void> {
    await Promise.all([...running].map((p) => p.stop()));
}

// A test run that dies leaves no servers behind.
process.on("exit", () => {
    for (const p of running) {
        p.signal("SIGKILL");
    }
});

/** Polls `check` until it returns true, every `intervalMs`, for at most `timeoutMs`. */
export async function waitFor(what: string, check: () => Promise<boolean>, timeoutMs = 20000, intervalMs = 100, proc?: Proc): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
        if (proc !== undefined && !proc.running) {
            throw new Error(`${proc.name} exited while waiting for ${what}:\n${proc.log()}`);
        }
        try {
            if (await check()) {
                return;
            }
        } catch {
            // not yet
        }
        if (Date.now() > deadline) {
            throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${proc === undefined ? "" : `:\n${proc.log()}`}`);
        }
        await new Promise((r) => setTimeout(r, intervalMs));
    }
}

/** What a command that ran to its end printed, and its exit code (1 when it could not start or was killed). */
export interface CommandResult {
    readonly code: number;
    readonly stdout: string;
    readonly stderr: string;
}

/** Runs a command to its end (killed after `timeoutMs`, default 120 s); never rejects. */
export function runCommand(
    cmd: string,
    args: readonly string[],
    opts: { env?: NodeJS.ProcessEnv; cwd?: string; timeoutMs?: number } = {},
): Promise<CommandResult> {
    return new Promise((resolve) => {
        execFile(cmd, [...args], { env: opts.env, cwd: opts.cwd, timeout: opts.timeoutMs ?? 120_000, maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
            const code = err === null ? 0 : typeof (err as { code?: unknown }).code === "number" ? (err as { code: number }).code : 1;
            resolve({ code, stdout, stderr });
        });
    });
}

/** The listening sockets of a process: TCP ports (IPv4 and IPv6) and unix socket paths, from /proc. */
export function listeners(pid: number): { tcp: number[]; unix: string[] } {
    const inodes = new Set(
        fs
            .readdirSync(`/proc/${pid}/fd`)
            .map((fd) => {
                try {
                    return /^socket:\[(\d+)\]$/.exec(fs.readlinkSync(`/proc/${pid}/fd/${fd}`))?.[1];
                } catch {
                    return undefined;
                }
            })
            .filter((i): i is string => i !== undefined),
    );
    const tcp: number[] = [];
    for (const table of ["tcp", "tcp6"]) {
        for (const line of fs.readFileSync(`/proc/${pid}/net/${table}`, "utf8").split("\n").slice(1)) {
            const f = line.trim().split(/\s+/);
            // local_address is f[1] (hex ip:port), st f[3] (0A = LISTEN), inode f[9].
            if (f.length > 9 && f[3] === "0A" && inodes.has(f[9])) {
                tcp.push(parseInt(f[1].split(":")[1], 16));
            }
        }
    }
    const unix: string[] = [];
    for (const line of fs.readFileSync(`/proc/${pid}/net/unix`, "utf8").split("\n").slice(1)) {
        const f = line.trim().split(/\s+/);
        // Flags f[3] has __SO_ACCEPTCON (0x10000) on listening sockets; inode f[6], path f[7].
        if (f.length > 7 && (parseInt(f[3], 16) & 0x10000) !== 0 && inodes.has(f[6])) {
            unix.push(f[7]);
        }
    }
    return { tcp: tcp.sort((a, b) => a - b), unix };
}
