// A small client for Ceph RGW's Admin Ops REST API (`/admin/user`, `?subuser`, `?key`,
// `/admin/bucket`), its S3 API (bucket creation) and Swift auth (v1), used by the dynamic
// providers. Requests are signed with AWS Signature V4 by the maintained `aws4` library; RGW
// checks Admin Ops signatures the same way it checks S3 ones.
//
// Everything here runs inside the Pulumi dynamic provider, whose code Pulumi serialises: it only
// depends on Node built-ins and `aws4`, never on `@pulumi/pulumi`.
import * as aws4 from "aws4";
import * as http from "http";
import * as https from "https";

/** Where RGW is and who signs (an RGW user with the `users=*` and `buckets=*` caps for Admin Ops). */
export interface RgwEndpoint {
    /** `http(s)://host:port` of a radosgw. */
    readonly url: string;
    readonly accessKey: string;
    readonly secretKey: string;
    /** PEM CA bundle to trust for an RGW behind self-signed TLS. Default: the system roots. */
    readonly caBundle?: string;
    /** SigV4 region. RGW accepts any name here. Default "us-east-1". */
    readonly region?: string;
}

/** One query parameter; a bare sub-resource (`?key`) has no value. */
export type QueryParam = readonly [string, string | undefined];

/** A signed request, ready for `http(s).request`. */
export interface SignedRequest {
    readonly protocol: "http:" | "https:";
    readonly hostname: string;
    readonly port: number;
    readonly method: string;
    /** Path and query exactly as signed. */
    readonly path: string;
    readonly headers: Record<string, string>;
}

/** The TCP port a URL names, or its scheme's default. */
export function urlPort(u: URL): number {
    return u.port === "" ? (u.protocol === "https:" ? 443 : 80) : Number(u.port);
}

/** `path?query`, each name and value percent-encoded (RFC 3986), in the given order. */
export function buildPath(path: string, query: readonly QueryParam[] = []): string {
    if (query.length === 0) {
        return path;
    }
    const enc = (s: string) => encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
    return `${path}?${query.map(([k, v]) => (v === undefined ? enc(k) : `${enc(k)}=${enc(v)}`)).join("&")}`;
}

/**
 * Signs a request with SigV4 (service `s3`, as RGW expects for Admin Ops and S3). `date` fixes
 * the signing time, for tests against known vectors.
 */
export function signRequest(
    endpoint: RgwEndpoint,
    method: string,
    path: string,
    opts: { body?: string; headers?: Record<string, string>; date?: Date; service?: string } = {},
): SignedRequest {
    const url = new URL(endpoint.url);
    if (url.protocol !== "http:" && url.protocol !== "https:") {
        throw new Error(`RGW URL must be http(s)://host[:port]; got ${endpoint.url}`);
    }
    const headers: Record<string, string> = { ...opts.headers };
    if (opts.date !== undefined) {
        headers["X-Amz-Date"] = opts.date.toISOString().replace(/[:-]|\.\d{3}/g, "");
    }
    const signed = aws4.sign(
        { host: url.host, method, path, service: opts.service ?? "s3", region: endpoint.region ?? "us-east-1", headers, body: opts.body },
        { accessKeyId: endpoint.accessKey, secretAccessKey: endpoint.secretKey },
    );
    const outHeaders: Record<string, string> = {};
    for (const [k, v] of Object.entries(signed.headers ?? {})) {
        if (v !== undefined) {
            outHeaders[k] = String(v);
        }
    }
    return {
        protocol: url.protocol,
        hostname: url.hostname,
        port: urlPort(url),
        method,
        path,
        headers: outHeaders,
    };
}

/** An HTTP answer. */
export interface RgwResponse {
    readonly status: number;
    readonly headers: http.IncomingHttpHeaders;
    readonly body: string;
}

/** An error answer from RGW, with its S3-style code (`NoSuchUser`, `SignatureDoesNotMatch`...). */
export interface RgwError extends Error {
    readonly status: number;
    readonly code: string;
}

/**
 * An RgwError. A plain Error with fields rather than a subclass: Pulumi serialises the
 * provider's code, and a serialised subclass of Error loses its message on the way.
 */
export function rgwError(message: string, status: number, code: string): RgwError {
    return Object.assign(new Error(message), { status, code });
}

/** The error code of an RGW answer: JSON `{"Code": ...}` (Admin Ops) or XML `<Code>` (S3). */
export function errorCode(body: string): string {
    try {
        const parsed = JSON.parse(body) as { Code?: unknown };
        if (typeof parsed.Code === "string") {
            return parsed.Code;
        }
    } catch {
        // not JSON
    }
    return /<Code>([^<]+)<\/Code>/.exec(body)?.[1] ?? "";
}

/**
 * A clear message for an RGW error answer: what happened, and what to change. `what` names the
 * operation ("create subuser kube:registry").
 */
export function describeRgwError(what: string, status: number, code: string, url: string): string {
    const at = `RGW at ${url}`;
    switch (code) {
        case "SignatureDoesNotMatch":
            return `${what}: ${at} rejected the request signature (403 SignatureDoesNotMatch): \`cephAdminSecretKey\` does not belong to \`cephAdminAccessKey\``;
        case "InvalidAccessKeyId":
            return `${what}: ${at} does not know the access key (403 InvalidAccessKeyId): check \`cephAdminAccessKey\``;
        case "AccessDenied":
            return `${what}: ${at} denied access (403 AccessDenied): the admin user needs the caps \`users=*\` and \`buckets=*\` (radosgw-admin caps add --uid=<admin> --caps="users=*;buckets=*")`;
        case "RequestTimeTooSkewed":
            return `${what}: ${at} refused the request (403 RequestTimeTooSkewed): the clocks of this machine and RGW differ by more than 15 minutes`;
        case "UserAlreadyExists":
        case "SubuserExists":
        case "KeyExists":
            return `${what}: ${at} says it already exists (409 ${code})`;
        case "BucketAlreadyExists":
            return `${what}: the bucket belongs to another RGW user (409 BucketAlreadyExists); each registry needs its own: set \`cephBucket\` to an unused name`;
        case "NoSuchUser":
        case "NoSuchSubUser":
        case "NoSuchKey":
        case "NoSuchBucket":
            return `${what}: ${at} answered 404 ${code}`;
        default:
            return `${what}: ${at} answered ${status}${code === "" ? "" : ` ${code}`}`;
    }
}

/** Sends a request and collects the answer; network errors and timeouts reject with the URL. */
export function send(req: SignedRequest, opts: { body?: string; caBundle?: string; timeoutMs?: number } = {}): Promise<RgwResponse> {
    const lib = req.protocol === "https:" ? https : http;
    const url = `${req.protocol}//${req.hostname}:${req.port}${req.path.split("?")[0]}`;
    return new Promise((resolve, reject) => {
        const r = lib.request(
            {
                hostname: req.hostname,
                port: req.port,
                method: req.method,
                path: req.path,
                headers: req.headers,
                timeout: opts.timeoutMs ?? 30000,
                agent: false,
                ...(req.protocol === "https:" && opts.caBundle !== undefined && opts.caBundle !== "" ? { ca: opts.caBundle } : {}),
            },
            (res) => {
                const chunks: Buffer[] = [];
                res.on("data", (c: Buffer) => chunks.push(c));
                res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString("utf8") }));
                res.on("error", reject);
            },
        );
        r.on("timeout", () => r.destroy(new Error(`timed out talking to RGW at ${url}`)));
        r.on("error", (e) => reject(new Error(`cannot reach RGW at ${url}: ${e.message}`)));
        r.end(opts.body);
    });
}

/** An RGW user as Admin Ops returns it (the fields the providers use). */
export interface RgwUser {
    readonly user_id: string;
    readonly display_name: string;
    readonly subusers: readonly { readonly id: string; readonly permissions: string }[];
    readonly keys: readonly { readonly user: string; readonly access_key: string; readonly secret_key: string }[];
    readonly swift_keys: readonly { readonly user: string; readonly secret_key: string }[];
}

/** Admin Ops calls the providers make. Each throws an RgwError with a clear message on failure. */
export class RgwAdmin {
    constructor(readonly endpoint: RgwEndpoint) {}

    /** A signed Admin Ops (or S3) call; 2xx answers resolve, others reject with RgwError. */
    async call(what: string, method: string, path: string, query: readonly QueryParam[], allow: readonly number[] = []): Promise<RgwResponse> {
        const req = signRequest(this.endpoint, method, buildPath(path, query));
        const res = await send(req, { caBundle: this.endpoint.caBundle });
        if ((res.status >= 200 && res.status < 300) || allow.includes(res.status)) {
            return res;
        }
        const code = errorCode(res.body);
        throw rgwError(describeRgwError(what, res.status, code, this.endpoint.url), res.status, code);
    }

    /** The user, or undefined when RGW has no such user. */
    async getUser(uid: string): Promise<RgwUser | undefined> {
        const res = await this.call(
            `read RGW user ${uid}`,
            "GET",
            "/admin/user",
            [
                ["uid", uid],
                ["format", "json"],
            ],
            [404],
        );
        if (res.status === 404) {
            if (errorCode(res.body) !== "NoSuchUser") {
                throw rgwError(describeRgwError(`read RGW user ${uid}`, 404, errorCode(res.body), this.endpoint.url), 404, errorCode(res.body));
            }
            return undefined;
        }
        return JSON.parse(res.body) as RgwUser;
    }

    /** Creates a user without keys of its own (its subusers get them). */
    async createUser(uid: string, displayName: string): Promise<void> {
        await this.call(`create RGW user ${uid}`, "PUT", "/admin/user", [
            ["uid", uid],
            ["display-name", displayName],
            ["generate-key", "false"],
            ["format", "json"],
        ]);
    }

    /**
     * Deletes a user; `purgeData` also deletes its buckets and objects. Without it RGW refuses a
     * user that still owns a bucket (409, whose code reads `BucketAlreadyExists`): resolves false
     * then, and the user stays.
     */
    async deleteUser(uid: string, purgeData: boolean): Promise<boolean> {
        const res = await this.call(
            `delete RGW user ${uid}`,
            "DELETE",
            "/admin/user",
            [
                ["uid", uid],
                ["purge-data", String(purgeData)],
                ["format", "json"],
            ],
            [404, 409],
        );
        return res.status !== 409;
    }

    /**
     * Creates subuser `<uid>:<name>` with full access and a generated key of `keyType`.
     * SigV4 trap: the documented `?subuser&...&subuser=` form has the name twice and RGW's
     * signature check fails on it; `subuser=` once selects the subuser sub-resource just the same.
     */
    async createSubuser(uid: string, subuser: string, keyType: "swift" | "s3"): Promise<void> {
        await this.call(`create RGW subuser ${subuser}`, "PUT", "/admin/user", [
            ["uid", uid],
            ["subuser", subuser],
            ["access", "full"],
            ["key-type", keyType],
            ["generate-secret", "true"],
            ["format", "json"],
        ]);
    }

    /** Removes a subuser and its keys; a missing one is not an error. */
    async deleteSubuser(uid: string, subuser: string): Promise<void> {
        await this.call(
            `delete RGW subuser ${subuser}`,
            "DELETE",
            "/admin/user",
            [
                ["uid", uid],
                ["subuser", subuser],
                ["purge-keys", "true"],
                ["format", "json"],
            ],
            [404],
        );
    }

    /** Generates a new key for a subuser: replaces its Swift key, or adds an S3 key pair. */
    async generateKey(uid: string, subuser: string, keyType: "swift" | "s3"): Promise<void> {
        await this.call(`generate a ${keyType} key for RGW subuser ${subuser}`, "PUT", "/admin/user", [
            ["key", undefined],
            ["uid", uid],
            ["subuser", subuser],
            ["key-type", keyType],
            [keyType === "swift" ? "generate-secret" : "generate-key", "true"],
            ["format", "json"],
        ]);
    }

    /** Removes one S3 key pair. */
    async deleteS3Key(uid: string, accessKey: string): Promise<void> {
        await this.call(
            `delete an S3 key of RGW user ${uid}`,
            "DELETE",
            "/admin/user",
            [
                ["key", undefined],
                ["uid", uid],
                ["access-key", accessKey],
                ["key-type", "s3"],
                ["format", "json"],
            ],
            [404],
        );
    }

    /** Removes a subuser's Swift key (RGW holds at most one per subuser); the subuser stays. */
    async deleteSwiftKey(uid: string, subuser: string): Promise<void> {
        await this.call(
            `delete the Swift key of RGW subuser ${subuser}`,
            "DELETE",
            "/admin/user",
            [
                ["key", undefined],
                ["uid", uid],
                ["subuser", subuser],
                ["key-type", "swift"],
                ["format", "json"],
            ],
            [404],
        );
    }

    /** Deletes a bucket and every object in it; a missing one is not an error. */
    async purgeBucket(bucket: string): Promise<void> {
        await this.call(
            `delete bucket ${bucket}`,
            "DELETE",
            "/admin/bucket",
            [
                ["bucket", bucket],
                ["purge-objects", "true"],
                ["format", "json"],
            ],
            [404],
        );
    }
}

/** Swift v1 auth (`/auth/1.0`): the storage URL and token, or the HTTP status when refused. */
export async function swiftAuth(
    url: string,
    user: string,
    key: string,
    caBundle?: string,
): Promise<{ ok: true; storageUrl: string; token: string } | { ok: false; status: number }> {
    const u = new URL(url);
    const req: SignedRequest = {
        protocol: u.protocol === "https:" ? "https:" : "http:",
        hostname: u.hostname,
        port: urlPort(u),
        method: "GET",
        path: "/auth/1.0",
        headers: { "X-Auth-User": user, "X-Auth-Key": key },
    };
    const res = await send(req, { caBundle });
    const storageUrl = res.headers["x-storage-url"];
    const token = res.headers["x-auth-token"];
    if (res.status >= 200 && res.status < 300 && typeof storageUrl === "string" && typeof token === "string") {
        return { ok: true, storageUrl, token };
    }
    return { ok: false, status: res.status };
}
