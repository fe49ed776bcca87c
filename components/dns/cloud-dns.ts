import * as gcp from "@pulumi/gcp";
import * as pulumi from "@pulumi/pulumi";

import type { CloudDnsConfig } from "./config";

/** `registry` in zone `example.com.` -> `registry.example.com` (no trailing dot). */
export function cloudDnsFqdn(recordName: string, zoneDnsName: string): string {
    return `${recordName}.${zoneDnsName.replace(/\.$/, "")}`;
}

export interface CloudDnsRecordArgs {
    /** Zone, record name and TTL (no default). */
    readonly config: CloudDnsConfig;
    /** The IP the record points at: the reserved address or the load balancer's (no default). */
    readonly ip: pulumi.Input<string>;
}

/**
 * An A record `<recordName>.<zone DNS name>` in an existing Cloud DNS managed zone. The zone is
 * looked up by name, so the stack names the zone it was given, not a DNS name it could mistype.
 */
export class CloudDnsRecord extends pulumi.ComponentResource {
    /** The record's name without the trailing dot: the registry's public name. */
    public readonly fqdn: pulumi.Output<string>;

    constructor(name: string, args: CloudDnsRecordArgs, opts?: pulumi.ComponentResourceOptions) {
        super("registry:dns:CloudDnsRecord", name, {}, opts);
        const cfg = args.config;
        const zone = gcp.dns.getManagedZoneOutput({ name: cfg.managedZone }, { parent: this });
        this.fqdn = zone.dnsName.apply((dnsName) => cloudDnsFqdn(cfg.recordName, dnsName));
        const ip = pulumi.output(args.ip).apply((value) => {
            if (value === "") {
                throw new Error("`dnsProvider` `cloudDns` needs the load balancer's IP, but the Service has none (a hostname-only load balancer?)");
            }
            return value;
        });
        new gcp.dns.RecordSet(
            `${name}-record`,
            { managedZone: zone.name, name: pulumi.interpolate`${this.fqdn}.`, type: "A", ttl: cfg.ttl, rrdatas: [ip] },
            { parent: this },
        );
        this.registerOutputs({ fqdn: this.fqdn });
    }
}
