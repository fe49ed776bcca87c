// What a request costs with and without authentication: sequential GET /v2/ on one kept-alive
// connection, so neither a TLS handshake nor a new connection is in the figure.
import * as http from "http";
import * as https from "https";

import { BenchRegistry } from "./registries";
import { summarize, Summary } from "./stats";

export interface AuthCost {
    readonly label: string;
    readonly status: number;
    readonly latency: Summary;
}

function getOnce(agent: http.Agent, url: string, ca: string | undefined, auth: { username: string; password: string } | undefined): Promise<{ ms: number; status: number }> {
    const lib = url.startsWith("https:") ? https : http;
    const headers: Record<string, string> = auth === undefined ? {} : { authorization: `Basic ${Buffer.from(`${auth.username}:${auth.password}`).toString("base64")}` };
    const t0 = performance.now();
    return new Promise((resolve, reject) => {
        const req = lib.request(url, { agent, ca, headers, timeout: 30000 }, (res) => {
            res.resume();
            res.on("end", () => resolve({ ms: performance.now() - t0, status: res.statusCode ?? 0 }));
        });
        req.on("timeout", () => req.destroy(new Error(`timeout ${url}`)));
        req.on("error", reject);
        req.end();
    });
}

/** `n` sequential requests (after one warm-up that opens the connection). */
export async function probe(label: string, reg: BenchRegistry, withAuth: boolean, n: number): Promise<AuthCost> {
    const url = `${reg.url}/v2/`;
    const agent = url.startsWith("https:") ? new https.Agent({ keepAlive: true, maxSockets: 1, ca: reg.ca }) : new http.Agent({ keepAlive: true, maxSockets: 1 });
    const auth = withAuth ? reg.auth : undefined;
    try {
        const first = await getOnce(agent, url, reg.ca, auth);
        const times: number[] = [];
        for (let i = 0; i < n; i++) {
            const r = await getOnce(agent, url, reg.ca, auth);
            if (r.status !== first.status) {
                throw new Error(`${label}: status changed from ${first.status} to ${r.status}`);
            }
            times.push(r.ms);
        }
        return { label, status: first.status, latency: summarize(times) };
    } finally {
        agent.destroy();
    }
}

/** Authenticated, unauthenticated (the 401 path) and baseline requests. */
export async function measureAuth(deployed: BenchRegistry, baseline: BenchRegistry, n: number): Promise<AuthCost[]> {
    return [
        await probe("deployed, valid credentials (bcrypt check)", deployed, true, n),
        await probe("deployed, no credentials (401, no bcrypt)", deployed, false, n),
        await probe("same binary, no TLS/auth", baseline, false, n),
    ];
}
