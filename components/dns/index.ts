import * as pulumi from "@pulumi/pulumi";

import type { DnsConfig } from "../../config";
import { CloudDnsRecord } from "./cloud-dns";
import { GcpStaticAddress, GKE_LB_ADDRESSES_ANNOTATION } from "./static-address";

export * from "./cloud-dns";
export * from "./static-address";
import { Route53Dns } from "./route53";

export * from "./route53";

/** What a DNS provider gives the rest of the program. */
export interface RegistryDns {
    /** Names the provider publishes for the registry, first = the name to tag images with. */
    readonly names: pulumi.Output<string[]>;
}

/** What DNS providers get from the rest of the program. */
export interface DnsContext {
    /** The load balancer's hostname ("" if it has an IP). */
    readonly loadBalancerHostname: pulumi.Output<string>;
    /** The load balancer's IP ("" if it has a hostname). */
    readonly loadBalancerIp: pulumi.Output<string>;
    /** The Service's annotations, to tell which kind of load balancer the cloud made. */
    readonly serviceAnnotations: Readonly<Record<string, string>>;
    /** The address reserved for the load balancer before the Service existed, if any. */
    readonly reservedIp?: pulumi.Output<string>;
}

/** An address a DNS provider reserves for the Service before it exists, and how the Service takes it. */
export interface ServiceAddress {
    /** For `spec.loadBalancerIP`; undefined when nothing is reserved. */
    readonly ip?: pulumi.Output<string>;
    /** Service annotations that claim the address. */
    readonly annotations: Record<string, pulumi.Output<string>>;
}

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
