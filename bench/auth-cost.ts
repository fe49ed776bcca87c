// What a request costs with and without authentication: sequential requests on one kept-alive
// connection, so neither a TLS handshake nor a new connection is in the figure (unless a proxy
// on the way opens one).
import * as http from "http";
import * as https from "https";

import { BenchRegistry } from "./registries";
import { summarize, Summary } from "./stats";

export interface AuthCost {
    readonly label: string;
    /** bcrypt cost of the htpasswd hashes of the registry asked (none without auth). */
    readonly bcryptCost?: number;
    readonly status: number;
    readonly latency: Summary;
}

/** One kind of request: where, how, and with which credentials. */
export interface ProbeTarget {
    readonly url: string;
    readonly method?: "GET" | "HEAD";
    readonly ca?: string;
    readonly auth?: { readonly username: string; readonly password: string };
}

function requestOnce(agent: http.Agent, t: ProbeTarget): Promise<{ ms: number; status: number }> {
    const lib = t.url.startsWith("https:") ? https : http;
    const headers: Record<string, string> = t.auth === undefined ? {} : { authorization: `Basic ${Buffer.from(`${t.auth.username}:${t.auth.password}`).toString("base64")}` };
    const t0 = performance.now();
    return new Promise((resolve, reject) => {
        const req = lib.request(t.url, { agent, ca: t.ca, headers, method: t.method ?? "GET", timeout: 30000 }, (res) => {
            res.resume();
            res.on("end", () => resolve({ ms: performance.now() - t0, status: res.statusCode ?? 0 }));
        });
        req.on("timeout", () => req.destroy(new Error(`timeout ${t.url}`)));
        req.on("error", reject);
        req.end();
    });
}

/** `n` sequential requests (after one warm-up that opens the connection). */
export async function probeTarget(label: string, t: ProbeTarget, n: number, bcryptCost?: number): Promise<AuthCost> {
    const agent = t.url.startsWith("https:") ? new https.Agent({ keepAlive: true, maxSockets: 1, ca: t.ca }) : new http.Agent({ keepAlive: true, maxSockets: 1 });
    try {
        const first = await requestOnce(agent, t);
        const times: number[] = [];
        for (let i = 0; i < n; i++) {
            const r = await requestOnce(agent, t);
            if (r.status !== first.status) {
                throw new Error(`${label}: status changed from ${first.status} to ${r.status}`);
            }
            times.push(r.ms);
        }
        return { label, bcryptCost, status: first.status, latency: summarize(times) };
    } finally {
        agent.destroy();
    }
}

/** Which credentials a probe of `GET /v2/` sends. */
export type Credentials = "valid" | "wrong password" | "unknown user" | "none";

/** `GET /v2/` on `reg` with the primary user's credentials, a wrong password, an unknown user, or none. */
export function v2Target(reg: BenchRegistry, credentials: Credentials): ProbeTarget {
    const user = reg.auth;
    const auth =
        credentials === "none" || user === undefined
            ? undefined
            : credentials === "valid"
              ? user
              : credentials === "wrong password"
                ? { username: user.username, password: `${user.password}x` }
                : { username: "mallory", password: user.password };
    return { url: `${reg.url}/v2/`, ca: reg.ca, auth };
}

/** A registry of the auth comparison and its htpasswd cost. */
export interface CostedRegistry {
    readonly cost: number | undefined;
    readonly reg: BenchRegistry;
}

/**
 * Valid credentials at each cost; on the registry at the default cost (both lines) also a wrong
 * password and an unknown user (401: the response time shows whether the user exists) and no
 * credentials (401 before any bcrypt); the baseline without auth.
 */
export async function measureAuth(
    byCost: readonly CostedRegistry[],
    defaults: readonly { readonly line: string; readonly at: CostedRegistry }[],
    baseline: BenchRegistry,
    n: number,
): Promise<AuthCost[]> {
    const out: AuthCost[] = [];
    for (const { cost, reg } of byCost) {
        out.push(await probeTarget(`3.x, valid credentials (one bcrypt check at cost ${cost})`, v2Target(reg, "valid"), n, cost));
    }
    for (const { line, at } of defaults) {
        for (const c of ["valid", "wrong password", "unknown user", "none"] as const) {
            // A registry of the by-cost rows already has its valid-credentials row.
            if (c === "valid" && byCost.some((b) => b.reg === at.reg)) {
                continue;
            }
            out.push(await probeTarget(`${line}, ${c === "none" ? "no credentials (401 before bcrypt)" : c === "valid" ? "valid credentials" : `${c} (401)`}`, v2Target(at.reg, c), n, at.cost));
        }
    }
    out.push(await probeTarget("same binary, no TLS/auth", v2Target(baseline, "none"), n));
    return out;
}
