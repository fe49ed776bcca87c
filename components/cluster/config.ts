// The cluster area's keys: the registry's name and namespace, and its Service.
import { isIP } from "net";

import type { ConfigKeySpec, Reader } from "../config/reader";
import { DNS_LABEL, parseAnnotations } from "../config/validators";
import { AWS_LOAD_BALANCER_TYPES, AwsLoadBalancerConfig, awsLoadBalancerAnnotations } from "./load-balancer";

export const CLUSTER_KEYS = {
    registryName: {
        type: "string",
        default: "registry",
        description:
            "Name of the registry's Kubernetes objects (Deployment, Service, ServiceAccount) and of its labels: a DNS label starting with a letter, at most 52 characters, fewer where a name derived from it has a tighter limit (the error names it).",
    },
    namespace: { type: "string", default: "registry", description: "Kubernetes namespace the registry runs in." },
    createNamespace: { type: "boolean", default: true, description: "Create the namespace (false: it must already exist)." },
    serviceType: { type: "string", default: "LoadBalancer", description: "Service type: LoadBalancer, ClusterIP or NodePort." },
    servicePort: { type: "integer", default: 443, description: "Port the Service exposes (HTTPS)." },
    nodePort: { type: "integer", default: 0, description: "Fixed nodePort for NodePort/LoadBalancer Services (30000-32767). 0: allocated by Kubernetes." },
    serviceAnnotations: { type: "array", default: [], description: "Service annotations as key=value strings (e.g. load balancer settings)." },
    loadBalancerSourceRanges: { type: "array", default: [], description: "CIDRs allowed to reach the LoadBalancer. Empty: everyone." },
    awsLoadBalancerType: {
        type: "string",
        default: "none",
        description:
            "Service annotations for AWS: none (as given in serviceAnnotations), classic (a classic ELB from the in-tree provider) or nlb (NLB via the AWS Load Balancer Controller, IP targets). With the AWS Load Balancer Controller 2.5+ installed, every LoadBalancer Service gets an NLB.",
    },
    awsLoadBalancerInternal: {
        type: "boolean",
        default: false,
        description: "With awsLoadBalancerType: an internal load balancer (VPC only) instead of an internet-facing one.",
    },
} as const satisfies Record<string, ConfigKeySpec>;

export type ClusterKey = keyof typeof CLUSTER_KEYS;

export const SERVICE_TYPES = ["LoadBalancer", "ClusterIP", "NodePort"] as const;

export interface ServiceConfig {
    readonly type: (typeof SERVICE_TYPES)[number];
    readonly port: number;
    readonly nodePort?: number;
    /** The annotations given in `serviceAnnotations` (`serviceAnnotations()` adds the AWS ones). */
    readonly annotations: Readonly<Record<string, string>>;
    readonly loadBalancerSourceRanges: readonly string[];
    readonly awsLoadBalancer: AwsLoadBalancerConfig;
}

/** The registry's name and namespace; `registryNameValid` false when other names cannot be derived from it. */
export function parseClusterNames(r: Reader<ClusterKey>): { registryName: string; namespace: string; registryNameValid: boolean } {
    const registryName = r.string("registryName");
    const registryNameValid = DNS_LABEL.test(registryName) && registryName.length <= 52;
    if (!registryNameValid) {
        r.problem(`\`registryName\` must be a lowercase DNS label of at most 52 characters (a-z, 0-9, -); got \`${registryName}\``);
    } else if (!/^[a-z]/.test(registryName)) {
        r.problem(
            `\`registryName\` must start with a letter: it names the registry's Services, and Kubernetes requires a Service name to start with one (RFC 1035); got \`${registryName}\``,
        );
    }
    const namespace = r.string("namespace");
    if (!DNS_LABEL.test(namespace)) {
        r.problem(`\`namespace\` must be a lowercase DNS label (a-z, 0-9, -, at most 63 characters); got \`${namespace}\``);
    }
    return { registryName, namespace, registryNameValid };
}

/** The Service keys. `route53DualStack` is read because a dual-stack alias needs a dual-stack NLB. */
export function parseService(r: Reader<ClusterKey | "route53DualStack">): ServiceConfig {
    const type = r.oneOf("serviceType", SERVICE_TYPES);
    const port = r.integer("servicePort", 1, 65535);
    const nodePortRaw = r.integer("nodePort", 0, 65535);
    let nodePort: number | undefined;
    if (nodePortRaw !== 0) {
        if (nodePortRaw < 30000 || nodePortRaw > 32767) {
            r.problem(`\`nodePort\` must be 0 (allocated) or within 30000-32767; got ${nodePortRaw}`);
        } else if (type === "ClusterIP") {
            r.problem("`nodePort` needs `serviceType` `NodePort` or `LoadBalancer`; a ClusterIP Service has no node port");
        } else {
            nodePort = nodePortRaw;
        }
    }
    const annotations = parseAnnotations(r, "serviceAnnotations");
    const loadBalancerSourceRanges = r.stringArray("loadBalancerSourceRanges");
    for (const cidr of loadBalancerSourceRanges) {
        const [ip, bits, extra] = cidr.split("/");
        const family = isIP(ip ?? "");
        const max = family === 6 ? 128 : 32;
        if (family === 0 || extra !== undefined || bits === undefined || !/^[0-9]+$/.test(bits) || Number(bits) > max) {
            r.problem(`\`loadBalancerSourceRanges\` entries must be CIDRs such as \`203.0.113.0/24\`; got \`${cidr}\``);
        }
    }
    if (loadBalancerSourceRanges.length > 0 && type !== "LoadBalancer") {
        r.problem("`loadBalancerSourceRanges` only applies when `serviceType` is `LoadBalancer`");
    }
    return { type, port, nodePort, annotations, loadBalancerSourceRanges, awsLoadBalancer: parseAwsLoadBalancer(r, type, annotations) };
}

function parseAwsLoadBalancer(
    r: Reader<ClusterKey | "route53DualStack">,
    serviceType: ServiceConfig["type"],
    given: Readonly<Record<string, string>>,
): AwsLoadBalancerConfig {
    const type = r.oneOf("awsLoadBalancerType", AWS_LOAD_BALANCER_TYPES);
    const internal = r.boolean("awsLoadBalancerInternal");
    if (type === "none") {
        if (internal) {
            r.problem("`awsLoadBalancerInternal` needs `awsLoadBalancerType` `classic` or `nlb`");
        }
        return { type, internal, dualStack: false };
    }
    if (serviceType !== "LoadBalancer") {
        r.problem(`\`awsLoadBalancerType\` \`${type}\` needs \`serviceType\` \`LoadBalancer\``);
    }
    const dualStack = r.boolean("route53DualStack");
    for (const [k, v] of Object.entries(awsLoadBalancerAnnotations(type, internal, dualStack))) {
        if (k in given && given[k] !== v) {
            r.problem(`\`serviceAnnotations\` sets \`${k}=${given[k]}\`, which contradicts \`awsLoadBalancerType\` \`${type}\` (${v}); remove it`);
        }
    }
    return { type, internal, dualStack };
}
