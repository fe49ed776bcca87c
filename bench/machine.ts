// What the bench ran on, and how busy the machine was (other work on the shared cores skews
// every figure, so the load goes into the results).
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";

export interface MachineInfo {
    readonly cpuModel: string;
    readonly cores: number;
    readonly memoryGiB: number;
    readonly kernel: string;
    readonly os: string;
    readonly node: string;
    /** Filesystem type of the bench's work directory (what "same disk" means). */
    readonly workFs: string;
    /** Filesystem type where pulls and downloads land (bench/machine.ts clientDir). */
    readonly clientFs?: string;
    readonly tools: Readonly<Record<string, string>>;
}

/** First line a command prints (stdout, else stderr: `nginx -v` writes there), or "not found". */
function firstLine(cmd: string, args: string[]): string {
    const r = spawnSync(cmd, args, { encoding: "utf8" });
    if (r.error !== undefined) {
        return "not found";
    }
    return (r.stdout.trim() === "" ? r.stderr : r.stdout).split("\n")[0].trim();
}

function osRelease(): string {
    try {
        return /^PRETTY_NAME="?([^"\n]*)"?$/m.exec(fs.readFileSync("/etc/os-release", "utf8"))?.[1] ?? os.type();
    } catch {
        return os.type();
    }
}

export function machineInfo(workDir: string, binaries: Readonly<Record<string, string>>): MachineInfo {
    fs.mkdirSync(workDir, { recursive: true });
    const tools: Record<string, string> = {
        skopeo: firstLine("skopeo", ["--version"]),
        nginx: firstLine("nginx", ["-v"]),
        openssl: firstLine("openssl", ["version"]),
    };
    for (const [name, bin] of Object.entries(binaries)) {
        tools[name] = firstLine(bin, ["--version"]).replace(`${bin} `, "");
    }
    return {
        cpuModel: os.cpus()[0]?.model ?? "unknown",
        cores: os.cpus().length,
        memoryGiB: Math.round((os.totalmem() / 1024 ** 3) * 10) / 10,
        kernel: os.release(),
        os: osRelease(),
        node: process.version,
        workFs: firstLine("stat", ["-f", "-c", "%T", workDir]),
        tools,
    };
}

/**
 * Where the bench's clients put what they pull and download, and where big images are staged:
 * a RAM disk (/dev/shm) when it has room (`needBytes`), so the client's own disk writes do not
 * weigh on the registry's figures; else under `workDir`. The caller removes it.
 */
export function clientDir(workDir: string, needBytes: number): { dir: string; fs: string } {
    const shm = "/dev/shm";
    try {
        const st = fs.statfsSync(shm);
        fs.accessSync(shm, fs.constants.W_OK);
        // tmpfs is RAM: it must fit in the free memory too, with room to spare.
        if (st.bavail * st.bsize >= needBytes && os.freemem() >= 2 * needBytes) {
            const dir = fs.mkdtempSync(path.join(shm, "registry-bench-"));
            fs.chmodSync(dir, 0o755);
            return { dir, fs: firstLine("stat", ["-f", "-c", "%T", dir]) };
        }
    } catch {
        // No usable RAM disk: the work directory's disk.
    }
    fs.mkdirSync(workDir, { recursive: true });
    const dir = fs.mkdtempSync(path.join(workDir, "client-"));
    return { dir, fs: firstLine("stat", ["-f", "-c", "%T", dir]) };
}

/** The 1-minute load average now. */
export function load1(): number {
    return os.loadavg()[0];
}

/** Samples the 1-minute load average while something runs; max and mean over the samples. */
export class LoadSampler {
    private readonly samples: number[] = [];
    private readonly timer: NodeJS.Timeout;

    constructor(intervalMs = 1000) {
        this.samples.push(load1());
        this.timer = setInterval(() => this.samples.push(load1()), intervalMs);
        this.timer.unref();
    }

    stop(): { max: number; mean: number; samples: number } {
        clearInterval(this.timer);
        this.samples.push(load1());
        return { max: Math.max(...this.samples), mean: this.samples.reduce((a, b) => a + b, 0) / this.samples.length, samples: this.samples.length };
    }
}

/** Resident set size of a process in bytes (VmRSS), 0 when it is gone. */
export function rssBytes(pid: number): number {
    try {
        const m = /^VmRSS:\s+(\d+) kB$/m.exec(fs.readFileSync(`/proc/${pid}/status`, "utf8"));
        return m === null ? 0 : Number(m[1]) * 1024;
    } catch {
        return 0;
    }
}

/** Parent PID of every process now, from /proc/<pid>/stat (the field after the command's closing parenthesis). */
function parentPids(): Map<number, number> {
    const parents = new Map<number, number>();
    for (const entry of fs.readdirSync("/proc")) {
        if (!/^\d+$/.test(entry)) {
            continue;
        }
        try {
            const stat = fs.readFileSync(`/proc/${entry}/stat`, "utf8");
            const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
            parents.set(Number(entry), ppid);
        } catch {
            // Gone between the listing and the read.
        }
    }
    return parents;
}

/** `pid` and all its descendants: what a container's memory limit covers (nginx's master and its workers). */
export function processTree(pid: number, parents: ReadonlyMap<number, number> = parentPids()): number[] {
    const tree = [pid];
    for (let i = 0; i < tree.length; i++) {
        for (const [child, parent] of parents) {
            if (parent === tree[i]) {
                tree.push(child);
            }
        }
    }
    return tree;
}

/** The main PIDs of a pod's containers under test, by container: each counted with its descendants. */
export type ContainerPids = Readonly<Record<string, readonly number[]>>;

/** Peak RSS, bytes: of everything together, and of the largest single process tree of each container name. */
export interface PeakRss {
    readonly total: number;
    readonly byContainer: Readonly<Record<string, number>>;
}

/**
 * Samples the RSS of some containers' process trees; `stop()` gives the peak of their sum and,
 * per container name, of the largest single instance (one replica's: a memory limit is per
 * container instance).
 */
export class RssSampler {
    private total = 0;
    private readonly byContainer: Record<string, number> = {};
    private readonly timer: NodeJS.Timeout;

    constructor(
        private readonly containers: () => ContainerPids,
        intervalMs = 100,
    ) {
        this.sample();
        this.timer = setInterval(() => this.sample(), intervalMs);
        this.timer.unref();
    }

    private sample(): void {
        const parents = parentPids();
        let sum = 0;
        for (const [name, pids] of Object.entries(this.containers())) {
            for (const pid of pids) {
                const rss = processTree(pid, parents).reduce((a, p) => a + rssBytes(p), 0);
                sum += rss;
                this.byContainer[name] = Math.max(this.byContainer[name] ?? 0, rss);
            }
        }
        this.total = Math.max(this.total, sum);
    }

    stop(): PeakRss {
        clearInterval(this.timer);
        this.sample();
        return { total: this.total, byContainer: { ...this.byContainer } };
    }
}
