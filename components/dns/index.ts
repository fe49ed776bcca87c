import * as pulumi from "@pulumi/pulumi";

import { CloudDnsRecord } from "./cloud-dns";
import type { DnsConfig } from "./config";
import { Route53Dns } from "./route53";
import { GcpStaticAddress, GKE_LB_ADDRESSES_ANNOTATION } from "./static-address";
import type { DnsContext, RegistryDns, ServiceAddress } from "./types";

export * from "./cloud-dns";
export * from "./config";
export * from "./route53";
export * from "./static-address";
export * from "./types";

/** Reserves the load balancer's address when the DNS provider is asked to (Cloud DNS with a static IP). */
export function reserveServiceAddress(name: string, config: DnsConfig, opts?: pulumi.ComponentResourceOptions): ServiceAddress {
    switch (config.provider) {
        case "cloudDns": {
            if (!config.staticIp) {
                return { annotations: {} };
            }
            const address = new GcpStaticAddress(name, { region: config.region, description: `Load balancer of the registry ${name}` }, opts);
            return { ip: address.ip, annotations: { [GKE_LB_ADDRESSES_ANNOTATION]: address.addressName } };
        }
        default:
            return { annotations: {} };
    }
}

/** Creates the DNS record(s) the config asks for; the only place that branches on the provider. */
export function createDns(name: string, config: DnsConfig, ctx: DnsContext, opts?: pulumi.ComponentResourceOptions): RegistryDns {
    switch (config.provider) {
        case "none":
            return { names: pulumi.output([]) };
        case "cloudDns": {
            const record = new CloudDnsRecord(name, { config, ip: ctx.reservedIp ?? ctx.loadBalancerIp }, opts);
            return { names: record.fqdn.apply((fqdn) => [fqdn]) };
        }
        case "route53":
            return new Route53Dns(name, { config, context: ctx }, opts);
    }
}
