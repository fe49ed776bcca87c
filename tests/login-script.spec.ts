// scripts/registry-login.sh run for real with a fake `pulumi` (prints stack outputs) and fake
// docker/podman/skopeo (record their argv and stdin) on PATH, in a temporary HOME. Every exec of
// the run is traced with strace to show the password is never a command-line argument or in an
// environment. The real login against a real registry is in tests/e2e/access.spec.ts.
import * as assert from "assert";
import { execFileSync, spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";

import { ROOT } from "./support/program";
import { scratchDir } from "./support/scratch";

const SCRIPT = path.join(ROOT, "scripts", "registry-login.sh");
const CA = "-----BEGIN CERTIFICATE-----\nMIIBfake\n-----END CERTIFICATE-----";
const OUTPUTS = {
    registryHost: "registry.example.com:5443",
    registryUrl: "https://registry.example.com:5443",
    caCertificate: CA,
    username: "admin",
    password: "Adm1nPassw0rdXYZabc",
    passwords: { admin: "Adm1nPassw0rdXYZabc", ci: "C1passwordQRSTuvw99" },
};

interface Sandbox {
    readonly dir: string;
    readonly home: string;
    readonly bin: string;
    readonly rec: string;
}

function sandbox(clients: readonly string[], outputs: object = OUTPUTS): Sandbox {
    const dir = scratchDir("login");
    const home = path.join(dir, "home");
    const bin = path.join(dir, "bin");
    const rec = path.join(dir, "rec");
    const tools = path.join(dir, "tools");
    for (const d of [home, bin, rec, tools]) {
        fs.mkdirSync(d);
    }
    // Only these tools, so a real docker/podman/skopeo on this machine is never found.
    for (const t of ["sh", "bash", "cat", "id", "mkdir", "chmod", "mv", "sed"]) {
        fs.symlinkSync(execFileSync("bash", ["-c", `command -v ${t}`], { encoding: "utf8" }).trim(), path.join(tools, t));
    }
    fs.symlinkSync(process.execPath, path.join(tools, "node"));
    fs.writeFileSync(path.join(dir, "outputs.json"), JSON.stringify(outputs));
    // `pulumi stack output --json --show-secrets [--stack S]`: records argv, prints the outputs.
    fs.writeFileSync(
        path.join(bin, "pulumi"),
        `#!/bin/sh\nprintf '%s\\n' "$@" > ${rec}/pulumi.argv\n[ "$1 $2" = "stack output" ] || exit 9\ncat ${dir}/outputs.json\n`,
        { mode: 0o755 },
    );
    for (const c of clients) {
        fs.writeFileSync(path.join(bin, c), `#!/bin/sh\nprintf '%s\\n' "$@" > ${rec}/${c}.argv\ncat > ${rec}/${c}.stdin\nexit \${FAKE_LOGIN_EXIT:-0}\n`, {
            mode: 0o755,
        });
    }
    return { dir, home, bin, rec };
}

interface Run {
    readonly status: number | null;
    readonly stdout: string;
    readonly stderr: string;
    /** strace's execve lines (argv and environment of every process started), when traced. */
    readonly trace: string;
}

/** Runs the script with only the sandbox's bin, node and the basic tools on PATH. */
function runScript(sb: Sandbox, args: string[], env: Record<string, string> = {}, trace = false): Run {
    const fullEnv = {
        PATH: `${sb.bin}:${path.join(sb.dir, "tools")}`,
        HOME: sb.home,
        DOCKER_SYSTEM_CERTS_D: path.join(sb.dir, "root", "etc", "docker", "certs.d"),
        CONTAINERS_CERTS_D: path.join(sb.dir, "root", "etc", "containers", "certs.d"),
        ...env,
    };
    const traceFile = path.join(sb.dir, "trace.txt");
    const cmd = trace ? strace() : path.join(sb.dir, "tools", "bash");
    const cmdArgs = trace
        ? ["-f", "-qq", "-v", "-s", "65535", "-e", "trace=execve", "-o", traceFile, path.join(sb.dir, "tools", "bash"), SCRIPT, ...args]
        : [SCRIPT, ...args];
    const r = spawnSync(cmd, cmdArgs, { env: fullEnv, encoding: "utf8", timeout: 60000 });
    return { status: r.status, stdout: r.stdout, stderr: r.stderr, trace: trace ? fs.readFileSync(traceFile, "utf8") : "" };
}

/** strace, found on this process's PATH (the script's PATH is the sandbox's); Debian's, from tests/harness/debs/access.txt. */
const strace = (): string => execFileSync("bash", ["-c", "command -v strace || echo /usr/bin/strace"], { encoding: "utf8" }).trim();

const read = (f: string) => fs.readFileSync(f, "utf8");
const lines = (f: string) => read(f).split("\n").filter(Boolean);

describe("scripts/registry-login.sh", () => {
    it("writes the CA for the registry host into the Docker and containers certs.d directories", () => {
        const sb = sandbox(["docker", "skopeo"]);
        const r = runScript(sb, []);
        assert.strictEqual(r.status, 0, r.stderr);
        for (const dir of [
            path.join(sb.home, ".docker", "certs.d"),
            path.join(sb.dir, "root", "etc", "docker", "certs.d"),
            path.join(sb.dir, "root", "etc", "containers", "certs.d"),
        ]) {
            const file = path.join(dir, "registry.example.com:5443", "ca.crt");
            assert.strictEqual(read(file), `${CA}\n`, file);
            assert.strictEqual(fs.statSync(file).mode & 0o777, 0o644);
        }
        assert.deepStrictEqual(lines(path.join(sb.rec, "pulumi.argv")), ["stack", "output", "--json", "--show-secrets"]);
    });

    it("logs every client in with --password-stdin: the password on stdin, never in argv or an environment", () => {
        const sb = sandbox(["docker", "podman", "buildah", "skopeo"]);
        const r = runScript(sb, [], {}, true);
        assert.strictEqual(r.status, 0, r.stderr);
        for (const c of ["docker", "podman", "buildah", "skopeo"]) {
            assert.deepStrictEqual(lines(path.join(sb.rec, `${c}.argv`)), ["login", "--username", "admin", "--password-stdin", "registry.example.com:5443"], c);
            assert.strictEqual(read(path.join(sb.rec, `${c}.stdin`)), OUTPUTS.password, `${c} stdin`);
        }
        const execs = r.trace.split("\n").filter((l) => l.includes("execve("));
        assert.ok(
            execs.some((l) => l.includes(`"${sb.bin}/docker", ["`)),
            "the trace must show the docker exec",
        );
        assert.ok(
            execs.some((l) => l.includes('"login", "--username", "admin", "--password-stdin"')),
            "the trace must show argv",
        );
        assert.ok(execs.length >= 8, `only ${execs.length} execs traced`);
        for (const l of execs) {
            assert.ok(!l.includes(OUTPUTS.password), `the password is in an exec's argv or environment: ${l.slice(0, 200)}`);
        }
        assert.ok(!r.stdout.includes(OUTPUTS.password) && !r.stderr.includes(OUTPUTS.password), "the password was printed");
    });

    it("the argv check can fail: a password passed as an argument shows up in the trace", () => {
        const sb = sandbox([]);
        const traceFile = path.join(sb.dir, "neg.txt");
        const r = spawnSync(strace(), [
            "-f",
            "-qq",
            "-v",
            "-s",
            "65535",
            "-e",
            "trace=execve",
            "-o",
            traceFile,
            "bash",
            "-c",
            `/bin/true -p ${OUTPUTS.password}`,
        ]);
        assert.strictEqual(r.status, 0);
        assert.ok(read(traceFile).includes(OUTPUTS.password));
    });

    it("--user picks that user's password from `passwords`; --stack and --cwd go to pulumi", () => {
        const sb = sandbox(["docker"]);
        const r = runScript(sb, ["--user", "ci", "--stack", "prod", "--cwd", "/srv/infra", "--client", "docker"]);
        assert.strictEqual(r.status, 0, r.stderr);
        assert.deepStrictEqual(lines(path.join(sb.rec, "docker.argv")), ["login", "--username", "ci", "--password-stdin", "registry.example.com:5443"]);
        assert.strictEqual(read(path.join(sb.rec, "docker.stdin")), OUTPUTS.passwords.ci);
        assert.deepStrictEqual(lines(path.join(sb.rec, "pulumi.argv")), [
            "stack",
            "output",
            "--json",
            "--show-secrets",
            "--stack",
            "prod",
            "--cwd",
            "/srv/infra",
        ]);
    });

    it("--client limits the logins to the named clients", () => {
        const sb = sandbox(["docker", "skopeo"]);
        const r = runScript(sb, ["--client", "skopeo"]);
        assert.strictEqual(r.status, 0, r.stderr);
        assert.ok(fs.existsSync(path.join(sb.rec, "skopeo.argv")));
        assert.ok(!fs.existsSync(path.join(sb.rec, "docker.argv")), "docker was not asked for");
    });

    it("a directory variable set to empty is skipped", () => {
        const sb = sandbox(["skopeo"]);
        const r = runScript(sb, [], { DOCKER_SYSTEM_CERTS_D: "" });
        assert.strictEqual(r.status, 0, r.stderr);
        assert.ok(!fs.existsSync(path.join(sb.dir, "root", "etc", "docker")));
        assert.ok(fs.existsSync(path.join(sb.dir, "root", "etc", "containers", "certs.d", "registry.example.com:5443", "ca.crt")));
    });

    it("an unknown --user fails before any login, naming the user", () => {
        const sb = sandbox(["docker"]);
        const r = runScript(sb, ["--user", "mallory"]);
        assert.notStrictEqual(r.status, 0);
        assert.match(r.stderr, /the stack has no password for user mallory/);
        assert.ok(!fs.existsSync(path.join(sb.rec, "docker.argv")));
    });

    it("a failed login fails the script", () => {
        const sb = sandbox(["docker"]);
        const r = runScript(sb, [], { FAKE_LOGIN_EXIT: "1" });
        assert.notStrictEqual(r.status, 0);
        assert.ok(fs.existsSync(path.join(sb.rec, "docker.argv")));
    });

    it("outputs without a registryHost (not this stack) fail with the missing output's name", () => {
        const sb = sandbox(["docker"], { caCertificate: CA });
        const r = runScript(sb, []);
        assert.notStrictEqual(r.status, 0);
        assert.match(r.stderr, /the stack has no output registryHost/);
    });

    it("with no client on PATH, installs the CA and says it did not log in", () => {
        const sb = sandbox([]);
        const r = runScript(sb, []);
        assert.strictEqual(r.status, 0, r.stderr);
        assert.match(r.stderr, /no docker, podman, buildah or skopeo on PATH; CA installed, not logged in/);
        assert.ok(fs.existsSync(path.join(sb.home, ".docker", "certs.d", "registry.example.com:5443", "ca.crt")));
    });
});
