// The stand-in kubelet's record of the pods it runs: which of their containers' images can run
// here (and how), each container's process, probes and restarts, and the pod status reported from
// that record.
import * as k8s from "@kubernetes/client-node";

import { isNginxContainer, PodSource } from "../../harness/container";
import { Proc } from "../../harness/procs";

/** How a container of an image runs here; undefined: it cannot, and is faked. */
export type Runner = { readonly kind: "registry" } | { readonly kind: "nginx" } | { readonly kind: "host" };

/** The images this node runs for real, in this pod. */
export function runnerFor(container: k8s.V1Container, pod: k8s.V1PodSpec): Runner | undefined {
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

export interface ProbeState {
    successes: number;
    failures: number;
}

export interface ContainerState {
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

export interface PodState {
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

/** The status the API server gets for the pod. */
export function podStatus(state: PodState): k8s.V1PodStatus {
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

/**
 * A serving registry listens on the pod's address, on the container's own ports (config.yml says
 * `:port`); a registry container without ports (`garbage-collect`) listens on nothing.
 */
export function registryListenEnv(container: k8s.V1Container, address: string): Record<string, string> {
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
