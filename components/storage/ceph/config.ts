// Configuration of the Ceph backends: RGW over Swift (`cephSwift`) or S3 (`cephS3`), with the
// registry's credentials provisioned through the RGW Admin Ops API.
import { X509Certificate } from "crypto";
import { isIP } from "net";
import * as pulumi from "@pulumi/pulumi";

import type { ConfigKeySpec, Reader } from "../../config/reader";
import type { StorageBackendSpec, StorageKey } from "../backend";

/** Keys only the Ceph storage kinds read. */
export const CEPH_KEYS = {
    cephRgwUrl: {
        type: "string",
        default: "",
        description:
            "URL the registry reaches Ceph RGW at (http(s)://host:port), for storageKind cephSwift/cephS3. Empty with cephGatewayAddresses: the gateway Service's in-cluster URL.",
    },
    cephAdminUrl: {
        type: "string",
        default: "",
        description: "URL `pulumi up` reaches the RGW Admin Ops API at, to provision the registry's user, key and bucket. Empty: cephRgwUrl.",
    },
    cephAdminAccessKey: {
        type: "string",
        default: "",
        secret: true,
        description: "S3 access key of an RGW user with the caps `users=*` and `buckets=*` (set with --secret).",
    },
    cephAdminSecretKey: { type: "string", default: "", secret: true, description: "S3 secret key of that RGW admin user (set with --secret)." },
    cephUser: {
        type: "string",
        default: "",
        description: "RGW user (uid) that owns the registry's bucket; created if missing. Empty: `<registryName>-<stack>`.",
    },
    cephSubuser: {
        type: "string",
        default: "registry",
        description:
            "Subuser the registry authenticates as (`<uid>:<subuser>`; `<uid>:<subuser>-g<N>` when cephKeyGeneration N is not 1), with full access and a generated key.",
    },
    cephBucket: {
        type: "string",
        default: "",
        description: "Swift container / S3 bucket of this registry, one per registry. Empty: `<registryName>-<stack>`.",
    },
    cephKeyGeneration: {
        type: "integer",
        default: 1,
        description:
            "Change (e.g. increment) to rotate the registry's RGW key on the next `pulumi up`: a new subuser and key; the old ones are deleted once the pods run on the new.",
    },
    cephChunkSize: { type: "integer", default: 10485760, description: "Upload chunk size in bytes (Swift segments / S3 multipart parts), at least 5 MiB." },
    cephS3Region: { type: "string", default: "us-east-1", description: "Region the S3 driver signs requests with (cephS3); a default RGW accepts us-east-1." },
    cephRedirect: {
        type: "boolean",
        default: false,
        description: "Send clients to RGW for blob downloads (storage.redirect). Off: the registry serves blobs, as clients usually cannot reach RGW.",
    },
    cephGatewayAddresses: {
        type: "array",
        default: [],
        description:
            "IP addresses of RGW gateways outside the cluster: a selector-less Service with an EndpointSlice lists them and the registry uses that Service.",
    },
    cephGatewayPort: { type: "integer", default: 7480, description: "Port of the RGW gateways in cephGatewayAddresses." },
    cephGatewayTls: {
        type: "boolean",
        default: false,
        description: "The gateways in cephGatewayAddresses speak HTTPS (their certificate must cover `<registryName>-rgw.<namespace>.svc`).",
    },
    cephCaCertificate: {
        type: "string",
        default: "",
        description: "PEM CA bundle of RGW's TLS certificate (self-signed RGW): trusted by the registry (SSL_CERT_FILE) and by `pulumi up`.",
    },
} as const satisfies Record<string, ConfigKeySpec>;

export type CephKey = keyof typeof CEPH_KEYS;

/** Ceph RGW over Swift (`cephSwift`, distribution 2.8 only) or S3 (`cephS3`); credentials provisioned through Admin Ops. */
export interface CephStorageConfig {
    readonly kind: "cephSwift" | "cephS3";
    /** The registry's RGW URL; undefined when it is the gateway Service's. */
    readonly rgwUrl?: string;
    /** Admin Ops URL for `pulumi up`. */
    readonly adminUrl: string;
    readonly adminAccessKey: pulumi.Output<string>;
    readonly adminSecretKey: pulumi.Output<string>;
    /** undefined: `<registryName>-<stack>`. */
    readonly user?: string;
    readonly subuser: string;
    /** undefined: `<registryName>-<stack>`. */
    readonly bucket?: string;
    readonly keyGeneration: number;
    readonly chunkSize: number;
    readonly s3Region: string;
    readonly redirect: boolean;
    /** RGW gateways outside the cluster, behind a selector-less Service. */
    readonly gateway?: { readonly addresses: readonly string[]; readonly port: number; readonly tls: boolean };
    readonly caCertificate?: string;
}

export const CEPH_STORAGE: StorageBackendSpec<CephStorageConfig> = {
    shareable: () => true,
    // The Swift driver was removed in distribution 3.0.
    lines: (cfg) => (cfg.kind === "cephSwift" ? [2] : [2, 3]),
    lineHint: (cfg) =>
        cfg.kind === "cephSwift"
            ? ": the Swift driver was removed in distribution 3.0. Set `imageTag` to `2.8.3` (or leave it empty), or use `storageKind` `cephS3`, which works with 3.x"
            : "",
};

/** RGW user ids: what radosgw-admin accepts without tenants (`$`) or subuser separators (`:`). */
const RGW_UID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
/** S3 bucket names (DNS-compatible; Swift accepts them too). */
const BUCKET_NAME = /^(?!\d+\.\d+\.\d+\.\d+$)[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;
const MIN_CHUNK = 5 * 1024 * 1024;

/** `http(s)://host[:port]` without path, query or credentials, or undefined. */
function parseRgwUrl(r: Reader<CephKey>, key: CephKey): string | undefined {
    const v = r.string(key);
    let u: URL | undefined;
    try {
        u = new URL(v);
    } catch {
        u = undefined;
    }
    if (
        u === undefined ||
        (u.protocol !== "http:" && u.protocol !== "https:") ||
        (u.pathname !== "/" && u.pathname !== "") ||
        u.search !== "" ||
        u.username !== "" ||
        v.endsWith("/")
    ) {
        r.problem(`\`${key}\` must be an RGW base URL such as \`http://rgw.ceph.svc:7480\` (http or https, no path); got \`${v}\``);
        return undefined;
    }
    return v;
}

/** Parses the `ceph*` keys for `cephSwift`/`cephS3`. */
export function parseCephStorage(r: Reader<CephKey | StorageKey>, kind: CephStorageConfig["kind"]): CephStorageConfig {
    for (const k of ["storageExistingClaim", "storageClass"] as const) {
        if (r.has(k)) {
            r.problem(`\`${k}\` needs \`storageKind\` \`filesystem\`; \`${kind}\` keeps images in RGW`);
        }
    }
    const addresses = r.stringArray("cephGatewayAddresses");
    for (const a of addresses) {
        if (isIP(a) === 0) {
            r.problem(`\`cephGatewayAddresses\` entries must be IPv4 or IPv6 addresses (an EndpointSlice lists addresses, not names); got \`${a}\``);
        }
    }
    if (addresses.length > 0 && new Set(addresses.map((a) => isIP(a))).size > 1) {
        r.problem("`cephGatewayAddresses` mixes IPv4 and IPv6; one EndpointSlice holds one address family");
    }
    const gatewayPort = r.integer("cephGatewayPort", 1, 65535);
    const gatewayTls = r.boolean("cephGatewayTls");
    if (addresses.length === 0) {
        for (const k of ["cephGatewayPort", "cephGatewayTls"] as const) {
            if (r.has(k)) {
                r.problem(`\`${k}\` is only used with \`cephGatewayAddresses\``);
            }
        }
    }
    let rgwUrl: string | undefined;
    if (r.has("cephRgwUrl")) {
        rgwUrl = parseRgwUrl(r, "cephRgwUrl");
        if (addresses.length > 0) {
            r.problem("`cephRgwUrl` and `cephGatewayAddresses` exclude each other: with gateway addresses the registry uses the gateway Service");
        }
    } else if (addresses.length === 0) {
        r.problem(`\`cephRgwUrl\` (or \`cephGatewayAddresses\`) is required when \`storageKind\` is \`${kind}\``);
    }
    let adminUrl: string | undefined = rgwUrl;
    if (r.has("cephAdminUrl")) {
        adminUrl = parseRgwUrl(r, "cephAdminUrl");
    } else if (addresses.length > 0) {
        r.problem("`cephAdminUrl` is required with `cephGatewayAddresses`: `pulumi up` runs outside the cluster and cannot use the gateway Service's name");
    }
    for (const k of ["cephAdminAccessKey", "cephAdminSecretKey"] as const) {
        if (!r.has(k)) {
            r.problem(`\`${k}\` is required when \`storageKind\` is \`${kind}\`: \`pulumi config set --secret ${k} <value>\``);
        } else {
            r.requireSecret(k);
        }
    }
    const user = r.string("cephUser");
    if (user !== "" && !RGW_UID.test(user)) {
        r.problem(`\`cephUser\` must be 1-64 characters of letters, digits, '.', '_', '-', starting with a letter or digit; got \`${user}\``);
    }
    const subuser = r.string("cephSubuser");
    if (!RGW_UID.test(subuser)) {
        r.problem(`\`cephSubuser\` must be 1-64 characters of letters, digits, '.', '_', '-', starting with a letter or digit; got \`${subuser}\``);
    }
    const bucket = r.string("cephBucket");
    if (bucket !== "" && !BUCKET_NAME.test(bucket)) {
        r.problem(`\`cephBucket\` must be a bucket name: 3-63 characters of a-z, 0-9, '.', '-', starting and ending with a letter or digit; got \`${bucket}\``);
    }
    const chunkSize = r.integer("cephChunkSize", MIN_CHUNK, 5 * 1024 * 1024 * 1024);
    const caCertificate = r.string("cephCaCertificate");
    if (caCertificate !== "") {
        try {
            new X509Certificate(caCertificate);
        } catch {
            r.problem("`cephCaCertificate` must be a PEM certificate (-----BEGIN CERTIFICATE-----)");
        }
        const tls = addresses.length > 0 ? gatewayTls : rgwUrl?.startsWith("https:") === true;
        if (!tls) {
            r.problem("`cephCaCertificate` needs RGW over HTTPS: an `https://` `cephRgwUrl`, or `cephGatewayTls` true");
        }
    }
    return {
        kind,
        rgwUrl,
        adminUrl: adminUrl ?? "",
        adminAccessKey: pulumi.secret(r.string("cephAdminAccessKey")),
        adminSecretKey: pulumi.secret(r.string("cephAdminSecretKey")),
        user: user === "" ? undefined : user,
        subuser,
        bucket: bucket === "" ? undefined : bucket,
        keyGeneration: r.integer("cephKeyGeneration", 0, 1000000),
        chunkSize,
        s3Region: r.string("cephS3Region"),
        redirect: r.boolean("cephRedirect"),
        gateway: addresses.length > 0 ? { addresses, port: gatewayPort, tls: gatewayTls } : undefined,
        caCertificate: caCertificate === "" ? undefined : caCertificate,
    };
}

/** Refuses `ceph*` keys when the storage is not Ceph (they would be silently ignored). */
export function refuseUnusedCephKeys(r: Reader<CephKey>, storageKind: string): void {
    if (storageKind === "cephSwift" || storageKind === "cephS3") {
        return;
    }
    for (const k of Object.keys(CEPH_KEYS) as CephKey[]) {
        if (r.has(k)) {
            r.problem(`\`${k}\` is only used when \`storageKind\` is \`cephSwift\` or \`cephS3\``);
        }
    }
}
