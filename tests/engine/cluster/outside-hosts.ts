// Hosts outside the test cluster that the cluster reaches by IP, such as RGW gateways listed in
// a selector-less Service's EndpointSlice. The apiserver refuses loopback addresses in
// EndpointSlices, and binding this machine's own address would expose a test server beyond
// this machine; so, like pods (tests/engine/pod-network.ts), an outside host has an address
// the API accepts, 10.245.<x>.<y>, and listens on its loopback twin 127.245.<x>.<y>. What
// connects to such a host by IP (the service proxy) dials the twin, as routes would deliver it.
//
// `startRelay` plays one such host: a TCP relay on the twin to a server on 127.0.0.1 (one
// radosgw behind two "gateway" hosts, say), which can be stopped to take that host down.
import * as net from "net";

import { listenAddress } from "../pod-network";
import { loopbackTwin } from "./service-proxy";

/** The outside hosts' addresses (outside the pod and Service ranges). */
export const OUTSIDE_CIDR = "10.245.0.0/16";

/** The n-th outside host's IP (n from 1 to 254): 10.245.0.<n>. */
export function outsideHostIp(n: number): string {
    if (!Number.isInteger(n) || n < 1 || n > 254) {
        throw new Error(`outside host number ${n} is outside 1..254`);
    }
    return `10.245.0.${n}`;
}

/** Where to connect for an endpoint IP: a pod's or an outside host's twin; anything else as it is. */
export function dialAddress(ip: string): string {
    return net.isIPv4(ip) && ip.startsWith("10.245.") ? loopbackTwin(ip) : listenAddress(ip);
}

/** A host outside the cluster relaying one port to a local server. */
export interface Relay {
    readonly ip: string;
    readonly port: number;
    /** Connections accepted so far. */
    readonly connections: () => number;
    /** Stops listening and drops open connections. */
    stop(): Promise<void>;
}

/** Listens on `ip`'s twin at `port` and relays each connection to `target` (127.0.0.1:port). */
export async function startRelay(ip: string, port: number, target: { host: string; port: number }): Promise<Relay> {
    const sockets = new Set<net.Socket>();
    let count = 0;
    const track = (s: net.Socket): void => {
        sockets.add(s);
        s.on("close", () => sockets.delete(s));
    };
    const server = net.createServer((client) => {
        count++;
        track(client);
        const upstream = net.connect(target);
        track(upstream);
        const drop = (): void => {
            client.destroy();
            upstream.destroy();
        };
        client.on("error", drop);
        upstream.on("error", drop);
        client.pipe(upstream);
        upstream.pipe(client);
    });
    await new Promise<void>((resolve, reject) => {
        server.once("error", reject);
        server.listen({ host: loopbackTwin(ip), port }, () => {
            server.off("error", reject);
            resolve();
        });
    });
    return {
        ip,
        port,
        connections: () => count,
        stop: () => {
            sockets.forEach((s) => s.destroy());
            return new Promise((resolve) => server.close(() => resolve()));
        },
    };
}
