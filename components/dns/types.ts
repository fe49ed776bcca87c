// What DNS providers exchange with the rest of the program.
import type * as pulumi from "@pulumi/pulumi";

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
