// The test cluster's networks' stand-in. Pods have no network namespace of their own here, and
// the API server refuses loopback addresses as endpoints (EndpointSlice validation: "may not be in
// the loopback range"), so every address of the cluster's networks 10.x.y.z has a loopback twin
// 127.x.y.z where it is served:
//   - pods, 10.244.0.0/16: what a pod's status, EndpointSlices and the Downward API show; its
//     processes listen on the twin;
//   - Services, 10.96.0.0/12 (the apiserver's range): kube-proxy's stand-in serves a ClusterIP on
//     its twin (tests/engine/cluster/service-proxy.ts);
//   - hosts outside the cluster, 10.245.0.0/16, listed in selector-less Services' EndpointSlices
//     (tests/engine/cluster/outside-hosts.ts).
// Loopback, so nothing outside this machine reaches any of them. Whatever connects to such an
// address (the load balancer, the service proxy, the kubelet's probes) dials its twin, as a CNI's
// routes would deliver the packets.
import { isIPv4 } from "net";

/** The pods' addresses (outside the Service range 10.96.0.0/12). */
export const POD_CIDR = "10.244.0.0/16";

/** The n-th pod IP (n from 1): 10.244.0.1 ... 10.244.0.254, 10.244.1.1, ... */
export function podIp(n: number): string {
    if (!Number.isInteger(n) || n < 1 || n > 254 * 256) {
        throw new Error(`pod number ${n} is outside ${POD_CIDR}`);
    }
    return `10.244.${Math.floor((n - 1) / 254)}.${1 + ((n - 1) % 254)}`;
}

/** The loopback twin of a test-cluster address 10.x.y.z: 127.x.y.z. */
export function loopbackTwin(ip: string): string {
    if (!isIPv4(ip) || !ip.startsWith("10.")) {
        throw new Error(`${ip} is not an address of the test cluster's networks (10.0.0.0/8)`);
    }
    return `127.${ip.slice("10.".length)}`;
}

/** Where to connect for an address: the twin of a test-cluster address; anything else as it is. */
export function dialAddress(ip: string): string {
    return isIPv4(ip) && ip.startsWith("10.") ? loopbackTwin(ip) : ip;
}
