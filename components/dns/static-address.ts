import * as gcp from "@pulumi/gcp";
import * as pulumi from "@pulumi/pulumi";

/**
 * GKE's annotation naming the reserved address(es) a LoadBalancer Service takes (GKE 1.29+);
 * `spec.loadBalancerIP` is deprecated upstream but still what older GKE versions read, so the
 * Service gets both, naming the same address.
 */
export const GKE_LB_ADDRESSES_ANNOTATION = "networking.gke.io/load-balancer-ip-addresses";

export interface GcpStaticAddressArgs {
    /** Region of the address, the cluster's. Default: the provider's `gcp:region`. */
    readonly region?: string;
    /** Description shown in the console. Default: none. */
    readonly description?: string;
}

/**
 * A reserved regional external IP for the registry's load balancer: the DNS record keeps
 * pointing at it when the Service (and so the load balancer) is deleted and created again.
 */
export class GcpStaticAddress extends pulumi.ComponentResource {
    /** The reserved IP. */
    public readonly ip: pulumi.Output<string>;
    /** The address resource's name (what the GKE annotation takes). */
    public readonly addressName: pulumi.Output<string>;

    constructor(name: string, args: GcpStaticAddressArgs, opts?: pulumi.ComponentResourceOptions) {
        super("registry:dns:GcpStaticAddress", name, {}, opts);
        const address = new gcp.compute.Address(
            `${name}-ip`,
            { region: args.region, addressType: "EXTERNAL", description: args.description },
            { parent: this },
        );
        this.ip = address.address;
        this.addressName = address.name;
        this.registerOutputs({ ip: this.ip, addressName: this.addressName });
    }
}
