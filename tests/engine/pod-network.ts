// The pod network's stand-in. Pods have no network namespace of their own here, and the API
// server refuses loopback addresses as endpoints (EndpointSlice validation: "may not be in the
// loopback range"), so a pod's IP and the address its process listens on are twins:
//   - its IP, 10.244.<x>.<y>: what the pod's status, EndpointSlices and the Downward API show;
//   - its listen address, 127.244.<x>.<y>: loopback, so nothing outside this machine reaches it.
// Whatever connects to a pod by IP (the load balancer, the kubelet's probes) translates, as a
// CNI's routes would deliver the packets.
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

/** Where a process with this pod IP listens; any other address is returned as it is. */
export function listenAddress(ip: string): string {
    return isIPv4(ip) && ip.startsWith("10.244.") ? `127.${ip.slice("10.".length)}` : ip;
}
