// A local stand-in for Google's front door, so the registry's gcs driver runs unmodified.
//
// Distribution 3.1.2's gcs driver talks to Google in two ways: through the Go storage client
// (which honours STORAGE_EMULATOR_HOST), and with its own HTTP client for resumable uploads,
// whose session URL is hard-coded to https://www.googleapis.com/upload/... (gcs.go,
// newSession) and which always fetches OAuth tokens (key file: token_uri; otherwise Application
// Default Credentials: the metadata server). An emulator address alone therefore cannot serve
// a push with a layer above the chunk size. Instead the registry gets, like a pod on GKE, only
// an egress proxy (HTTPS_PROXY) and a trust store, and speaks to the real Google host names:
//
//   registry ──CONNECT storage/www/oauth2.googleapis.com:443──▶ this proxy (any other host: 403)
//            ──TLS (a test CA, the container's /etc/ssl/certs)──▶ this front door
//               ├─ POST oauth2.googleapis.com/token: JWT-bearer grant, RS256 assertion verified
//               │  with the public key of the program's service-account Key
//               └─ storage requests: bearer token (issued here, or a self-signed JWT verified the
//                  same way) → Google service account → bucket IAM from the program's
//                  BucketIAMMember → forwarded to fake-gcs-server (plain HTTP, 127.0.0.1)
//   registry ──http──▶ metadata server (GCE_METADATA_HOST): tokens for the Google service account
//               the Kubernetes ServiceAccount's iam.gke.io/gcp-service-account annotation names, only
//               when the program's Workload Identity binding lets that KSA act as it (as GKE's does)
//
// The IAM here is a simulation built from the resources the program declares; it checks the
// wiring (members, bucket, key), not Google's implementation.
import * as crypto from "crypto";
import * as fs from "fs";
import * as http from "http";
import * as net from "net";
import * as path from "path";
import * as tls from "tls";

import { gcpMocks } from "../support/cloud-mocks-gcp";
import { makePki } from "../support/pki";
import { CACHE_BIN, freePort, Proc, startProc, waitFor, workDir } from "./procs";

import peers from "./peers.json";

export const GOOGLE_HOSTS = ["storage.googleapis.com", "www.googleapis.com", "oauth2.googleapis.com"] as const;
const TOKEN_URI = "https://oauth2.googleapis.com/token";

/** One request the front door (or the metadata server) saw. */
export interface SeenRequest {
    readonly via: "connect" | "google" | "metadata";
    readonly host: string;
    readonly method: string;
    readonly path: string;
    /** The Google service account the request authenticated as ("" when none). */
    readonly identity: string;
    readonly status: number;
}

/**
 * What the program granted, learnt the way Google learns it: from the resources as Pulumi
 * creates them (see `FrontDoor.observe`).
 */
export interface SimulatedIam {
    /** Public keys of service-account keys, by account email. */
    readonly keys: Map<string, crypto.KeyObject[]>;
    /** Google service accounts each Kubernetes ServiceAccount (`<ns>/<name>`) may act as. */
    readonly workloadIdentity: Map<string, string[]>;
    /** `<bucket> <email>` pairs with roles/storage.objectAdmin. */
    readonly bucketAccess: Set<string>;
    /** Kubernetes ServiceAccounts (`<ns>/<name>`) and their iam.gke.io/gcp-service-account annotation. */
    readonly ksaAnnotations: Map<string, string>;
}

/** The email in `projects/<p>/serviceAccounts/<email>`. */
function emailOf(serviceAccountId: string): string {
    return serviceAccountId.split("/").pop() ?? serviceAccountId;
}

function b64url(s: string): Buffer {
    return Buffer.from(s.replace(/-/g, "+").replace(/_/g, "/"), "base64");
}

/** Verifies an RS256 JWT signed by one of the account's keys; returns its claims, or undefined. */
function verifyJwt(jwt: string, iam: SimulatedIam): Record<string, unknown> | undefined {
    const parts = jwt.split(".");
    if (parts.length !== 3) {
        return undefined;
    }
    try {
        const header = JSON.parse(b64url(parts[0]).toString("utf8")) as { alg?: string };
        const claims = JSON.parse(b64url(parts[1]).toString("utf8")) as Record<string, unknown>;
        if (header.alg !== "RS256" || typeof claims.iss !== "string" || typeof claims.exp !== "number" || claims.exp * 1000 < Date.now()) {
            return undefined;
        }
        const signed = Buffer.from(`${parts[0]}.${parts[1]}`);
        const ok = (iam.keys.get(claims.iss) ?? []).some((k) => crypto.verify("RSA-SHA256", signed, k, b64url(parts[2])));
        return ok ? claims : undefined;
    } catch {
        return undefined;
    }
}

/** The bucket a storage API request addresses (JSON API, upload API or XML path style). */
function bucketOf(host: string, urlPath: string): string | undefined {
    const p = urlPath.split("?")[0];
    const json = /^\/(?:upload\/)?storage\/v1\/b\/([^/]+)/.exec(p);
    if (json !== null) {
        return decodeURIComponent(json[1]);
    }
    if (host === "storage.googleapis.com") {
        return /^\/([^/]+)\//.exec(p)?.[1];
    }
    return undefined;
}

export interface FrontDoor {
    /** For the registry's HTTPS_PROXY. */
    readonly proxyUrl: string;
    /** For GCE_METADATA_HOST (host:port). */
    readonly metadataHost: string;
    /** A directory holding the test CA as ca-certificates.crt (mount it at /etc/ssl/certs). */
    readonly trustDir: string;
    /** The fake-gcs-server's own address, for direct inspection by the test. */
    readonly gcsUrl: string;
    /** Every request seen, in order. */
    readonly seen: SeenRequest[];
    /** The simulated IAM policy in force (tests may change it for negative controls). */
    readonly iam: SimulatedIam;
    /** The pod's Kubernetes ServiceAccount (`<ns>/<name>`), which the metadata server answers for. */
    podServiceAccount: string;
    /** Mock options for the program run: the GCP resource states, observed on the way. */
    readonly mocks: { resourceState(type: string, name: string, inputs: Record<string, any>): Record<string, unknown> | undefined };
    stop(): Promise<void>;
}

async function readBody(req: http.IncomingMessage): Promise<Buffer> {
    const chunks: Buffer[] = [];
    for await (const c of req) {
        chunks.push(c as Buffer);
    }
    return Buffer.concat(chunks);
}

function json(res: http.ServerResponse, status: number, body: unknown): number {
    res.writeHead(status, { "content-type": "application/json" });
    res.end(JSON.stringify(body));
    return status;
}

/** Starts fake-gcs-server, the front door and the metadata server; buckets appear as the program creates them. */
export async function startFrontDoor(opts: { project: string }): Promise<FrontDoor> {
    const root = workDir("google");
    const pki = await makePki([...GOOGLE_HOSTS]);
    const trustDir = path.join(root, "trust");
    fs.mkdirSync(trustDir, { mode: 0o755 });
    fs.writeFileSync(path.join(trustDir, "ca-certificates.crt"), pki.caPem, { mode: 0o644 });

    // fake-gcs-server, in memory, plain HTTP on loopback; upload session URLs point back at
    // Google's name, so they too come through the proxy.
    const gcsPort = await freePort();
    const gcs: Proc = startProc(
        "fake-gcs-server",
        path.join(CACHE_BIN, peers.go.fakeGcs.binary),
        [
            "-scheme",
            "http",
            "-host",
            "127.0.0.1",
            "-port",
            String(gcsPort),
            "-backend",
            "memory",
            "-public-host",
            "storage.googleapis.com",
            "-external-url",
            "https://storage.googleapis.com",
            "-log-level",
            "warn",
        ],
        { env: { PATH: "/usr/bin:/bin" }, logFile: path.join(root, "fake-gcs-server.log") },
    );
    const gcsUrl = `http://127.0.0.1:${gcsPort}`;
    try {
        await waitFor("fake-gcs-server", async () => (await fetch(`${gcsUrl}/storage/v1/b?project=${opts.project}`)).ok, 20000, 100, gcs);
    } catch (e) {
        await gcs.stop();
        throw e;
    }
    const buckets: Promise<void>[] = [];
    const createBucket = async (name: string) => {
        const r = await fetch(`${gcsUrl}/storage/v1/b?project=${opts.project}`, {
            method: "POST",
            headers: { "content-type": "application/json" },
            body: JSON.stringify({ name }),
        });
        if (!r.ok) {
            throw new Error(`creating bucket ${name}: HTTP ${r.status} ${await r.text()}`);
        }
    };
    const iam: SimulatedIam = { keys: new Map(), workloadIdentity: new Map(), bucketAccess: new Set(), ksaAnnotations: new Map() };
    const add = <T>(m: Map<string, T[]>, k: string, v: T) => m.set(k, [...(m.get(k) ?? []), v]);
    /** Google's view of a resource the program creates. */
    const observe = (type: string, inputs: Record<string, any>, state: Record<string, unknown>): void => {
        switch (type) {
            case "gcp:storage/bucket:Bucket":
                buckets.push(createBucket(String(state.name)));
                break;
            case "gcp:serviceaccount/key:Key":
                add(
                    iam.keys,
                    emailOf(String(inputs.serviceAccountId)),
                    crypto.createPublicKey(Buffer.from(String(state.publicKey), "base64").toString("utf8")),
                );
                break;
            case "gcp:serviceaccount/iAMMember:IAMMember": {
                const ksa = /^serviceAccount:[^.]+\.svc\.id\.goog\[([^/]+\/[^\]]+)\]$/.exec(String(inputs.member))?.[1];
                if (inputs.role === "roles/iam.workloadIdentityUser" && ksa !== undefined) {
                    add(iam.workloadIdentity, ksa, emailOf(String(inputs.serviceAccountId)));
                }
                break;
            }
            case "gcp:storage/bucketIAMMember:BucketIAMMember": {
                const email = /^serviceAccount:(.+)$/.exec(String(inputs.member))?.[1];
                if (inputs.role === "roles/storage.objectAdmin" && email !== undefined) {
                    iam.bucketAccess.add(`${inputs.bucket} ${email}`);
                }
                break;
            }
            case "kubernetes:core/v1:ServiceAccount": {
                const annotation = inputs.metadata?.annotations?.["iam.gke.io/gcp-service-account"];
                if (typeof annotation === "string") {
                    iam.ksaAnnotations.set(`${inputs.metadata.namespace}/${inputs.metadata.name}`, annotation);
                }
                break;
            }
        }
    };

    const seen: SeenRequest[] = [];
    const tokens = new Map<string, string>();
    const issue = (email: string): string => {
        const token = `ya29.test-${crypto.randomBytes(24).toString("hex")}`;
        tokens.set(token, email);
        return token;
    };
    const door: FrontDoor = {
        proxyUrl: "",
        metadataHost: "",
        trustDir,
        gcsUrl,
        seen,
        iam,
        podServiceAccount: "",
        mocks: {
            resourceState(type, name, inputs) {
                const state = gcpMocks.resourceState?.(type, name, inputs);
                observe(type, inputs, state ?? {});
                return state;
            },
        },
        stop: async () => undefined,
    };

    /** The Google service account a storage request authenticates as, or "". */
    const identityOf = (req: http.IncomingMessage): string => {
        const bearer = /^Bearer (.+)$/.exec(req.headers.authorization ?? "")?.[1];
        if (bearer === undefined) {
            return "";
        }
        const issued = tokens.get(bearer);
        if (issued !== undefined) {
            return issued;
        }
        // A self-signed JWT (service-account keys may skip the token exchange).
        const claims = verifyJwt(bearer, door.iam);
        return typeof claims?.iss === "string" ? claims.iss : "";
    };

    const google = http.createServer((req, res) => {
        const host = (req.headers.host ?? "").replace(/:443$/, "");
        const record = (identity: string, status: number) =>
            seen.push({ via: "google", host, method: req.method ?? "", path: req.url ?? "", identity, status });
        if (host === "oauth2.googleapis.com") {
            void readBody(req).then((body) => {
                const form = new URLSearchParams(body.toString("utf8"));
                const claims =
                    form.get("grant_type") === "urn:ietf:params:oauth:grant-type:jwt-bearer" ? verifyJwt(form.get("assertion") ?? "", door.iam) : undefined;
                if (req.method !== "POST" || req.url !== "/token" || claims === undefined || claims.aud !== TOKEN_URI) {
                    record("", json(res, 400, { error: "invalid_grant", error_description: "Invalid JWT Signature." }));
                    return;
                }
                const email = String(claims.iss);
                record(email, json(res, 200, { access_token: issue(email), token_type: "Bearer", expires_in: 3599 }));
            });
            return;
        }
        const identity = identityOf(req);
        if (identity === "") {
            req.resume();
            record("", json(res, 401, { error: { code: 401, message: "Request is missing required authentication credential." } }));
            return;
        }
        const bucket = bucketOf(host, req.url ?? "");
        if (bucket === undefined || !door.iam.bucketAccess.has(`${bucket} ${identity}`)) {
            req.resume();
            record(
                identity,
                json(res, 403, {
                    error: { code: 403, message: `${identity} does not have storage.objects access to the Google Cloud Storage bucket ${bucket ?? "?"}.` },
                }),
            );
            return;
        }
        void Promise.all(buckets).then(() => {
            const upstream = http.request({ host: "127.0.0.1", port: gcsPort, method: req.method, path: req.url, headers: req.headers }, (up) => {
                record(identity, up.statusCode ?? 0);
                // fake-gcs-server builds upload session URLs from the request's Host with its own
                // (plain HTTP) scheme; Google's are https, so the session comes back through here.
                const headers = { ...up.headers };
                if (typeof headers.location === "string") {
                    headers.location = headers.location.replace(/^http:\/\//, "https://");
                }
                res.writeHead(up.statusCode ?? 502, headers);
                up.pipe(res);
            });
            upstream.on("error", (e) => {
                record(identity, json(res, 502, { error: { code: 502, message: String(e) } }));
            });
            req.pipe(upstream);
        });
    });

    const secureContext = tls.createSecureContext({ key: pki.keyPem, cert: pki.certPem });
    const proxy = http.createServer((req, res) => {
        seen.push({ via: "connect", host: req.headers.host ?? "", method: req.method ?? "", path: req.url ?? "", identity: "", status: 405 });
        res.writeHead(405);
        res.end();
    });
    proxy.on("connect", (req: http.IncomingMessage, socket: net.Socket, head: Buffer) => {
        const [host, port] = (req.url ?? "").split(":");
        const allowed = (GOOGLE_HOSTS as readonly string[]).includes(host) && port === "443";
        seen.push({ via: "connect", host, method: "CONNECT", path: req.url ?? "", identity: "", status: allowed ? 200 : 403 });
        if (!allowed) {
            socket.end("HTTP/1.1 403 Forbidden\r\n\r\n");
            return;
        }
        socket.write("HTTP/1.1 200 Connection Established\r\n\r\n");
        if (head.length > 0) {
            socket.unshift(head);
        }
        const secure = new tls.TLSSocket(socket, { isServer: true, secureContext, ALPNProtocols: ["http/1.1"] });
        secure.on("error", () => socket.destroy());
        google.emit("connection", secure);
    });

    const metadata = http.createServer((req, res) => {
        const record = (identity: string, status: number) =>
            seen.push({ via: "metadata", host: req.headers.host ?? "", method: req.method ?? "", path: req.url ?? "", identity, status });
        const url = new URL(req.url ?? "/", "http://metadata");
        if (req.headers["metadata-flavor"] !== "Google") {
            record("", json(res, 403, { error: "Missing Metadata-Flavor:Google header." }));
            return;
        }
        // GKE's metadata server answers for the pod's KSA: the one the registry pod runs as.
        const annotation = iam.ksaAnnotations.get(door.podServiceAccount);
        const gsa = iam.workloadIdentity.get(door.podServiceAccount)?.find((email) => email === annotation);
        const p = url.pathname;
        if (p === "/computeMetadata/v1/project/project-id") {
            res.writeHead(200, { "metadata-flavor": "Google", "content-type": "application/text" });
            res.end(opts.project);
            record("", 200);
        } else if (p === "/computeMetadata/v1/instance/service-accounts/default/email" && gsa !== undefined) {
            res.writeHead(200, { "metadata-flavor": "Google", "content-type": "application/text" });
            res.end(gsa);
            record(gsa, 200);
        } else if (p === "/computeMetadata/v1/instance/service-accounts/default/token" && gsa !== undefined) {
            res.setHeader("metadata-flavor", "Google");
            record(gsa, json(res, 200, { access_token: issue(gsa), expires_in: 3599, token_type: "Bearer" }));
        } else {
            res.writeHead(404, { "metadata-flavor": "Google" });
            res.end("Not Found");
            record(gsa ?? "", 404);
        }
    });

    const listen = (srv: http.Server) =>
        new Promise<number>((resolve, reject) => {
            srv.once("error", reject);
            srv.listen(0, "127.0.0.1", () => resolve((srv.address() as net.AddressInfo).port));
        });
    const proxyPort = await listen(proxy);
    const metadataPort = await listen(metadata);
    const close = (srv: http.Server) =>
        new Promise<void>((resolve) => {
            srv.closeAllConnections();
            srv.close(() => resolve());
        });
    Object.assign(door, {
        proxyUrl: `http://127.0.0.1:${proxyPort}`,
        metadataHost: `127.0.0.1:${metadataPort}`,
        async stop() {
            await Promise.all([close(proxy), close(metadata), close(google)]);
            await gcs.stop();
        },
    });
    return door;
}
