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
//
// Here the pods' lifecycle; pods.ts their record and reported status; node.ts the Node and its
// heartbeat; pod-source.ts what containers are made from; probes.ts readiness and liveness;
// logs.ts `kubectl logs`.
import * as k8s from "@kubernetes/client-node";
import * as fs from "fs";
import * as https from "https";
import * as path from "path";

import {
    containerCommand,
    containerLogFile,
    containerMounts,
    materialiseVolumes,
    nginxListenMount,
    registryBinary,
    resolveEnv,
    stopSignal,
} from "../../harness/container";
import { Proc, startProc } from "../../harness/procs";
import { errorMessage, watch, Watched } from "../cluster/informers";
import { loopbackTwin, podIp } from "../pod-network";
import { serveContainerLogs } from "./logs";
import { HEARTBEAT_MS, registerNode, renewNode } from "./node";
import { claimDirs, podSource } from "./pod-source";
import { ContainerState, KubeletOptions, PodState, podStatus, registryListenEnv, runnerFor, RunningContainer } from "./pods";
import { ProbeHost, startProbes, stopProbes } from "./probes";

export type { KubeletOptions, RunningContainer } from "./pods";

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
    /** What the probes call back. */
    private readonly probeHost: ProbeHost = {
        stopped: () => this.stopped,
        log: (line) => this.log(line),
        writeStatus: (state) => this.writeStatus(state),
    };

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

    /** The kubelet API's container logs, for `kubectl logs` (logs.ts). */
    private async serveLogs(): Promise<void> {
        const logs = await serveContainerLogs(
            this.nodeName,
            (namespace, pod, container) =>
                [...this.pods.values()]
                    .filter((p) => p.namespace === namespace && p.name === pod)
                    .flatMap((p) => p.containers)
                    .find((c) => c.spec.name === container)?.logFile,
        );
        this.logServer = logs.server;
        this.logPort = logs.port;
    }

    private log(line: string): void {
        this.opts.log?.(`kubelet: ${line}`);
    }

    // --- the node

    private async register(): Promise<void> {
        await registerNode(this.opts.kc, this.nodeName, this.logPort);
        // The node lifecycle controller marks a node whose Lease is not renewed NotReady (and
        // taints it) after its grace period; renew it, and the Ready condition, like a kubelet.
        this.heartbeat = setInterval(() => void this.beat(), HEARTBEAT_MS);
    }

    private async beat(): Promise<void> {
        if (this.stopped) {
            return;
        }
        const now = new Date();
        try {
            await renewNode(this.opts.kc, this.nodeName, this.logPort, now);
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
            const claims = await claimDirs(this.opts.kc, pod);
            let volumes: ReadonlyMap<string, string> | undefined;
            for (const c of state.containers) {
                const source = await podSource(this.opts.kc, pod, c.spec);
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
            startProbes(state, c, this.probeHost);
        }
        await this.writeStatus(state);
    }

    /** What the kubelet injects for the `kubernetes` Service; here it is the API server itself. */
    private serviceEnv(): Record<string, string> {
        const u = new URL(this.opts.server);
        return { KUBERNETES_SERVICE_HOST: u.hostname, KUBERNETES_SERVICE_PORT: u.port, KUBERNETES_SERVICE_PORT_HTTPS: u.port };
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
                stopProbes(state);
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
        stopProbes(state);
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
                    { status: podStatus(state) },
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
}
