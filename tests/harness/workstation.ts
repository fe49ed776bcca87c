// A workstation or CI box for the login script's tests: its own HOME and session directory, and
// its own /etc/containers (a copy of this machine's without certs.d), mounted over the real one
// in a private mount namespace for the commands run "on" it.
import * as fs from "fs";
import * as path from "path";

import { CommandResult as Result, runCommand, workDir } from "./procs";

export type { Result };

/** Runs a command with exactly `env`. */
export function run(cmd: string, args: string[], env: Record<string, string>, timeoutMs = 120000): Promise<Result> {
    return runCommand(cmd, args, { env, timeoutMs });
}

/** A workstation: its own HOME and session dir, and its own /etc/containers (a copy of this machine's, without certs.d). */
export interface Workstation {
    readonly home: string;
    readonly etcContainers: string;
    readonly etcDocker: string;
    readonly env: Record<string, string>;
    /** Runs a command with the workstation's /etc/containers mounted over the real one. */
    exec(cmd: string, args: string[]): Promise<Result>;
}

export function workstation(binDir?: string): Workstation {
    const root = workDir("workstation");
    const home = path.join(root, "home");
    const runtime = path.join(home, "run");
    fs.mkdirSync(runtime, { recursive: true, mode: 0o700 });
    const etcContainers = path.join(root, "etc", "containers");
    fs.cpSync("/etc/containers", etcContainers, { recursive: true, filter: (src) => !src.includes("certs.d") });
    const etcDocker = path.join(root, "etc", "docker", "certs.d");
    const env = {
        PATH: `${binDir === undefined ? "" : `${binDir}:`}${path.dirname(process.execPath)}:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin`,
        HOME: home,
        // skopeo keeps its login in $XDG_RUNTIME_DIR/containers/auth.json, as in a user's session.
        XDG_RUNTIME_DIR: runtime,
        // dockerd's directory is not read by skopeo; keep the script off this machine's /etc/docker.
        DOCKER_SYSTEM_CERTS_D: etcDocker,
    };
    return {
        home,
        etcContainers,
        etcDocker,
        env,
        exec: (cmd, args) =>
            run(
                "unshare",
                ["--mount", "--propagation", "private", "--", "/bin/sh", "-c", 'mount --bind "$0" /etc/containers && exec "$@"', etcContainers, cmd, ...args],
                env,
            ),
    };
}
