// The registries the bench compares, started through the e2e harness: the pod the program
// declares (the gate: TLS, htpasswd and roles, in front of the registry on its socket), the same
// pod with the gate's auth switched off, and the same registry binary and config alone, its API
// on TCP with its own TLS (the pod's certificate) or without TLS, never with auth (same storage,
// same config otherwise).
import * as fs from "fs";
import * as path from "path";

import { FULL_BCRYPT_COST } from "../components/security/htpasswd";
import type { ContainerPids } from "./machine";
import { startRegistry, RegistryDeployment } from "../tests/harness/harness";
import { request } from "../tests/harness/http";
import { waitFor } from "../tests/harness/procs";
import type { RegistryAccess } from "../tests/harness/oci";
import { secretValue } from "../tests/support/pod";
import type { StackConfig } from "../tests/support/program";
import type { VariantName } from "./plan";
import type { StartOptions } from "../tests/harness/harness";

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
    /** Main PIDs of the pod's containers (registry, gate) and of the proxy in front, for RSS. */
    containers(): ContainerPids;
}

/** The main PIDs of a deployment's registry and gate containers, and of the round-robin proxy in front. */
export function podContainers(d: RegistryDeployment): () => ContainerPids {
    return () => ({
        registry: d.replicas.map((r) => r.proc.pid),
        gate: d.replicas.flatMap((r) => (r.gate === undefined ? [] : [r.gate.pid])),
        ...(d.frontend === undefined ? {} : { "round-robin proxy": [d.frontend.proc.pid] }),
    });
}

/** A deployment reached as the program declares it: TLS with its CA, the first user's credentials. */
export function authenticatedRegistry(label: string, d: RegistryDeployment, containers: () => ContainerPids): BenchRegistry {
    return {
        label,
        deployment: d,
        host: d.host,
        access: d.access(),
        url: d.url,
        ca: d.caPem,
        auth: { username: d.username, password: d.password },
        containers,
    };
}

/**
 * The gate's nginx.conf with the API's auth switched off (its `auth_request` to the remembered
 * checks, or its `auth_basic` without the cache): TLS and the proxy hop stay.
 */
export function gateWithoutAuth(conf: string): string {
    const off = conf.includes("auth_request ")
        ? conf.replace(/auth_request [^;]+;/, "auth_request off;")
        : conf.replace(/auth_basic "[^"]*";/, "auth_basic off;");
    if (off === conf) {
        throw new Error("the gate's nginx.conf has no auth_request or auth_basic line to switch off");
    }
    return off;
}

/** How a registry under test differs from the program's declaration. */
export type Variant = VariantName;

export const VARIANT_LABELS: Readonly<Record<Variant, string>> = {
    deployed: "deployed (gate: TLS + auth)",
    "deployed-nocache": "deployed, every request checked (gateAuthCacheSeconds 0)",
    "deployed-cost10": `deployed, bcrypt cost ${FULL_BCRYPT_COST}`,
    "tls-noauth": "same pod, gate without auth",
    "registry-tls": "same binary, its own TLS, no gate (no auth)",
    baseline: "same binary, no gate (no TLS/auth)",
};

/** What the harness needs besides the variant: mock extras and how many processes. */
export type Extra = Omit<StartOptions, "config" | "registryOnly" | "gateConf">;

/**
 * Starts the program's registry pod as `variant`. The variants without auth refuse to return
 * unless the registry really answers `/v2/` without credentials (and, for the baseline, over
 * plain HTTP), so a comparison can never silently be against the deployed setup.
 */
export async function startVariant(variant: Variant, config: StackConfig, extra: Extra = {}): Promise<BenchRegistry> {
    const authenticated = variant === "deployed" || variant === "deployed-nocache" || variant === "deployed-cost10";
    // The random provider's cost: the htpasswd the program made before the cost was a key.
    const stack =
        variant === "deployed-cost10"
            ? { ...config, htpasswdBcryptCost: FULL_BCRYPT_COST }
            : variant === "deployed-nocache"
              ? { ...config, gateAuthCacheSeconds: 0 }
              : config;
    const d = await startRegistry({
        config: stack,
        ...extra,
        registryOnly: variant === "baseline" ? "http" : variant === "registry-tls" ? "https" : undefined,
        gateConf: variant === "tls-noauth" ? gateWithoutAuth : undefined,
    });
    const containers = podContainers(d);
    const url = variant === "baseline" ? `http://${d.host}` : d.url;
    const ca = variant === "baseline" ? undefined : d.caPem;
    // The readiness probe is on the debug port, which 2.8 serves before its storage driver is up
    // and the registry's own port listens: wait for that port to answer at all.
    let probe: { status: number; body: string } = { status: 0, body: "" };
    try {
        await waitFor(
            `${url}/v2/ to answer`,
            async () => {
                probe = await request(`${url}/v2/`, { ca, timeoutMs: 2000 }).catch((e: Error) => ({ status: 0, body: e.message }));
                return probe.status !== 0;
            },
            30000,
            200,
        );
    } catch {
        // Reported below with the last answer.
    }
    if (authenticated) {
        if (probe.status !== 401) {
            await d.stop();
            throw new Error(`the ${VARIANT_LABELS[variant]} registry does not ask for credentials: GET ${url}/v2/ -> ${probe.status} ${probe.body}`);
        }
        return authenticatedRegistry(VARIANT_LABELS[variant], d, containers);
    }
    if (probe.status !== 200) {
        await d.stop();
        throw new Error(`the ${VARIANT_LABELS[variant]} registry does not answer without credentials: GET ${url}/v2/ -> ${probe.status} ${probe.body}`);
    }
    const access: RegistryAccess = variant === "baseline" ? { tlsVerify: false } : { certDir: d.certDir };
    return { label: VARIANT_LABELS[variant], deployment: d, host: d.host, access, url, ca, containers };
}

/** The registry exactly as the program declares it. */
export function startDeployed(config: StackConfig, extra: Extra = {}): Promise<BenchRegistry> {
    return startVariant("deployed", config, extra);
}

/** The same pod with TLS and auth off. */
export function startBaseline(config: StackConfig, extra: Extra = {}): Promise<BenchRegistry> {
    return startVariant("baseline", config, extra);
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

/**
 * Seconds the registry's gate remembers a passed check, read from the gate's nginx.conf the
 * program rendered (`proxy_cache_valid 200 Ns`): 0 when it checks every request.
 */
export function gateAuthCacheSeconds(reg: BenchRegistry): number {
    for (const cm of reg.deployment.pod.configMaps.values()) {
        const conf = (cm.inputs.data as Record<string, string> | undefined)?.["nginx.conf"];
        if (conf?.includes("auth_basic_user_file") === true) {
            const m = /proxy_cache_valid 200 (\d+)s;/.exec(conf);
            return m === null ? 0 : Number(m[1]);
        }
    }
    throw new Error("the registry pod has no gate nginx.conf");
}

/** The bcrypt cost of the htpasswd hashes the program generated (the `NN` of `$2a$NN$`). */
export function bcryptCost(reg: BenchRegistry): number | undefined {
    for (const s of reg.deployment.pod.secrets.values()) {
        const h = secretValue(s, "pull.htpasswd");
        const m = h === undefined ? null : /:\$2[aby]\$(\d\d)\$/.exec(h);
        if (m !== null) {
            return Number(m[1]);
        }
    }
    return undefined;
}
