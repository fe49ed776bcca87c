// The end-to-end harness: plays kubelet for the registry pod the program declares.
//
// 1. Runs the program under mocks with a stack config; the tls/random mocks compute real keys,
//    certificates and bcrypt hashes.
// 2. Takes the registry Deployment's pod spec and the ConfigMaps/Secrets/PVCs it references,
//    materialises every volume into a directory, resolves `env` (secretKeyRef, configMapKeyRef,
//    fieldRef), and starts the registry binary of the image's line with exactly the pod's
//    command, args and env, bind-mounting each volume at its mountPath in a private mount
//    namespace, as the pod's user, with a read-only root filesystem when the pod asks for one.
// 3. Returns the URL, CA, credentials (from the stack outputs) and a stop function.
//
// The only overrides (documented in the README): the listen addresses, so servers bind
// 127.0.0.1 on free ports (REGISTRY_HTTP_ADDR, REGISTRY_HTTP_DEBUG_ADDR); `servicePort` is set to
// the chosen port and the simulated load balancer gets 127.0.0.1, so `registryHost` is the
// address the test connects to. Storage endpoints of local object stores come in through the
// program's own config keys; `extraEnv` exists for what has no config key (an emulator address).
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as path from "path";

import { registryPod, RegistryPod, secretValue } from "../support/pod";
import { ProgramRun, runProgram, RunOptions, StackConfig } from "../support/program";
import { request } from "./http";
import { startRoundRobin, RoundRobin } from "./nginx";
import type { RegistryAccess } from "./oci";
import { CACHE_BIN, freePort, Proc, startProc, waitFor, workDir } from "./procs";

import peers from "./peers.json";

/** Debian's 2.8 build; the 2.8.x images run the same line. */
export const DEBIAN_REGISTRY = "/usr/bin/docker-registry";

/** The registry binary that runs an image: the pinned `go install` build for 3.x, Debian's for 2.8. */
export function registryBinary(pod: RegistryPod): string {
    const image = String(pod.container.image);
    const tag = /:([^:@/]+)(@sha256:[a-f0-9]+)?$/.exec(image)?.[1] ?? "";
    if (tag.startsWith("2.8.")) {
        return DEBIAN_REGISTRY;
    }
    const pinned = peers.go.registry3;
    if (`v${tag}` !== pinned.version) {
        throw new Error(`the pod runs ${image}; the e2e tests build only ${pinned.module}@${pinned.version} (tests/e2e/peers.json)`);
    }
    return path.join(CACHE_BIN, pinned.binary);
}

export interface StartOptions {
    /** Stack config (the program's own keys), e.g. from a Pulumi.<stack>.yaml or a variant. */
    readonly config: StackConfig;
    /** Mock extras: cloud function calls, resource state, secret keys, stack name. */
    readonly mocks?: Omit<RunOptions, "loadBalancer" | "preview">;
    /** Registry processes to run from the pod spec. Default: the Deployment's replicas. */
    readonly replicas?: number;
    /** Extra env for the registry processes (an emulator's address). Default none. */
    readonly extraEnv?: Record<string, string>;
    /**
     * Host directories the node provides to the container besides the pod's volumes (e.g. a CA
     * bundle at /etc/ssl/certs standing in for the image's trust store), bind-mounted read-only.
     */
    readonly extraMounts?: readonly { readonly source: string; readonly target: string }[];
    /** Replace each replica's REGISTRY_HTTP_SECRET (negative control for the shared secret). */
    readonly perReplicaHttpSecret?: (replica: number) => string;
    /** The Deployment to run, by object name (e.g. the pull-through cache's). Default "registry". */
    readonly deployment?: string;
    /** Claim directories of an earlier deployment to share (the same PVCs). Default: fresh ones. */
    readonly claimDirs?: Record<string, string>;
    /** Ports for the replicas (known before they start, e.g. for a proxy). Default: free ports. */
    readonly replicaPorts?: readonly number[];
}

/** One registry process started from the pod spec. */
export interface Replica {
    readonly index: number;
    readonly port: number;
    readonly debugPort: number;
    /** https://127.0.0.1:<port> */
    readonly url: string;
    /** http://127.0.0.1:<debugPort> */
    readonly debugUrl: string;
    proc: Proc;
    /** Starts the process again from the same pod spec and volumes; resolves when ready. */
    restart(extraEnv?: Record<string, string>): Promise<void>;
}

/** A running registry deployment and what clients need to use it. */
export interface RegistryDeployment {
    readonly run: ProgramRun;
    readonly pod: RegistryPod;
    /** `registryHost` from the stack outputs, the address clients use (127.0.0.1:<port>). */
    readonly host: string;
    /** `registryUrl` from the stack outputs. */
    readonly url: string;
    /** `caCertificate` from the stack outputs, and a directory holding it as ca.crt. */
    readonly caPem: string;
    readonly certDir: string;
    /** Users and their passwords (the `passwords` output); the primary user. */
    readonly users: Readonly<Record<string, string>>;
    readonly username: string;
    readonly password: string;
    /** The `dockerConfigJson` output written to a file (skopeo --authfile). */
    readonly authFile: string;
    readonly replicas: readonly Replica[];
    /** The round-robin proxy when there are several replicas. */
    readonly frontend?: RoundRobin;
    /** Host directories of PersistentVolumeClaims, by claim name. */
    readonly claimDirs: Readonly<Record<string, string>>;
    /** skopeo access with the CA and a user's credentials (default: the primary user). */
    access(user?: string): RegistryAccess;
    /** Stops every process. */
    stop(): Promise<void>;
    /**
     * Stops every process and deletes what the deployment wrote: its volumes (the claims it
     * created, not ones shared through `claimDirs`), certificates and logs.
     */
    remove(): Promise<void>;
}

interface Mount {
    readonly source: string;
    readonly target: string;
    readonly readOnly: boolean;
}

/**
 * Whether registry processes run in private mount namespaces as the pod's user (root with
 * CAP_SYS_ADMIN). REGISTRY_E2E_MOUNT_NS=0 forces the path-rewriting fallback.
 */
export const mountNamespaces = (() => {
    let ok: boolean | undefined;
    return (): boolean => {
        if (ok === undefined && process.env.REGISTRY_E2E_MOUNT_NS === "0") {
            ok = false;
        }
        if (ok === undefined) {
            try {
                execFileSync("unshare", ["--mount", "--propagation", "private", "true"], { stdio: "ignore" });
                ok = true;
            } catch {
                ok = false;
            }
        }
        return ok;
    };
})();

function writeFile(file: string, content: string, mode: number, gid: number | undefined): void {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, content, { mode });
    fs.chmodSync(file, mode);
    if (gid !== undefined && process.getuid?.() === 0) {
        fs.chownSync(file, 0, gid);
    }
}

/**
 * Materialises the pod's volumes for one replica the way the kubelet does: ConfigMap and Secret
 * keys (or `items`) as files with `defaultMode` and the fsGroup, emptyDirs fresh, PVCs shared by
 * every replica. Returns the bind mounts for the container's volumeMounts.
 */
function materialise(pod: RegistryPod, root: string, claimDirs: Record<string, string>, sharedRoot: string): Mount[] {
    const fsGroup: number | undefined = pod.podSpec.securityContext?.fsGroup;
    const volumes = new Map<string, Record<string, any>>((pod.podSpec.volumes as Record<string, any>[]).map((v) => [v.name, v]));
    const volumeDirs = new Map<string, string>();
    for (const [name, v] of volumes) {
        const dir = path.join(root, "volumes", name);
        if (v.configMap !== undefined || v.secret !== undefined) {
            fs.mkdirSync(dir, { recursive: true });
            const isSecret = v.secret !== undefined;
            const ref = isSecret ? v.secret.secretName : v.configMap.name;
            const obj = (isSecret ? pod.secrets : pod.configMaps).get(ref);
            if (obj === undefined) {
                throw new Error(`volume ${name} references ${isSecret ? "Secret" : "ConfigMap"} ${ref}, which the program does not declare`);
            }
            const data: Record<string, string> = isSecret
                ? Object.fromEntries([...Object.keys(obj.inputs.stringData ?? {}), ...Object.keys(obj.inputs.data ?? {})].map((k) => [k, secretValue(obj, k) ?? ""]))
                : { ...(obj.inputs.data ?? {}) };
            const items: { key: string; path: string; mode?: number }[] = (isSecret ? v.secret.items : v.configMap.items) ?? Object.keys(data).map((k) => ({ key: k, path: k }));
            const mode: number = (isSecret ? v.secret.defaultMode : v.configMap.defaultMode) ?? 0o644;
            for (const item of items) {
                if (!(item.key in data)) {
                    throw new Error(`volume ${name}: key ${item.key} is not in ${ref}`);
                }
                writeFile(path.join(dir, item.path), data[item.key], item.mode ?? mode, fsGroup);
            }
        } else if (v.emptyDir !== undefined) {
            fs.mkdirSync(dir, { recursive: true });
        } else if (v.persistentVolumeClaim !== undefined) {
            const claim: string = v.persistentVolumeClaim.claimName;
            claimDirs[claim] ??= path.join(sharedRoot, "claims", claim);
            fs.mkdirSync(claimDirs[claim], { recursive: true });
            volumeDirs.set(name, claimDirs[claim]);
            continue;
        } else {
            throw new Error(`volume ${name}: the harness does not know how to materialise ${Object.keys(v).join(",")}`);
        }
        volumeDirs.set(name, dir);
    }
    // Writable volumes belong to the fsGroup, setgid, as the kubelet leaves them.
    for (const [name, v] of volumes) {
        if ((v.emptyDir !== undefined || v.persistentVolumeClaim !== undefined) && fsGroup !== undefined && process.getuid?.() === 0) {
            const dir = volumeDirs.get(name) ?? "";
            fs.chownSync(dir, 0, fsGroup);
            fs.chmodSync(dir, 0o2775);
        }
    }
    return (pod.container.volumeMounts as Record<string, any>[]).map((m) => {
        const source = volumeDirs.get(m.name);
        if (source === undefined) {
            throw new Error(`volumeMount ${m.name} has no volume`);
        }
        return { source: m.subPath === undefined ? source : path.join(source, m.subPath), target: m.mountPath, readOnly: m.readOnly === true };
    });
}

/** The container's env with every valueFrom resolved against the program's objects. */
function resolveEnv(pod: RegistryPod, podName: string): Record<string, string> {
    const env: Record<string, string> = {};
    for (const e of (pod.container.env ?? []) as Record<string, any>[]) {
        if (e.value !== undefined) {
            env[e.name] = String(e.value);
            continue;
        }
        const from = e.valueFrom ?? {};
        let value: string | undefined;
        if (from.secretKeyRef !== undefined) {
            const s = pod.secrets.get(from.secretKeyRef.name);
            value = s === undefined ? undefined : secretValue(s, from.secretKeyRef.key);
        } else if (from.configMapKeyRef !== undefined) {
            value = pod.configMaps.get(from.configMapKeyRef.name)?.inputs.data?.[from.configMapKeyRef.key];
        } else if (from.fieldRef !== undefined) {
            value = ({ "metadata.name": podName, "metadata.namespace": pod.deployment.state.metadata.namespace, "status.podIP": "127.0.0.1" } as Record<string, string>)[
                from.fieldRef.fieldPath
            ];
        }
        if (value === undefined) {
            const optional = from.secretKeyRef?.optional === true || from.configMapKeyRef?.optional === true;
            if (optional) {
                continue;
            }
            throw new Error(`env ${e.name}: cannot resolve ${JSON.stringify(from)}`);
        }
        env[e.name] = value;
    }
    return env;
}

/** Shell-quotes one word. */
function q(s: string): string {
    return `'${s.replace(/'/g, "'\\''")}'`;
}

/**
 * The command that runs the container: in a private mount namespace, bind-mount each volume at
 * its mountPath, make the root read-only if asked, drop to the pod's user and capabilities,
 * exec the binary. Without mount namespaces, paths in args and ConfigMap files are rewritten to
 * the materialised directories instead.
 */
function containerCommand(pod: RegistryPod, binary: string, mounts: Mount[]): { cmd: string; args: string[] } {
    const c = pod.container;
    if (c.command?.[0] !== "/bin/registry") {
        throw new Error(`the harness runs the registry binary as /bin/registry; the container's command is ${JSON.stringify(c.command)}`);
    }
    const args: string[] = [...(c.command.slice(1) as string[]), ...((c.args ?? []) as string[])];
    const psc = pod.podSpec.securityContext ?? {};
    const sc = c.securityContext ?? {};
    const uid: number | undefined = sc.runAsUser ?? psc.runAsUser;
    const gid: number | undefined = sc.runAsGroup ?? psc.runAsGroup;
    const isRoot = process.getuid?.() === 0;
    if (!mountNamespaces()) {
        const byLength = [...mounts].sort((a, b) => b.target.length - a.target.length);
        const rewrite = (s: string) => byLength.reduce((acc, m) => acc.split(m.target).join(m.source), s);
        for (const m of mounts.filter((x) => x.readOnly)) {
            for (const f of fs.readdirSync(m.source).filter((n) => n.endsWith(".yml") || n.endsWith(".yaml"))) {
                const file = path.join(m.source, f);
                fs.writeFileSync(file, rewrite(fs.readFileSync(file, "utf8")));
            }
        }
        return { cmd: binary, args: args.map(rewrite) };
    }
    // A mount can hide the source of a later one (an emptyDir on /tmp hides a work directory
    // under /tmp), so every source, and the binary, is first bound into a private tmpfs on
    // STAGE, then from there to its target. The binary may also sit where the pod's user cannot
    // reach it (/root/.cache); from the stage it is reachable, as /bin/registry is in the image.
    const STAGE = "/mnt";
    for (const m of mounts) {
        if (m.target === "/" || m.target === STAGE || m.target.startsWith(`${STAGE}/`)) {
            throw new Error(`volumeMount at ${m.target} collides with the harness's staging directory ${STAGE}`);
        }
    }
    const script: string[] = ["set -e", `mount -t tmpfs -o mode=0755 e2e-stage ${STAGE}`];
    mounts.forEach((m, i) => {
        script.push(`mkdir ${STAGE}/v${i}`, `mount --bind ${q(m.source)} ${STAGE}/v${i}`);
    });
    script.push(`touch ${STAGE}/registry`, `mount --bind ${q(binary)} ${STAGE}/registry`);
    mounts.forEach((m, i) => {
        script.push(`mkdir -p ${q(m.target)}`, `mount --bind ${STAGE}/v${i} ${q(m.target)}`);
        if (m.readOnly) {
            script.push(`mount -o remount,bind,ro ${q(m.target)}`);
        }
    });
    if (sc.readOnlyRootFilesystem === true) {
        script.push("mount -o remount,bind,ro /");
    }
    const setpriv: string[] = [];
    if (isRoot && uid !== undefined) {
        setpriv.push("setpriv", `--reuid=${uid}`, `--regid=${gid ?? uid}`);
        setpriv.push(psc.fsGroup !== undefined ? `--groups=${psc.fsGroup}` : "--clear-groups");
        if (sc.allowPrivilegeEscalation === false) {
            setpriv.push("--no-new-privs");
        }
        if ((sc.capabilities?.drop ?? []).includes("ALL")) {
            setpriv.push("--inh-caps=-all", "--bounding-set=-all");
        }
        setpriv.push("--");
    }
    script.push(`exec ${[...setpriv, `${STAGE}/registry`].map(q).join(" ")} "$@"`);
    return { cmd: "unshare", args: ["--mount", "--propagation", "private", "--", "/bin/sh", "-c", script.join("\n"), "registry", ...args] };
}

/** The port a probe names, on this replica. */
function probeUrl(pod: RegistryPod, probe: Record<string, any>, replica: { port: number; debugPort: number }): string {
    const g = probe.httpGet;
    const named = (pod.container.ports as { name: string; containerPort: number }[]).find((p) => p.name === g.port || p.containerPort === g.port);
    const port = named?.name === "https" ? replica.port : replica.debugPort;
    return `${String(g.scheme ?? "HTTP").toLowerCase()}://127.0.0.1:${port}${g.path}`;
}

/** Waits until a replica's readiness probe succeeds (HTTP 200..399, as the kubelet counts). */
export async function waitReady(pod: RegistryPod, replica: Replica, timeoutMs = 30000): Promise<void> {
    const url = probeUrl(pod, pod.container.readinessProbe, replica);
    await waitFor(`${url} ready`, async () => {
        const r = await request(url, { timeoutMs: 2000 });
        return r.status >= 200 && r.status < 400;
    }, timeoutMs, 100, replica.proc);
}

/** The probe URLs of a replica, for tests of the probes themselves. */
export function probeUrls(pod: RegistryPod, replica: Replica): { readiness: string; liveness: string } {
    return { readiness: probeUrl(pod, pod.container.readinessProbe, replica), liveness: probeUrl(pod, pod.container.livenessProbe, replica) };
}

/** Runs the program with `config` and starts its registry pod(s) for real. */
export async function startRegistry(opts: StartOptions): Promise<RegistryDeployment> {
    const port = await freePort();
    const run = await runProgram({ ...opts.config, servicePort: port }, { ...opts.mocks, loadBalancer: { ip: "127.0.0.1" } });
    if (run.error !== undefined) {
        throw run.error;
    }
    const pod = registryPod(run, opts.deployment);
    const binary = registryBinary(pod);
    const root = workDir("registry");
    const claimDirs: Record<string, string> = opts.claimDirs ?? {};
    const count = opts.replicas ?? Number(pod.deployment.inputs.spec.replicas ?? 1);
    const replicas: Replica[] = [];
    for (let i = 0; i < count; i++) {
        const replicaPort = opts.replicaPorts?.[i] ?? (count === 1 ? port : await freePort());
        const debugPort = await freePort();
        const podName = `${pod.deployment.state.metadata.name}-${i}`;
        const mounts = [
            ...materialise(pod, path.join(root, podName), claimDirs, root),
            ...(opts.extraMounts ?? []).map((m) => ({ source: m.source, target: m.target, readOnly: true })),
        ];
        const env: Record<string, string> = {
            ...resolveEnv(pod, podName),
            ...opts.extraEnv,
            REGISTRY_HTTP_ADDR: `127.0.0.1:${replicaPort}`,
            REGISTRY_HTTP_DEBUG_ADDR: `127.0.0.1:${debugPort}`,
        };
        if (opts.perReplicaHttpSecret !== undefined) {
            env.REGISTRY_HTTP_SECRET = opts.perReplicaHttpSecret(i);
        }
        // The container's environment is the pod's env and nothing from this machine (no
        // AWS_CA_BUNDLE, which crashes the S3 driver), plus a PATH for the binary's own use.
        const fullEnv = { PATH: "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", HOSTNAME: podName, ...env };
        const { cmd, args } = containerCommand(pod, binary, mounts);
        const logFile = path.join(root, `${podName}.log`);
        const start = (extra: Record<string, string> = {}) => startProc(podName, cmd, args, { env: { ...fullEnv, ...extra }, logFile });
        const replica: Replica = {
            index: i,
            port: replicaPort,
            debugPort,
            url: `https://127.0.0.1:${replicaPort}`,
            debugUrl: `http://127.0.0.1:${debugPort}`,
            proc: start(),
            async restart(extraEnv?: Record<string, string>) {
                await replica.proc.stop();
                replica.proc = start(extraEnv);
                await waitReady(pod, replica);
            },
        };
        replicas.push(replica);
    }
    const stopAllReplicas = async () => {
        await Promise.all(replicas.map((r) => r.proc.stop()));
    };
    try {
        await Promise.all(replicas.map((r) => waitReady(pod, r)));
    } catch (e) {
        await stopAllReplicas();
        throw e;
    }

    const caPem = String(run.outputs.caCertificate);
    const certDir = workDir("certs");
    fs.writeFileSync(path.join(certDir, "ca.crt"), caPem);
    let frontend: RoundRobin | undefined;
    if (count > 1) {
        const tlsVolume = (pod.podSpec.volumes as Record<string, any>[]).find((v) => v.name === "tls");
        const tlsDir = path.join(root, `${pod.deployment.state.metadata.name}-0`, "volumes", tlsVolume?.name ?? "tls");
        frontend = await startRoundRobin({
            port,
            backends: replicas.map((r) => r.port),
            certFile: path.join(tlsDir, "tls.crt"),
            keyFile: path.join(tlsDir, "tls.key"),
            caFile: path.join(certDir, "ca.crt"),
            backendName: String(run.outputs.serviceName) + "." + String(run.outputs.namespace) + ".svc.cluster.local",
        });
    }
    const authFile = path.join(certDir, "auth.json");
    fs.writeFileSync(authFile, String(run.outputs.dockerConfigJson), { mode: 0o600 });
    const users = run.outputs.passwords as Record<string, string>;
    const username = String(run.outputs.username);
    return {
        run,
        pod,
        host: String(run.outputs.registryHost),
        url: String(run.outputs.registryUrl),
        caPem,
        certDir,
        users,
        username,
        password: String(run.outputs.password),
        authFile,
        replicas,
        frontend,
        claimDirs,
        access(user = username) {
            const password = users[user];
            if (password === undefined) {
                throw new Error(`no user ${user}`);
            }
            return { certDir, creds: { username: user, password } };
        },
        async stop() {
            await frontend?.stop();
            await stopAllReplicas();
        },
        async remove() {
            await frontend?.stop();
            await stopAllReplicas();
            for (const dir of [root, certDir]) {
                fs.rmSync(dir, { recursive: true, force: true });
            }
        },
    };
}

/**
 * Runs a Job's pod (a manifest the program renders, e.g. the GC Job) once, to completion, the way
 * startRegistry runs the registry pod: its volumes materialised (claims from `claimDirs`, shared
 * with a running or stopped deployment), its env resolved, in a mount namespace as its user.
 * Resolves with the exit code and the log.
 */
export async function runJobPod(
    deployment: RegistryDeployment,
    job: { spec: { template: { spec: Record<string, any> } } },
    opts: { claimDirs: Record<string, string>; timeoutMs?: number },
): Promise<{ code: number | null; log: string }> {
    const podSpec = job.spec.template.spec;
    const pod: RegistryPod = { ...deployment.pod, podSpec, container: podSpec.containers[0] };
    const root = workDir("job");
    const mounts = materialise(pod, root, opts.claimDirs, root);
    const env = { PATH: "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", HOSTNAME: "job", ...resolveEnv(pod, "job") };
    const { cmd, args } = containerCommand(pod, registryBinary(pod), mounts);
    const proc = startProc("job", cmd, args, { env, logFile: path.join(root, "job.log") });
    const timer = setTimeout(() => proc.signal("SIGKILL"), opts.timeoutMs ?? 120000);
    const code = await proc.exit;
    clearTimeout(timer);
    return { code, log: fs.readFileSync(path.join(root, "job.log"), "utf8") };
}
