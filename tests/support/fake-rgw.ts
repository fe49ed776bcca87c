// An in-memory stand-in for the part of RGW's Admin Ops API the Ceph dynamic providers call
// (`/admin/user` with its `subuser` and `key` sub-resources, and deleting a bucket), on 127.0.0.1, for unit tests that
// run the providers' serialised code without a Ceph cluster. It keeps RGW's rules that matter to
// the providers, as seen on a real radosgw (tests/harness/peers/ceph.ts): one Swift key per subuser
// (a new one replaces it), any number of S3 keys, `purge-keys` removing a subuser's keys, and a
// user that owns a bucket deleted only with `purge-data` (else 409). Signatures are not checked.
import * as crypto from "crypto";
import * as http from "http";

import type { RgwUser } from "../../components/storage/ceph/admin-ops";

interface User {
    display_name: string;
    subusers: { id: string; permissions: string }[];
    keys: { user: string; access_key: string; secret_key: string }[];
    swift_keys: { user: string; secret_key: string }[];
}

/** A running fake RGW. */
export interface FakeRgw {
    /** `http://127.0.0.1:<port>`. */
    readonly url: string;
    /** The user as GET /admin/user returns it, or undefined. */
    user(uid: string): RgwUser | undefined;
    /** Makes `uid` own a bucket (as a bucket created with one of its keys would be). */
    addBucket(uid: string, bucket: string): void;
    /** Buckets and their owners. */
    buckets(): Map<string, string>;
    /** Every Admin Ops call made, as `METHOD sub-resource`, e.g. `DELETE subuser`. */
    readonly calls: string[];
    /** Forgets every user, bucket and call. */
    reset(): void;
    stop(): Promise<void>;
}

const secret = (): string => crypto.randomBytes(30).toString("base64url").slice(0, 40);
const accessKey = (): string => crypto.randomBytes(10).toString("hex").toUpperCase();

export async function startFakeRgw(): Promise<FakeRgw> {
    const users = new Map<string, User>();
    const buckets = new Map<string, string>();
    const calls: string[] = [];
    const view = (uid: string, u: User): RgwUser => JSON.parse(JSON.stringify({ user_id: uid, ...u })) as RgwUser;

    const handle = (method: string, q: URLSearchParams): { status: number; body: unknown } => {
        const uid = q.get("uid") ?? "";
        const user = users.get(uid);
        const subuser = q.get("subuser") ?? undefined;
        const sub = q.has("key") ? "key" : subuser !== undefined ? "subuser" : "user";
        calls.push(`${method} ${sub}`);
        const noSuchUser = { status: 404, body: { Code: "NoSuchUser" } };
        const addKey = (u: User, id: string, type: string): void => {
            if (type === "swift") {
                u.swift_keys = [...u.swift_keys.filter((k) => k.user !== id), { user: id, secret_key: secret() }];
            } else {
                u.keys.push({ user: id, access_key: accessKey(), secret_key: secret() });
            }
        };
        if (sub === "user") {
            if (method === "GET") {
                return user === undefined ? noSuchUser : { status: 200, body: view(uid, user) };
            }
            if (method === "PUT") {
                if (user !== undefined) {
                    return { status: 409, body: { Code: "UserAlreadyExists" } };
                }
                users.set(uid, { display_name: q.get("display-name") ?? uid, subusers: [], keys: [], swift_keys: [] });
                return { status: 200, body: {} };
            }
            if (method === "DELETE") {
                if (user === undefined) {
                    return noSuchUser;
                }
                const owned = [...buckets].filter(([, owner]) => owner === uid).map(([b]) => b);
                if (owned.length > 0 && q.get("purge-data") !== "true") {
                    return { status: 409, body: { Code: "BucketAlreadyExists" } };
                }
                owned.forEach((b) => buckets.delete(b));
                users.delete(uid);
                return { status: 200, body: {} };
            }
        }
        if (user === undefined) {
            return noSuchUser;
        }
        if (sub === "subuser") {
            const id = subuser ?? "";
            if (method === "PUT") {
                if (!user.subusers.some((s) => s.id === id)) {
                    user.subusers.push({ id, permissions: "full-control" });
                }
                addKey(user, id, q.get("key-type") ?? "swift");
                return { status: 200, body: {} };
            }
            if (method === "DELETE") {
                if (!user.subusers.some((s) => s.id === id)) {
                    return { status: 404, body: { Code: "NoSuchSubUser" } };
                }
                user.subusers = user.subusers.filter((s) => s.id !== id);
                if (q.get("purge-keys") !== "false") {
                    user.keys = user.keys.filter((k) => k.user !== id);
                    user.swift_keys = user.swift_keys.filter((k) => k.user !== id);
                }
                return { status: 200, body: {} };
            }
        }
        if (sub === "key") {
            const type = q.get("key-type") ?? "s3";
            if (method === "PUT") {
                addKey(user, subuser ?? uid, type);
                return { status: 200, body: {} };
            }
            if (method === "DELETE") {
                const before = user.keys.length + user.swift_keys.length;
                if (type === "swift") {
                    user.swift_keys = user.swift_keys.filter((k) => k.user !== subuser);
                } else {
                    user.keys = user.keys.filter((k) => k.access_key !== q.get("access-key"));
                }
                return user.keys.length + user.swift_keys.length < before ? { status: 200, body: {} } : { status: 404, body: { Code: "NoSuchKey" } };
            }
        }
        return { status: 405, body: { Code: "MethodNotAllowed" } };
    };

    const purgeBucket = (bucket: string): { status: number; body: unknown } => {
        calls.push("DELETE bucket");
        return buckets.delete(bucket) ? { status: 200, body: {} } : { status: 404, body: { Code: "NoSuchBucket" } };
    };

    const server = http.createServer((req, res) => {
        const u = new URL(req.url ?? "/", "http://fake");
        req.resume();
        req.on("end", () => {
            const r =
                u.pathname === "/admin/user"
                    ? handle(req.method ?? "GET", u.searchParams)
                    : u.pathname === "/admin/bucket" && req.method === "DELETE"
                      ? purgeBucket(u.searchParams.get("bucket") ?? "")
                      : { status: 404, body: { Code: "NoSuchBucket" } };
            res.writeHead(r.status, { "Content-Type": "application/json" });
            res.end(JSON.stringify(r.body));
        });
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const port = (server.address() as { port: number }).port;
    return {
        url: `http://127.0.0.1:${port}`,
        user: (uid) => {
            const u = users.get(uid);
            return u === undefined ? undefined : view(uid, u);
        },
        addBucket: (uid, bucket) => {
            buckets.set(bucket, uid);
        },
        buckets: () => new Map(buckets),
        calls,
        reset: () => {
            users.clear();
            buckets.clear();
            calls.length = 0;
        },
        stop: () => new Promise((resolve) => server.close(() => resolve())),
    };
}
