// What the simulated AWS answers by default: the account, region and partition, Route53
// zones, the load balancers' canonical hosted zone ids, and the computed state of S3, KMS and IAM
// resources (names, ARNs, access keys). Tests override per token / per type.
import * as crypto from "crypto";

import type { CloudMocks } from "./cloud-mocks";

export const MOCK_ACCOUNT = "123456789012";
export const MOCK_REGION = "eu-west-1";
/** The hosted zone the mocks know, by id and by name. */
export const MOCK_ZONE = { zoneId: "Z0123456789EXAMPLEZONE", name: "example.com" } as const;

/**
 * Canonical hosted zone ids of Elastic Load Balancing, per region (AWS general reference,
 * "Elastic Load Balancing endpoints and quotas"): classic/application vs network.
 */
export const LB_ZONE_IDS: Record<string, { classic: string; network: string }> = {
    "us-east-1": { classic: "Z35SXDOTRQ7X7K", network: "Z26RNL4JYFTOTI" },
    "eu-west-1": { classic: "Z32O12XQLNTSW2", network: "Z2IFOLAFXWLO4F" },
    "eu-central-1": { classic: "Z215JYRZR1TBD5", network: "Z3F0SRJ5LGBH90" },
};

function lbZone(region: unknown, kind: "classic" | "network"): Record<string, unknown> {
    const r = typeof region === "string" && region !== "" ? region : MOCK_REGION;
    const ids = LB_ZONE_IDS[r];
    if (ids === undefined) {
        throw new Error(`mock getHostedZoneId: no zone ids for region ${r}`);
    }
    return { id: ids[kind], region: r };
}

/** A stable short hash, so mock names are reproducible. */
function suffix(s: string, n = 8): string {
    return crypto.createHash("sha256").update(s).digest("hex").slice(0, n);
}

/** Whether a Service asks AWS for a load balancer through its annotations. */
function isAwsLoadBalancer(inputs: Record<string, any>): boolean {
    return (
        inputs.spec?.type === "LoadBalancer" &&
        Object.keys(inputs.metadata?.annotations ?? {}).some((k) => k.startsWith("service.beta.kubernetes.io/aws-load-balancer-"))
    );
}

/**
 * On EKS a LoadBalancer Service gets a hostname, not an IP: an NLB's
 * `k8s-<ns>-<svc>-<hash>.elb.<region>.amazonaws.com` or a classic ELB's
 * `<hash>-<n>.<region>.elb.amazonaws.com`. The mocks give that to Services carrying AWS load
 * balancer annotations (a test's own `loadBalancer`/resourceState still wins).
 */
export function awsLoadBalancerHostname(name: string, inputs: Record<string, any>): string {
    const annotations: Record<string, string> = inputs.metadata?.annotations ?? {};
    const type = annotations["service.beta.kubernetes.io/aws-load-balancer-type"];
    const ns = String(inputs.metadata?.namespace ?? "default").slice(0, 8);
    const svc = String(inputs.metadata?.name ?? name).slice(0, 8);
    return type === "nlb" || type === "external"
        ? `k8s-${ns}-${svc}-${suffix(name, 10)}-${suffix(`${name}.nlb`, 16)}.elb.${MOCK_REGION}.amazonaws.com`
        : `${suffix(name, 32)}-${parseInt(suffix(`${name}.elb`, 8), 16) % 1000000000}.${MOCK_REGION}.elb.amazonaws.com`;
}

export const awsMocks: CloudMocks = {
    calls: {
        "aws:index/getCallerIdentity:getCallerIdentity": () => ({
            accountId: MOCK_ACCOUNT,
            arn: `arn:aws:iam::${MOCK_ACCOUNT}:user/ci`,
            id: MOCK_ACCOUNT,
            userId: "AIDAEXAMPLE",
        }),
        "aws:index/getRegion:getRegion": (inputs) => {
            const region = typeof inputs.region === "string" ? inputs.region : MOCK_REGION;
            return { id: region, name: region, region, endpoint: `ec2.${region}.amazonaws.com`, description: "Europe (Ireland)" };
        },
        "aws:index/getPartition:getPartition": () => ({ id: "aws", partition: "aws", dnsSuffix: "amazonaws.com", reverseDnsPrefix: "com.amazonaws" }),
        "aws:route53/getZone:getZone": (inputs) => {
            const byId = typeof inputs.zoneId === "string" && inputs.zoneId !== "";
            if ((byId && inputs.zoneId !== MOCK_ZONE.zoneId) || (!byId && String(inputs.name).replace(/\.$/, "") !== MOCK_ZONE.name)) {
                // What the provider says when the lookup finds nothing.
                throw new Error(`no matching Route 53 Hosted Zone found (${JSON.stringify(inputs)})`);
            }
            return {
                id: MOCK_ZONE.zoneId,
                zoneId: MOCK_ZONE.zoneId,
                name: MOCK_ZONE.name,
                arn: `arn:aws:route53:::hostedzone/${MOCK_ZONE.zoneId}`,
                privateZone: inputs.privateZone === true,
                nameServers: ["ns-1.awsdns-01.org"],
                resourceRecordSetCount: 2,
            };
        },
        "aws:lb/getHostedZoneId:getHostedZoneId": (inputs) => lbZone(inputs.region, inputs.loadBalancerType === "network" ? "network" : "classic"),
        "aws:elb/getHostedZoneId:getHostedZoneId": (inputs) => lbZone(inputs.region, "classic"),
    },
    resourceState(type, name, inputs) {
        const region = typeof inputs.region === "string" ? inputs.region : MOCK_REGION;
        switch (type) {
            case "kubernetes:core/v1:Service":
                return isAwsLoadBalancer(inputs) ? { status: { loadBalancer: { ingress: [{ hostname: awsLoadBalancerHostname(name, inputs) }] } } } : undefined;
            case "aws:s3/bucket:Bucket": {
                // Like the provider: `bucket`, else `bucketPrefix` + a unique suffix.
                const bucket = typeof inputs.bucket === "string" ? inputs.bucket : `${String(inputs.bucketPrefix ?? `${name}-`)}${suffix(name, 20)}`;
                return { id: bucket, bucket, arn: `arn:aws:s3:::${bucket}`, region, bucketDomainName: `${bucket}.s3.amazonaws.com` };
            }
            case "aws:kms/key:Key": {
                const keyId = `${suffix(name, 8)}-${suffix(`${name}1`, 4)}-${suffix(`${name}2`, 4)}-${suffix(`${name}3`, 4)}-${suffix(`${name}4`, 12)}`;
                return { id: keyId, keyId, arn: `arn:aws:kms:${region}:${MOCK_ACCOUNT}:key/${keyId}` };
            }
            case "aws:iam/role:Role": {
                const roleName = typeof inputs.name === "string" ? inputs.name : `${name}-${suffix(name, 7)}`;
                return {
                    id: roleName,
                    name: roleName,
                    arn: `arn:aws:iam::${MOCK_ACCOUNT}:role/${roleName}`,
                    uniqueId: `AROA${suffix(name, 16).toUpperCase()}`,
                };
            }
            case "aws:iam/user:User": {
                const userName = typeof inputs.name === "string" ? inputs.name : `${name}-${suffix(name, 7)}`;
                return {
                    id: userName,
                    name: userName,
                    arn: `arn:aws:iam::${MOCK_ACCOUNT}${String(inputs.path ?? "/")}${userName}`,
                    uniqueId: `AIDA${suffix(name, 16).toUpperCase()}`,
                };
            }
            case "aws:iam/accessKey:AccessKey": {
                // A fresh key pair, shaped like IAM's (20-character id, 40-character secret).
                const id = `AKIA${crypto.randomBytes(8).toString("hex").toUpperCase()}`;
                return { id, secret: crypto.randomBytes(30).toString("base64"), status: "Active" };
            }
            case "aws:iam/rolePolicy:RolePolicy":
            case "aws:iam/userPolicy:UserPolicy":
                return { id: `${String(inputs.role ?? inputs.user)}:${name}` };
            case "aws:route53/record:Record":
                return { id: `${String(inputs.zoneId)}_${String(inputs.name)}_${String(inputs.type)}`, fqdn: inputs.name };
            default:
                return undefined;
        }
    },
};
