// The registry pod the program declares, run for real (the registry and its gate): TLS,
// htpasswd, push/pull, probes, metrics, replicas behind a round-robin proxy, restarts. Both
// distribution lines. Roles (push and pull-only users) are in roles.spec.ts.
import * as assert from "assert";
import * as fs from "fs";
import * as tls from "tls";

import { requireCapability } from "../support/capability";
import { basicAuth, request } from "../harness/http";
import { mountNamespaces, probeUrls, RegistryDeployment, startRegistry } from "../harness/harness";
import { buildImage, MiB, OciImage, pullAndCompare, push, skopeo } from "../harness/oci";
import { stopAll } from "../harness/procs";

after(stopAll);

const LINES: { name: string; config: Record<string, unknown> }[] = [
    { name: "distribution 3.x (go install, pinned)", config: { users: ["admin", "ci"] } },
    { name: "distribution 2.8 (Debian)", config: { users: ["admin", "ci"], imageTag: "2.8.3", tlsKeyAlgorithm: "RSA" } },
];

for (const line of LINES) {
    describe(`registry pod end to end: ${line.name}`, () => {
        let reg: RegistryDeployment;
        let image: OciImage;
        before(async () => {
            reg = await startRegistry({ config: line.config });
            // Several layers, one above 16 MiB.
            image = buildImage([2048, 3 * MiB, 17 * MiB]);
        });
        after(async () => reg?.stop());

        it("registryHost and registryUrl are the address the registry answers on", () => {
            assert.strictEqual(reg.host, `127.0.0.1:${reg.replicas[0].port}`);
            assert.strictEqual(reg.url, `https://${reg.host}`);
        });

        it("runs as the pod's user, both containers (registry and gate), with a read-only root filesystem", function () {
            requireCapability(this, "mount namespaces", mountNamespaces(), "without them the harness cannot apply the pod's securityContext");
            for (const pid of [reg.replicas[0].proc.pid, reg.replicas[0].gate?.pid ?? -1]) {
                const status = fs.readFileSync(`/proc/${pid}/status`, "utf8");
                assert.match(status, /^Uid:\s+1000\s+1000\s+1000\s+1000$/m);
                assert.match(status, /^Groups:\s+1000\s*$/m);
                assert.match(status, /^NoNewPrivs:\s+1$/m);
                assert.match(status, /^CapBnd:\s+0+$/m);
                const root = fs
                    .readFileSync(`/proc/${pid}/mountinfo`, "utf8")
                    .split("\n")
                    .find((l) => l.split(" ")[4] === "/");
                assert.match(root ?? "", /\sro[,\s]/, `root mount: ${root}`);
            }
        });

        it("pushes a multi-layer image and pulls it back with identical digests", async () => {
            const ref = `${reg.host}/team/app:v1`;
            // The dockerConfigJson output, as CI would use it.
            const pushed = await push(image, ref, { certDir: reg.certDir, authFile: reg.authFile });
            assert.strictEqual(pushed.code, 0, pushed.stderr);
            assert.deepStrictEqual(await pullAndCompare(image, ref, reg.access()), []);
        });

        it("lists the catalog and tags with auth", async () => {
            const auth = { username: reg.username, password: reg.password };
            const catalog = await request(`${reg.url}/v2/_catalog`, { ca: reg.caPem, auth });
            assert.strictEqual(catalog.status, 200);
            assert.deepStrictEqual(JSON.parse(catalog.body), { repositories: ["team/app"] });
            const tags = await request(`${reg.url}/v2/team/app/tags/list`, { ca: reg.caPem, auth });
            assert.deepStrictEqual(JSON.parse(tags.body), { name: "team/app", tags: ["v1"] });
            const manifest = await request(`${reg.url}/v2/team/app/manifests/v1`, {
                ca: reg.caPem,
                auth,
                method: "HEAD",
                headers: { accept: "application/vnd.oci.image.manifest.v1+json" },
            });
            assert.strictEqual(manifest.headers["docker-content-digest"], image.manifestDigest);
        });

        it("answers 401 with a Basic challenge without credentials, with a wrong password, for an unknown user", async () => {
            const none = await request(`${reg.url}/v2/`, { ca: reg.caPem });
            assert.strictEqual(none.status, 401);
            assert.strictEqual(none.headers["www-authenticate"], 'Basic realm="registry"');
            const wrong = await request(`${reg.url}/v2/_catalog`, { ca: reg.caPem, auth: { username: reg.username, password: `${reg.password}x` } });
            assert.strictEqual(wrong.status, 401);
            const stranger = await request(`${reg.url}/v2/_catalog`, { ca: reg.caPem, auth: { username: "mallory", password: reg.password } });
            assert.strictEqual(stranger.status, 401);
            const anonymous = await push(image, `${reg.host}/team/anon:v1`, { certDir: reg.certDir });
            assert.notStrictEqual(anonymous.code, 0);
            assert.match(anonymous.stderr, /authentication required|unauthorized/i);
        });

        it("every configured user logs in with the password from the stack outputs", async () => {
            assert.deepStrictEqual(Object.keys(reg.users), ["admin", "ci", "puller"]);
            for (const [username, password] of Object.entries(reg.users)) {
                const r = await request(`${reg.url}/v2/`, { ca: reg.caPem, auth: { username, password } });
                assert.strictEqual(r.status, 200, username);
            }
            const small = buildImage([1024]);
            const byCi = await push(small, `${reg.host}/ci/small:v1`, reg.access("ci"));
            assert.strictEqual(byCi.code, 0, byCi.stderr);
        });

        it("a client that does not trust the generated CA is refused; one that does succeeds", async () => {
            await assert.rejects(request(`${reg.url}/v2/`), /self[- ]signed|unable to verify|certificate/i);
            const untrusted = await skopeo(["inspect", "--creds", `${reg.username}:${reg.password}`, `docker://${reg.host}/team/app:v1`]);
            assert.notStrictEqual(untrusted.code, 0);
            assert.match(untrusted.stderr, /x509|certificate signed by unknown authority/);
            const trusted = await skopeo([
                "inspect",
                "--cert-dir",
                reg.certDir,
                "--creds",
                `${reg.username}:${reg.password}`,
                `docker://${reg.host}/team/app:v1`,
            ]);
            assert.strictEqual(trusted.code, 0, trusted.stderr);
        });

        it("readiness, liveness and metrics answer as the Deployment's probes expect", async () => {
            const urls = probeUrls(reg.pod, reg.replicas[0]);
            const ready = await request(urls.readiness);
            assert.strictEqual(ready.status, 200);
            const live = await request(urls.liveness);
            assert.strictEqual(live.status, 200);
            // The gate's readiness: through it to the registry's `/`, without credentials.
            const gate = await request(`${reg.url}/`, { ca: reg.caPem });
            assert.strictEqual(gate.status, 200, "`/` must answer through the gate without credentials");
            const metrics = await request(`${reg.replicas[0].debugUrl}/metrics`);
            assert.strictEqual(metrics.status, 200);
            assert.match(metrics.body, /^registry_\w+/m);
            assert.match(metrics.body, /^# TYPE registry_/m);
        });

        it("restarted on the same storage, still serves everything pushed before", async () => {
            await reg.replicas[0].restart();
            assert.deepStrictEqual(await pullAndCompare(image, `${reg.host}/team/app:v1`, reg.access()), []);
        });
    });
}

describe("server certificate SANs", () => {
    let reg: RegistryDeployment;
    before(async () => {
        reg = await startRegistry({ config: { hostnames: ["registry.example.com", "registry.internal"], storageKind: "emptyDir" } });
    });
    after(async () => reg?.stop());

    /** Connects to the replica as `servername`, verifying against the CA; resolves with the verification error, if any. */
    function handshake(servername: string): Promise<Error | undefined> {
        return new Promise((resolve) => {
            const s = tls.connect({ host: "127.0.0.1", port: reg.replicas[0].port, servername, ca: reg.caPem }, () => {
                s.end();
                resolve(undefined);
            });
            s.on("error", (e) => resolve(e));
        });
    }

    it("cover the configured hostnames and the in-cluster names, and nothing else", async () => {
        for (const name of ["registry.example.com", "registry.internal", "registry.registry.svc", "registry.registry.svc.cluster.local"]) {
            assert.strictEqual(await handshake(name), undefined, name);
        }
        const wrong = await handshake("evil.example.com");
        assert.match(String(wrong), /Hostname\/IP does not match certificate's altnames/);
    });

    it("registryHost is the first hostname", () => {
        assert.strictEqual(reg.host, `registry.example.com:${reg.replicas[0].port}`);
    });
});

describe("two replicas behind a round-robin proxy", () => {
    const config = { storageAccessMode: "ReadWriteMany", replicas: 2 };

    /**
     * A monolithic-free blob upload through the proxy, one request at a time: POST, PATCH, PUT.
     * Round-robin sends consecutive requests to alternate replicas, so the upload's state
     * (signed with http.secret) must be valid on both.
     */
    async function hoppingUpload(reg: RegistryDeployment): Promise<{ statuses: number[]; upstreams: string[] }> {
        const auth = { username: reg.username, password: reg.password };
        const data = Buffer.from("hello from two replicas");
        const digest = `sha256:${(await import("crypto")).createHash("sha256").update(data).digest("hex")}`;
        const before = reg.frontend?.upstreamLog().length ?? 0;
        const start = await request(`${reg.url}/v2/hop/test/blobs/uploads/`, { ca: reg.caPem, auth, method: "POST" });
        const statuses = [start.status];
        const location = new URL(String(start.headers.location ?? ""), reg.url);
        const patch = await rawRequest(reg, location.toString(), "PATCH", data, { "content-type": "application/octet-stream", authorization: basicAuth(auth) });
        statuses.push(patch.status);
        if (patch.status === 202) {
            const next = new URL(String(patch.headers.location), reg.url);
            next.searchParams.set("digest", digest);
            const put = await rawRequest(reg, next.toString(), "PUT", Buffer.alloc(0), { authorization: basicAuth(auth) });
            statuses.push(put.status);
        }
        const upstreams = (reg.frontend?.upstreamLog() ?? []).slice(before).map((l) => l.split(" -> ")[1]?.split(" ")[0] ?? "");
        return { statuses, upstreams };
    }

    async function rawRequest(reg: RegistryDeployment, url: string, method: string, body: Buffer, headers: Record<string, string>) {
        const https = await import("https");
        return new Promise<{ status: number; headers: Record<string, unknown> }>((resolve, reject) => {
            const req = https.request(url, { method, ca: reg.caPem, headers: { ...headers, "content-length": String(body.length) }, agent: false }, (res) => {
                res.resume();
                res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers }));
            });
            req.on("error", reject);
            req.end(body);
        });
    }

    it("a push whose requests alternate between replicas succeeds, because both share http.secret", async () => {
        const reg = await startRegistry({ config });
        try {
            assert.strictEqual(reg.replicas.length, 2);
            const hop = await hoppingUpload(reg);
            assert.deepStrictEqual(hop.statuses, [202, 202, 201]);
            assert.strictEqual(new Set(hop.upstreams).size, 2, `requests did not hop: ${hop.upstreams.join(", ")}`);

            const image = buildImage([1024, 4 * MiB, 17 * MiB]);
            const pushed = await push(image, `${reg.host}/ha/app:v1`, reg.access());
            assert.strictEqual(pushed.code, 0, pushed.stderr);
            const uploads = (reg.frontend?.upstreamLog() ?? []).filter((l) => /^(PATCH|PUT) \/v2\/ha\/app\/blobs\/uploads/.test(l));
            assert.strictEqual(new Set(uploads.map((l) => l.split(" -> ")[1].split(" ")[0])).size, 2, "the push's uploads all went to one replica");
            // Each replica, asked directly, serves the whole image.
            for (const r of reg.replicas) {
                assert.deepStrictEqual(await pullAndCompare(image, `127.0.0.1:${r.port}/ha/app:v1`, reg.access()), [], `replica ${r.index}`);
            }
        } finally {
            await reg.stop();
        }
    });

    it("negative control: replicas with different secrets break the same upload", async () => {
        const reg = await startRegistry({ config, perReplicaHttpSecret: (i) => `not-shared-${i}-${"x".repeat(40)}` });
        try {
            const hop = await hoppingUpload(reg);
            assert.strictEqual(hop.statuses[0], 202);
            assert.notStrictEqual(hop.statuses[1], 202, "the PATCH on the other replica should be refused");
        } finally {
            await reg.stop();
        }
    });
});
