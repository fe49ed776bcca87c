// The project as a user deploys it, through the real Pulumi CLI (tests/engine/tools.json), in a
// directory of its own: a copy of Pulumi.yaml and of the Pulumi.<stack>.yaml files (so the CLI
// validates and merges config exactly as for a user's checkout), a file backend, PULUMI_HOME with
// the kubernetes provider registered, and the stand-in tls/random plugins first on PATH.
//
// `pulumi config`, `pulumi stack` and `pulumi stack output` are the CLI's own commands;
// up/preview/refresh/destroy run the program inline through the Automation API (tests/engine/op.ts).
import { spawn } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";

import { ROOT } from "../support/program";
import { CACHE_BIN, CommandResult, runCommand, workDir as makeWorkDir } from "../harness/procs";
import type { OpRequest, OpResult } from "./op";
import { installStandInProviders } from "./providers";
import { EngineEnv, engineEnv, pulumiCliPath } from "./workspace";

import * as tools from "./tools.json";

/** A CLI run's outcome. */
export type CliResult = CommandResult;

export interface EngineProjectOptions {
    /** kubeconfig the kubernetes provider uses (KUBECONFIG). */
    readonly kubeconfig: string;
    /** Extra environment for the CLI and the program. Default none. */
    readonly env?: Record<string, string>;
}

/** The pinned kubernetes provider build, registered under the version @pulumi/kubernetes asks for. */
function kubernetesProviderBinary(): string {
    return path.join(CACHE_BIN, tools.kubernetesProvider.binary);
}

/**
 * Replaces the link to the pinned CLI at `wrapper` by a script that runs it with `home` mounted
 * on the user's home directory (from the passwd entry, where the CLI looks), in a private mount
 * namespace: state, credentials and logs the CLI keeps under ~ stay in `home`.
 */
function writeCliWrapper(wrapper: string, home: string): void {
    const userHome = os.userInfo().homedir;
    // The binary may live under the user's home (~/.cache), which the mount hides: it is first
    // bound onto a file beside the wrapper.
    const stage = path.join(path.dirname(wrapper), "pulumi-pinned");
    fs.writeFileSync(stage, "");
    fs.rmSync(wrapper, { force: true });
    const q = (s: string): string => `'${s.replace(/'/g, "'\\''")}'`;
    fs.writeFileSync(
        wrapper,
        [
            "#!/bin/sh",
            `# The pinned Pulumi CLI (tests/engine/tools.json) with ${home} as the user's home ${userHome}.`,
            `exec unshare --mount --propagation private -- /bin/sh -c 'mount --bind "$0" "$1" && mount --bind "$2" "$3" && s=$1 && shift 3 && exec "$s" "$@"' \\`,
            `  ${q(pulumiCliPath())} ${q(stage)} ${q(home)} ${q(userHome)} "$@"`,
            "",
        ].join("\n"),
        { mode: 0o755 },
    );
}

/** How an operation runs. */
export interface OpOptions {
    /** preview: fail when there are changes. */
    readonly expectNoChanges?: boolean;
    readonly timeoutMs?: number;
    /** A checkout whose index.ts is the program (an earlier version's, say). Default this repository. */
    readonly root?: string;
}

/** The project in a directory of its own, driven by the real CLI. */
export class EngineProject {
    private constructor(
        /** The project's directory (Pulumi.yaml and the stack files). */
        readonly dir: string,
        readonly env: EngineEnv,
        private readonly extraEnv: Record<string, string>,
        /** The user's HOME, where `pulumi login --local` keeps the state (~/.pulumi). */
        readonly home: string,
    ) {}

    /** The backend the README's `pulumi login` selects, for other clients of the same state (CI). */
    get backendUrl(): string {
        return `file://${this.home}`;
    }

    static async create(opts: EngineProjectOptions): Promise<EngineProject> {
        const root = makeWorkDir("engine");
        const dir = path.join(root, "project");
        fs.mkdirSync(dir);
        for (const f of fs.readdirSync(ROOT).filter((n) => n === "Pulumi.yaml" || /^Pulumi\.[^.]+\.yaml$/.test(n))) {
            fs.copyFileSync(path.join(ROOT, f), path.join(dir, f));
        }
        const plugins = path.join(root, "plugins");
        installStandInProviders(plugins);
        // Dynamic providers (the Ceph resources) run as pulumi-resource-pulumi-nodejs, which ships
        // in @pulumi/pulumi.
        const env = await engineEnv(root, { pathPrepend: [plugins, path.join(ROOT, "node_modules", "@pulumi", "pulumi")] });
        // A user's home. `pulumi login --local` keeps the state in ~/.pulumi, and the CLI finds
        // ~ in the passwd entry, not in $HOME; so the CLI runs in a private mount namespace with
        // this directory mounted on the user's home (cli/bin/pulumi is that wrapper), and the
        // README's commands run as written without touching this machine's home.
        const home = path.join(root, "user");
        fs.mkdirSync(home);
        writeCliWrapper(env.pulumiCommand.command, home);
        const project = new EngineProject(dir, env, { KUBECONFIG: opts.kubeconfig, HOME: home, ...opts.env }, home);
        // Run without the home mount: the provider's build is under the user's home (~/.cache).
        const install = await project.cli(
            ["plugin", "install", "resource", "kubernetes", tools.kubernetesProvider.registerAs, "--file", kubernetesProviderBinary()],
            300_000,
            pulumiCliPath(),
        );
        if (install.code !== 0) {
            throw new Error(`registering the kubernetes provider failed:\n${install.stderr}`);
        }
        return project;
    }

    /**
     * The environment of every CLI run and of the program: the backend is the one `pulumi login`
     * chose (no PULUMI_BACKEND_URL), as on a user's machine.
     */
    get envVars(): Record<string, string> {
        const { PULUMI_BACKEND_URL: _backend, ...env } = this.env.envVars;
        return { ...env, ...this.extraEnv };
    }

    /** Runs the real CLI in the project's directory: `pulumi <args>`. */
    cli(args: readonly string[], timeoutMs = 120_000, binary = this.env.pulumiCommand.command): Promise<CliResult> {
        return runCommand(binary, args, { cwd: this.dir, env: { ...process.env, ...this.envVars }, timeoutMs });
    }

    /** Runs a shell command line (e.g. one of the README's) in the project's directory, with the CLI on PATH. */
    sh(line: string, timeoutMs = 120_000): Promise<CliResult> {
        return runCommand("bash", ["-c", line], { cwd: this.dir, env: { ...process.env, ...this.envVars }, timeoutMs });
    }

    /** `pulumi <args>`, which must succeed. */
    async cliOk(args: readonly string[], timeoutMs?: number): Promise<string> {
        const r = await this.cli(args, timeoutMs);
        if (r.code !== 0) {
            throw new Error(`pulumi ${args.join(" ")} failed (${r.code}):\n${r.stderr}${r.stdout}`);
        }
        return r.stdout;
    }

    /**
     * `pulumi config set [--secret] --stack <stack> -- <key> <value>`; a list is written item by
     * item with `--path <key>[i]`, after `pulumi config rm <key>`, as a user would. The `--` keeps a
     * value that starts with `-` (a generated key can) from being read as a flag.
     */
    async setConfig(stack: string, key: string, value: string | readonly string[], secret = false): Promise<void> {
        const flags = ["--stack", stack, ...(secret ? ["--secret"] : [])];
        if (typeof value === "string") {
            await this.cliOk(["config", "set", ...flags, "--", key, value]);
            return;
        }
        await this.cliOk(["config", "rm", "--stack", stack, key]);
        for (const [i, item] of value.entries()) {
            await this.cliOk(["config", "set", ...flags, "--path", "--", `${key}[${i}]`, item]);
        }
    }

    /** `pulumi stack output --json --show-secrets`, parsed. */
    async outputs(stack: string): Promise<Record<string, unknown>> {
        return JSON.parse(await this.cliOk(["stack", "output", "--json", "--show-secrets", "--stack", stack])) as Record<string, unknown>;
    }

    /** One operation through the Automation API in a fresh process (tests/engine/op.ts). */
    async op(op: OpRequest["op"], stack: string, opts: OpOptions = {}): Promise<OpResult> {
        const io = fs.mkdtempSync(path.join(path.dirname(this.dir), `${op}-`));
        const req: OpRequest = {
            op,
            stack,
            workDir: this.dir,
            root: opts.root ?? ROOT,
            envVars: this.envVars,
            pulumiHome: this.env.pulumiHome,
            cliRoot: path.dirname(path.dirname(this.env.pulumiCommand.command)),
            expectNoChanges: opts.expectNoChanges,
        };
        fs.writeFileSync(path.join(io, "request.json"), JSON.stringify(req));
        const log = fs.openSync(path.join(io, "op.log"), "w");
        const child = spawn(
            process.execPath,
            [
                "-r",
                path.join(ROOT, "node_modules", "ts-node", "register", "transpile-only"),
                path.join(__dirname, "op.ts"),
                path.join(io, "request.json"),
                path.join(io, "result.json"),
            ],
            {
                cwd: this.dir,
                env: { ...process.env, ...this.envVars, TS_NODE_PROJECT: path.join(ROOT, "tsconfig.json") },
                stdio: ["ignore", log, log],
                detached: true,
            },
        );
        fs.closeSync(log);
        const timeoutMs = opts.timeoutMs ?? 900_000;
        const code = await new Promise<number | null>((resolve) => {
            const timer = setTimeout(() => {
                try {
                    process.kill(-(child.pid ?? 0), "SIGKILL");
                } catch {
                    // gone
                }
            }, timeoutMs);
            child.on("exit", (c) => {
                clearTimeout(timer);
                resolve(c);
            });
        });
        const resultFile = path.join(io, "result.json");
        if (!fs.existsSync(resultFile)) {
            throw new Error(
                `pulumi ${op} (${stack}) ended with ${String(code)} and no result:\n${fs.readFileSync(path.join(io, "op.log"), "utf8").slice(-4000)}`,
            );
        }
        const result = JSON.parse(fs.readFileSync(resultFile, "utf8")) as OpResult;
        fs.writeFileSync(path.join(io, "stdout.log"), result.stdout + result.stderr);
        return result;
    }

    /** An operation that must succeed; its output is in the error otherwise. */
    async opOk(op: OpRequest["op"], stack: string, opts: OpOptions = {}): Promise<OpResult> {
        const r = await this.op(op, stack, opts);
        if (!r.ok) {
            throw new Error(`pulumi ${op} (${stack}) failed: ${r.error ?? ""}\n${(r.stdout + r.stderr).slice(-6000)}`);
        }
        return r;
    }

    /** Deletes the project's directory: state, plugins, PULUMI_HOME. */
    remove(): void {
        fs.rmSync(path.dirname(this.dir), { recursive: true, force: true });
    }
}
