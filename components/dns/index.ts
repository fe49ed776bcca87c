import * as pulumi from "@pulumi/pulumi";

import type { DnsConfig } from "../../config";

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
}

/** Creates the DNS record(s) the config asks for; the only place that branches on the provider. */
export function createDns(_name: string, config: DnsConfig, _ctx: DnsContext, _opts?: pulumi.ComponentResourceOptions): RegistryDns {
    switch (config.provider) {
        case "none":
            return { names: pulumi.output([]) };
    }
}
