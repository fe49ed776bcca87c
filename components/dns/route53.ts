import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";

import type { Route53DnsConfig } from "../../config";
import type { DnsContext, RegistryDns } from "./index";

/** Which kind of AWS load balancer a Service's annotations ask for. */
export type AwsLoadBalancerKind = "network" | "classic";

/**
 * The load balancer AWS makes for a Service with these annotations: an NLB when
 * `aws-load-balancer-type` is `nlb` (in-tree) or `external` (AWS Load Balancer Controller), else
 * a classic ELB. The alias record needs the matching canonical hosted zone id.
 */
export function awsLoadBalancerKind(annotations: Readonly<Record<string, string>>): AwsLoadBalancerKind {
    const type = annotations["service.beta.kubernetes.io/aws-load-balancer-type"];
    return type === "nlb" || type === "external" ? "network" : "classic";
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
        const zone = aws.route53.getZoneOutput(cfg.zoneId !== undefined ? { zoneId: cfg.zoneId } : { name: cfg.zoneName, privateZone: cfg.privateZone }, parent);
        this.zoneId = zone.zoneId;
        this.fqdn = zone.name.apply((zoneName) => recordFqdn(cfg.recordName, zoneName));
        const lbZoneId =
            awsLoadBalancerKind(args.context.serviceAnnotations) === "network"
                ? aws.lb.getHostedZoneIdOutput({ loadBalancerType: "network" }, parent).id
                : aws.elb.getHostedZoneIdOutput({}, parent).id;
        const target = args.context.loadBalancerHostname.apply((hostname) => {
            if (hostname === "") {
                // AWS load balancers have hostnames; an IP means this is not an AWS cluster.
                throw new Error("dnsProvider route53: the Service's load balancer has no hostname (an IP address cannot be an alias target); is the cluster on AWS?");
            }
            return hostname;
        });
        const alias = { name: target, zoneId: lbZoneId, evaluateTargetHealth: cfg.evaluateTargetHealth };
        for (const type of cfg.dualStack ? ["A", "AAAA"] : ["A"]) {
            new aws.route53.Record(`${name}-${type.toLowerCase()}`, { zoneId: this.zoneId, name: this.fqdn, type, aliases: [alias] }, parent);
        }
        this.names = this.fqdn.apply((f) => [f]);
        this.registerOutputs({ fqdn: this.fqdn, zoneId: this.zoneId });
    }
}
