// Stand-ins for kube-proxy and cluster DNS, for pods that reach a Service by its name (the Ceph
// stack's registry reaches RGW gateways outside the cluster as `<registry>-rgw.<ns>.svc`).
//
// - kube-proxy: every Service's ClusterIP 10.x.y.z (the apiserver's range 10.96.0.0/12) gets a
//   TCP listener on its loopback twin 127.x.y.z, on each of the Service's TCP ports, which
//   forwards each connection to one of the Service's ready endpoints, round-robin, dialled
//   through `dial` (the pod network's and the outside hosts' twins). With no ready endpoint a
//   connection is closed at once, as kube-proxy rejects it. Containers here share the machine's
//   network namespace, so the twin is where a connection to the ClusterIP has to go.
// - cluster DNS: a hosts file naming each Service `<name>.<ns>.svc` and
//   `<name>.<ns>.svc.cluster.local` at its ClusterIP's twin, after this machine's own entries. The
//   stand-in kubelet bind-mounts it on each container's /etc/hosts. It is rewritten in place (the
//   same inode) when Services change, so a running container sees new names.
import * as k8s from "@kubernetes/client-node";
import * as fs from "fs";
import * as net from "net";

import { loopbackTwin } from "../pod-network";
import { WorkQueue, Watched, errorMessage, watch } from "./informers";
import { SERVICE_NAME_LABEL, ServiceFrontend } from "./relay";

export interface ServiceProxyOptions {
    /** The hosts file to keep (created here). */
    readonly hostsFile: string;
    /** The address to connect to for an endpoint's IP. Default: the IP. */
    readonly dial?: (ip: string) => string;
    /** Where to say what it does. Default: nowhere. */
    readonly log?: (line: string) => void;
}

interface Proxied {
    readonly uid: string;
    readonly frontend: ServiceFrontend;
}

/** Watches Services and EndpointSlices; serves every ClusterIP on its twin and keeps the hosts file. */
export class ServiceProxy {
    private readonly proxied = new Map<string, Proxied>();
    /** Connections forwarded, by `<endpoint ip>:<port>`. */
    private readonly forwarded = new Map<string, number>();
    private readonly baseHosts: string;

    private constructor(
        private readonly opts: ServiceProxyOptions,
        private readonly services: Watched<k8s.V1Service>,
        private readonly slices: Watched<k8s.V1EndpointSlice>,
        private readonly queue: WorkQueue,
    ) {
        this.baseHosts = fs.readFileSync("/etc/hosts", "utf8").trimEnd();
        fs.writeFileSync(opts.hostsFile, `${this.baseHosts}\n`, { mode: 0o644 });
    }

    /** Starts watching; resolves once Services and EndpointSlices are listed. */
    static async start(kc: k8s.KubeConfig, opts: ServiceProxyOptions): Promise<ServiceProxy> {
        // eslint-disable-next-line prefer-const -- declared before the closure that reads it, assigned once that closure exists
        let self: ServiceProxy | undefined;
        const queue = new WorkQueue(
            (key) => self!.sync(key),
            (key, err) => opts.log?.(`service-proxy: ${key}: ${errorMessage(err)} (retrying)`),
        );
        const core = kc.makeApiClient(k8s.CoreV1Api);
        const discovery = kc.makeApiClient(k8s.DiscoveryV1Api);
        const services = await watch<k8s.V1Service>(
            kc,
            "/api/v1/services",
            () => core.listServiceForAllNamespaces(),
            (svc) => queue.add(`${svc.metadata?.namespace}/${svc.metadata?.name}`),
        );
        // Backends are looked up in this cache at each connection, as in the load balancer.
        const slices = await watch<k8s.V1EndpointSlice>(
            kc,
            "/apis/discovery.k8s.io/v1/endpointslices",
            () => discovery.listEndpointSliceForAllNamespaces(),
            () => undefined,
        ).catch(async (err: unknown) => {
            await services.stop();
            throw err;
        });
        self = new ServiceProxy(opts, services, slices, queue);
        queue.start();
        return self;
    }

    /** The hosts file containers get as /etc/hosts. */
    get hostsFile(): string {
        return this.opts.hostsFile;
    }

    /** How many connections went to an endpoint (`ip`, any port), for tests. */
    connectionsTo(ip: string): number {
        return [...this.forwarded].filter(([k]) => k.startsWith(`${ip}:`)).reduce((n, [, c]) => n + c, 0);
    }

    async stop(): Promise<void> {
        await this.queue.stop();
        await Promise.all([this.services.stop(), this.slices.stop()]);
        await Promise.all([...this.proxied.values()].map((p) => p.frontend.close()));
        this.proxied.clear();
    }

    private log(line: string): void {
        this.opts.log?.(`service-proxy: ${line}`);
    }

    private async sync(key: string): Promise<void> {
        const [namespace, name] = key.split("/");
        const svc = this.services.cache.get(name, namespace);
        const ip = svc?.spec?.clusterIP;
        const wantsProxy = svc !== undefined && svc.spec?.type !== "ExternalName" && ip !== undefined && ip !== "None" && net.isIPv4(ip);
        let p = this.proxied.get(key);
        if (p !== undefined && (!wantsProxy || svc.metadata?.uid !== p.uid || loopbackTwin(ip) !== p.frontend.address)) {
            await p.frontend.close();
            this.proxied.delete(key);
            this.log(`${key}: stopped serving ${p.frontend.address}`);
            p = undefined;
        }
        if (wantsProxy) {
            if (p === undefined) {
                const twin = loopbackTwin(ip);
                p = {
                    uid: svc.metadata?.uid ?? "",
                    frontend: new ServiceFrontend(twin, {
                        slices: () => this.slices.cache.list(namespace).filter((s) => s.metadata?.labels?.[SERVICE_NAME_LABEL] === name),
                        dial: this.opts.dial ?? ((x) => x),
                        onConnect: (b) => this.forwarded.set(`${b.ip}:${b.port}`, (this.forwarded.get(`${b.ip}:${b.port}`) ?? 0) + 1),
                        onError: (port, err) => this.log(`${key} ${twin}:${port}: ${errorMessage(err)}`),
                    }),
                };
                this.proxied.set(key, p);
                this.log(`${key}: ${ip} on ${twin}`);
            }
            await p.frontend.sync(svc.spec?.ports ?? []);
        }
        this.writeHosts();
    }

    /** Rewrites the hosts file in place: a bind mount of it follows the inode, not the name. */
    private writeHosts(): void {
        const lines = [...this.proxied]
            .map(([key, p]) => {
                const [namespace, name] = key.split("/");
                return `${p.frontend.address} ${name}.${namespace}.svc ${name}.${namespace}.svc.cluster.local`;
            })
            .sort();
        const fd = fs.openSync(this.opts.hostsFile, "r+");
        try {
            const text = Buffer.from([this.baseHosts, "# Services (the test cluster's DNS stand-in)", ...lines, ""].join("\n"));
            fs.ftruncateSync(fd, 0);
            fs.writeSync(fd, text, 0, text.length, 0);
        } finally {
            fs.closeSync(fd);
        }
    }
}
