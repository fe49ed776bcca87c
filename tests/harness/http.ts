// Small HTTP(S) client for e2e checks: the registry API with a CA and basic auth, and the debug port.
import * as http from "http";
import * as https from "https";

export interface HttpResponse {
    readonly status: number;
    readonly headers: http.IncomingHttpHeaders;
    readonly body: string;
}

/** A registry user's name and password. */
export interface Credentials {
    readonly username: string;
    readonly password: string;
}

/** The `Authorization` header value for HTTP basic auth. */
export function basicAuth(c: Credentials): string {
    return `Basic ${Buffer.from(`${c.username}:${c.password}`).toString("base64")}`;
}

export interface RequestOptions {
    /** PEM CA to trust (HTTPS). Default: the system roots. */
    readonly ca?: string;
    /** Basic auth. */
    readonly auth?: Credentials;
    readonly method?: string;
    readonly headers?: Record<string, string>;
    /** Do not verify the server's certificate (a kubelet's HTTPS probes do not). Default false. */
    readonly insecure?: boolean;
    /** Request body. Default none. */
    readonly body?: string | Buffer;
    /** Give up after this long. Default 10 s. */
    readonly timeoutMs?: number;
}

/** GET (or `method`) a URL; rejects on network and TLS errors, resolves with any HTTP status. */
export function request(url: string, opts: RequestOptions = {}): Promise<HttpResponse> {
    const u = new URL(url);
    const headers: Record<string, string> = { ...opts.headers };
    if (opts.auth !== undefined) {
        headers.authorization = basicAuth(opts.auth);
    }
    const lib = u.protocol === "https:" ? https : http;
    return new Promise((resolve, reject) => {
        const req = lib.request(
            u,
            { method: opts.method ?? "GET", headers, ca: opts.ca, rejectUnauthorized: opts.insecure !== true, timeout: opts.timeoutMs ?? 10000, agent: false },
            (res) => {
                const chunks: Buffer[] = [];
                res.on("data", (c: Buffer) => chunks.push(c));
                res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString("utf8") }));
                res.on("error", reject);
            },
        );
        req.on("timeout", () => req.destroy(new Error(`timeout requesting ${url}`)));
        req.on("error", reject);
        req.end(opts.body);
    });
}
