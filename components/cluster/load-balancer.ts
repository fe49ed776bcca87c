// The Service annotations that ask AWS for a kind of load balancer: a pure function of the
// parsed `awsLoadBalancer*` settings, used by the Service and by the DNS provider that aliases it.

export const AWS_LOAD_BALANCER_TYPES = ["none", "classic", "nlb"] as const;
export type AwsLoadBalancerType = (typeof AWS_LOAD_BALANCER_TYPES)[number];

/** The AWS load balancer a LoadBalancer Service asks for. */
export interface AwsLoadBalancerConfig {
    /** none: only the annotations given in `serviceAnnotations`. */
    readonly type: AwsLoadBalancerType;
    /** VPC-only instead of internet-facing. */
    readonly internal: boolean;
    /** An IPv6 address too (NLB only), for Route53's AAAA alias. */
    readonly dualStack: boolean;
}

/** The Service annotations for the AWS load balancer kind asked for. */
export function awsLoadBalancerAnnotations(type: AwsLoadBalancerType, internal: boolean, dualStack: boolean): Record<string, string> {
    switch (type) {
        case "none":
            return {};
        case "classic":
            // The in-tree cloud provider makes a classic ELB for a plain LoadBalancer Service. With
            // the AWS Load Balancer Controller 2.5+ installed, its webhook makes the Service an NLB
            // instead, internal unless told otherwise; both read this annotation, so the scheme
            // is the one asked for whichever makes the load balancer.
            return { "service.beta.kubernetes.io/aws-load-balancer-internal": internal ? "true" : "false" };
        case "nlb":
            // The AWS Load Balancer Controller's NLB with IP targets: traffic reaches the pods
            // directly, TLS stays end to end (the registry terminates it), no node hop.
            return {
                "service.beta.kubernetes.io/aws-load-balancer-type": "external",
                "service.beta.kubernetes.io/aws-load-balancer-nlb-target-type": "ip",
                "service.beta.kubernetes.io/aws-load-balancer-scheme": internal ? "internal" : "internet-facing",
                ...(dualStack ? { "service.beta.kubernetes.io/aws-load-balancer-ip-address-type": "dualstack" } : {}),
            };
    }
}

/**
 * The Service's annotations: those given, with the AWS load balancer's merged in (configuration
 * refuses given annotations that contradict them).
 */
export function serviceAnnotations(service: {
    readonly annotations: Readonly<Record<string, string>>;
    readonly awsLoadBalancer: AwsLoadBalancerConfig;
}): Record<string, string> {
    const lb = service.awsLoadBalancer;
    return { ...service.annotations, ...awsLoadBalancerAnnotations(lb.type, lb.internal, lb.dualStack) };
}
