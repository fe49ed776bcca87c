// A stand-in for a cloud load-balancer controller: each Service of type LoadBalancer gets an
// address 127.0.0.<n> in `status.loadBalancer.ingress`, and a TCP listener on that address for
// each of its TCP ports that forwards every connection to one of the Service's ready endpoints,
// round-robin. With no ready endpoint a connection is closed at once, so a Service whose selector
// matches no ready pod fails whatever uses it, as behind a real cloud load balancer.
// NodePort and ClusterIP Services need nothing from it.
//
// Pod IPs must not be loopback addresses: the apiserver refuses loopback (and link-local)
// addresses in EndpointSlices and Endpoints ("may not be in the loopback range"), so for a Service
// selecting a pod at 127.0.1.x the controller-manager makes no slice at all, retries forever, and
// this forwards nothing. The test cluster's pods have IPs the API accepts and listen on loopback
// twins of them (tests/engine/pod-network.ts); `dial` maps one to the other.
import * as k8s from "@kubernetes/client-node";

import { WorkQueue, Watched, errorMessage, watch } from "./informers";
import { SERVICE_NAME_LABEL, ServiceFrontend } from "./relay";

export { readyBackends } from "./relay";
export type { Backend } from "./relay";

export interface LoadBalancerOptions {
    /** First host number n of 127.0.0.<n>. Default 2 (127.0.0.1 is the control plane's). */
    readonly firstHost?: number;
    /** Where to say what it does. Default: nowhere. */
    readonly log?: (line: string) => void;
    /** The address to connect to for an endpoint's IP (the pod network's routing). Default: the IP. */
    readonly dial?: (ip: string) => string;
}

interface Balancer {
    readonly uid: string;
    readonly frontend: ServiceFrontend;
}

/** Watches Services and EndpointSlices and serves each LoadBalancer Service on 127.0.0.<n>. */
export class LoadBalancerController {
    private readonly balancers = new Map<string, Balancer>();
    /** Every address ever handed out: none is reused while the controller runs. */
    private readonly given = new Set<string>();
    private nextHost: number;

    private constructor(
        private readonly kc: k8s.KubeConfig,
        private readonly services: Watched<k8s.V1Service>,
        private readonly slices: Watched<k8s.V1EndpointSlice>,
        private readonly queue: WorkQueue,
        private readonly log: (line: string) => void,
        firstHost: number,
        private readonly dial: (ip: string) => string,
    ) {
        this.nextHost = firstHost;
    }

    /** Starts watching; resolves once Services and EndpointSlices are listed (synced in the background from then on). */
    static async start(kc: k8s.KubeConfig, opts: LoadBalancerOptions = {}): Promise<LoadBalancerController> {
        const log = opts.log ?? (() => undefined);
        // eslint-disable-next-line prefer-const -- declared before the closure that reads it, assigned once that closure exists
        let self: LoadBalancerController | undefined;
        // The queue is paused until queue.start(), by which time `self` is set.
        const queue = new WorkQueue(
            (key) => self!.sync(key),
            (key, err) => log(`load-balancer: ${key}: ${errorMessage(err)} (retrying)`),
        );
        const core = kc.makeApiClient(k8s.CoreV1Api);
        const discovery = kc.makeApiClient(k8s.DiscoveryV1Api);
        const services = await watch<k8s.V1Service>(
            kc,
            "/api/v1/services",
            () => core.listServiceForAllNamespaces(),
            (svc) => queue.add(keyOf(svc.metadata)),
        );
        // Backends are looked up in this cache at each connection, so endpoint changes need no sync.
        const slices = await watch<k8s.V1EndpointSlice>(
            kc,
            "/apis/discovery.k8s.io/v1/endpointslices",
            () => discovery.listEndpointSliceForAllNamespaces(),
            () => undefined,
        ).catch(async (err: unknown) => {
            await services.stop();
            throw err;
        });
        self = new LoadBalancerController(kc, services, slices, queue, log, opts.firstHost ?? 2, opts.dial ?? ((ip) => ip));
        queue.start();
        return self;
    }

    /** The address given to a Service, if it has one. */
    addressOf(namespace: string, name: string): string | undefined {
        return this.balancers.get(`${namespace}/${name}`)?.frontend.address;
    }

    /** Stops watching, closes every listener and open connection. Services keep their status. */
    async stop(): Promise<void> {
        await this.queue.stop();
        await Promise.all([this.services.stop(), this.slices.stop()]);
        await Promise.all([...this.balancers.values()].map((b) => b.frontend.close()));
        this.balancers.clear();
    }

    private async sync(key: string): Promise<void> {
        const [namespace, name] = key.split("/");
        const svc = this.services.cache.get(name, namespace);
        let lb = this.balancers.get(key);
        if (lb !== undefined && (svc?.spec?.type !== "LoadBalancer" || svc.metadata?.uid !== lb.uid)) {
            // Deleted, recreated or no longer a LoadBalancer: its address goes away with it.
            await lb.frontend.close();
            this.balancers.delete(key);
            this.log(`load-balancer: ${key}: released ${lb.frontend.address}`);
            lb = undefined;
        }
        if (svc === undefined || svc.spec?.type !== "LoadBalancer") {
            // The address it published goes from the status too (a cloud's controller does the same).
            if (svc?.status?.loadBalancer?.ingress?.some((i) => i.ip !== undefined && this.given.has(i.ip))) {
                await this.patchIngress(svc, null);
            }
            return;
        }
        if (lb === undefined) {
            const frontend = new ServiceFrontend(this.allocate(svc), {
                slices: () => this.slices.cache.list(namespace).filter((s) => s.metadata?.labels?.[SERVICE_NAME_LABEL] === name),
                dial: this.dial,
                onError: (port, err) => this.log(`load-balancer: ${key} ${frontend.address}:${port}: ${errorMessage(err)}`),
            });
            lb = { uid: svc.metadata?.uid ?? "", frontend };
            this.balancers.set(key, lb);
            this.log(`load-balancer: ${key}: ${frontend.address}`);
        }
        try {
            await lb.frontend.sync(svc.spec.ports ?? []);
        } catch (err) {
            if ((err as NodeJS.ErrnoException).code === "EADDRINUSE") {
                // Another process on this machine (another test run's controller) serves this
                // address: give it up; the retry allocates the next one.
                await lb.frontend.close();
                this.balancers.delete(key);
            }
            throw err;
        }
        // Published only once every port listens, so whoever waits for the address can connect.
        const ingress = svc.status?.loadBalancer?.ingress ?? [];
        if (ingress.length !== 1 || ingress[0].ip !== lb.frontend.address) {
            await this.patchIngress(svc, [{ ip: lb.frontend.address }]);
        }
    }

    /** The Service's current address if it has one of ours nobody else holds, else the next unused. */
    private allocate(svc: k8s.V1Service): string {
        const claimed = new Set(
            this.services.cache
                .list()
                .filter((s) => s.metadata?.uid !== svc.metadata?.uid)
                .flatMap((s) => (s.status?.loadBalancer?.ingress ?? []).map((i) => i.ip)),
        );
        // A Service keeps the address a previous run of this controller gave it.
        const current = svc.status?.loadBalancer?.ingress?.[0]?.ip;
        if (current !== undefined && /^127\.0\.0\.\d+$/.test(current) && !this.given.has(current) && !claimed.has(current)) {
            this.given.add(current);
            return current;
        }
        for (;;) {
            if (this.nextHost > 254) {
                throw new Error("no address left in 127.0.0.0/24");
            }
            const ip = `127.0.0.${this.nextHost++}`;
            if (!this.given.has(ip) && !claimed.has(ip)) {
                this.given.add(ip);
                return ip;
            }
        }
    }

    private async patchIngress(svc: k8s.V1Service, ingress: k8s.V1LoadBalancerIngress[] | null): Promise<void> {
        const core = this.kc.makeApiClient(k8s.CoreV1Api);
        await core.patchNamespacedServiceStatus(
            svc.metadata?.name ?? "",
            svc.metadata?.namespace ?? "",
            { status: { loadBalancer: { ingress } } },
            undefined,
            undefined,
            "e2e-load-balancer",
            undefined,
            undefined,
            { headers: { "Content-Type": k8s.PatchUtils.PATCH_FORMAT_JSON_MERGE_PATCH } },
        );
    }
}

function keyOf(meta: k8s.V1ObjectMeta | undefined): string {
    return `${meta?.namespace ?? ""}/${meta?.name ?? ""}`;
}
