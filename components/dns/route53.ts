import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";

import type { Route53DnsConfig } from "./config";
import type { DnsContext, RegistryDns } from "./types";

/** Which kind of AWS load balancer a Service has or asks for. */
export type AwsLoadBalancerKind = "network" | "classic";

/**
 * The load balancer a Service's annotations ask for: an NLB when `aws-load-balancer-type` is
 * `nlb` (in-tree) or `external` (AWS Load Balancer Controller), else a classic ELB. Only what was
 * asked: the AWS Load Balancer Controller (2.5+) makes every LoadBalancer Service an NLB.
 */
export function awsLoadBalancerKind(annotations: Readonly<Record<string, string>>): AwsLoadBalancerKind {
    const type = annotations["service.beta.kubernetes.io/aws-load-balancer-type"];
    return type === "nlb" || type === "external" ? "network" : "classic";
}

// ELB hostnames (AWS general reference, "Elastic Load Balancing endpoints"): an NLB's is
// `<name>-<id>.elb.<region>.amazonaws.com`, a classic ELB's (and an ALB's)
// `[internal-]<name>-<id>.<region>.elb.amazonaws.com`; China regions end in `.com.cn`.
const NLB_HOSTNAME = /^(?:dualstack\.)?[a-z0-9-]+\.elb\.([a-z]{2}(?:-[a-z]+)+-[0-9]+)\.amazonaws\.com(?:\.cn)?$/;
const ELB_HOSTNAME = /^(?:dualstack\.)?[a-z0-9-]+\.([a-z]{2}(?:-[a-z]+)+-[0-9]+)\.elb\.amazonaws\.com(?:\.cn)?$/;

/**
 * The kind and region of the load balancer behind a hostname. The alias must use the canonical
 * hosted zone of the load balancer that exists, which is not always the one the annotations asked
 * for, and of the region it is in.
 */
export function awsLoadBalancerOfHostname(hostname: string): { kind: AwsLoadBalancerKind; region: string } {
    const nlb = NLB_HOSTNAME.exec(hostname);
    if (nlb !== null) {
        return { kind: "network", region: nlb[1] };
    }
    const elb = ELB_HOSTNAME.exec(hostname);
    if (elb !== null) {
        return { kind: "classic", region: elb[1] };
    }
    throw new Error(
        `\`dnsProvider\` \`route53\`: the Service's load balancer hostname \`${hostname}\` is not an AWS load balancer's (\`<name>.elb.<region>.amazonaws.com\` for an NLB, \`<name>.<region>.elb.amazonaws.com\` for a classic ELB); is the cluster on AWS?`,
    );
}

/** `<label>.<zone>` without a trailing dot. */
export function recordFqdn(recordName: string, zoneName: string): string {
    return `${recordName}.${zoneName.replace(/\.$/, "")}`;
}

export interface Route53DnsArgs {
    /** The zone, record name and alias options (no default). */
    readonly config: Route53DnsConfig;
    /** The Service's load balancer and annotations (no default). */
    readonly context: DnsContext;
}

/**
 * Alias records `<record>.<zone>` (A, and AAAA when dual-stack) in a Route53 hosted zone, pointing
 * at the Service's load balancer hostname with that load balancer's canonical hosted zone id.
 */
export class Route53Dns extends pulumi.ComponentResource implements RegistryDns {
    public readonly names: pulumi.Output<string[]>;
    /** The record's name, e.g. registry.example.com. */
    public readonly fqdn: pulumi.Output<string>;
    /** The hosted zone the records are in. */
    public readonly zoneId: pulumi.Output<string>;

    constructor(name: string, args: Route53DnsArgs, opts?: pulumi.ComponentResourceOptions) {
        super("registry:dns:Route53Dns", name, {}, opts);
        const cfg = args.config;
        const parent = { parent: this };
        const zone = aws.route53.getZoneOutput(
            cfg.zoneId !== undefined ? { zoneId: cfg.zoneId } : { name: cfg.zoneName, privateZone: cfg.privateZone },
            parent,
        );
        this.zoneId = zone.zoneId;
        this.fqdn = zone.name.apply((zoneName) => recordFqdn(cfg.recordName, zoneName));
        const target = args.context.loadBalancerHostname.apply((hostname) => {
            if (hostname === "") {
                // AWS load balancers have hostnames; an IP means this is not an AWS cluster.
                throw new Error(
                    "dnsProvider route53: the Service's load balancer has no hostname (an IP address cannot be an alias target); is the cluster on AWS?",
                );
            }
            return hostname;
        });
        const lb = target.apply((hostname) => {
            const found = awsLoadBalancerOfHostname(hostname);
            const asked = awsLoadBalancerKind(args.context.serviceAnnotations);
            if (found.kind !== asked) {
                // Fire-and-forget: the engine tracks the log RPC itself; nothing here depends on it.
                void pulumi.log.warn(
                    `The Service asked for a ${asked === "classic" ? "classic ELB" : "NLB"} but has ${found.kind === "network" ? "an NLB" : "a classic ELB"} (${hostname}); ` +
                        "the AWS Load Balancer Controller (2.5+) turns every LoadBalancer Service into an NLB, internal unless told otherwise. The alias points at the load balancer that exists.",
                    this,
                );
            }
            return found;
        });
        // One canonical zone serves Application and Classic Load Balancers, another NLBs (AWS
        // general reference, "Elastic Load Balancing endpoints"), in the load balancer's region.
        const lbZoneId = aws.lb.getHostedZoneIdOutput(
            { loadBalancerType: lb.apply((l) => (l.kind === "network" ? "network" : "application")), region: lb.apply((l) => l.region) },
            parent,
        ).id;
        const alias = { name: target, zoneId: lbZoneId, evaluateTargetHealth: cfg.evaluateTargetHealth };
        for (const type of cfg.dualStack ? ["A", "AAAA"] : ["A"]) {
            new aws.route53.Record(`${name}-${type.toLowerCase()}`, { zoneId: this.zoneId, name: this.fqdn, type, aliases: [alias] }, parent);
        }
        this.names = this.fqdn.apply((f) => [f]);
        this.registerOutputs({ fqdn: this.fqdn, zoneId: this.zoneId });
    }
}
