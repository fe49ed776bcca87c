// The registries the bench compares, started through the e2e harness: the pod the program
// declares (TLS + htpasswd), and the same pod with TLS and auth switched off by the registry's
// own environment overrides (same binary, same kind of storage, same config otherwise).
import * as fs from "fs";
import * as path from "path";

import { startRegistry, RegistryDeployment } from "../tests/e2e/harness";
import { request } from "../tests/e2e/http";
import type { RegistryAccess } from "../tests/e2e/oci";
import { secretValue } from "../tests/support/pod";
import type { StackConfig } from "../tests/support/program";
import type { StartOptions } from "../tests/e2e/harness";

/** A registry under test and how a client reaches it. */
export interface BenchRegistry {
    readonly label: string;
    readonly deployment: RegistryDeployment;
    /** host:port clients tag images with. */
    readonly host: string;
    readonly access: RegistryAccess;
    /** Base URL and what an HTTP client needs for it. */
    readonly url: string;
    readonly ca?: string;
    readonly auth?: { username: string; password: string };
    /** PIDs of the registry processes (and the proxy in front), for RSS. */
    pids(): number[];
}

/**
 * distribution reads REGISTRY_* variables over the config file: an empty certificate serves
 * plain HTTP, an empty `auth` map turns access control off.
 */
export const NO_TLS_NO_AUTH: Readonly<Record<string, string>> = {
    REGISTRY_HTTP_TLS_CERTIFICATE: "",
    REGISTRY_HTTP_TLS_KEY: "",
    REGISTRY_AUTH: "{}",
};

type Extra = Omit<StartOptions, "config" | "extraEnv">;

/** The registry exactly as the program declares it. */
export async function startDeployed(config: StackConfig, extra: Extra = {}, extraEnv: Record<string, string> = {}): Promise<BenchRegistry> {
    const d = await startRegistry({ config, ...extra, extraEnv });
    const auth = { username: d.username, password: d.password };
    return {
        label: "deployed (TLS + auth)",
        deployment: d,
        host: d.host,
        access: d.access(),
        url: d.url,
        ca: d.caPem,
        auth,
        pids: () => [...d.replicas.map((r) => r.proc.pid), ...(d.frontend === undefined ? [] : [d.frontend.proc.pid])],
    };
}

/**
 * The same pod with TLS and auth off. Refuses to return unless the registry really answers
 * plain HTTP without credentials, so a baseline can never silently be the deployed setup.
 */
export async function startBaseline(config: StackConfig, extraEnv: Record<string, string> = {}): Promise<BenchRegistry> {
    const d = await startRegistry({ config, extraEnv: { ...extraEnv, ...NO_TLS_NO_AUTH } });
    const url = `http://${d.host}`;
    const probe = await request(`${url}/v2/`).catch((e: Error) => ({ status: 0, body: e.message }));
    if (probe.status !== 200) {
        await d.stop();
        throw new Error(`baseline registry is not plain HTTP without auth: GET ${url}/v2/ -> ${probe.status}`);
    }
    return {
        label: "same binary, no TLS, no auth",
        deployment: d,
        host: d.host,
        access: { tlsVerify: false },
        url,
        pids: () => d.replicas.map((r) => r.proc.pid),
    };
}

/** The program's server certificate, key and CA as files (for the loopback TLS server). */
export function tlsFiles(reg: BenchRegistry): { cert: string; key: string; ca: string } {
    const secret = [...reg.deployment.pod.secrets.values()].find((s) => secretValue(s, "tls.key") !== undefined);
    if (secret === undefined) {
        throw new Error("the program declares no Secret with tls.key");
    }
    const dir = path.join(reg.deployment.certDir, "loopback");
    fs.mkdirSync(dir, { recursive: true });
    const files = { cert: path.join(dir, "tls.crt"), key: path.join(dir, "tls.key"), ca: path.join(reg.deployment.certDir, "ca.crt") };
    fs.writeFileSync(files.cert, secretValue(secret, "tls.crt") ?? "");
    fs.writeFileSync(files.key, secretValue(secret, "tls.key") ?? "", { mode: 0o600 });
    return files;
}

/** The bcrypt cost of the htpasswd hashes the program generated (the `$2y$NN$` field). */
export function bcryptCost(reg: BenchRegistry): number | undefined {
    for (const s of reg.deployment.pod.secrets.values()) {
        const h = secretValue(s, "htpasswd");
        const m = h === undefined ? null : /:\$2[aby]\$(\d\d)\$/.exec(h);
        if (m !== null) {
            return Number(m[1]);
        }
    }
    return undefined;
}
