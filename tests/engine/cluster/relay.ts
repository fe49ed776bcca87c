// TCP forwarding shared by the load balancer, the service proxy and the outside hosts: a listener
// that hands each connection to a target picked when it arrives, and the listeners of one Service
// on one address, one per TCP port, each forwarding to the Service's ready endpoints round-robin.
import * as k8s from "@kubernetes/client-node";
import * as net from "net";

/** The label the EndpointSlice controller (and the program, for its own slices) puts on a Service's slices. */
export const SERVICE_NAME_LABEL = "kubernetes.io/service-name";

/** Where a connection to a Service port goes. */
export interface Backend {
    readonly ip: string;
    readonly port: number;
}

/**
 * The ready endpoints of one Service port, sorted (so round-robin visits each in turn): IPv4
 * endpoints whose `conditions.ready` is true, on the slice port named like the Service port
 * (the EndpointSlice controller copies the Service port's name, "" when unnamed).
 */
export function readyBackends(servicePort: k8s.V1ServicePort, slices: readonly k8s.V1EndpointSlice[]): Backend[] {
    const seen = new Map<string, Backend>();
    for (const slice of slices) {
        const port = slice.ports?.find((p) => (p.name ?? "") === (servicePort.name ?? ""))?.port;
        if (slice.addressType !== "IPv4" || port === undefined) {
            continue;
        }
        for (const ep of slice.endpoints ?? []) {
            const ip = ep.addresses[0];
            // The API says a nil `ready` may be read as ready; the controller-manager always sets
            // it, so only an explicit true counts and a hand-made slice can't send traffic by accident.
            if (ep.conditions?.ready === true && ip !== undefined) {
                // An endpoint moving between slices is in both for a moment.
                seen.set(`${ip}:${port}`, { ip, port });
            }
        }
    }
    return [...seen.values()].sort((a, b) => a.ip.localeCompare(b.ip, "en", { numeric: true }) || a.port - b.port);
}

/** A TCP listener forwarding each connection to the target `pick` names then (none: closed at once). */
export class TcpRelay {
    private readonly sockets = new Set<net.Socket>();

    private constructor(private readonly server: net.Server) {}

    /** Listens on host:port; `onError` hears of errors after it listens. */
    static async listen(host: string, port: number, pick: () => { host: string; port: number } | undefined, onError: (err: Error) => void): Promise<TcpRelay> {
        // eslint-disable-next-line prefer-const -- declared before the closure that reads it, assigned once that closure exists
        let relay: TcpRelay | undefined;
        const server = net.createServer((client) => relay?.forward(client, pick()));
        relay = new TcpRelay(server);
        await new Promise<void>((resolve, reject) => {
            server.once("error", reject);
            server.listen({ host, port }, () => {
                server.off("error", reject);
                resolve();
            });
        });
        server.on("error", onError);
        return relay;
    }

    /** Stops listening and drops the open connections (server.close alone waits for them). */
    close(): Promise<void> {
        this.sockets.forEach((s) => s.destroy());
        return new Promise((resolve) => this.server.close(() => resolve()));
    }

    private forward(client: net.Socket, target: { host: string; port: number } | undefined): void {
        this.track(client);
        if (target === undefined) {
            client.destroy();
            return;
        }
        const upstream = net.connect(target);
        this.track(upstream);
        // Ends travel through the pipes (half-close included); an error on either side drops both.
        const drop = (): void => {
            client.destroy();
            upstream.destroy();
        };
        client.on("error", drop);
        upstream.on("error", drop);
        client.pipe(upstream);
        upstream.pipe(client);
    }

    private track(socket: net.Socket): void {
        this.sockets.add(socket);
        socket.on("close", () => this.sockets.delete(socket));
    }
}

export interface ServiceFrontendOptions {
    /** The Service's slices, read at each connection (so endpoint changes need no sync). */
    readonly slices: () => readonly k8s.V1EndpointSlice[];
    /** The address to connect to for an endpoint's IP. */
    readonly dial: (ip: string) => string;
    /** Hears of each connection's backend. Default: nothing. */
    readonly onConnect?: (backend: Backend) => void;
    readonly onError: (port: number, err: Error) => void;
}

/** A Service port's round-robin position; the port is updated when the Service changes. */
interface Round {
    servicePort: k8s.V1ServicePort;
    next: number;
}

/** One Service served on one address: a relay per TCP port to its ready endpoints, round-robin. */
export class ServiceFrontend {
    private readonly ports = new Map<number, { readonly relay: TcpRelay; readonly round: Round }>();

    constructor(
        readonly address: string,
        private readonly opts: ServiceFrontendOptions,
    ) {}

    /** Serves exactly the Service's TCP ports (UDP and SCTP are not served: nothing here uses them). */
    async sync(servicePorts: readonly k8s.V1ServicePort[]): Promise<void> {
        const wanted = new Map(servicePorts.filter((p) => (p.protocol ?? "TCP") === "TCP").map((p) => [p.port, p]));
        for (const [port, p] of [...this.ports]) {
            if (!wanted.has(port)) {
                this.ports.delete(port);
                await p.relay.close();
            }
        }
        for (const [port, servicePort] of wanted) {
            const current = this.ports.get(port);
            if (current !== undefined) {
                // The port's name picks the slice port.
                current.round.servicePort = servicePort;
                continue;
            }
            const round: Round = { servicePort, next: 0 };
            const relay = await TcpRelay.listen(
                this.address,
                port,
                () => this.pick(round),
                (err) => this.opts.onError(port, err),
            );
            this.ports.set(port, { relay, round });
        }
    }

    async close(): Promise<void> {
        const entries = [...this.ports.values()];
        this.ports.clear();
        await Promise.all(entries.map((e) => e.relay.close()));
    }

    private pick(round: Round): { host: string; port: number } | undefined {
        const backends = readyBackends(round.servicePort, this.opts.slices());
        if (backends.length === 0) {
            return undefined;
        }
        const backend = backends[round.next++ % backends.length];
        this.opts.onConnect?.(backend);
        return { host: this.opts.dial(backend.ip), port: backend.port };
    }
}
