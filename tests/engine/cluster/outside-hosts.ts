// Hosts outside the test cluster that the cluster reaches by IP, such as RGW gateways listed in
// a selector-less Service's EndpointSlice. The apiserver refuses loopback addresses in
// EndpointSlices, and binding this machine's own address would expose a test server beyond
// this machine; so, like pods (tests/engine/pod-network.ts), an outside host has an address
// the API accepts, 10.245.<x>.<y>, and listens on its loopback twin 127.245.<x>.<y>. What
// connects to such a host by IP (the service proxy) dials the twin, as routes would deliver it.
//
// `startRelay` plays one such host: a TCP relay on the twin to a server on 127.0.0.1 (one
// radosgw behind two "gateway" hosts, say), which can be stopped to take that host down.

import { loopbackTwin } from "../pod-network";
import { TcpRelay } from "./relay";

/** The outside hosts' addresses (outside the pod and Service ranges). */
export const OUTSIDE_CIDR = "10.245.0.0/16";

/** The n-th outside host's IP (n from 1 to 254): 10.245.0.<n>. */
export function outsideHostIp(n: number): string {
    if (!Number.isInteger(n) || n < 1 || n > 254) {
        throw new Error(`outside host number ${n} is outside 1..254`);
    }
    return `10.245.0.${n}`;
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
    let count = 0;
    const relay = await TcpRelay.listen(
        loopbackTwin(ip),
        port,
        () => {
            count++;
            return target;
        },
        () => undefined,
    );
    return { ip, port, connections: () => count, stop: () => relay.close() };
}
