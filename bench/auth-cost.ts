// What a request costs with and without authentication: sequential requests, each target on a
// kept-alive connection of its own, so neither a TLS handshake nor a new connection is in the
// figure (unless a proxy on the way opens one). The targets take turns request by request, so a
// change of load on the shared machine hits all of them alike.
import * as http from "http";
import * as https from "https";

import { basicAuth } from "../tests/harness/http";
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
    const headers: Record<string, string> = t.auth === undefined ? {} : { authorization: basicAuth(t.auth) };
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

/** A target of a probe run, with what the report says about it. */
export interface Probe {
    readonly label: string;
    readonly target: ProbeTarget;
    readonly bcryptCost?: number;
}

/** `n` rounds of one request to each target in turn (after one warm-up each that opens its connection). */
export async function probeAll(probes: readonly Probe[], n: number): Promise<AuthCost[]> {
    const agents = probes.map((p) =>
        p.target.url.startsWith("https:")
            ? new https.Agent({ keepAlive: true, maxSockets: 1, ca: p.target.ca })
            : new http.Agent({ keepAlive: true, maxSockets: 1 }),
    );
    try {
        const first: number[] = [];
        for (const [i, p] of probes.entries()) {
            first.push((await requestOnce(agents[i], p.target)).status);
        }
        const times: number[][] = probes.map(() => []);
        for (let round = 0; round < n; round++) {
            for (const [i, p] of probes.entries()) {
                const r = await requestOnce(agents[i], p.target);
                if (r.status !== first[i]) {
                    throw new Error(`${p.label}: status changed from ${first[i]} to ${r.status}`);
                }
                times[i].push(r.ms);
            }
        }
        return probes.map((p, i) => ({ label: p.label, bcryptCost: p.bcryptCost, status: first[i], latency: summarize(times[i]) }));
    } finally {
        for (const a of agents) {
            a.destroy();
        }
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
 * Valid credentials at each cost, every request checked; on the registry as deployed (both lines)
 * valid credentials (the gate's remembered check), a wrong password and an unknown user (401,
 * never remembered: the response time shows whether the user exists) and no credentials (401
 * before any bcrypt); the baseline without auth.
 */
export async function measureAuth(
    byCost: readonly CostedRegistry[],
    defaults: readonly { readonly line: string; readonly at: CostedRegistry }[],
    baseline: BenchRegistry,
    n: number,
): Promise<AuthCost[]> {
    const probes: Probe[] = byCost.map(({ cost, reg }) => ({
        label: `3.x, valid credentials, every request checked (one bcrypt check at cost ${cost})`,
        target: v2Target(reg, "valid"),
        bcryptCost: cost,
    }));
    for (const { line, at } of defaults) {
        for (const c of ["valid", "wrong password", "unknown user", "none"] as const) {
            // A registry of the by-cost rows already has its valid-credentials row.
            if (c === "valid" && byCost.some((b) => b.reg === at.reg)) {
                continue;
            }
            const what = c === "none" ? "no credentials (401 before bcrypt)" : c === "valid" ? "valid credentials, check remembered by the gate" : `${c} (401)`;
            probes.push({ label: `${line}, ${what}`, target: v2Target(at.reg, c), bcryptCost: at.cost });
        }
    }
    probes.push({ label: "same binary, no TLS/auth", target: v2Target(baseline, "none") });
    return probeAll(probes, n);
}
