// Keeps Pulumi.yaml and docs/configuration.md in step with CONFIG_KEYS, the program's key declarations.
//   ts-node scripts/config-docs.ts pulumi-yaml      rewrites Pulumi.yaml's `config:` section
//   ts-node scripts/config-docs.ts configuration    rewrites docs/configuration.md (every key, by area)
//   ts-node scripts/config-docs.ts table [key...]   prints table rows (all keys, or those named)
// tests/stacks.spec.ts and tests/docs.spec.ts check both files, so running this is how a new key
// gets documented.
import * as fs from "fs";
import * as path from "path";
import * as YAML from "yaml";

import { CONFIG_KEYS, ConfigKeySpec } from "../config";

const ROOT = path.resolve(__dirname, "..");
const entries = Object.entries(CONFIG_KEYS) as [string, ConfigKeySpec][];

/** Where the generated key reference lives, relative to the repository's root. */
export const CONFIGURATION_DOC = path.join("docs", "configuration.md");

function pulumiYaml(): void {
    const file = path.join(ROOT, "Pulumi.yaml");
    const doc = YAML.parseDocument(fs.readFileSync(file, "utf8"));
    const config: Record<string, unknown> = {};
    for (const [key, spec] of entries) {
        const d: Record<string, unknown> = { type: spec.type, description: spec.description };
        if (spec.type === "array") {
            d.items = { type: "string" };
        }
        // No `secret: true`: the CLI refuses it beside a default, and a key without a default is
        // required. The program refuses a plain value for its secret keys instead.
        d.default = spec.default;
        config[key] = d;
    }
    doc.set("config", doc.createNode(config));
    fs.writeFileSync(file, doc.toString({ lineWidth: 0 }));
}

/** The docs' rendering of a default; tests/stacks.spec.ts uses the same. */
export function docsDefault(spec: ConfigKeySpec): string {
    // An empty string shows as `""`; an empty code span would not render.
    return `\`${typeof spec.default === "string" && spec.default !== "" ? spec.default : JSON.stringify(spec.default)}\``;
}

/** Table rows (with the header) for the given keys, in the order given. */
export function tableRows(keys: readonly string[]): string[] {
    const specs: Record<string, ConfigKeySpec> = CONFIG_KEYS;
    const rows = ["| key | type | default | description |", "| --- | --- | --- | --- |"];
    for (const k of keys) {
        const s = specs[k];
        rows.push(`| \`${k}\` | ${s.type}${s.secret === true ? " (secret)" : ""} | ${docsDefault(s)} | ${s.description.replace(/\|/g, "\\|")} |`);
    }
    return rows;
}

interface Section {
    readonly heading: string;
    /** Paragraphs before the table: when the keys apply, and the guide that explains them. */
    readonly intro: readonly string[];
    readonly keys: readonly string[];
}

// The areas of docs/configuration.md, each key in exactly one (configurationMarkdown() refuses a
// key in none or in two, so a new key cannot go undocumented). Keys keep the order given here.
const SECTIONS: readonly Section[] = [
    {
        heading: "Registry, users, resources",
        intro: [
            "Users, roles and the gate, password hashes: [security.md](security.md). Foreign layers:\n" +
                "[conformance.md](conformance.md#foreign-layers). Image lines: [the README](../README.md#architecture).",
        ],
        keys: [
            "registryName",
            "namespace",
            "createNamespace",
            "imageRepository",
            "imageTag",
            "imageDigest",
            "gateImage",
            "replicas",
            "users",
            "pullUsers",
            "passwordLength",
            "htpasswdBcryptCost",
            "gateAuthCacheSeconds",
            "authRealm",
            "cpuRequest",
            "memoryRequest",
            "cpuLimit",
            "memoryLimit",
            "logLevel",
            "logFormatter",
            "accessLog",
            "foreignLayerUrlsAllow",
            "foreignLayerUrlsDeny",
        ],
    },
    {
        heading: "Storage",
        intro: [
            "`storageKind` picks the backend. `filesystem` puts images on a PersistentVolumeClaim named\n" +
                "`<registryName>-data`; `emptyDir` keeps them in the pod (lost when it goes; for trials).\n" +
                "With `ReadWriteOnce` (the default) only one pod can mount the claim, so `replicas` must be 1 and\n" +
                "the Deployment uses the `Recreate` strategy; a `ReadWriteMany` class (NFS, CephFS, EFS) allows\n" +
                "several replicas with rolling updates. The cloud and on-premises backends have keys of their own:\n" +
                "[S3](#aws-s3-storage), [GCE disk and GCS](#gcp-gce-disk-gcs-cloud-dns), [Ceph RGW](#ceph-rgw-storage).",
        ],
        keys: ["storageKind", "storageSize", "storageClass", "storageAccessMode", "storageExistingClaim", "deleteStorageOnDestroy", "storageDeleteEnabled"],
    },
    {
        heading: "TLS and names",
        intro: [],
        keys: [
            "hostnames",
            "ipAddresses",
            "tlsMode",
            "tlsKeyAlgorithm",
            "tlsValidityHours",
            "tlsEarlyRenewalHours",
            "tlsCaValidityHours",
            "tlsCertificate",
            "tlsPrivateKey",
            "tlsCaCertificate",
        ],
    },
    {
        heading: "Service and DNS",
        intro: ["The DNS providers' own keys: [Route53](#aws-route53-and-load-balancer), [Cloud DNS](#gcp-gce-disk-gcs-cloud-dns)."],
        keys: ["serviceType", "servicePort", "nodePort", "serviceAnnotations", "loadBalancerSourceRanges", "dnsProvider"],
    },
    {
        heading: "Access: node trust, localhost proxy, pull Secrets, ingress, mirroring",
        intro: ['How nodes, pods and ingresses reach the registry without an "insecure registry":\n' + "[access.md](access.md)."],
        keys: [
            "nodeTrust",
            "nodeTrustImage",
            "nodeTolerations",
            "localProxy",
            "localProxyPort",
            "localProxyImage",
            "pullSecretNamespaces",
            "pullSecretPatchServiceAccount",
            "pullUser",
            "ingressEnabled",
            "ingressClassName",
            "ingressTls",
            "ingressAnnotations",
            "mirrorImages",
            "mirrorImage",
        ],
    },
    {
        heading: "Operations: HA, cache, garbage collection, pull-through cache, metrics, rotation",
        intro: ["What each does: [operations.md](operations.md). `Pulumi.ha.yaml` is an example stack with most\n" + "of them on."],
        keys: [
            "podAntiAffinity",
            "topologySpreadZones",
            "autoscalingMaxReplicas",
            "autoscalingCpuPercent",
            "blobDescriptorCache",
            "redisAddress",
            "redisPassword",
            "redisImage",
            "gcSchedule",
            "gcDeleteUntagged",
            "gcDryRun",
            "gcKubectlImage",
            "proxyRemoteUrl",
            "proxyUsername",
            "proxyPassword",
            "proxyTtl",
            "proxyCacheSize",
            "metricsServiceMonitor",
            "metricsAlertRules",
            "metricsLabels",
            "passwordRotation",
            "tlsRotation",
        ],
    },
    {
        heading: "AWS: S3 storage",
        intro: ["Used with `storageKind: s3`. The guide, chunk size and the largest layer: [aws.md](aws.md)."],
        keys: [
            "s3Bucket",
            "s3CreateBucket",
            "s3Region",
            "s3RootDirectory",
            "s3Encryption",
            "s3KmsKeyArn",
            "s3Encrypt",
            "s3Versioning",
            "s3NoncurrentVersionDays",
            "s3AbortIncompleteMultipartDays",
            "s3ChunkSize",
            "s3RedirectDisable",
            "s3RegionEndpoint",
            "s3ForcePathStyle",
            "s3Secure",
        ],
    },
    {
        heading: "AWS: S3 identity",
        intro: ["Which identity needs what: [aws.md](aws.md#configuration)."],
        keys: ["s3Identity", "eksOidcProviderArn", "s3AccessKeyId", "s3SecretAccessKey"],
    },
    {
        heading: "AWS: Route53 and load balancer",
        intro: ["Used with `dnsProvider: route53`; the load balancer kinds: [aws.md](aws.md#prerequisites)."],
        keys: [
            "route53ZoneId",
            "route53ZoneName",
            "route53PrivateZone",
            "route53RecordName",
            "route53EvaluateTargetHealth",
            "route53DualStack",
            "awsLoadBalancerType",
            "awsLoadBalancerInternal",
        ],
    },
    {
        heading: "GCP: GCE disk, GCS, Cloud DNS",
        intro: ["Used with `storageKind: gcePersistentDisk` or `gcs` and `dnsProvider: cloudDns`: [gcp.md](gcp.md)."],
        keys: [
            "gceDiskZone",
            "gceDiskType",
            "gceDiskSnapshotStartTime",
            "gceDiskSnapshotRetentionDays",
            "gceExistingDisk",
            "gcsBucketName",
            "gcsExistingBucket",
            "gcsLocation",
            "gcsVersioning",
            "gcsNoncurrentVersionDays",
            "gcsKmsKeyName",
            "gcpWorkloadIdentity",
            "cloudDnsManagedZone",
            "cloudDnsRecordName",
            "cloudDnsTtl",
            "cloudDnsStaticIp",
            "gcpRegion",
        ],
    },
    {
        heading: "Ceph RGW storage",
        intro: [
            "Used when `storageKind` is `cephSwift` or `cephS3`; setting any of these keys with another\n" +
                "storage kind is an error. What `pulumi up` does with them: [ceph.md](ceph.md).",
        ],
        keys: [
            "cephRgwUrl",
            "cephAdminUrl",
            "cephAdminAccessKey",
            "cephAdminSecretKey",
            "cephUser",
            "cephSubuser",
            "cephBucket",
            "cephKeyGeneration",
            "cephChunkSize",
            "cephS3Region",
            "cephRedirect",
            "cephGatewayAddresses",
            "cephGatewayPort",
            "cephGatewayTls",
            "cephCaCertificate",
        ],
    },
];

/** GitHub's anchor for a heading: lowercase, punctuation other than `-` and `_` dropped, spaces to `-`. */
export function headingSlug(heading: string): string {
    return heading
        .replace(/\[([^\]]*)\]\([^)]*\)/g, "$1")
        .toLowerCase()
        .replace(/[^\p{L}\p{N}\s_-]/gu, "")
        .replace(/\s/g, "-");
}

/** The whole of docs/configuration.md. Throws when a key is in no section, in two, or unknown. */
export function configurationMarkdown(): string {
    const seen = new Map<string, string>();
    for (const s of SECTIONS) {
        for (const k of s.keys) {
            if (!(k in CONFIG_KEYS)) {
                throw new Error(`scripts/config-docs.ts lists \`${k}\` under "${s.heading}", but CONFIG_KEYS has no such key`);
            }
            const other = seen.get(k);
            if (other !== undefined) {
                throw new Error(`scripts/config-docs.ts lists \`${k}\` under both "${other}" and "${s.heading}"`);
            }
            seen.set(k, s.heading);
        }
    }
    const missing = entries.map(([k]) => k).filter((k) => !seen.has(k));
    if (missing.length > 0) {
        throw new Error(`add ${missing.map((k) => `\`${k}\``).join(", ")} to a section of SECTIONS in scripts/config-docs.ts`);
    }
    const out: string[] = [
        "<!-- Generated by `npm run config-docs configuration` from CONFIG_KEYS; edit those, not this file. -->",
        "# Configuration: every key",
        "",
        "Set with `pulumi config set <key> <value>` (lists: `pulumi config set --path 'users[0]' admin`, or",
        "edit the stack file; secrets: `pulumi config set --secret`). Every key is declared in `Pulumi.yaml`",
        "with the same type, default and description as the program's `CONFIG_KEYS` (a test keeps them",
        "identical). A wrong value stops `pulumi up` before anything is created, with a message naming the",
        "key and what is allowed.",
        "",
        "This file is generated from the same declarations. After adding a key,",
        "`npm run config-docs pulumi-yaml` rewrites the declarations in `Pulumi.yaml`,",
        "`npm run config-docs configuration` rewrites this file, and `npm run config-docs table <key>...`",
        "prints its rows; `tests/docs.spec.ts` fails while this file differs from what the script makes.",
        "",
        ...SECTIONS.map((s) => `- [${s.heading}](#${headingSlug(s.heading)})`),
    ];
    for (const s of SECTIONS) {
        out.push("", `## ${s.heading}`, "");
        for (const p of s.intro) {
            out.push(p, "");
        }
        out.push(...tableRows(s.keys));
    }
    return out.join("\n") + "\n";
}

if (require.main === module) {
    const [cmd, ...rest] = process.argv.slice(2);
    if (cmd === "pulumi-yaml") {
        pulumiYaml();
    } else if (cmd === "configuration") {
        fs.writeFileSync(path.join(ROOT, CONFIGURATION_DOC), configurationMarkdown());
    } else if (cmd === "table") {
        console.log(tableRows(rest.length === 0 ? entries.map(([k]) => k) : entries.map(([k]) => k).filter((k) => rest.includes(k))).join("\n"));
    } else {
        console.error("usage: config-docs.ts pulumi-yaml | configuration | table [key...]");
        process.exit(2);
    }
}
