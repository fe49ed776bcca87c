// An OpenStack Swift all-in-one on 127.0.0.1, from Debian's packages, as a test peer that speaks
// both Swift (tempauth, `/auth/v1.0`) and S3 (the `s3api` middleware, SigV4, multipart through
// `slo`, SSE-S3 through the `encryption` middleware). The registry's S3 driver works against it (the npm `s3rver` does not: it answers 501 to
// ListMultipartUploads), and so does the 2.8 line's Swift driver.
//
//   const swift = await startSwift({ containers: ["registry"] });
//   // S3:    endpoint swift.s3Endpoint, region swift.region, accesskey swift.accessKey, secretkey swift.secretKey
//   // Swift: authurl swift.authUrl, username swift.username, password swift.key
//   await swift.stop();
//
// Processes: memcached (tempauth keeps its tokens there), the account, container and object
// servers and the proxy, each with `workers = 0` (one process, so stopping its PID stops it), on
// free ports, under a fresh work directory. Needs the Debian packages in tests/harness/debs/aws.txt.
// Starts in about 5-10 s on a 2-core machine; `stop()` ends every process it started, by PID.
import { execFile } from "child_process";
import * as crypto from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";

import { request } from "../http";
import { freePort, Proc, startProc, waitFor, workDir } from "../procs";

/** A tempauth user: S3 access key `<account>:<user>`, secret key `key`. */
export interface SwiftUser {
    readonly account: string;
    readonly user: string;
    readonly key: string;
}

export interface SwiftOptions {
    /** tempauth users, each an admin of its account. Default: one user `registry:registry` with a random key. */
    readonly users?: readonly SwiftUser[];
    /** Containers (= S3 buckets) to create in the first user's account. Default none (the registry does not create its bucket). */
    readonly containers?: readonly string[];
    /** The region s3api answers for (SigV4 signs with it). Default `us-east-1`. */
    readonly region?: string;
    /** How long to wait for everything to answer. Default 60 s. */
    readonly timeoutMs?: number;
}

/** A running Swift all-in-one. Everything about the first user is at the top level. */
export interface SwiftPeer {
    /** Swift auth endpoint, `http://127.0.0.1:<port>/auth/v1.0` (the Swift driver's `authurl`). */
    readonly authUrl: string;
    /** S3 endpoint, `http://127.0.0.1:<port>` (the S3 driver's `regionendpoint`; path-style, plain HTTP). */
    readonly s3Endpoint: string;
    readonly region: string;
    /** The first user's account, user name and key. */
    readonly account: string;
    readonly user: string;
    readonly key: string;
    /** `<account>:<user>`: the Swift username and the S3 access key id. */
    readonly username: string;
    readonly accessKey: string;
    /** = key: the S3 secret access key. */
    readonly secretKey: string;
    /** Every configured user. */
    readonly users: readonly SwiftUser[];
    /** The work directory (configs, device, logs: `<dir>/log/<process>.log`). */
    readonly dir: string;
    readonly procs: readonly Proc[];
    /** A tempauth token and the storage URL of a user (default: the first). */
    auth(user?: SwiftUser): Promise<{ token: string; storageUrl: string }>;
    /** Creates a container (= S3 bucket) in a user's account (default: the first user's). */
    createContainer(name: string, user?: SwiftUser): Promise<void>;
    /** Objects in a container, optionally under a prefix (Swift listing: name and bytes). */
    listObjects(container: string, prefix?: string, user?: SwiftUser): Promise<{ name: string; bytes: number }[]>;
    /** Response headers of an object (e.g. `x-static-large-object` for multipart uploads). */
    headObject(container: string, name: string, user?: SwiftUser): Promise<Record<string, string | string[] | undefined>>;
    /**
     * The requests clients made to the proxy (S3 and Swift, not the proxy's internal
     * subrequests), from its access log: method, decoded path with query, status, bytes received.
     */
    requestLog(): SwiftRequest[];
    /** Stops every process this peer started and deletes its directory (its objects too). */
    stop(): Promise<void>;
}

/** One client request as the proxy logged it. */
export interface SwiftRequest {
    readonly method: string;
    /** Decoded path and query, e.g. `/bucket/key?partNumber=2&uploadId=...` (S3) or `/v1/AUTH_a/c/o` (Swift). */
    readonly path: string;
    readonly status: number;
    readonly bytesReceived: number;
}

type IniSections = Record<string, Record<string, string | number | boolean>>;

/** Swift's paste.deploy config files: `[section]` then `key = value` lines. */
function renderIni(sections: IniSections): string {
    return Object.entries(sections)
        .map(([name, entries]) => [`[${name}]`, ...Object.entries(entries).map(([k, v]) => `${k} = ${String(v)}`)].join("\n"))
        .join("\n\n")
        .concat("\n");
}

function run(cmd: string, args: string[], cwd: string): Promise<void> {
    return new Promise((resolve, reject) => {
        execFile(cmd, args, { cwd, timeout: 60000 }, (err, _stdout, stderr) =>
            err === null ? resolve() : reject(new Error(`${cmd} ${args.join(" ")}: ${stderr}`)),
        );
    });
}

const NAME = /^[A-Za-z0-9]+$/;

/** Starts a Swift all-in-one with s3api; resolves when a user can authenticate and the containers exist. */
export async function startSwift(opts: SwiftOptions = {}): Promise<SwiftPeer> {
    const users = opts.users ?? [{ account: "registry", user: "registry", key: crypto.randomBytes(16).toString("hex") }];
    if (users.length === 0) {
        throw new Error("startSwift: at least one user");
    }
    for (const u of users) {
        // tempauth reads users from `user_<account>_<user>` option names.
        if (!NAME.test(u.account) || !NAME.test(u.user) || /\s/.test(u.key) || u.key === "") {
            throw new Error(`startSwift: account and user must be letters and digits, the key non-empty without spaces; got ${u.account}:${u.user}`);
        }
    }
    const region = opts.region ?? "us-east-1";
    const timeoutMs = opts.timeoutMs ?? 60000;
    const dir = workDir("swift");
    const etc = path.join(dir, "etc");
    const devices = path.join(dir, "node");
    const logs = path.join(dir, "log");
    for (const d of [etc, path.join(devices, "d1"), logs]) {
        fs.mkdirSync(d, { recursive: true });
    }
    const [proxyPort, objectPort, containerPort, accountPort, memcachedPort] = await Promise.all([freePort(), freePort(), freePort(), freePort(), freePort()]);
    // Servers drop privileges to `user`; the current user keeps them where they are.
    const runAs = os.userInfo().username;

    fs.writeFileSync(
        path.join(etc, "swift.conf"),
        renderIni({
            "swift-hash": { swift_hash_path_suffix: "e2e", swift_hash_path_prefix: "e2e" },
            "storage-policy:0": { name: "Policy-0", default: "yes" },
        }),
    );
    const servers = { object: objectPort, container: containerPort, account: accountPort } as const;
    // One replica, one device, part power 8: a ring the size of a test.
    await Promise.all(
        Object.entries(servers).map(async ([kind, port]) => {
            const builder = `${kind}.builder`;
            await run("swift-ring-builder", [builder, "create", "8", "1", "1"], etc);
            await run("swift-ring-builder", [builder, "add", `r1z1-127.0.0.1:${port}/d1`, "100"], etc);
            await run("swift-ring-builder", [builder, "rebalance"], etc);
            fs.writeFileSync(
                path.join(etc, `${kind}-server.conf`),
                renderIni({
                    DEFAULT: { bind_ip: "127.0.0.1", bind_port: port, devices, mount_check: false, swift_dir: etc, user: runAs, workers: 0 },
                    "pipeline:main": { pipeline: `${kind}-server` },
                    [`app:${kind}-server`]: { use: `egg:swift#${kind}` },
                }),
            );
        }),
    );
    const tempauthUsers = Object.fromEntries(users.map((u) => [`user_${u.account}_${u.user}`, `${u.key} .admin`]));
    fs.writeFileSync(
        path.join(etc, "proxy-server.conf"),
        renderIni({
            DEFAULT: { bind_ip: "127.0.0.1", bind_port: proxyPort, swift_dir: etc, user: runAs, workers: 0 },
            // s3api must come before tempauth (it turns S3 signatures into tempauth identities);
            // slo carries S3 multipart uploads; cache holds tempauth's tokens in memcached.
            "pipeline:main": {
                // keymaster + encryption: objects are encrypted at rest, and s3api accepts
                // `x-amz-server-side-encryption: AES256` (SSE-S3) instead of answering 501.
                pipeline:
                    "catch_errors gatekeeper healthcheck proxy-logging cache listing_formats bulk s3api tempauth copy slo dlo keymaster encryption proxy-logging proxy-server",
            },
            "app:proxy-server": { use: "egg:swift#proxy", account_autocreate: true },
            "filter:tempauth": { use: "egg:swift#tempauth", ...tempauthUsers },
            "filter:s3api": { use: "egg:swift#s3api", location: region },
            "filter:cache": { use: "egg:swift#memcache", memcache_servers: `127.0.0.1:${memcachedPort}` },
            "filter:catch_errors": { use: "egg:swift#catch_errors" },
            "filter:gatekeeper": { use: "egg:swift#gatekeeper" },
            "filter:healthcheck": { use: "egg:swift#healthcheck" },
            "filter:proxy-logging": { use: "egg:swift#proxy_logging" },
            "filter:listing_formats": { use: "egg:swift#listing_formats" },
            "filter:bulk": { use: "egg:swift#bulk" },
            "filter:copy": { use: "egg:swift#copy" },
            "filter:slo": { use: "egg:swift#slo" },
            "filter:dlo": { use: "egg:swift#dlo" },
            "filter:keymaster": { use: "egg:swift#keymaster", encryption_root_secret: crypto.randomBytes(32).toString("base64") },
            "filter:encryption": { use: "egg:swift#encryption" },
        }),
    );

    const env = { PATH: process.env.PATH ?? "/usr/sbin:/usr/bin:/sbin:/bin", HOME: dir, LANG: "C.UTF-8" };
    const procs: Proc[] = [];
    const stop = async () => {
        await Promise.all(procs.map((p) => p.stop()));
        fs.rmSync(dir, { recursive: true, force: true });
    };
    const proxyUrl = `http://127.0.0.1:${proxyPort}`;
    try {
        procs.push(
            startProc("memcached", "memcached", ["-l", "127.0.0.1", "-p", String(memcachedPort), "-U", "0", "-m", "64", "-u", runAs], {
                env,
                logFile: path.join(logs, "memcached.log"),
            }),
        );
        // -v: log to stderr (there is no /dev/log here).
        for (const kind of [...Object.keys(servers), "proxy"]) {
            procs.push(
                startProc(`swift-${kind}`, `/usr/bin/swift-${kind}-server`, [path.join(etc, `${kind}-server.conf`), "-v"], {
                    env,
                    logFile: path.join(logs, `swift-${kind}.log`),
                }),
            );
        }
        const proxy = procs[procs.length - 1];
        await waitFor(
            "swift proxy /healthcheck",
            async () => (await request(`${proxyUrl}/healthcheck`, { timeoutMs: 2000 })).status === 200,
            timeoutMs,
            200,
            proxy,
        );
        for (const p of procs) {
            if (!p.running) {
                throw new Error(`${p.name} exited:\n${p.log()}`);
            }
        }
    } catch (e) {
        await stop();
        throw e;
    }

    async function auth(user: SwiftUser = users[0]): Promise<{ token: string; storageUrl: string }> {
        const r = await request(`${proxyUrl}/auth/v1.0`, { headers: { "x-auth-user": `${user.account}:${user.user}`, "x-auth-key": user.key } });
        const token = r.headers["x-auth-token"];
        const storageUrl = r.headers["x-storage-url"];
        if (r.status !== 200 || typeof token !== "string" || typeof storageUrl !== "string") {
            throw new Error(`swift auth as ${user.account}:${user.user}: HTTP ${r.status} ${r.body}`);
        }
        return { token, storageUrl };
    }

    async function createContainer(name: string, user?: SwiftUser): Promise<void> {
        const a = await auth(user);
        const r = await request(`${a.storageUrl}/${encodeURIComponent(name)}`, { method: "PUT", headers: { "x-auth-token": a.token } });
        if (r.status !== 201 && r.status !== 202) {
            throw new Error(`swift PUT container ${name}: HTTP ${r.status} ${r.body}`);
        }
    }

    async function listObjects(container: string, prefix = "", user?: SwiftUser): Promise<{ name: string; bytes: number }[]> {
        const a = await auth(user);
        const out: { name: string; bytes: number }[] = [];
        let marker = "";
        for (;;) {
            const q = new URLSearchParams({ format: "json", prefix, marker });
            const r = await request(`${a.storageUrl}/${encodeURIComponent(container)}?${q.toString()}`, { headers: { "x-auth-token": a.token } });
            if (r.status === 204) {
                return out;
            }
            if (r.status !== 200) {
                throw new Error(`swift GET container ${container}: HTTP ${r.status} ${r.body}`);
            }
            const page = JSON.parse(r.body) as { name: string; bytes: number }[];
            if (page.length === 0) {
                return out;
            }
            out.push(...page.map((o) => ({ name: o.name, bytes: o.bytes })));
            marker = page[page.length - 1].name;
        }
    }

    async function headObject(container: string, name: string, user?: SwiftUser): Promise<Record<string, string | string[] | undefined>> {
        const a = await auth(user);
        const objectPath = name.split("/").map(encodeURIComponent).join("/");
        const r = await request(`${a.storageUrl}/${encodeURIComponent(container)}/${objectPath}`, { method: "HEAD", headers: { "x-auth-token": a.token } });
        if (r.status !== 200) {
            throw new Error(`swift HEAD ${container}/${name}: HTTP ${r.status}`);
        }
        return r.headers;
    }

    try {
        // The account is created on first use; until the backends answer, auth or PUT may fail.
        await waitFor("swift tempauth", async () => (await auth()).token !== "", timeoutMs, 200, procs[procs.length - 1]);
        for (const c of opts.containers ?? []) {
            await waitFor(
                `swift container ${c}`,
                async () => {
                    await createContainer(c);
                    return true;
                },
                timeoutMs,
                200,
            );
        }
    } catch (e) {
        await stop();
        throw e;
    }

    function requestLog(): SwiftRequest[] {
        const text = fs.readFileSync(path.join(logs, "swift-proxy.log"), "utf8");
        // One client request is logged once per proxy_logging in the pipeline and once per
        // subrequest, all with its transaction id; keep one entry per id, the client's form
        // (an S3 path rather than the /v1/ one s3api made of it).
        const byTx = new Map<string, SwiftRequest>();
        for (const line of text.split("\n")) {
            // proxy_logging's fields: client_ip remote_addr datetime method path protocol status
            // referer user_agent auth_token bytes_recvd bytes_sent client_etag transaction_id ...
            const f = line.split(" ");
            if (f[0] !== "proxy-server:" || !/^HTTP\/1\.[01]$/.test(f[6] ?? "") || f[14] === undefined) {
                continue;
            }
            const entry = { method: f[4], path: decodeURIComponent(f[5]), status: Number(f[7]), bytesReceived: f[11] === "-" ? 0 : Number(f[11]) };
            const seen = byTx.get(f[14]);
            if (seen === undefined || (seen.path.startsWith("/v1/") && !entry.path.startsWith("/v1/"))) {
                byTx.set(f[14], entry);
            }
        }
        return [...byTx.values()];
    }

    const first = users[0];
    const username = `${first.account}:${first.user}`;
    return {
        authUrl: `${proxyUrl}/auth/v1.0`,
        s3Endpoint: proxyUrl,
        region,
        account: first.account,
        user: first.user,
        key: first.key,
        username,
        accessKey: username,
        secretKey: first.key,
        users,
        dir,
        procs,
        auth,
        createContainer,
        listObjects,
        headObject,
        requestLog,
        stop,
    };
}
