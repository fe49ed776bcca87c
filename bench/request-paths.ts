// Per-request costs on the ways into the registry besides htpasswd's bcrypt check:
// - the localhost proxy (`localProxy`): nginx on each node's hostPort, plain HTTP in, TLS to the
//   registry, run with the nginx.conf the program renders;
// - the Redis blob-descriptor cache (`blobDescriptorCache: redis`): a lookup per blob request,
//   against a real redis-server started from the program's redis.conf.
// Each is measured against the same request on the deployed registry without it.
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as path from "path";

import { localProxyConf } from "../components/access";
import { startRegistry } from "../tests/harness/harness";
import { request } from "../tests/harness/http";
import { buildImage, OciImage, push } from "../tests/harness/oci";
import { freePort, Proc, startProc, waitFor, workDir } from "../tests/harness/procs";
import { secretValue } from "../tests/support/pod";
import { runProgramOrThrow, StackConfig } from "../tests/support/program";
import { AuthCost, Probe, probeAll, ProbeTarget, v2Target } from "./auth-cost";
import { authenticatedRegistry, bcryptCost, BenchRegistry, podContainers } from "./registries";

/** Something the section started, and how to stop it. */
type Stop = () => Promise<void>;

/**
 * nginx with the localhost proxy's conf in front of `reg`; only the addresses differ from the
 * DaemonSet's, and with `keepalive` false its upstream `keepalive` line goes (nginx's default:
 * a new connection to the registry per request), to show what that line saves.
 */
async function startLocalProxy(reg: BenchRegistry, stops: Stop[], keepalive: boolean): Promise<string> {
    const dir = workDir("bench-localhost-proxy");
    fs.writeFileSync(path.join(dir, "ca.crt"), reg.ca ?? "");
    const port = await freePort();
    const outputs = reg.deployment.run.outputs;
    const upstreamName = `${String(outputs.serviceName)}.${String(outputs.namespace)}.svc.cluster.local`;
    const conf = localProxyConf({
        listen: `127.0.0.1:${port}`,
        upstreamHost: "127.0.0.1",
        upstreamPort: reg.deployment.replicas[0].port,
        upstreamName,
        caFile: path.join(dir, "ca.crt"),
        tmpDir: dir,
    });
    const withoutKeepalive = conf.replace(/\n\s*keepalive \d+;/, "");
    if (withoutKeepalive === conf) {
        throw new Error("the localhost proxy's nginx.conf has no upstream keepalive line");
    }
    fs.writeFileSync(path.join(dir, "nginx.conf"), keepalive ? conf : withoutKeepalive);
    const proc: Proc = startProc("bench-localhost-proxy", "nginx", ["-e", "/dev/stderr", "-c", path.join(dir, "nginx.conf")], {
        env: { PATH: "/usr/sbin:/usr/bin:/bin" },
        logFile: path.join(dir, "nginx.log"),
    });
    stops.push(() => proc.stop());
    await waitFor(`localhost proxy on ${port}`, async () => (await request(`http://127.0.0.1:${port}/`)).status > 0, 15000, 100, proc);
    return `http://127.0.0.1:${port}`;
}

/**
 * The deployed registry with the Redis blob-descriptor cache: redis-server from the program's
 * redis.conf Secret, and the registry with the Secret's password pinned (as the Pulumi state
 * keeps it between runs) and the Redis Service's address pointed at the local redis-server.
 */
async function startWithRedis(config: StackConfig, stops: Stop[]): Promise<BenchRegistry> {
    const stack = { ...config, blobDescriptorCache: "redis" };
    const probe = await runProgramOrThrow(stack);
    const secret = probe.resources.find((r) => r.type === "kubernetes:core/v1:Secret" && r.name.endsWith("-cache-secret"));
    if (secret === undefined) {
        throw new Error("the program declares no Redis Secret");
    }
    const dir = workDir("bench-redis");
    fs.writeFileSync(path.join(dir, "redis.conf"), secretValue(secret, "redis.conf") ?? "");
    const password = secretValue(secret, "password") ?? "";
    const port = await freePort();
    const proc = startProc("bench-redis", "redis-server", [path.join(dir, "redis.conf"), "--port", String(port), "--bind", "127.0.0.1"], {
        env: { PATH: process.env.PATH ?? "/usr/bin:/bin" },
        logFile: path.join(dir, "redis.log"),
    });
    stops.push(() => proc.stop());
    await waitFor(
        "redis",
        async () => execFileSync("redis-cli", ["-p", String(port), "-a", password, "--no-auth-warning", "ping"], { encoding: "utf8" }).trim() === "PONG",
        15000,
        100,
        proc,
    );
    const d = await startRegistry({
        config: stack,
        replicas: 1,
        mocks: {
            resourceState: (type, name) =>
                type === "random:index/randomPassword:RandomPassword" && name.endsWith("-cache-password") ? { result: password } : undefined,
        },
        extraEnv: { REGISTRY_REDIS_ADDRS: `["127.0.0.1:${port}"]` },
    });
    stops.push(() => d.remove());
    return authenticatedRegistry("deployed, Redis cache", d, podContainers(d));
}

/** `HEAD` of a blob of `image` in `repo`, with valid credentials. */
function blobHead(reg: BenchRegistry, repo: string, image: OciImage): ProbeTarget {
    return { url: `${reg.url}/v2/${repo}/blobs/${image.layers[0].digest}`, method: "HEAD", ca: reg.ca, auth: reg.auth };
}

/**
 * `GET /v2/` through the localhost proxy next to the same request straight to the registry, and
 * a blob `HEAD` with the in-memory and the Redis blob-descriptor cache; `deployed` is the
 * registry at the default cost, `config` its stack.
 */
export async function measureRequestPaths(deployed: BenchRegistry, config: StackConfig, n: number, scratch: string): Promise<AuthCost[]> {
    const stops: Stop[] = [];
    try {
        const cost = bcryptCost(deployed);
        const proxied = await startLocalProxy(deployed, stops, true);
        const unpooled = await startLocalProxy(deployed, stops, false);
        const redis = await startWithRedis(config, stops);
        const image = buildImage([4096], "paths", { scratchParent: scratch });
        const repo = "bench/paths";
        try {
            for (const reg of [deployed, redis]) {
                const pushed = await push(image, `${reg.host}/${repo}:${image.tag}`, reg.access);
                if (pushed.code !== 0) {
                    throw new Error(`push to ${reg.label}: ${pushed.stderr}`);
                }
            }
        } finally {
            fs.rmSync(image.dir, { recursive: true, force: true });
        }
        const probes: Probe[] = [
            { label: "straight to the registry: GET /v2/", target: v2Target(deployed, "valid"), bcryptCost: cost },
            {
                label: "through the localhost proxy as declared (nginx, plain HTTP in, kept-alive TLS to the registry): GET /v2/",
                target: { url: `${proxied}/v2/`, auth: deployed.auth },
                bcryptCost: cost,
            },
            {
                label: "through the localhost proxy without its upstream keepalive (a new TLS connection per request): GET /v2/",
                target: { url: `${unpooled}/v2/`, auth: deployed.auth },
                bcryptCost: cost,
            },
            { label: "blob HEAD, in-memory blob-descriptor cache (the default)", target: blobHead(deployed, repo, image), bcryptCost: cost },
            {
                label: "blob HEAD, Redis blob-descriptor cache (redis-server on the same machine)",
                target: blobHead(redis, repo, image),
                bcryptCost: bcryptCost(redis),
            },
        ];
        return await probeAll(probes, n);
    } finally {
        for (const s of stops.reverse()) {
            await s();
        }
    }
}
