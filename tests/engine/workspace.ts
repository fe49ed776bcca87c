// The real Pulumi CLI for Automation API tests, isolated in one directory: its own PULUMI_HOME
// (plugin cache, credentials), a file backend, a passphrase secrets provider, and a PATH that
// starts with the caller's plugin directories and then the pinned CLI (tests/engine/tools.json,
// built by scripts/install.d/engine.sh).
//
// The network is closed on the test machines, so nothing may try to download: the update check is
// off and automatic plugin acquisition is disabled, which turns a plugin the engine cannot find
// into an immediate, clear error instead of a download attempt.
import * as fs from "fs";
import * as os from "os";
import * as path from "path";

import { LocalWorkspaceOptions, ProjectSettings, PulumiCommand } from "@pulumi/pulumi/automation";

import * as tools from "./tools.json";

/** Where scripts/install.d/engine.sh caches the tools it builds. */
export function engineCacheDir(): string {
    return process.env.REGISTRY_E2E_CACHE ?? path.join(os.homedir(), ".cache", "registry-e2e");
}

/** The pinned Pulumi CLI binary (it may not be built yet: see `pulumiCliAvailable`). */
export function pulumiCliPath(): string {
    return path.join(engineCacheDir(), "bin", tools.pulumi.binary);
}

/** Whether the pinned CLI has been built. */
export function pulumiCliAvailable(): boolean {
    try {
        fs.accessSync(pulumiCliPath(), fs.constants.X_OK);
        return true;
    } catch {
        return false;
    }
}

export interface EngineEnvOptions {
    /** Directories to put first on the CLI's PATH, e.g. stand-in plugins. Default none. */
    readonly pathPrepend?: readonly string[];
    /** Secrets passphrase of the stacks. Default "engine-tests". */
    readonly passphrase?: string;
}

/** An isolated environment for the real CLI. */
export interface EngineEnv {
    /** PULUMI_HOME: plugins, workspace settings. */
    readonly pulumiHome: string;
    /** The file backend's state directory. */
    readonly backendDir: string;
    /** Environment of every CLI run. */
    readonly envVars: Readonly<Record<string, string>>;
    /** The pinned CLI, for the Automation API. */
    readonly pulumiCommand: PulumiCommand;
    /** LocalWorkspace options for a project: this environment plus its settings. */
    workspaceOptions(projectSettings: ProjectSettings, workDir?: string): LocalWorkspaceOptions;
}

/**
 * Prepares `workDir` (created if missing; the caller deletes it) for the real CLI: `home/`,
 * `state/`, and `cli/bin/pulumi`, a link to the pinned binary (the Automation API runs
 * `<root>/bin/pulumi` and puts that directory on PATH).
 */
export async function engineEnv(workDir: string, options: EngineEnvOptions = {}): Promise<EngineEnv> {
    const pulumiHome = path.join(workDir, "home");
    const backendDir = path.join(workDir, "state");
    const cliRoot = path.join(workDir, "cli");
    for (const dir of [pulumiHome, backendDir, path.join(cliRoot, "bin")]) {
        fs.mkdirSync(dir, { recursive: true });
    }
    const link = path.join(cliRoot, "bin", "pulumi");
    if (!fs.existsSync(link)) {
        fs.symlinkSync(pulumiCliPath(), link);
    }
    const envVars: Record<string, string> = {
        PULUMI_HOME: pulumiHome,
        PULUMI_BACKEND_URL: `file://${backendDir}`,
        PULUMI_CONFIG_PASSPHRASE: options.passphrase ?? "engine-tests",
        PULUMI_SKIP_UPDATE_CHECK: "true",
        PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION: "true",
        // Plugins on PATH are how stand-ins are found; an inherited "true" would hide them.
        PULUMI_IGNORE_AMBIENT_PLUGINS: "false",
        PATH: [...(options.pathPrepend ?? []), path.join(cliRoot, "bin"), process.env.PATH ?? ""].join(path.delimiter),
    };
    // The CLI is built from source with its version stamped; the check would only compare strings.
    const pulumiCommand = await PulumiCommand.get({ root: cliRoot, skipVersionCheck: true });
    return {
        pulumiHome,
        backendDir,
        envVars,
        pulumiCommand,
        workspaceOptions(projectSettings, dir) {
            return { workDir: dir, projectSettings, envVars, pulumiHome, pulumiCommand };
        },
    };
}
