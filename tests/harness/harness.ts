// The end-to-end harness: plays kubelet for the registry pod the program declares.
//
// 1. Runs the program under mocks with a stack config; the tls/random mocks compute real keys,
//    certificates and bcrypt hashes.
// 2. Takes the registry Deployment's pod spec and the ConfigMaps/Secrets/PVCs it references,
//    materialises every volume into a directory (once per pod: the registry and its gate share
//    the socket's emptyDir), resolves `env` (secretKeyRef, configMapKeyRef, fieldRef), and starts
//    both containers with exactly the pod's command, args and env: the registry binary of the
//    image's line, and the gate with this machine's nginx; each volume bind-mounted at its
//    mountPath in a private mount namespace, as the pod's user, with a read-only root filesystem
//    when the pod asks for one.
// 3. Returns the URL, CA, credentials (from the stack outputs) and a stop function.
//
// The only overrides (documented in the README): the listen addresses, so servers bind
// 127.0.0.1 on free ports (the gate's `listen` in a copy of its nginx.conf mounted over the
// declared one, REGISTRY_HTTP_DEBUG_ADDR; the registry's API stays on its socket); `servicePort`
// is set to the chosen port and the simulated load balancer gets 127.0.0.1, so `registryHost` is
// the address the test connects to. Storage endpoints of local object stores come in through the
// program's own config keys; `extraEnv` exists for what has no config key (an emulator address).
import * as fs from "fs";
import * as path from "path";

import { GATE_VOLUMES } from "../../components/registry/gate";
import { TLS_CERT_PATH, TLS_KEY_PATH } from "../../components/registry/layout";
import { registryPod, RegistryPod } from "../support/pod";
import { ProgramRun, runProgramOrThrow, RunOptions, StackConfig } from "../support/program";
import { request } from "./http";
import { startRoundRobin, RoundRobin } from "./nginx";
import type { RegistryAccess } from "./oci";
import {
    containerCommand,
    containerLogFile,
    containerMounts,
    isNginxContainer,
    materialise,
    materialiseVolumes,
    nginxListenMount,
    PodSource,
    registryBinary,
    resolveEnv,
} from "./container";
import { freePort, Proc, startProc, waitFor, workDir } from "./procs";

export { DEBIAN_REGISTRY, mountNamespaces, registryBinary } from "./container";

/** Where `registryOnly: "https"` mounts the pod's certificate and key in the registry container. */
const REGISTRY_TLS_DIR = "/etc/registry-tls";

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
    /**
     * Run the registry container alone, its API on TCP at the replica's port, without the gate
     * (so without auth): `"http"` plain, the bench's baseline; `"https"` serving TLS itself with
     * the pod's certificate and key (the `tls` volume mounted into its container), what TLS costs
     * apart from the gate. Default: the pod as declared.
     */
    readonly registryOnly?: "http" | "https";
    /** Changes the gate's nginx.conf further (the bench's gate without auth). Default none. */
    readonly gateConf?: (conf: string) => string;
}

/** One registry pod started from the pod spec: the registry process and its gate. */
export interface Replica {
    readonly index: number;
    /** The pod's HTTPS port: the gate's. */
    readonly port: number;
    /** The registry's debug server. */
    readonly debugPort: number;
    /** https://127.0.0.1:<port> */
    readonly url: string;
    /** http://127.0.0.1:<debugPort> */
    readonly debugUrl: string;
    /** The registry container's process. */
    proc: Proc;
    /** The gate container's process (none with `registryOnly`). */
    gate?: Proc;
    /** The pod's materialised volumes, by volume name. */
    readonly volumes: ReadonlyMap<string, string>;
    /**
     * Starts the registry container again from the same pod spec and volumes, and the gate if it
     * is not running (a killed pod); resolves when ready.
     */
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

/** The pod's gate container, if it has one. */
export function gateContainerOf(pod: RegistryPod): Record<string, any> | undefined {
    return (pod.podSpec.containers as Record<string, any>[]).find((c) => c.name !== pod.container.name && isNginxContainer(c));
}

/** The URL of an httpGet probe on this replica: the pod's named ports are the gate's `https` and the registry's `metrics`. */
function probeUrl(pod: RegistryPod, probe: Record<string, any>, replica: { port: number; debugPort: number }): string {
    const g = probe.httpGet;
    const ports = (pod.podSpec.containers as Record<string, any>[]).flatMap((c) => (c.ports ?? []) as { name: string; containerPort: number }[]);
    const named = ports.find((p) => p.name === g.port || p.containerPort === g.port);
    const port = named?.name === "https" ? replica.port : replica.debugPort;
    return `${String(g.scheme ?? "HTTP").toLowerCase()}://127.0.0.1:${port}${g.path}`;
}

/** The httpGet readiness probes of the containers that run (the registry's, and the gate's unless registry-only), with their processes. */
function readinessUrls(pod: RegistryPod, replica: Replica): [string, Proc][] {
    const gate = gateContainerOf(pod);
    const containers: [Record<string, any> | undefined, Proc | undefined][] = [
        [pod.container, replica.proc],
        [gate, replica.gate],
    ];
    return containers
        .filter(([c, proc]) => proc !== undefined && c?.readinessProbe?.httpGet !== undefined)
        .map(([c, proc]) => [probeUrl(pod, c?.readinessProbe, replica), proc as Proc]);
}

/** Waits until every readiness probe of a replica succeeds (HTTP 200..399 with any certificate, as the kubelet counts). */
export async function waitReady(pod: RegistryPod, replica: Replica, timeoutMs = 30000): Promise<void> {
    for (const [url, proc] of readinessUrls(pod, replica)) {
        await waitFor(
            `${url} ready`,
            async () => {
                const r = await request(url, { timeoutMs: 2000, insecure: true });
                return r.status >= 200 && r.status < 400;
            },
            timeoutMs,
            100,
            proc,
        );
    }
}

/** The registry container's probe URLs on a replica, for tests of the probes themselves. */
export function probeUrls(pod: RegistryPod, replica: Replica): { readiness: string; liveness: string } {
    return { readiness: probeUrl(pod, pod.container.readinessProbe, replica), liveness: probeUrl(pod, pod.container.livenessProbe, replica) };
}

/** Runs the program with `config` and starts its registry pod(s) for real. */
export async function startRegistry(opts: StartOptions): Promise<RegistryDeployment> {
    const port = await freePort();
    const run = await runProgramOrThrow({ ...opts.config, servicePort: port }, { ...opts.mocks, loadBalancer: { ip: "127.0.0.1" } });
    const pod = registryPod(run, opts.deployment);
    const binary = registryBinary(pod);
    const root = workDir("registry");
    const claimDirs: Record<string, string> = opts.claimDirs ?? {};
    const count = opts.replicas ?? Number(pod.deployment.inputs.spec.replicas ?? 1);
    const replicas: Replica[] = [];
    const gateSpec = opts.registryOnly === undefined ? gateContainerOf(pod) : undefined;
    for (let i = 0; i < count; i++) {
        const replicaPort = opts.replicaPorts?.[i] ?? (count === 1 ? port : await freePort());
        const debugPort = await freePort();
        const podName = `${pod.deployment.state.metadata.name}-${i}`;
        const podRoot = path.join(root, podName);
        const volumes = materialiseVolumes(pod, podRoot, claimDirs, root);
        const mounts = [
            ...containerMounts(pod.container, volumes),
            ...(opts.extraMounts ?? []).map((m) => ({ source: m.source, target: m.target, readOnly: true })),
        ];
        if (opts.registryOnly === "https") {
            const tls = volumes.get(GATE_VOLUMES.tls);
            if (tls === undefined) {
                throw new Error(`registryOnly https: the pod has no volume ${GATE_VOLUMES.tls}`);
            }
            mounts.push({ source: tls, target: REGISTRY_TLS_DIR, readOnly: true });
        }
        // The API's own address only where the pod gives it a TCP port: an old pod, or the
        // bench's registry-only baseline; otherwise it stays on the socket config.yml names.
        const tcpApi = opts.registryOnly !== undefined || (pod.container.ports as { name: string }[]).some((p) => p.name === "https");
        const env: Record<string, string> = {
            ...resolveEnv(pod, podName),
            ...opts.extraEnv,
            ...(tcpApi ? { REGISTRY_HTTP_NET: "tcp", REGISTRY_HTTP_ADDR: `127.0.0.1:${replicaPort}` } : {}),
            ...(opts.registryOnly === "https"
                ? {
                      REGISTRY_HTTP_TLS_CERTIFICATE: path.posix.join(REGISTRY_TLS_DIR, path.posix.basename(TLS_CERT_PATH)),
                      REGISTRY_HTTP_TLS_KEY: path.posix.join(REGISTRY_TLS_DIR, path.posix.basename(TLS_KEY_PATH)),
                  }
                : {}),
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
            volumes,
            gate: gateSpec === undefined ? undefined : startGate(pod, gateSpec, volumes, podRoot, podName, replicaPort, opts.gateConf),
            proc: start(),
            async restart(extraEnv?: Record<string, string>) {
                await replica.proc.stop();
                replica.proc = start(extraEnv);
                if (gateSpec !== undefined && replica.gate?.running !== true) {
                    replica.gate = startGate(pod, gateSpec, volumes, podRoot, podName, replicaPort, opts.gateConf);
                }
                await waitReady(pod, replica);
            },
        };
        replicas.push(replica);
    }
    const stopAllReplicas = async () => {
        await Promise.all(
            replicas.map(async (r) => {
                await r.gate?.stop();
                await r.proc.stop();
            }),
        );
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
            await frontend?.remove();
            await stopAllReplicas();
            for (const dir of [root, certDir]) {
                fs.rmSync(dir, { recursive: true, force: true });
            }
        },
    };
}

/**
 * Starts a pod's gate: this machine's nginx with the container's command, its mounts from the
 * pod's volumes, and its nginx.conf listening on 127.0.0.1:`port` instead of the container port.
 */
function startGate(
    pod: RegistryPod,
    spec: Record<string, any>,
    volumes: ReadonlyMap<string, string>,
    podRoot: string,
    podName: string,
    port: number,
    transform?: (conf: string) => string,
): Proc {
    const source: PodSource = { ...pod, container: spec };
    const mounts = containerMounts(spec, volumes);
    mounts.push(nginxListenMount(spec, mounts, podRoot, "127.0.0.1", () => port, transform));
    const { cmd, args } = containerCommand(source, undefined, mounts);
    const env = { PATH: "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", HOSTNAME: podName, ...resolveEnv(source, podName) };
    const logFile = containerLogFile(source, spec, path.join(path.dirname(podRoot), `${podName}-${String(spec.name)}.log`));
    return startProc(`${podName}-${String(spec.name)}`, cmd, args, { env, logFile });
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
