// A real Kubernetes control plane for the engine tests: etcd, kube-apiserver,
// kube-controller-manager and kube-scheduler, each a process on 127.0.0.1 and free ports, with
// everything (certificates, tokens, kubeconfigs, etcd data, logs) in one work dir under .e2e.
// There is no kubelet: a node agent stands in for it, and load-balancer.ts and provisioner.ts
// stand in for the cloud's load-balancer controller and a CSI provisioner.
import * as k8s from "@kubernetes/client-node";
import * as crypto from "crypto";
import * as fs from "fs";
import * as http from "http";
import * as https from "https";
import * as path from "path";
import * as YAML from "yaml";

import { makePki } from "../../support/pki";
import { CACHE_BIN, Proc, freePort, startProc, waitFor, workDir } from "../../harness/procs";
import tools from "../tools.json";

/** The processes of the control plane, in start order (stopped in reverse). */
export const COMPONENTS = ["etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler"] as const;
export type Component = (typeof COMPONENTS)[number];

/** etcd comes from Debian's `etcd-server` (tests/harness/debs/engine.txt), not from the Go cache. */
const ETCD = "/usr/bin/etcd";

/** Set to 1 to keep the work dir (logs, etcd data, certificates) after `stop()`. */
export const KEEP_ENV = "REGISTRY_E2E_KEEP";

export interface ControlPlaneOptions {
    /** Directory the work dir is made in. Default: tests/harness/procs.ts WORK_DIR (.e2e). */
    readonly parent?: string;
    /** Where the Kubernetes binaries are. Default: CACHE_BIN (~/.cache/registry-e2e/bin). */
    readonly binDir?: string;
    /** Bound on each wait during start-up, in ms. Default 120000 (cold starts on a loaded 2-core machine). */
    readonly timeoutMs?: number;
}

/** A running control plane and how to reach and stop it. */
export interface ControlPlane {
    /** Path of a kubeconfig for the admin (group system:masters). */
    readonly kubeconfig: string;
    /** https://127.0.0.1:<port> */
    readonly server: string;
    /** The admin's bearer token. */
    readonly token: string;
    /** PEM file of the CA that signed the apiserver's serving certificate. */
    readonly caFile: string;
    /** A client for the admin, loaded from `kubeconfig`. */
    readonly kc: k8s.KubeConfig;
    /** The directory holding everything this control plane wrote. */
    readonly workDir: string;
    /** Log file of each process. */
    readonly logs: Readonly<Record<Component, string>>;
    /** The processes, for log tails and PIDs. */
    readonly procs: Readonly<Record<Component, Proc>>;
    /** Milliseconds from the call to each component being ready, and `total`. */
    readonly startupMs: Readonly<Record<Component | "total", number>>;
    /** Resident memory of each running process, in MiB (from /proc). */
    rssMiB(): Record<Component, number | undefined>;
    /** Stops every process (reverse start order) and deletes the work dir unless REGISTRY_E2E_KEEP=1. */
    stop(): Promise<void>;
}

/** Starts etcd, kube-apiserver, kube-controller-manager and kube-scheduler; resolves when usable. */
export async function startControlPlane(opts: ControlPlaneOptions = {}): Promise<ControlPlane> {
    const t0 = Date.now();
    const timeoutMs = opts.timeoutMs ?? 120_000;
    const bin = (name: string): string => {
        const file = path.join(opts.binDir ?? CACHE_BIN, `${name}-${tools.kubernetes.version}`);
        if (!fs.existsSync(file)) {
            throw new Error(
                `${file} is missing: run scripts/install-test-deps.sh (it builds ${tools.kubernetes.binaries.join(", ")} ${tools.kubernetes.version})`,
            );
        }
        return file;
    };
    if (!fs.existsSync(ETCD)) {
        throw new Error(`${ETCD} is missing: apt-get install etcd-server (tests/harness/debs/engine.txt)`);
    }
    const binaries = { apiserver: bin("kube-apiserver"), controllerManager: bin("kube-controller-manager"), scheduler: bin("kube-scheduler") };

    const dir = workDir("control-plane", opts.parent);
    const file = (name: string): string => path.join(dir, name);
    const procs: Partial<Record<Component, Proc>> = {};
    const startupMs: Partial<Record<Component | "total", number>> = {};
    const stop = async (): Promise<void> => {
        for (const name of [...COMPONENTS].reverse()) {
            await procs[name]?.stop();
        }
        if (process.env[KEEP_ENV] !== "1") {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    };
    // Go programs need nothing from our environment; a clean one keeps ETCD_* and proxy variables out.
    const env = { PATH: "/usr/sbin:/usr/bin:/sbin:/bin" };
    const start = (name: Component, cmd: string, args: string[]): Proc => {
        const p = startProc(name, cmd, args, { env, logFile: file(`${name}.log`), cwd: dir });
        procs[name] = p;
        return p;
    };

    try {
        const [etcdClient, etcdPeer, apiPort, kcmPort, schedPort] = await Promise.all([freePort(), freePort(), freePort(), freePort(), freePort()]);
        const server = `https://127.0.0.1:${apiPort}`;

        // etcd first: it needs nothing else, and its start overlaps with making the certificates.
        const etcd = start("etcd", ETCD, [
            "--name=e2e",
            `--data-dir=${file("etcd")}`,
            `--listen-client-urls=http://127.0.0.1:${etcdClient}`,
            `--advertise-client-urls=http://127.0.0.1:${etcdClient}`,
            `--listen-peer-urls=http://127.0.0.1:${etcdPeer}`,
            `--initial-advertise-peer-urls=http://127.0.0.1:${etcdPeer}`,
            `--initial-cluster=e2e=http://127.0.0.1:${etcdPeer}`,
            "--logger=zap",
        ]);

        // One CA signs the apiserver's serving certificate, verifies client certificates and is the
        // controller-manager's cluster signer (CSRs), as in a kubeadm cluster.
        const pki = await makePki(["localhost", "kubernetes", "kubernetes.default", "kubernetes.default.svc"], ["127.0.0.1", "10.96.0.1"]);
        const caFile = file("ca.crt");
        fs.writeFileSync(caFile, pki.caPem);
        fs.writeFileSync(file("ca.key"), pki.caKeyPem, { mode: 0o600 });
        fs.writeFileSync(file("apiserver.crt"), pki.certPem);
        fs.writeFileSync(file("apiserver.key"), pki.keyPem, { mode: 0o600 });
        const sa = crypto.generateKeyPairSync("ec", { namedCurve: "P-256" });
        fs.writeFileSync(file("sa.key"), sa.privateKey.export({ type: "pkcs8", format: "pem" }), { mode: 0o600 });
        fs.writeFileSync(file("sa.pub"), sa.publicKey.export({ type: "spki", format: "pem" }));

        // Static tokens: the admin, and one per component under the user names the built-in RBAC
        // bindings (system:kube-controller-manager, system:kube-scheduler) are made for.
        const tokens = {
            admin: { user: "e2e-admin", groups: ["system:masters"], token: randomToken() },
            controllerManager: { user: "system:kube-controller-manager", groups: [], token: randomToken() },
            scheduler: { user: "system:kube-scheduler", groups: [], token: randomToken() },
        };
        fs.writeFileSync(file("tokens.csv"), tokenFile(Object.values(tokens)), { mode: 0o600 });
        const kubeconfig = file("admin.kubeconfig");
        fs.writeFileSync(kubeconfig, kubeconfigYaml(server, pki.caPem, tokens.admin.user, tokens.admin.token), { mode: 0o600 });
        fs.writeFileSync(
            file("controller-manager.kubeconfig"),
            kubeconfigYaml(server, pki.caPem, tokens.controllerManager.user, tokens.controllerManager.token),
            { mode: 0o600 },
        );
        fs.writeFileSync(file("scheduler.kubeconfig"), kubeconfigYaml(server, pki.caPem, tokens.scheduler.user, tokens.scheduler.token), { mode: 0o600 });

        await waitFor("etcd /health", async () => (await get(`http://127.0.0.1:${etcdClient}/health`)).body.includes('"health":"true"'), timeoutMs, 100, etcd);
        startupMs.etcd = Date.now() - t0;

        const apiserver = start("kube-apiserver", binaries.apiserver, [
            `--etcd-servers=http://127.0.0.1:${etcdClient}`,
            "--bind-address=127.0.0.1",
            "--advertise-address=127.0.0.1",
            `--secure-port=${apiPort}`,
            // The apiserver would publish its address as the endpoint of the `kubernetes` Service,
            // and 127.0.0.1 is refused as an endpoint address (loopback). Nothing here uses it.
            "--endpoint-reconciler-type=none",
            `--tls-cert-file=${file("apiserver.crt")}`,
            `--tls-private-key-file=${file("apiserver.key")}`,
            `--client-ca-file=${caFile}`,
            `--token-auth-file=${file("tokens.csv")}`,
            "--authorization-mode=RBAC",
            `--service-account-key-file=${file("sa.pub")}`,
            `--service-account-signing-key-file=${file("sa.key")}`,
            "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
            "--service-cluster-ip-range=10.96.0.0/12",
            // Otherwise a privileged container fails validation before PodSecurity admission sees it,
            // and the tests could not tell the two apart.
            "--allow-privileged=true",
        ]);
        const kc = new k8s.KubeConfig();
        kc.loadFromFile(kubeconfig);
        await waitFor("kube-apiserver /readyz", async () => (await get(`${server}/readyz`, kc)).status === 200, timeoutMs, 250, apiserver);
        startupMs["kube-apiserver"] = Date.now() - t0;

        // No --authentication/--authorization-kubeconfig: nothing here calls their secure ports but
        // the /healthz check, which is always allowed; with them, both log errors in a loop about
        // the front-proxy CA this apiserver does not have (no --requestheader-client-ca-file).
        const component = (kubeconfigFile: string, port: number): string[] => [
            `--kubeconfig=${kubeconfigFile}`,
            "--bind-address=127.0.0.1",
            `--secure-port=${port}`,
            // One instance of each: waiting for a lease would only slow start-up.
            "--leader-elect=false",
        ];
        const controllerManager = start("kube-controller-manager", binaries.controllerManager, [
            ...component(file("controller-manager.kubeconfig"), kcmPort),
            "--controllers=*",
            // Each controller runs under its own service account, so RBAC applies to it as in a real cluster.
            "--use-service-account-credentials=true",
            `--root-ca-file=${caFile}`,
            `--service-account-private-key-file=${file("sa.key")}`,
            `--cluster-signing-cert-file=${caFile}`,
            `--cluster-signing-key-file=${file("ca.key")}`,
            // Starting ~38 controllers, each under its own service account, is a burst of requests;
            // at the default 20 qps (burst 30) it alone took 4.5 of 8 s of the control plane's start.
            "--kube-api-qps=200",
            "--kube-api-burst=400",
        ]);
        const scheduler = start("kube-scheduler", binaries.scheduler, [...component(file("scheduler.kubeconfig"), schedPort)]);
        // They serve a certificate they make in memory at start: only liveness is checked here.
        await Promise.all([
            waitFor(
                "kube-controller-manager /healthz",
                async () => (await get(`https://127.0.0.1:${kcmPort}/healthz`)).status === 200,
                timeoutMs,
                250,
                controllerManager,
            ).then(() => {
                startupMs["kube-controller-manager"] = Date.now() - t0;
            }),
            waitFor(
                "kube-scheduler /healthz",
                async () => (await get(`https://127.0.0.1:${schedPort}/healthz`)).status === 200,
                timeoutMs,
                250,
                scheduler,
            ).then(() => {
                startupMs["kube-scheduler"] = Date.now() - t0;
            }),
        ]);

        // Pods are refused until their namespace's `default` ServiceAccount exists (ServiceAccount
        // admission), and the controller-manager makes it some time after it is healthy.
        const core = kc.makeApiClient(k8s.CoreV1Api);
        await waitFor("namespace default", async () => (await core.readNamespace("default")).body.metadata?.name === "default", timeoutMs, 250, apiserver);
        await waitFor(
            "ServiceAccount default/default",
            async () => (await core.readNamespacedServiceAccount("default", "default")).body.metadata?.name === "default",
            timeoutMs,
            250,
            controllerManager,
        );
        startupMs.total = Date.now() - t0;

        return {
            kubeconfig,
            server,
            token: tokens.admin.token,
            caFile,
            kc,
            workDir: dir,
            logs: Object.fromEntries(COMPONENTS.map((c) => [c, file(`${c}.log`)])) as Record<Component, string>,
            procs: procs as Record<Component, Proc>,
            startupMs: startupMs as Record<Component | "total", number>,
            rssMiB: () => Object.fromEntries(COMPONENTS.map((c) => [c, rssMiB(procs[c])])) as Record<Component, number | undefined>,
            stop,
        };
    } catch (err) {
        await stop();
        throw err;
    }
}

/** A kubeconfig for one user's bearer token, the CA inline (usable from any directory). */
export function kubeconfigYaml(server: string, caPem: string, user: string, token: string): string {
    return YAML.stringify({
        apiVersion: "v1",
        kind: "Config",
        clusters: [{ name: "e2e", cluster: { server, "certificate-authority-data": Buffer.from(caPem).toString("base64") } }],
        users: [{ name: user, user: { token } }],
        contexts: [{ name: "e2e", context: { cluster: "e2e", user } }],
        "current-context": "e2e",
    });
}

/** The apiserver's --token-auth-file: `token,user,uid[,"group1,group2"]` per line (CSV). */
export function tokenFile(entries: readonly { user: string; groups: readonly string[]; token: string }[]): string {
    const line = (e: (typeof entries)[number]): string[] => [e.token, e.user, e.user, ...(e.groups.length > 0 ? [`"${e.groups.join(",")}"`] : [])];
    return entries.map((e) => line(e).join(",")).join("\n") + "\n";
}

function randomToken(): string {
    return crypto.randomBytes(24).toString("hex");
}

function rssMiB(p: Proc | undefined): number | undefined {
    if (p === undefined || !p.running) {
        return undefined;
    }
    try {
        const m = /^VmRSS:\s+(\d+) kB/m.exec(fs.readFileSync(`/proc/${p.pid}/status`, "utf8"));
        return m === null ? undefined : Math.round(Number(m[1]) / 1024);
    } catch {
        return undefined;
    }
}

/**
 * A GET for health checks. With `kc`, the apiserver's CA and the admin's token; without, a
 * certificate is not verified (kube-controller-manager and kube-scheduler serve a self-signed one).
 */
async function get(url: string, kc?: k8s.KubeConfig): Promise<{ status: number; body: string }> {
    const u = new URL(url);
    const options: https.RequestOptions = { method: "GET", hostname: u.hostname, port: u.port, path: u.pathname, timeout: 5000 };
    if (kc !== undefined) {
        await kc.applyToHTTPSOptions(options);
    } else {
        options.rejectUnauthorized = false;
    }
    const mod = u.protocol === "https:" ? https : http;
    return new Promise((resolve, reject) => {
        const req = mod.request(options, (res) => {
            let body = "";
            res.setEncoding("utf8");
            res.on("data", (d: string) => (body += d));
            res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
            res.on("error", reject);
        });
        req.on("timeout", () => req.destroy(new Error(`timeout: GET ${url}`)));
        req.on("error", reject);
        req.end();
    });
}
