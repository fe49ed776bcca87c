// The DNS area's keys: which provider publishes the registry's name, and each provider's settings.
import type { ConfigKeySpec, Reader } from "../config/reader";
import { DNS_NAME, RFC1035_LABEL } from "../config/validators";

/** Keys only `dnsProvider` `cloudDns` reads. */
export const CLOUD_DNS_KEYS = {
    cloudDnsManagedZone: {
        type: "string",
        default: "",
        description: "Cloud DNS managed zone (its name, e.g. example-com) for the registry's A record; required when dnsProvider is cloudDns.",
    },
    cloudDnsRecordName: {
        type: "string",
        default: "registry",
        description: "Label(s) of the A record inside the zone: the registry is <cloudDnsRecordName>.<zone DNS name>.",
    },
    cloudDnsTtl: { type: "integer", default: 300, description: "TTL of the Cloud DNS record, in seconds." },
    cloudDnsStaticIp: {
        type: "boolean",
        default: false,
        description: "Reserve a regional static IP (compute Address) for the load balancer, so the name keeps its address when the Service is re-created.",
    },
    gcpRegion: { type: "string", default: "", description: "Region of the reserved static IP (the GKE cluster's region). Empty: the provider's gcp:region." },
} as const satisfies Record<string, ConfigKeySpec>;

/** Keys only `dnsProvider` `route53` reads. */
export const ROUTE53_KEYS = {
    route53ZoneId: {
        type: "string",
        default: "",
        description: "Route53 hosted zone id (Z...) of the registry's record. Set this or route53ZoneName when dnsProvider is route53.",
    },
    route53ZoneName: { type: "string", default: "", description: "Route53 hosted zone name (example.com), looked up when route53ZoneId is empty." },
    route53PrivateZone: { type: "boolean", default: false, description: "With route53ZoneName: look up a private hosted zone of that name." },
    route53RecordName: {
        type: "string",
        default: "registry",
        description: "Label(s) of the record inside the zone: the registry is <route53RecordName>.<zone>, the name images are tagged with.",
    },
    route53EvaluateTargetHealth: { type: "boolean", default: true, description: "Route53 evaluates the load balancer's health for the alias." },
    route53DualStack: { type: "boolean", default: false, description: "Also an AAAA alias (needs awsLoadBalancerType nlb, which is then made dual-stack)." },
} as const satisfies Record<string, ConfigKeySpec>;

export const DNS_KEYS = {
    dnsProvider: {
        type: "string",
        default: "none",
        description:
            "DNS record for the registry: none (use hostnames/the load balancer address as they are), cloudDns (an A record in a Cloud DNS zone) or route53 (an alias to the load balancer).",
    },
    ...CLOUD_DNS_KEYS,
    ...ROUTE53_KEYS,
} as const satisfies Record<string, ConfigKeySpec>;

export type DnsKey = keyof typeof DNS_KEYS;

export const DNS_PROVIDERS = ["none", "cloudDns", "route53"] as const;

/** No DNS record: clients use `hostnames` or the load balancer address. */
export interface NoDnsConfig {
    readonly provider: "none";
}

/** An A record in a Cloud DNS managed zone, at the load balancer's (optionally reserved) IP. */
export interface CloudDnsConfig {
    readonly provider: "cloudDns";
    /** Name of the managed zone. */
    readonly managedZone: string;
    /** Label(s) of the record inside the zone. */
    readonly recordName: string;
    readonly ttl: number;
    /** Reserve a regional static IP and give it to the Service. */
    readonly staticIp: boolean;
    /** Region of the static IP; undefined: the provider's. */
    readonly region?: string;
}

export type DnsConfig = NoDnsConfig | CloudDnsConfig | Route53DnsConfig;

/** An alias record `<recordName>.<zone>` in a Route53 hosted zone, pointing at the Service's load balancer. */
export interface Route53DnsConfig {
    readonly provider: "route53";
    /** The zone by id, or else by name. */
    readonly zoneId?: string;
    readonly zoneName?: string;
    readonly privateZone: boolean;
    readonly recordName: string;
    readonly evaluateTargetHealth: boolean;
    /** An AAAA alias too. */
    readonly dualStack: boolean;
}

/** What parseDns needs from the Service's keys, as given: a record points at the load balancer. */
export interface DnsParseContext {
    readonly serviceType: string;
    readonly awsLoadBalancerType: string;
}

const GCP_REGION = /^[a-z]+-[a-z]+[0-9]+$/;
const ROUTE53_ZONE_ID = /^Z[A-Z0-9]{1,32}$/;

export /** Parses the DNS keys into the DnsConfig of the chosen provider. */
function parseDns(r: Reader<DnsKey>, ctx: DnsParseContext): DnsConfig {
    const provider = r.oneOf("dnsProvider", DNS_PROVIDERS);
    switch (provider) {
        case "none":
            return { provider };
        case "cloudDns":
            return parseCloudDns(r, ctx);
        case "route53":
            return parseRoute53(r, ctx);
    }
}

function parseCloudDns(r: Reader<DnsKey>, ctx: DnsParseContext): CloudDnsConfig {
    const managedZone = r.string("cloudDnsManagedZone");
    if (managedZone === "") {
        r.problem("`cloudDnsManagedZone` is required when `dnsProvider` is `cloudDns`: the managed zone's name, such as `example-com`");
    } else if (!RFC1035_LABEL.test(managedZone)) {
        r.problem(`\`cloudDnsManagedZone\` must be a managed zone's name (not its DNS name), such as \`example-com\`; got \`${managedZone}\``);
    }
    const recordName = r.string("cloudDnsRecordName");
    if (!DNS_NAME.test(recordName)) {
        r.problem(`\`cloudDnsRecordName\` must be lowercase DNS label(s) inside the zone, such as \`registry\`; got \`${recordName}\``);
    }
    const ttl = r.integer("cloudDnsTtl", 1, 86400);
    const staticIp = r.boolean("cloudDnsStaticIp");
    const region = r.string("gcpRegion");
    if (region !== "" && !GCP_REGION.test(region)) {
        r.problem(`\`gcpRegion\` must be a GCP region such as \`europe-west1\`; got \`${region}\``);
    }
    if (region !== "" && !staticIp) {
        r.problem("`gcpRegion` is only used when `cloudDnsStaticIp` is true");
    }
    if (ctx.serviceType !== "LoadBalancer") {
        r.problem("`dnsProvider` `cloudDns` points the record at the load balancer; it needs `serviceType` `LoadBalancer`");
    }
    return { provider: "cloudDns", managedZone, recordName, ttl, staticIp, region: region === "" ? undefined : region };
}

function parseRoute53(r: Reader<DnsKey>, ctx: DnsParseContext): Route53DnsConfig {
    const zoneId = r.string("route53ZoneId");
    const zoneName = r.string("route53ZoneName").replace(/\.$/, "");
    if ((zoneId === "") === (zoneName === "")) {
        r.problem("`dnsProvider` `route53` needs exactly one of `route53ZoneId` (Z...) and `route53ZoneName` (example.com)");
    }
    if (zoneId !== "" && !ROUTE53_ZONE_ID.test(zoneId)) {
        r.problem(`\`route53ZoneId\` must be a hosted zone id such as \`Z0123456789ABCDEFGHIJ\`; got \`${zoneId}\``);
    }
    if (zoneName !== "" && !DNS_NAME.test(zoneName)) {
        r.problem(`\`route53ZoneName\` must be a lowercase DNS name such as \`example.com\`; got \`${zoneName}\``);
    }
    const privateZone = r.boolean("route53PrivateZone");
    if (privateZone && zoneName === "") {
        r.problem("`route53PrivateZone` is only used to look a zone up by `route53ZoneName`");
    }
    const recordName = r.string("route53RecordName");
    if (!DNS_NAME.test(recordName)) {
        r.problem(`\`route53RecordName\` must be lowercase DNS label(s) inside the zone, such as \`registry\`; got \`${recordName}\``);
    }
    const dualStack = r.boolean("route53DualStack");
    if (dualStack && ctx.awsLoadBalancerType !== "nlb") {
        r.problem("`route53DualStack` needs `awsLoadBalancerType` `nlb`: the program makes the NLB dual-stack so the AAAA alias has an IPv6 target");
    }
    if (ctx.serviceType !== "LoadBalancer") {
        r.problem("`dnsProvider` `route53` aliases the Service's load balancer; it needs `serviceType` `LoadBalancer`");
    }
    return {
        provider: "route53",
        zoneId: zoneId === "" ? undefined : zoneId,
        zoneName: zoneName === "" ? undefined : zoneName,
        privateZone,
        recordName,
        evaluateTargetHealth: r.boolean("route53EvaluateTargetHealth"),
        dualStack,
    };
}
