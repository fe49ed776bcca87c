// The node trust DaemonSet's script, run for real: busybox sh with busybox's applets (as in its
// image), as root with every capability dropped and no new privileges (as its securityContext),
// against temporary directories standing in for the node's /etc/containerd/certs.d and
// /etc/docker/certs.d, fed the ConfigMap the program declares.
import * as assert from "assert";
import { ChildProcess, execFileSync, spawn, spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import * as TOML from "smol-toml";

import { requireCapability } from "./support/capability";
import { makePki } from "./support/pki";
import { ofType, ProgramRun, runProgram } from "./support/program";
import { scratchDir } from "./support/scratch";

const BUSYBOX = "/usr/bin/busybox";
// util-linux setpriv (busybox has its own, with other options).
const SETPRIV = "/usr/bin/setpriv";
const isRoot = process.getuid?.() === 0;

interface Node {
    readonly dir: string;
    readonly src: string;
    readonly containerd: string;
    readonly docker: string;
    readonly bin: string;
}

/** A fresh stand-in for a node, with the ConfigMap's files in `src` (as the kubelet mounts them). */
function node(files: Record<string, string>): Node {
    const dir = scratchDir("node-trust");
    const n = {
        dir,
        src: path.join(dir, "src"),
        containerd: path.join(dir, "host", "containerd", "certs.d"),
        docker: path.join(dir, "host", "docker", "certs.d"),
        bin: path.join(dir, "bin"),
    };
    fs.mkdirSync(n.src);
    fs.mkdirSync(n.bin);
    // The image has busybox's applets and nothing else.
    for (const applet of execFileSync(BUSYBOX, ["--list"], { encoding: "utf8" }).split("\n").filter(Boolean)) {
        fs.symlinkSync(BUSYBOX, path.join(n.bin, applet));
    }
    writeSource(n, files);
    return n;
}

function writeSource(n: Node, files: Record<string, string>): void {
    for (const f of fs.readdirSync(n.src)) {
        fs.rmSync(path.join(n.src, f));
    }
    for (const [k, v] of Object.entries(files)) {
        fs.writeFileSync(path.join(n.src, k), v, { mode: 0o444 });
    }
}

/** The command and args that run the script as the DaemonSet's container does. */
function command(n: Node, script = path.join(n.src, "node-trust.sh")): [string, string[]] {
    const sh = [BUSYBOX, "sh", script];
    return isRoot
        ? [SETPRIV, ["--reuid=0", "--regid=0", "--clear-groups", "--no-new-privs", "--inh-caps=-all", "--bounding-set=-all", "--", ...sh]]
        : [sh[0], sh.slice(1)];
}

function env(n: Node, extra: Record<string, string> = {}): Record<string, string> {
    return { PATH: n.bin, SOURCE_DIR: n.src, CONTAINERD_CERTS_DIR: n.containerd, DOCKER_CERTS_DIR: n.docker, OWNER: "registry/registry", ...extra };
}

/** One sync (ONCE=1); returns stdout. */
function syncOnce(n: Node, extra: Record<string, string> = {}): string {
    const [cmd, args] = command(n);
    const r = spawnSync(cmd, args, { env: env(n, { ONCE: "1", ...extra }), encoding: "utf8", timeout: 60000 });
    assert.strictEqual(r.status, 0, `node-trust.sh failed: ${r.stdout}${r.stderr}`);
    return r.stdout;
}

const read = (f: string) => fs.readFileSync(f, "utf8");

/** The node trust ConfigMap's data from a program run. */
function trustFiles(run: ProgramRun): Record<string, string> {
    const cms = ofType(run, "kubernetes:core/v1:ConfigMap").filter((c) => c.name.endsWith("-node-trust"));
    assert.strictEqual(cms.length, 1);
    return cms[0].inputs.data as Record<string, string>;
}

describe("node trust script (busybox sh, no capabilities, a temporary host)", () => {
    let files: Record<string, string>;
    let hosts: string[];
    before(async () => {
        const run = await runProgram({ hostnames: ["registry.example.com"], servicePort: 5443 });
        assert.strictEqual(run.error, undefined, String(run.error));
        files = trustFiles(run);
        hosts = files.hosts.split("\n").filter(Boolean);
    });

    it("runs with no effective capabilities and no new privileges (the DaemonSet's securityContext)", function () {
        requireCapability(this, "root", isRoot, "the script runs as root with every capability dropped, as in its DaemonSet");
        const n = node(files);
        const [cmd, args] = command(n);
        // The same command line, with the script replaced by a look at the process's status.
        const r = spawnSync(cmd, [...args.slice(0, -1), "-c", "grep -E '^(CapEff|CapBnd|NoNewPrivs|Uid)' /proc/self/status"], {
            env: env(n),
            encoding: "utf8",
        });
        assert.match(r.stdout, /^CapEff:\s+0+$/m);
        assert.match(r.stdout, /^CapBnd:\s+0+$/m);
        assert.match(r.stdout, /^NoNewPrivs:\s+1$/m);
        assert.match(r.stdout, /^Uid:\s+0\s/m);
    });

    it("installs ca.crt and a parseable hosts.toml for containerd, and ca.crt for Docker, for every host", () => {
        assert.deepStrictEqual(hosts, [
            "registry.example.com:5443",
            "registry:5443",
            "registry.registry:5443",
            "registry.registry.svc:5443",
            "registry.registry.svc.cluster.local:5443",
            "203.0.113.10:5443",
        ]);
        const n = node(files);
        const out = syncOnce(n);
        for (const h of hosts) {
            assert.strictEqual(read(path.join(n.containerd, h, "ca.crt")), files["ca.crt"], h);
            assert.strictEqual(read(path.join(n.docker, h, "ca.crt")), files["ca.crt"], h);
            assert.deepStrictEqual(TOML.parse(read(path.join(n.containerd, h, "hosts.toml"))), {
                server: `https://${h}`,
                ca: `/etc/containerd/certs.d/${h}/ca.crt`,
                capabilities: ["pull", "resolve"],
            });
            assert.strictEqual(fs.statSync(path.join(n.containerd, h, "ca.crt")).mode & 0o777, 0o644);
            assert.ok(!fs.existsSync(path.join(n.docker, h, "hosts.toml")), "Docker has no hosts.toml");
        }
        assert.match(out, /updated .*registry\.example\.com:5443\/hosts\.toml/);
        assert.match(files["ca.crt"], /^-----BEGIN CERTIFICATE-----/);
    });

    it("changes nothing when nothing changed", () => {
        const n = node(files);
        syncOnce(n);
        const file = path.join(n.containerd, hosts[0], "ca.crt");
        const before = fs.statSync(file).ino;
        assert.strictEqual(syncOnce(n), "");
        assert.strictEqual(fs.statSync(file).ino, before);
    });

    it("re-syncs a rotated CA and puts back a file removed on the node", async () => {
        const n = node(files);
        syncOnce(n);
        const rotated = (await makePki(["registry.example.com"])).caPem;
        writeSource(n, { ...files, "ca.crt": rotated });
        fs.rmSync(path.join(n.containerd, hosts[1], "hosts.toml"));
        const out = syncOnce(n);
        for (const h of hosts) {
            assert.strictEqual(read(path.join(n.containerd, h, "ca.crt")), rotated, h);
            assert.strictEqual(read(path.join(n.docker, h, "ca.crt")), rotated, h);
        }
        assert.ok(fs.existsSync(path.join(n.containerd, hosts[1], "hosts.toml")));
        assert.strictEqual(out.split("\n").filter((l) => l.includes("updated")).length, 2 * hosts.length + 1);
    });

    /** Starts the script's loop; resolves with the child and a promise of its exit code. */
    function startLoop(n: Node, interval: string): { child: ChildProcess; exited: Promise<number | null> } {
        const [cmd, args] = command(n);
        const child = spawn(cmd, args, { env: env(n, { INTERVAL: interval }), stdio: "ignore" });
        return { child, exited: new Promise((resolve) => child.on("exit", (code) => resolve(code))) };
    }

    /** Waits (generously: the machine may be loaded) until `file` holds `want`. */
    async function waitForContent(file: string, want: string): Promise<void> {
        const deadline = Date.now() + 60000;
        while (!(fs.existsSync(file) && read(file) === want) && Date.now() < deadline) {
            await new Promise((r) => setTimeout(r, 100));
        }
        assert.strictEqual(read(file), want);
    }

    it("in its loop, picks up a CA rotated in the mounted ConfigMap", async () => {
        const n = node(files);
        const { child, exited } = startLoop(n, "1");
        try {
            const target = path.join(n.containerd, hosts[0], "ca.crt");
            await waitForContent(target, files["ca.crt"]);
            const rotated = (await makePki(["x"])).caPem;
            writeSource(n, { ...files, "ca.crt": rotated });
            await waitForContent(target, rotated);
        } finally {
            child.kill("SIGTERM");
            await exited;
        }
    });

    it("stops on SIGTERM without waiting out its interval", async () => {
        const n = node(files);
        const { child, exited } = startLoop(n, "300");
        await waitForContent(path.join(n.containerd, hosts[0], "ca.crt"), files["ca.crt"]);
        const t0 = Date.now();
        child.kill("SIGTERM");
        assert.strictEqual(await exited, 0);
        assert.ok(Date.now() - t0 < 30000, `took ${Date.now() - t0} ms; the interval is 300 s`);
    });

    it("removes its own directories for hosts that left the list, and never touches an administrator's", () => {
        const n = node(files);
        // An administrator's existing configuration for one of the names, and an unrelated one.
        const admin = path.join(n.containerd, hosts[2]);
        fs.mkdirSync(admin, { recursive: true });
        fs.writeFileSync(path.join(admin, "hosts.toml"), 'server = "https://mirror.internal"\n');
        const other = path.join(n.containerd, "docker.io");
        fs.mkdirSync(other, { recursive: true });
        fs.writeFileSync(path.join(other, "hosts.toml"), 'server = "https://registry-1.docker.io"\n');
        const out = syncOnce(n);
        assert.match(out, /skipping .*registry\.registry:5443: it holds files this DaemonSet did not write/);
        assert.strictEqual(read(path.join(admin, "hosts.toml")), 'server = "https://mirror.internal"\n');
        assert.ok(!fs.existsSync(path.join(admin, "ca.crt")));

        // The last host leaves the list (the hosts.toml files are indexed by line, so keep order).
        writeSource(n, {
            ...files,
            hosts: hosts
                .slice(0, -1)
                .map((h) => `${h}\n`)
                .join(""),
        });
        const out2 = syncOnce(n);
        const gone = hosts[hosts.length - 1];
        assert.ok(!fs.existsSync(path.join(n.containerd, gone)), `${gone} should be removed`);
        assert.ok(!fs.existsSync(path.join(n.docker, gone)));
        assert.match(out2, new RegExp(`removed .*${gone.replace(/\./g, "\\.")}`));
        assert.ok(fs.existsSync(path.join(n.containerd, hosts[0], "ca.crt")));
        assert.strictEqual(read(path.join(other, "hosts.toml")), 'server = "https://registry-1.docker.io"\n');
        assert.strictEqual(read(path.join(admin, "hosts.toml")), 'server = "https://mirror.internal"\n');
    });

    it("without capabilities, cannot write a host directory root does not own (the check above is real)", function () {
        requireCapability(this, "root", isRoot, "the script runs as root with every capability dropped, as in its DaemonSet");
        const n = node(files);
        fs.mkdirSync(n.containerd, { recursive: true });
        fs.mkdirSync(n.docker, { recursive: true });
        fs.chownSync(n.containerd, 4321, 4321);
        fs.chmodSync(n.containerd, 0o755);
        const [cmd, args] = command(n);
        const r = spawnSync(cmd, args, { env: env(n, { ONCE: "1" }), encoding: "utf8" });
        assert.notStrictEqual(r.status, 0);
        assert.match(r.stderr, /Permission denied/);
    });
});
