// The pull-through cache instance end to end: the `<name>-mirror` Deployment the
// program declares with `proxyRemoteUrl`/`proxyUsername`/`proxyPassword`, run by the harness from
// its pod spec, in front of a real "upstream" registry on 127.0.0.1 (TLS with its own test CA,
// htpasswd basic auth). The mirror's only outside help is a trust store holding that CA, standing
// in for the image's system trust (as public registries' CAs are in it). Checked: a cold pull
// through `mirrorHost` with the outputs' CA and credentials is digest-identical; the mirror
// refuses a wrong password and no credentials (401); a mirror declared with a wrong upstream
// password cannot pull; with the upstream stopped, the cached image still pulls, an uncached one
// does not.
import * as assert from "assert";
import * as bcrypt from "bcryptjs";
import * as fs from "fs";
import * as path from "path";
import * as YAML from "yaml";

import { makePki } from "../support/pki";
import { secretValue } from "../support/pod";
import { SecretConfig } from "../support/program";
import { request } from "../harness/http";
import { mountNamespaces, RegistryDeployment, startRegistry } from "../harness/harness";
import { buildImage, compareImage, MiB, OciImage, pull, push } from "../harness/oci";
import { CACHE_BIN, freePort, Proc, startProc, stopAll, waitFor, workDir } from "../harness/procs";

import peers from "../harness/peers.json";

after(stopAll);

const UPSTREAM_USER = "bot";
const MIRROR_DEPLOYMENT = "registry-mirror";

interface Upstream {
    readonly host: string;
    readonly caDir: string;
    readonly password: string;
    readonly proc: Proc;
}

/** The upstream's log from byte `offset` on (what happened since). */
function logSince(upstream: Upstream, offset: number): string {
    return fs.readFileSync(upstream.proc.logFile).subarray(offset).toString("utf8");
}

/** The upstream's requests by a Go HTTP client (the mirror; skopeo names itself), by method, URI and status. */
function mirrorRequests(log: string): string[] {
    return [...log.matchAll(/"(GET|HEAD) (\/v2\/\S+) HTTP\/[\d.]+" (\d{3}) \d+ "[^"]*" "Go-http-client\/[\d.]+"/g)].map((m) => `${m[1]} ${m[2]} ${m[3]}`);
}

/** A plain registry 3.x with TLS (its own CA) and one htpasswd user, like a private upstream. */
async function startUpstream(): Promise<Upstream & { readonly caPem: string }> {
    const dir = workDir("upstream");
    const port = await freePort();
    const pki = await makePki(["localhost"], ["127.0.0.1"]);
    fs.writeFileSync(path.join(dir, "tls.crt"), pki.certPem);
    fs.writeFileSync(path.join(dir, "tls.key"), pki.keyPem);
    const password = `up-${Math.random().toString(36).slice(2)}`;
    fs.writeFileSync(path.join(dir, "htpasswd"), `${UPSTREAM_USER}:${bcrypt.hashSync(password, 6)}\n`);
    const config = {
        version: 0.1,
        log: { accesslog: { disabled: false }, level: "info" },
        storage: { filesystem: { rootdirectory: path.join(dir, "data") } },
        auth: { htpasswd: { realm: "upstream", path: path.join(dir, "htpasswd") } },
        http: { addr: `127.0.0.1:${port}`, tls: { certificate: path.join(dir, "tls.crt"), key: path.join(dir, "tls.key") }, debug: { addr: "" } },
    };
    fs.writeFileSync(path.join(dir, "config.yml"), YAML.stringify(config));
    const proc = startProc("upstream", path.join(CACHE_BIN, peers.go.registry3.binary), ["serve", path.join(dir, "config.yml")], {
        env: { PATH: "/usr/bin:/bin", OTEL_TRACES_EXPORTER: "none" },
        logFile: path.join(dir, "registry.log"),
    });
    const host = `127.0.0.1:${port}`;
    await waitFor("upstream registry", async () => (await request(`https://${host}/v2/`, { ca: pki.caPem })).status === 401, 20000, 100, proc);
    const caDir = workDir("upstream-ca");
    fs.writeFileSync(path.join(caDir, "ca.crt"), pki.caPem);
    return { host, caDir, caPem: pki.caPem, password, proc };
}

/** Runs the program with the pull-through cache of `upstream` and starts its mirror pod. */
async function startMirror(upstream: Upstream & { readonly caPem: string }, proxyPassword: string): Promise<RegistryDeployment> {
    // The node's view of the image's trust store: it knows the upstream's CA.
    const trust = workDir("mirror-trust");
    fs.writeFileSync(path.join(trust, "ca-certificates.crt"), upstream.caPem);
    const ns = mountNamespaces();
    return startRegistry({
        config: {
            storageKind: "emptyDir",
            proxyRemoteUrl: `https://${upstream.host}`,
            proxyUsername: UPSTREAM_USER,
            proxyPassword: new SecretConfig(proxyPassword),
            proxyTtl: "1h",
        },
        deployment: MIRROR_DEPLOYMENT,
        extraMounts: ns ? [{ source: trust, target: "/etc/ssl/certs" }] : [],
        // Without mount namespaces the trust store cannot be mounted; point Go at the file.
        extraEnv: ns ? {} : { SSL_CERT_FILE: path.join(trust, "ca-certificates.crt") },
    });
}

describe("pull-through cache end to end: the mirror instance in front of a TLS, basic-auth upstream", () => {
    let upstream: Upstream & { readonly caPem: string };
    let mirror: RegistryDeployment;
    let mirrorHost: string;
    let image: OciImage;
    let uncached: OciImage;

    before(async function () {
        this.timeout(120000);
        upstream = await startUpstream();
        image = buildImage([4096, 3 * MiB], "v1");
        uncached = buildImage([2048, 1 * MiB], "v1");
        const creds = { username: UPSTREAM_USER, password: upstream.password };
        for (const [img, repo] of [
            [image, "team/app"],
            [uncached, "team/other"],
        ] as const) {
            const seeded = await push(img, `${upstream.host}/${repo}:v1`, { certDir: upstream.caDir, creds });
            assert.strictEqual(seeded.code, 0, seeded.stderr);
        }
        mirror = await startMirror(upstream, upstream.password);
        mirrorHost = String(mirror.run.outputs.mirrorHost);
    });
    after(async () => {
        await mirror?.stop();
        await upstream?.proc.stop();
    });

    it("declares the mirror with the upstream in config.yml and its credentials only by secretKeyRef to a Secret", async () => {
        assert.strictEqual(mirror.run.outputs.mirrorDeploymentName, MIRROR_DEPLOYMENT);
        assert.strictEqual(mirrorHost, `127.0.0.1:${mirror.replicas[0].port}`, "mirrorHost is where the mirror pod listens");
        assert.deepStrictEqual(mirror.pod.config.proxy, { remoteurl: `https://${upstream.host}`, ttl: "1h" });
        assert.ok(!mirror.pod.configMap.inputs.data["config.yml"].includes(upstream.password), "no upstream password in the ConfigMap");
        const env = new Map<string, Record<string, any>>((mirror.pod.container.env as Record<string, any>[]).map((e) => [e.name, e]));
        for (const [name, key, want] of [
            ["REGISTRY_PROXY_USERNAME", "username", UPSTREAM_USER],
            ["REGISTRY_PROXY_PASSWORD", "password", upstream.password],
        ] as const) {
            const ref = env.get(name)?.valueFrom?.secretKeyRef;
            assert.ok(ref !== undefined, `${name} comes from a secretKeyRef`);
            assert.strictEqual(ref.key, key);
            const secret = mirror.pod.secrets.get(ref.name);
            assert.ok(secret !== undefined, `the program declares Secret ${ref.name}`);
            assert.strictEqual(secretValue(secret, ref.key), want);
        }
        // The upstream really needs those credentials: anonymous is refused.
        const anonymous = await request(`https://${upstream.host}/v2/team/app/manifests/v1`, { ca: upstream.caPem });
        assert.strictEqual(anonymous.status, 401);
    });

    it("a cold pull through mirrorHost with the outputs' CA and credentials is digest-identical; the mirror fetched it as the upstream user", async () => {
        const offset = fs.statSync(upstream.proc.logFile).size;
        const { dir, result } = await pull(`${mirrorHost}/team/app:v1`, mirror.access());
        assert.strictEqual(result.code, 0, result.stderr);
        assert.deepStrictEqual(compareImage(image, dir), []);
        // Every blob came from the upstream, through the mirror, authenticated as the configured user.
        const log = logSince(upstream, offset);
        const fetched = mirrorRequests(log);
        for (const digest of [image.configDigest, ...image.layers.map((l) => l.digest)]) {
            assert.ok(fetched.includes(`GET /v2/team/app/blobs/${digest} 200`), `the mirror fetched ${digest}: ${fetched.join(", ")}`);
            assert.match(
                log,
                new RegExp(
                    `level=info msg="response completed" auth\\.user\\.name=${UPSTREAM_USER} .*http\\.request\\.method=GET .*http\\.request\\.uri="/v2/team/app/blobs/${digest}"`,
                ),
            );
        }
        // The mirror logs a blob GET as completed only after it committed the blob to its cache.
        await waitFor(
            "the mirror's cache writes",
            async () => {
                const done = new Set(
                    fs
                        .readFileSync(mirror.replicas[0].proc.logFile, "utf8")
                        .split("\n")
                        .filter((l) => l.startsWith("{"))
                        .map((l) => JSON.parse(l) as Record<string, string>)
                        .filter((e) => e.msg === "response completed" && e["http.request.method"] === "GET")
                        .map((e) => e["http.request.uri"]),
                );
                return [image.configDigest, ...image.layers.map((l) => l.digest)].every((d) => done.has(`/v2/team/app/blobs/${d}`));
            },
            10000,
        );
    });

    it("the mirror refuses a wrong password and no credentials (401), and skopeo with a wrong password cannot pull", async () => {
        const url = `https://${mirrorHost}/v2/team/app/manifests/v1`;
        const ok = await request(url, {
            ca: mirror.caPem,
            auth: { username: mirror.username, password: mirror.password },
            headers: { accept: "application/vnd.oci.image.manifest.v1+json" },
        });
        assert.strictEqual(ok.status, 200);
        const wrong = await request(url, { ca: mirror.caPem, auth: { username: mirror.username, password: `${mirror.password}x` } });
        assert.strictEqual(wrong.status, 401);
        const none = await request(url, { ca: mirror.caPem });
        assert.strictEqual(none.status, 401);
        const { result } = await pull(`${mirrorHost}/team/app:v1`, {
            certDir: mirror.certDir,
            creds: { username: mirror.username, password: `${mirror.password}x` },
        });
        assert.notStrictEqual(result.code, 0);
        assert.match(result.stderr, /unauthorized|authentication required|401/i);
    });

    it("the mirror's pods have the registry's gate: the pull-only user pulls through it, and its writes are refused (401)", async () => {
        assert.deepStrictEqual(
            (mirror.pod.podSpec.containers as { name: string }[]).map((c) => c.name),
            ["registry", "gate"],
        );
        const { dir, result } = await pull(`${mirrorHost}/team/app:v1`, mirror.access("puller"));
        assert.strictEqual(result.code, 0, result.stderr);
        assert.deepStrictEqual(compareImage(image, dir), []);
        const write = await request(`https://${mirrorHost}/v2/team/app/blobs/uploads/`, {
            ca: mirror.caPem,
            auth: { username: "puller", password: mirror.users.puller },
            method: "POST",
        });
        assert.strictEqual(write.status, 401);
    });

    it("a mirror declared with a wrong upstream password cannot pull (the upstream refuses it)", async () => {
        const bad = await startMirror(upstream, `${upstream.password}-wrong`);
        try {
            const badHost = String(bad.run.outputs.mirrorHost);
            const offset = fs.statSync(upstream.proc.logFile).size;
            const { result } = await pull(`${badHost}/team/app:v1`, bad.access());
            assert.notStrictEqual(result.code, 0, "pull through a mirror with a wrong upstream credential must fail");
            assert.match(result.stderr, /manifest unknown/);
            const log = logSince(upstream, offset);
            const fetched = mirrorRequests(log);
            assert.ok(fetched.includes("GET /v2/team/app/manifests/v1 401"), `the upstream refused the mirror: ${fetched.join(", ")}`);
            assert.ok(!fetched.some((f) => f.endsWith(" 200")), `nothing was served to the mirror: ${fetched.join(", ")}`);
            assert.match(log, /basic authentication challenge for realm \\"upstream\\": invalid authorization credential/);
        } finally {
            await bad.stop();
        }
    });

    it("with the upstream stopped, the cached image still pulls from the mirror (digest-identical); an uncached one does not", async () => {
        await upstream.proc.stop();
        const down = await request(`https://${upstream.host}/v2/`, { ca: upstream.caPem }).then(
            () => "up",
            () => "down",
        );
        assert.strictEqual(down, "down", "the upstream is really gone");
        const { dir, result } = await pull(`${mirrorHost}/team/app:v1`, mirror.access());
        assert.strictEqual(result.code, 0, result.stderr);
        assert.deepStrictEqual(compareImage(image, dir), []);
        const miss = await pull(`${mirrorHost}/team/other:v1`, mirror.access());
        assert.notStrictEqual(miss.result.code, 0, "an image the mirror never fetched cannot come from the cache");
        assert.match(miss.result.stderr, /manifest unknown/);
    });
});
