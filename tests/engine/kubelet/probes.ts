// The stand-in kubelet's prober: each container's readiness and liveness probes (httpGet,
// tcpSocket) against the pod's address, with their delays, periods and thresholds. Readiness
// becomes the container's Ready; a failing liveness probe stops the container, which the kubelet
// then restarts.
import * as k8s from "@kubernetes/client-node";
import * as http from "http";
import * as https from "https";
import * as net from "net";

import { stopSignal } from "../../harness/container";
import { loopbackTwin } from "../pod-network";
import { ContainerState, PodState } from "./pods";

import * as tools from "../tools.json";

/** What the probes need of the kubelet that runs them. */
export interface ProbeHost {
    /** Whether the kubelet is stopping: no more probes. */
    stopped(): boolean;
    log(line: string): void;
    /** Reports the pod's status. */
    writeStatus(state: PodState): Promise<void>;
}

export function startProbes(state: PodState, c: ContainerState, host: ProbeHost): void {
    const readiness = c.spec.readinessProbe;
    const liveness = c.spec.livenessProbe;
    if (readiness === undefined) {
        c.ready = true;
    } else {
        schedule(state, c, readiness, host, (ok) => onReadiness(state, c, readiness, ok, host));
    }
    if (liveness !== undefined) {
        schedule(state, c, liveness, host, (ok) => onLiveness(state, c, liveness, ok, host));
    }
}

export function stopProbes(state: PodState): void {
    for (const t of state.timers) {
        clearTimeout(t);
        clearInterval(t);
    }
    state.timers.length = 0;
}

/** Runs a probe after its initial delay, then every period, as the kubelet's prober does. */
function schedule(state: PodState, c: ContainerState, probe: k8s.V1Probe, host: ProbeHost, onResult: (ok: boolean) => void): void {
    const run = (): void => {
        if (state.stopping || host.stopped() || c.proc === undefined || !c.proc.running) {
            return;
        }
        void runProbe(state, c, probe).then(onResult);
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

function onReadiness(state: PodState, c: ContainerState, probe: k8s.V1Probe, ok: boolean, host: ProbeHost): void {
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
        host.log(`${state.namespace}/${state.name}: ${c.spec.name} ${ready ? "Ready" : "not Ready"}`);
        void host.writeStatus(state);
    }
}

function onLiveness(state: PodState, c: ContainerState, probe: k8s.V1Probe, ok: boolean, host: ProbeHost): void {
    const p = c.liveness;
    p.failures = ok ? 0 : p.failures + 1;
    if (p.failures >= (probe.failureThreshold ?? 3)) {
        p.failures = 0;
        host.log(`${state.namespace}/${state.name}: ${c.spec.name} liveness probe failed ${probe.failureThreshold ?? 3} times; restarting`);
        void c.proc?.stop(5000, stopSignal(c.spec));
    }
}

/**
 * A probe against the pod's IP: httpGet answering 200-399 within timeoutSeconds (certificates
 * are not checked, as by the kubelet), or tcpSocket accepting a connection.
 */
function runProbe(state: PodState, c: ContainerState, probe: k8s.V1Probe): Promise<boolean> {
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
