// A stand-in kubelet for one node of the test cluster: it registers a Node, keeps its Lease fresh,
// and runs the pods the scheduler binds to it, reporting their status to the API server.
//
// Containers run for real where this machine has their program, from the API server's own
// objects (the pod, its Secrets, ConfigMaps, claims' PersistentVolumes, service account tokens),
// through tests/harness/container.ts (volumes materialised, env resolved, a private mount namespace,
// the pod's user, a read-only root):
//   - the registry image (command /bin/registry): the registry binary of the image's line;
//   - the registry pod's gate (an nginx image, command nginx): this machine's nginx;
//   - the GC procedure's kubectl image (alpine/k8s): /bin/sh and kubectl of this machine.
// Every container of a pod runs, sharing the pod's volumes (one directory per emptyDir: the
// registry's socket is where its gate finds it). Pods have no network namespace of their own:
// each gets an IP from the pod network's stand-in (tests/engine/pod-network.ts) and its
// containers listen on its loopback twin with their own ports (a registry container through
// REGISTRY_HTTP_ADDR and REGISTRY_HTTP_DEBUG_ADDR; nginx through its `listen` lines, in a copy of
// its nginx.conf mounted over the declared one); in-cluster clients get KUBERNETES_SERVICE_HOST/PORT
// pointing at the API server, as the kubelet injects them. The Ready condition follows the
// containers' real readiness probes (httpGet, their periods and thresholds); a failing liveness
// probe (httpGet or tcpSocket) or an exit restarts that container; nginx is stopped with SIGQUIT,
// its images' STOPSIGNAL.
//
// Pods with an image that cannot run here (the node DaemonSets' busybox and nginx, Redis, skopeo)
// are faked as a whole, as kwok does: a long-running pod is reported Running and Ready without a process; a pod
// that should run to completion is reported Failed, so nothing waits on work that was not done.
import * as k8s from "@kubernetes/client-node";
import * as fs from "fs";
import * as https from "https";
import * as http from "http";
import * as net from "net";
import * as path from "path";

import {
    containerCommand,
    containerLogFile,
    containerMounts,
    isNginxContainer,
    materialiseVolumes,
    nginxListenMount,
    PodSource,
    registryBinary,
    resolveEnv,
    stopSignal,
} from "../harness/container";
import { Proc, startProc } from "../harness/procs";
import { makePki } from "../support/pki";
import { errorMessage, watch, Watched } from "./cluster/control-plane";

import { loopbackTwin, podIp } from "./pod-network";

import * as tools from "./tools.json";

/** How a container of an image runs here; undefined: it cannot, and is faked. */
type Runner = { readonly kind: "registry" } | { readonly kind: "nginx" } | { readonly kind: "host" };

/** The images this node runs for real, in this pod. */
function runnerFor(container: k8s.V1Container, pod: k8s.V1PodSpec): Runner | undefined {
    const image = container.image ?? "";
    if (container.command?.[0] === "/bin/registry" && /(^|\/)registry:[0-9]/.test(image)) {
        return { kind: "registry" };
    }
    // The registry's gate. Other nginx pods (the localhost proxy, on a hostPort) stay faked.
    if (isNginxContainer(container) && pod.containers.some((c) => c !== container && runnerFor(c, pod)?.kind === "registry")) {
        return { kind: "nginx" };
    }
    // The GC procedure's image: a POSIX shell and kubectl, which this machine has.
    if (/(^|\/)alpine\/k8s:/.test(image)) {
        return { kind: "host" };
    }
    return undefined;
}

export interface KubeletOptions {
    readonly kc: k8s.KubeConfig;
    /** API server URL, for in-cluster clients (https://127.0.0.1:<port>). */
    readonly server: string;
    /** Where pods' volumes and logs go. */
    readonly workDir: string;
    /** Node name. Default "e2e-node". */
    readonly nodeName?: string;
    /** Where to say what it does. Default: nowhere. */
    readonly log?: (line: string) => void;
    /** A hosts file bind-mounted read-only on each real container's /etc/hosts (the cluster DNS stand-in). Default: the machine's. */
    readonly hostsFile?: string;
}

/** One container this node runs, for tests to look at. */
export interface RunningContainer {
    readonly namespace: string;
    readonly pod: string;
    readonly container: string;
    readonly ip: string;
    /** False for a faked pod. */
    readonly real: boolean;
    readonly proc?: Proc;
    readonly logFile?: string;
    readonly restarts: number;
}

interface ProbeState {
    successes: number;
    failures: number;
}

interface ContainerState {
    readonly spec: k8s.V1Container;
    readonly runner?: Runner;
    source?: PodSource;
    proc?: Proc;
    logFile?: string;
    env?: Record<string, string>;
    command?: { cmd: string; args: string[] };
    restarts: number;
    ready: boolean;
    started: boolean;
    terminated?: { exitCode: number; reason: string; message?: string };
    readiness: ProbeState;
    liveness: ProbeState;
}

interface PodState {
    readonly uid: string;
    readonly namespace: string;
    readonly name: string;
    readonly ip: string;
    readonly dir: string;
    readonly startedAt: string;
    readonly real: boolean;
    readonly restartPolicy: string;
    readonly containers: ContainerState[];
    phase: "Pending" | "Running" | "Succeeded" | "Failed";
    /** Why the pod failed as a whole (it cannot run here, or its containers could not be created). */
    terminated?: { exitCode: number; reason: string; message?: string };
    timers: NodeJS.Timeout[];
    stopping: boolean;
    /** Serialises status writes of this pod. */
    writing: Promise<void>;
}

const NODE_LEASE_NAMESPACE = "kube-node-lease";
const LEASE_SECONDS = 40;
const HEARTBEAT_MS = 10_000;

/** The stand-in kubelet; `Kubelet.start` registers the node. */
export class Kubelet {
    private readonly pods = new Map<string, PodState>();
    private readonly nodeName: string;
    private nextIp = 1;
    private heartbeat?: NodeJS.Timeout;
    private watched?: Watched<k8s.V1Pod>;
    private logServer?: https.Server;
    private logPort = 0;
    private stopped = false;

    private constructor(private readonly opts: KubeletOptions) {
        this.nodeName = opts.nodeName ?? "e2e-node";
    }

    static async start(opts: KubeletOptions): Promise<Kubelet> {
        const k = new Kubelet(opts);
        await k.serveLogs();
        await k.register();
        const core = opts.kc.makeApiClient(k8s.CoreV1Api);
        const selector = `spec.nodeName=${k.nodeName}`;
        k.watched = await watch<k8s.V1Pod>(
            opts.kc,
            `/api/v1/pods?fieldSelector=${encodeURIComponent(selector)}`,
            () => core.listPodForAllNamespaces(undefined, undefined, selector),
            (pod, verb) => k.onPod(pod, verb),
        );
        return k;
    }

    /** The containers this node runs (real and faked), for tests. */
    containers(): RunningContainer[] {
        return [...this.pods.values()].flatMap((p) =>
            p.containers.map((c) => ({
                namespace: p.namespace,
                pod: p.name,
                container: c.spec.name,
                ip: p.ip,
                real: p.real,
                proc: c.proc,
                logFile: c.logFile,
                restarts: c.restarts,
            })),
        );
    }

    /** Stops every container and the heartbeat; the Node object stays (the cluster goes next). */
    async stop(): Promise<void> {
        this.stopped = true;
        clearInterval(this.heartbeat);
        await this.watched?.stop();
        await Promise.all([...this.pods.values()].map((p) => this.kill(p)));
        await new Promise<void>((resolve) => (this.logServer === undefined ? resolve() : this.logServer.close(() => resolve())));
    }

    /**
     * The kubelet API's container logs (`GET /containerLogs/<ns>/<pod>/<container>?tailLines=N`),
     * which the API server calls for `kubectl logs`; on 127.0.0.1, with a certificate of its own
     * (the API server does not verify kubelets unless told to) and no authentication of the
     * caller, which a real kubelet has. Nothing else of the kubelet API is served.
     */
    private async serveLogs(): Promise<void> {
        const pki = await makePki([this.nodeName], ["127.0.0.1"]);
        this.logServer = https.createServer({ cert: pki.certPem, key: pki.keyPem }, (req, res) => {
            const url = new URL(req.url ?? "/", "https://kubelet");
            const m = /^\/containerLogs\/([^/]+)\/([^/]+)\/([^/]+)$/.exec(url.pathname);
            const container =
                m === null
                    ? undefined
                    : [...this.pods.values()]
                          .filter((p) => p.namespace === m[1] && p.name === m[2])
                          .flatMap((p) => p.containers)
                          .find((c) => c.spec.name === m[3]);
            if (req.method !== "GET" || container?.logFile === undefined || !fs.existsSync(container.logFile)) {
                res.writeHead(404).end();
                return;
            }
            let lines = fs.readFileSync(container.logFile, "utf8").split("\n");
            const tail = Number(url.searchParams.get("tailLines") ?? "-1");
            if (tail >= 0) {
                lines = lines.slice(-(tail + 1));
            }
            res.writeHead(200, { "Content-Type": "text/plain" }).end(lines.join("\n"));
        });
        await new Promise<void>((resolve, reject) => {
            this.logServer?.once("error", reject);
            this.logServer?.listen(0, "127.0.0.1", () => resolve());
        });
        const addr = this.logServer.address();
        this.logPort = typeof addr === "object" && addr !== null ? addr.port : 0;
    }

    private log(line: string): void {
        this.opts.log?.(`kubelet: ${line}`);
    }

    // --- the node

    private async register(): Promise<void> {
        const core = this.opts.kc.makeApiClient(k8s.CoreV1Api);
        const now = new Date();
        const node: k8s.V1Node = {
            metadata: {
                name: this.nodeName,
                labels: {
                    "kubernetes.io/hostname": this.nodeName,
                    "kubernetes.io/os": "linux",
                    "kubernetes.io/arch": "amd64",
                    "topology.kubernetes.io/zone": "e2e-a",
                },
            },
        };
        await core.createNode(node);
        await core.patchNodeStatus(this.nodeName, { status: this.nodeStatus(now) }, undefined, undefined, "e2e-kubelet", undefined, undefined, {
            headers: { "Content-Type": k8s.PatchUtils.PATCH_FORMAT_STRATEGIC_MERGE_PATCH },
        });
        const coordination = this.opts.kc.makeApiClient(k8s.CoordinationV1Api);
        await coordination.createNamespacedLease(NODE_LEASE_NAMESPACE, {
            metadata: { name: this.nodeName, namespace: NODE_LEASE_NAMESPACE },
            spec: { holderIdentity: this.nodeName, leaseDurationSeconds: LEASE_SECONDS, renewTime: microTime(now) as unknown as Date },
        });
        // The node lifecycle controller marks a node whose Lease is not renewed NotReady (and
        // taints it) after its grace period; renew it, and the Ready condition, like a kubelet.
        this.heartbeat = setInterval(() => void this.beat(), HEARTBEAT_MS);
    }

    private nodeStatus(now: Date): k8s.V1NodeStatus {
        const cond = (type: string, status: string, reason: string): k8s.V1NodeCondition => ({
            type,
            status,
            reason,
            message: reason,
            lastHeartbeatTime: now,
            lastTransitionTime: now,
        });
        const resources = { cpu: "4", memory: "16Gi", pods: "110", "ephemeral-storage": "100Gi" };
        return {
            capacity: resources,
            allocatable: resources,
            // Only the IP: the API server reaches a kubelet by the first address type it prefers
            // that the node has (Hostname first), and the node's name resolves nowhere.
            addresses: [{ type: "InternalIP", address: "127.0.0.1" }],
            daemonEndpoints: { kubeletEndpoint: { Port: this.logPort } },
            conditions: [
                cond("Ready", "True", "KubeletReady"),
                cond("MemoryPressure", "False", "KubeletHasSufficientMemory"),
                cond("DiskPressure", "False", "KubeletHasNoDiskPressure"),
                cond("PIDPressure", "False", "KubeletHasSufficientPID"),
            ],
            nodeInfo: {
                architecture: "amd64",
                bootID: "e2e",
                containerRuntimeVersion: "e2e://stand-in",
                kernelVersion: "",
                kubeProxyVersion: "",
                kubeletVersion: tools.kubernetes.version,
                machineID: "e2e",
                operatingSystem: "linux",
                osImage: "e2e stand-in kubelet",
                systemUUID: "e2e",
            },
        };
    }

    private async beat(): Promise<void> {
        if (this.stopped) {
            return;
        }
        const now = new Date();
        try {
            const coordination = this.opts.kc.makeApiClient(k8s.CoordinationV1Api);
            await coordination.patchNamespacedLease(
                this.nodeName,
                NODE_LEASE_NAMESPACE,
                { spec: { renewTime: microTime(now) } },
                undefined,
                undefined,
                "e2e-kubelet",
                undefined,
                undefined,
                { headers: { "Content-Type": k8s.PatchUtils.PATCH_FORMAT_JSON_MERGE_PATCH } },
            );
            const core = this.opts.kc.makeApiClient(k8s.CoreV1Api);
            await core.patchNodeStatus(
                this.nodeName,
                { status: { conditions: this.nodeStatus(now).conditions } },
                undefined,
                undefined,
                "e2e-kubelet",
                undefined,
                undefined,
                {
                    headers: { "Content-Type": k8s.PatchUtils.PATCH_FORMAT_STRATEGIC_MERGE_PATCH },
                },
            );
        } catch (err) {
            this.log(`heartbeat failed: ${errorMessage(err)}`);
        }
    }

    // --- pods

    private onPod(pod: k8s.V1Pod, verb: "add" | "update" | "delete"): void {
        const uid = pod.metadata?.uid ?? "";
        const state = this.pods.get(uid);
        if (verb === "delete") {
            if (state !== undefined) {
                void this.kill(state).then(() => this.forget(state));
            }
            return;
        }
        if (pod.metadata?.deletionTimestamp !== undefined) {
            if (state !== undefined && !state.stopping) {
                void this.terminate(pod, state);
            } else if (state === undefined) {
                void this.finalDelete(pod);
            }
            return;
        }
        if (state === undefined && !this.stopped) {
            void this.admit(pod).catch((err) => this.log(`pod ${pod.metadata?.namespace}/${pod.metadata?.name}: ${errorMessage(err)}`));
        }
    }

    private allocateIp(): string {
        return podIp(this.nextIp++);
    }

    private async admit(pod: k8s.V1Pod): Promise<void> {
        const meta = pod.metadata ?? {};
        const spec = pod.spec as k8s.V1PodSpec;
        const runners = spec.containers.map((c) => runnerFor(c, spec));
        const ip = this.allocateIp();
        const state: PodState = {
            uid: meta.uid ?? "",
            namespace: meta.namespace ?? "",
            name: meta.name ?? "",
            ip,
            dir: path.join(this.opts.workDir, "pods", `${meta.namespace}_${meta.name}`),
            startedAt: new Date().toISOString(),
            // Real when every container can run here; otherwise the pod is faked as a whole.
            real: runners.every((r) => r !== undefined),
            restartPolicy: spec.restartPolicy ?? "Always",
            containers: spec.containers.map((c, i) => ({
                spec: c,
                runner: runners[i],
                restarts: 0,
                ready: false,
                started: false,
                readiness: { successes: 0, failures: 0 },
                liveness: { successes: 0, failures: 0 },
            })),
            phase: "Pending",
            timers: [],
            stopping: false,
            writing: Promise.resolve(),
        };
        this.pods.set(state.uid, state);
        const images = spec.containers.map((c) => c.image).join(", ");
        if (!state.real) {
            if (state.restartPolicy === "Always") {
                state.phase = "Running";
                for (const c of state.containers) {
                    c.started = true;
                    c.ready = true;
                }
                this.log(`${state.namespace}/${state.name}: faked (${images} cannot run here): Running, Ready`);
            } else {
                state.phase = "Failed";
                state.terminated = { exitCode: 127, reason: "NotRunnableHere", message: `the stand-in kubelet cannot run ${images}` };
                this.log(`${state.namespace}/${state.name}: ${images} cannot run here: Failed`);
            }
            await this.writeStatus(state);
            return;
        }
        fs.mkdirSync(state.dir, { recursive: true });
        try {
            const claims = await this.claimDirs(pod);
            let volumes: ReadonlyMap<string, string> | undefined;
            for (const c of state.containers) {
                const source = await this.podSource(pod, c.spec);
                // The pod's volumes once, for all its containers.
                volumes ??= materialiseVolumes(source, state.dir, claims, state.dir);
                const mounts = containerMounts(c.spec, volumes);
                if (this.opts.hostsFile !== undefined) {
                    mounts.push({ source: this.opts.hostsFile, target: "/etc/hosts", readOnly: true });
                }
                if (c.runner?.kind === "nginx") {
                    mounts.push(nginxListenMount(c.spec, mounts, state.dir, loopbackTwin(ip), (port) => port));
                }
                c.source = source;
                c.command = containerCommand(source, c.runner?.kind === "registry" ? registryBinary(source) : undefined, mounts);
                c.env = {
                    PATH: "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                    HOSTNAME: state.name,
                    ...this.serviceEnv(),
                    ...resolveEnv(source, state.name, ip),
                    ...(c.runner?.kind === "registry" ? registryListenEnv(c.spec, loopbackTwin(ip)) : {}),
                };
            }
        } catch (err) {
            state.phase = "Failed";
            state.terminated = { exitCode: 128, reason: "CreateContainerError", message: errorMessage(err) };
            this.log(`${state.namespace}/${state.name}: ${errorMessage(err)}`);
            await this.writeStatus(state);
            return;
        }
        for (const c of state.containers) {
            this.startContainer(state, c);
            this.startProbes(state, c);
        }
        await this.writeStatus(state);
    }

    /** What the kubelet injects for the `kubernetes` Service; here it is the API server itself. */
    private serviceEnv(): Record<string, string> {
        const u = new URL(this.opts.server);
        return { KUBERNETES_SERVICE_HOST: u.hostname, KUBERNETES_SERVICE_PORT: u.port, KUBERNETES_SERVICE_PORT_HTTPS: u.port };
    }

    /** The pod's referenced objects, read from the API server now (a kubelet reads them at start). */
    private async podSource(pod: k8s.V1Pod, container: k8s.V1Container): Promise<PodSource> {
        const ns = pod.metadata?.namespace ?? "";
        const core = this.opts.kc.makeApiClient(k8s.CoreV1Api);
        const secrets = new Map<string, Record<string, string> | undefined>();
        const configMaps = new Map<string, Record<string, string> | undefined>();
        const projected = new Map<string, Record<string, string>>();
        const secretNames = new Set<string>();
        const configMapNames = new Set<string>();
        for (const v of pod.spec?.volumes ?? []) {
            if (v.secret?.secretName !== undefined) {
                secretNames.add(v.secret.secretName);
            }
            if (v.configMap?.name !== undefined) {
                configMapNames.add(v.configMap.name);
            }
        }
        for (const e of container.env ?? []) {
            if (e.valueFrom?.secretKeyRef?.name !== undefined) {
                secretNames.add(e.valueFrom.secretKeyRef.name);
            }
            if (e.valueFrom?.configMapKeyRef?.name !== undefined) {
                configMapNames.add(e.valueFrom.configMapKeyRef.name);
            }
        }
        for (const name of secretNames) {
            secrets.set(name, await readOrUndefined(async () => decodeSecret((await core.readNamespacedSecret(name, ns)).body)));
        }
        for (const name of configMapNames) {
            configMaps.set(name, await readOrUndefined(async () => ({ ...((await core.readNamespacedConfigMap(name, ns)).body.data ?? {}) })));
        }
        for (const v of pod.spec?.volumes ?? []) {
            if (v.projected !== undefined) {
                projected.set(v.name, await this.projectedFiles(pod, v.projected));
            }
        }
        return {
            namespace: ns,
            podSpec: pod.spec as PodSource["podSpec"],
            container: container as PodSource["container"],
            secretData: (name) => secrets.get(name),
            configMapData: (name) => configMaps.get(name),
            projectedFiles: (name) => projected.get(name),
        };
    }

    /** A projected volume's files: a bound service account token, ConfigMap keys, the namespace. */
    private async projectedFiles(pod: k8s.V1Pod, projected: k8s.V1ProjectedVolumeSource): Promise<Record<string, string>> {
        const ns = pod.metadata?.namespace ?? "";
        const core = this.opts.kc.makeApiClient(k8s.CoreV1Api);
        const files: Record<string, string> = {};
        for (const src of projected.sources ?? []) {
            if (src.serviceAccountToken !== undefined) {
                const sa = pod.spec?.serviceAccountName ?? "default";
                const req = await core.createNamespacedServiceAccountToken(sa, ns, {
                    spec: {
                        audiences: src.serviceAccountToken.audience === undefined ? [] : [src.serviceAccountToken.audience],
                        expirationSeconds: src.serviceAccountToken.expirationSeconds ?? 3607,
                        boundObjectRef: { kind: "Pod", apiVersion: "v1", name: pod.metadata?.name, uid: pod.metadata?.uid },
                    },
                });
                files[src.serviceAccountToken.path] = req.body.status?.token ?? "";
            } else if (src.configMap !== undefined) {
                const data = (await core.readNamespacedConfigMap(src.configMap.name ?? "", ns)).body.data ?? {};
                for (const item of src.configMap.items ?? Object.keys(data).map((key) => ({ key, path: key }))) {
                    files[item.path] = data[item.key] ?? "";
                }
            } else if (src.downwardAPI !== undefined) {
                for (const item of src.downwardAPI.items ?? []) {
                    const field = item.fieldRef?.fieldPath;
                    if (field !== "metadata.namespace" && field !== "metadata.name") {
                        throw new Error(`projected downwardAPI field ${String(field)} is not supported by the stand-in kubelet`);
                    }
                    files[item.path] = field === "metadata.namespace" ? ns : (pod.metadata?.name ?? "");
                }
            } else if (src.secret !== undefined) {
                const data = decodeSecret((await core.readNamespacedSecret(src.secret.name ?? "", ns)).body);
                for (const item of src.secret.items ?? Object.keys(data).map((key) => ({ key, path: key }))) {
                    files[item.path] = data[item.key] ?? "";
                }
            }
        }
        return files;
    }

    /** Each claim's directory: the hostPath of the PersistentVolume bound to it. */
    private async claimDirs(pod: k8s.V1Pod): Promise<Record<string, string>> {
        const ns = pod.metadata?.namespace ?? "";
        const core = this.opts.kc.makeApiClient(k8s.CoreV1Api);
        const dirs: Record<string, string> = {};
        for (const v of pod.spec?.volumes ?? []) {
            const claim = v.persistentVolumeClaim?.claimName;
            if (claim === undefined) {
                continue;
            }
            const pvc = (await core.readNamespacedPersistentVolumeClaim(claim, ns)).body;
            const pvName = pvc.spec?.volumeName;
            if (pvName === undefined || pvc.status?.phase !== "Bound") {
                throw new Error(`claim ${ns}/${claim} is not bound`);
            }
            const hostPath = (await core.readPersistentVolume(pvName)).body.spec?.hostPath?.path;
            if (hostPath === undefined) {
                throw new Error(`PersistentVolume ${pvName} is not a hostPath volume; the stand-in kubelet mounts only those`);
            }
            dirs[claim] = hostPath;
        }
        return dirs;
    }

    private startContainer(state: PodState, c: ContainerState): void {
        if (c.command === undefined || c.env === undefined || c.source === undefined) {
            return;
        }
        c.logFile = containerLogFile(c.source, c.spec, path.join(state.dir, `${c.spec.name}.log`));
        const proc = startProc(`${state.namespace}/${state.name}/${c.spec.name}`, c.command.cmd, c.command.args, { env: c.env, logFile: c.logFile });
        c.proc = proc;
        state.phase = "Running";
        c.started = true;
        c.terminated = undefined;
        c.readiness = { successes: 0, failures: 0 };
        c.liveness = { successes: 0, failures: 0 };
        this.log(`${state.namespace}/${state.name}: started ${c.spec.name} (pid ${proc.pid}, ip ${state.ip})`);
        void proc.exit.then((code) => this.onExit(state, c, proc, code));
    }

    private async onExit(state: PodState, c: ContainerState, proc: Proc, code: number | null): Promise<void> {
        if (c.proc !== proc || state.stopping) {
            return;
        }
        c.ready = false;
        c.started = false;
        const exitCode = code ?? 137;
        c.terminated = { exitCode, reason: exitCode === 0 ? "Completed" : "Error" };
        this.log(`${state.namespace}/${state.name}: ${c.spec.name} exited ${exitCode}`);
        const restart = state.restartPolicy === "Always" || (state.restartPolicy === "OnFailure" && exitCode !== 0);
        if (!restart) {
            // Done when every container is: Failed if any failed.
            if (state.containers.every((x) => x.terminated !== undefined)) {
                state.phase = state.containers.every((x) => x.terminated?.exitCode === 0) ? "Succeeded" : "Failed";
                this.stopProbes(state);
            }
            await this.writeStatus(state);
            return;
        }
        await this.writeStatus(state);
        // The kubelet backs off from 10 s; one second keeps tests short and still shows the restart.
        state.timers.push(
            setTimeout(() => {
                if (!state.stopping && !this.stopped) {
                    c.restarts++;
                    this.startContainer(state, c);
                    void this.writeStatus(state);
                }
            }, 1000),
        );
    }

    private startProbes(state: PodState, c: ContainerState): void {
        const readiness = c.spec.readinessProbe;
        const liveness = c.spec.livenessProbe;
        if (readiness === undefined) {
            c.ready = true;
        } else {
            this.schedule(state, c, readiness, (ok) => this.onReadiness(state, c, readiness, ok));
        }
        if (liveness !== undefined) {
            this.schedule(state, c, liveness, (ok) => this.onLiveness(state, c, liveness, ok));
        }
    }

    private stopProbes(state: PodState): void {
        for (const t of state.timers) {
            clearTimeout(t);
            clearInterval(t);
        }
        state.timers.length = 0;
    }

    /** Runs a probe after its initial delay, then every period, as the kubelet's prober does. */
    private schedule(state: PodState, c: ContainerState, probe: k8s.V1Probe, onResult: (ok: boolean) => void): void {
        const run = (): void => {
            if (state.stopping || this.stopped || c.proc === undefined || !c.proc.running) {
                return;
            }
            void this.probe(state, c, probe).then(onResult);
        };
        state.timers.push(
            setTimeout(
                () => {
                    run();
                    state.timers.push(setInterval(run, (probe.periodSeconds ?? 10) * 1000));
                },
                (probe.initialDelaySeconds ?? 0) * 1000,
            ),
        );
    }

    private onReadiness(state: PodState, c: ContainerState, probe: k8s.V1Probe, ok: boolean): void {
        const p = c.readiness;
        if (ok) {
            p.successes++;
            p.failures = 0;
        } else {
            p.failures++;
            p.successes = 0;
        }
        const ready = c.ready ? p.failures < (probe.failureThreshold ?? 3) : p.successes >= (probe.successThreshold ?? 1);
        if (ready !== c.ready) {
            c.ready = ready;
            this.log(`${state.namespace}/${state.name}: ${c.spec.name} ${ready ? "Ready" : "not Ready"}`);
            void this.writeStatus(state);
        }
    }

    private onLiveness(state: PodState, c: ContainerState, probe: k8s.V1Probe, ok: boolean): void {
        const p = c.liveness;
        p.failures = ok ? 0 : p.failures + 1;
        if (p.failures >= (probe.failureThreshold ?? 3)) {
            p.failures = 0;
            this.log(`${state.namespace}/${state.name}: ${c.spec.name} liveness probe failed ${probe.failureThreshold ?? 3} times; restarting`);
            void c.proc?.stop(5000, stopSignal(c.spec));
        }
    }

    /**
     * A probe against the pod's IP: httpGet answering 200-399 within timeoutSeconds (certificates
     * are not checked, as by the kubelet), or tcpSocket accepting a connection.
     */
    private probe(state: PodState, c: ContainerState, probe: k8s.V1Probe): Promise<boolean> {
        const portOf = (p: number | string | undefined) => (typeof p === "number" ? p : c.spec.ports?.find((x) => x.name === p)?.containerPort);
        const t = probe.tcpSocket;
        if (t !== undefined) {
            const port = portOf(t.port);
            if (port === undefined) {
                return Promise.resolve(false);
            }
            return new Promise((resolve) => {
                const sock = net.connect({ host: loopbackTwin(state.ip), port, timeout: (probe.timeoutSeconds ?? 1) * 1000 }, () => {
                    sock.destroy();
                    resolve(true);
                });
                sock.on("timeout", () => sock.destroy(new Error("timeout")));
                sock.on("error", () => resolve(false));
            });
        }
        const g = probe.httpGet;
        if (g === undefined) {
            return Promise.resolve(false);
        }
        const port = portOf(g.port);
        if (port === undefined) {
            return Promise.resolve(false);
        }
        const scheme = (g.scheme ?? "HTTP").toUpperCase();
        const options: https.RequestOptions = {
            host: loopbackTwin(state.ip),
            port,
            path: g.path ?? "/",
            method: "GET",
            timeout: (probe.timeoutSeconds ?? 1) * 1000,
            rejectUnauthorized: false,
            headers: { "User-Agent": `kube-probe/${tools.kubernetes.version.replace(/^v/, "")}` },
        };
        return new Promise((resolve) => {
            const req = (scheme === "HTTPS" ? https : http).request(options, (res) => {
                res.resume();
                const code = res.statusCode ?? 0;
                resolve(code >= 200 && code < 400);
            });
            req.on("timeout", () => req.destroy(new Error("timeout")));
            req.on("error", () => resolve(false));
            req.end();
        });
    }

    /** Deletion with a grace period: each container's preStop hook, then its stop, then remove the pod object, as the kubelet does. */
    private async terminate(pod: k8s.V1Pod, state: PodState): Promise<void> {
        const grace = pod.metadata?.deletionGracePeriodSeconds ?? pod.spec?.terminationGracePeriodSeconds ?? 30;
        state.stopping = true;
        // A preStop `sleep` (the only handler run here) holds the container's stop signal back, within the grace period.
        await Promise.all(
            state.containers.map(async (c) => {
                const pause = Math.min(c.spec.lifecycle?.preStop?.sleep?.seconds ?? 0, grace);
                if (pause > 0) {
                    this.log(`${state.namespace}/${state.name}: ${c.spec.name} preStop sleep ${pause} s`);
                    await new Promise((resolve) => setTimeout(resolve, pause * 1000));
                }
                await c.proc?.stop((grace - pause) * 1000, stopSignal(c.spec));
            }),
        );
        await this.kill(state);
        await this.finalDelete(pod);
        this.forget(state);
    }

    private async kill(state: PodState, graceMs = 5000): Promise<void> {
        state.stopping = true;
        this.stopProbes(state);
        await Promise.all(state.containers.flatMap((c) => (c.proc === undefined ? [] : [c.proc.stop(graceMs, stopSignal(c.spec))])));
    }

    private forget(state: PodState): void {
        this.pods.delete(state.uid);
        fs.rmSync(state.dir, { recursive: true, force: true });
    }

    private async finalDelete(pod: k8s.V1Pod): Promise<void> {
        const core = this.opts.kc.makeApiClient(k8s.CoreV1Api);
        try {
            await core.deleteNamespacedPod(pod.metadata?.name ?? "", pod.metadata?.namespace ?? "", undefined, undefined, 0, undefined, undefined, {
                gracePeriodSeconds: 0,
                preconditions: { uid: pod.metadata?.uid },
            });
        } catch (err) {
            if ((err as { statusCode?: number }).statusCode !== 404) {
                this.log(`deleting ${pod.metadata?.namespace}/${pod.metadata?.name}: ${errorMessage(err)}`);
            }
        }
    }

    /** Reports the pod's status (serialised per pod; the last state wins). */
    private writeStatus(state: PodState): Promise<void> {
        state.writing = state.writing.then(async () => {
            if (this.stopped && !state.stopping) {
                return;
            }
            const core = this.opts.kc.makeApiClient(k8s.CoreV1Api);
            try {
                await core.patchNamespacedPodStatus(
                    state.name,
                    state.namespace,
                    { status: this.podStatus(state) },
                    undefined,
                    undefined,
                    "e2e-kubelet",
                    undefined,
                    undefined,
                    {
                        headers: { "Content-Type": k8s.PatchUtils.PATCH_FORMAT_JSON_MERGE_PATCH },
                    },
                );
            } catch (err) {
                if ((err as { statusCode?: number }).statusCode !== 404) {
                    this.log(`status of ${state.namespace}/${state.name}: ${errorMessage(err)}`);
                }
            }
        });
        return state.writing;
    }

    private podStatus(state: PodState): k8s.V1PodStatus {
        const now = new Date();
        const running = state.phase === "Running";
        const cond = (type: string, ok: boolean): k8s.V1PodCondition => ({ type, status: ok ? "True" : "False", lastTransitionTime: now });
        const containerState = (c: ContainerState): k8s.V1ContainerState => {
            const terminated = c.terminated ?? state.terminated;
            return running && c.started
                ? { running: { startedAt: new Date(state.startedAt) } }
                : terminated !== undefined
                  ? { terminated: { exitCode: terminated.exitCode, reason: terminated.reason, message: terminated.message } }
                  : { waiting: { reason: "ContainerCreating" } };
        };
        const ready = running && state.containers.every((c) => c.ready);
        const done = state.phase === "Succeeded" || state.phase === "Failed";
        return {
            phase: state.phase,
            hostIP: "127.0.0.1",
            hostIPs: [{ ip: "127.0.0.1" }],
            podIP: state.ip,
            podIPs: [{ ip: state.ip }],
            startTime: new Date(state.startedAt),
            message: state.terminated?.message,
            conditions: [
                cond("PodScheduled", true),
                cond("PodReadyToStartContainers", !done),
                cond("Initialized", true),
                cond("ContainersReady", ready),
                cond("Ready", ready),
            ],
            containerStatuses: state.containers.map((c) => ({
                name: c.spec.name,
                image: c.spec.image ?? "",
                imageID: c.spec.image ?? "",
                containerID: c.proc === undefined ? undefined : `e2e://${c.proc.pid}`,
                ready: c.ready && running,
                started: c.started,
                restartCount: c.restarts,
                state: containerState(c),
            })),
        };
    }
}

/**
 * A serving registry listens on the pod's address, on the container's own ports (config.yml says
 * `:port`); a registry container without ports (`garbage-collect`) listens on nothing.
 */
function registryListenEnv(container: k8s.V1Container, address: string): Record<string, string> {
    const port = (name: string): number | undefined => container.ports?.find((x) => x.name === name)?.containerPort;
    const env: Record<string, string> = {};
    if (port("https") !== undefined) {
        env.REGISTRY_HTTP_ADDR = `${address}:${port("https")}`;
    }
    if (port("metrics") !== undefined) {
        env.REGISTRY_HTTP_DEBUG_ADDR = `${address}:${port("metrics")}`;
    }
    return env;
}

function decodeSecret(secret: k8s.V1Secret): Record<string, string> {
    return {
        ...Object.fromEntries(Object.entries(secret.data ?? {}).map(([k, v]) => [k, Buffer.from(v, "base64").toString("utf8")])),
        ...(secret.stringData ?? {}),
    };
}

async function readOrUndefined<T>(read: () => Promise<T>): Promise<T | undefined> {
    try {
        return await read();
    } catch (err) {
        if ((err as { statusCode?: number }).statusCode === 404) {
            return undefined;
        }
        throw err;
    }
}

/** RFC 3339 with microseconds, the form Lease's MicroTime fields take. */
function microTime(d: Date): string {
    return d.toISOString().replace(/\.(\d{3})Z$/, ".$1000Z");
}
