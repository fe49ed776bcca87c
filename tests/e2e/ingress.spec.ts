// The Ingress path end to end (re-encrypt, the default `ingressTls`), in front of the registry pod
// the program declares, gate included. No ingress controller runs here: the stand-in is Debian's
// nginx configured from the Ingress the program declares — its host, TLS Secret and backend, and
// each `nginx.ingress.kubernetes.io/*` annotation translated to the directive ingress-nginx
// generates for it (an annotation the stand-in does not know fails the test), plus the headers
// ingress-nginx always sets. Clients reach it by the Ingress's host name (an /etc/hosts entry in a
// private mount namespace) over TLS, trusting only the CA output.
import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";

import { NginxDirective, renderNginx } from "../../components/access";
import { requireCapability } from "../support/capability";
import { secretValue } from "../support/pod";
import { RecordedResource } from "../support/mocks";
import { request } from "../harness/http";
import { mountNamespaces, RegistryDeployment, startRegistry } from "../harness/harness";
import { buildImage, compareImage, MiB, OciImage, skopeo } from "../harness/oci";
import { freePort, Proc, startProc, stopAll, waitFor, workDir } from "../harness/procs";

after(stopAll);

const HOST = "registry.example.test";
const P = "nginx.ingress.kubernetes.io/";

/** What ingress-nginx generates for each annotation the program sets (its annotations reference), as directives in the location. */
function translate(annotations: Record<string, string>, caFile: (ref: string) => string): { location: NginxDirective[]; scheme: string } {
    const location: NginxDirective[] = [];
    let scheme = "http";
    for (const [k, v] of Object.entries(annotations)) {
        if (!k.startsWith(P)) {
            continue;
        }
        const key = k.slice(P.length);
        const on = (name: string) => location.push({ name, args: [v] });
        switch (key) {
            case "backend-protocol":
                scheme = v.toLowerCase();
                break;
            case "proxy-body-size":
                location.push({ name: "client_max_body_size", args: [v] });
                break;
            case "proxy-request-buffering":
                on("proxy_request_buffering");
                break;
            case "proxy-buffering":
                on("proxy_buffering");
                break;
            case "proxy-read-timeout":
                location.push({ name: "proxy_read_timeout", args: [`${v}s`] });
                break;
            case "proxy-send-timeout":
                location.push({ name: "proxy_send_timeout", args: [`${v}s`] });
                break;
            case "proxy-ssl-secret":
                location.push({ name: "proxy_ssl_trusted_certificate", args: [caFile(v)] });
                break;
            case "proxy-ssl-verify":
                on("proxy_ssl_verify");
                break;
            case "proxy-ssl-verify-depth":
                on("proxy_ssl_verify_depth");
                break;
            case "proxy-ssl-name":
                on("proxy_ssl_name");
                break;
            case "proxy-ssl-server-name":
                on("proxy_ssl_server_name");
                break;
            default:
                throw new Error(`the Ingress stand-in does not translate ${k}`);
        }
    }
    return { location, scheme };
}

describe("access end to end: the Ingress (re-encrypt) in front of the gate", () => {
    let reg: RegistryDeployment;
    let image: OciImage;
    let port: number;
    let dir: string;
    let proxy: Proc | undefined;
    let certDir: string;
    let hostsFile: string;
    let pullCreds: { username: string; password: string };

    before(async function () {
        requireCapability(
            this,
            "mount namespaces",
            mountNamespaces(),
            "the Ingress's host name resolves through an /etc/hosts bind-mounted in a private mount namespace",
        );
        reg = await startRegistry({ config: { storageKind: "emptyDir", hostnames: [HOST], ingressEnabled: true } });
        image = buildImage([4096, 3 * MiB]);
        const find = (type: string, pred: (r: RecordedResource) => boolean) => {
            const r = reg.run.resources.find((x) => x.type === type && pred(x));
            assert.ok(r !== undefined, `the program declares a ${type}`);
            return r;
        };
        const ingress = find("kubernetes:networking.k8s.io/v1:Ingress", () => true);
        const spec = ingress.inputs.spec;
        assert.deepStrictEqual(
            spec.rules.map((r: { host: string }) => r.host),
            [HOST],
        );
        const backend = spec.rules[0].http.paths[0].backend.service;
        assert.strictEqual(backend.name, reg.run.outputs.serviceName);
        const secretNamed = (name: string) => find("kubernetes:core/v1:Secret", (s) => (s.state.metadata?.name ?? s.inputs.metadata?.name) === name);
        const tlsSecret = secretNamed(spec.tls[0].secretName);

        dir = workDir("ingress");
        certDir = path.join(dir, "client-certs");
        fs.mkdirSync(certDir);
        fs.writeFileSync(path.join(certDir, "ca.crt"), reg.caPem);
        fs.writeFileSync(path.join(dir, "tls.crt"), secretValue(tlsSecret, "tls.crt") ?? "");
        fs.writeFileSync(path.join(dir, "tls.key"), secretValue(tlsSecret, "tls.key") ?? "", { mode: 0o600 });
        const { location, scheme } = translate(ingress.inputs.metadata.annotations, (ref) => {
            // ingress-nginx reads `ca.crt` of the Secret `<namespace>/<name>`.
            const [ns, name] = ref.split("/");
            assert.strictEqual(ns, reg.run.outputs.namespace);
            const file = path.join(dir, "upstream-ca.crt");
            fs.writeFileSync(file, secretValue(secretNamed(name), "ca.crt") ?? "");
            return file;
        });
        assert.strictEqual(scheme, "https", "the Ingress speaks TLS to the registry pod");

        port = await freePort();
        const conf = renderNginx([
            { name: "worker_processes", args: [1] },
            { name: "pid", args: [path.join(dir, "nginx.pid")] },
            { name: "error_log", args: ["/dev/stderr", "warn"] },
            { name: "daemon", args: ["off"] },
            { name: "events", block: [{ name: "worker_connections", args: [256] }] },
            {
                name: "http",
                block: [
                    { name: "access_log", args: ["off"] },
                    ...["client_body", "proxy", "fastcgi", "uwsgi", "scgi"].map((t) => ({ name: `${t}_temp_path`, args: [path.join(dir, t)] })),
                    {
                        name: "server",
                        block: [
                            { name: "listen", args: [`127.0.0.1:${port}`, "ssl"] },
                            { name: "server_name", args: [HOST] },
                            { name: "ssl_certificate", args: [path.join(dir, "tls.crt")] },
                            { name: "ssl_certificate_key", args: [path.join(dir, "tls.key")] },
                            {
                                name: "location",
                                args: ["/"],
                                block: [
                                    // The forwarding headers ingress-nginx's nginx.tmpl sets on every proxied
                                    // request (X-Request-ID and the websocket ones left out).
                                    { name: "proxy_set_header", args: ["Host", "$http_host"] },
                                    { name: "proxy_set_header", args: ["X-Real-IP", "$remote_addr"] },
                                    { name: "proxy_set_header", args: ["X-Forwarded-For", "$remote_addr"] },
                                    { name: "proxy_set_header", args: ["X-Forwarded-Host", "$http_host"] },
                                    { name: "proxy_set_header", args: ["X-Forwarded-Port", String(port)] },
                                    { name: "proxy_set_header", args: ["X-Forwarded-Proto", "https"] },
                                    { name: "proxy_set_header", args: ["X-Scheme", "https"] },
                                    { name: "proxy_set_header", args: ["Proxy", ""] },
                                    { name: "proxy_http_version", args: ["1.1"] },
                                    ...location,
                                    // The Service's address here; the name verified stays the annotation's.
                                    { name: "proxy_pass", args: [`${scheme}://127.0.0.1:${reg.replicas[0].port}`] },
                                ],
                            },
                        ],
                    },
                ],
            },
        ]);
        fs.writeFileSync(path.join(dir, "nginx.conf"), conf);
        proxy = await startStandIn("nginx.log");

        hostsFile = path.join(dir, "hosts");
        fs.writeFileSync(hostsFile, `127.0.0.1 localhost\n127.0.0.1 ${HOST}\n`);
        pullCreds = { username: String(reg.run.outputs.pullUsername), password: reg.users[String(reg.run.outputs.pullUsername)] };
    });
    after(async () => {
        await proxy?.stop();
        await reg?.remove();
        for (const d of [image?.dir, dir]) {
            if (d !== undefined) {
                fs.rmSync(d, { recursive: true, force: true });
            }
        }
    });

    /** Starts the stand-in from `dir`/nginx.conf and waits until it answers. */
    async function startStandIn(log: string): Promise<Proc> {
        const p = startProc("ingress-stand-in", "nginx", ["-e", "/dev/stderr", "-c", path.join(dir, "nginx.conf")], {
            env: { PATH: "/usr/sbin:/usr/bin:/bin" },
            logFile: path.join(dir, log),
        });
        await waitFor(`ingress stand-in on ${port}`, async () => (await request(`https://127.0.0.1:${port}/`, { insecure: true })).status > 0, 15000, 100, p);
        return p;
    }

    /** skopeo with `HOST` resolving to 127.0.0.1, trusting the CA output only. */
    function skopeoByName(args: string[]): ReturnType<typeof skopeo> {
        const wrap = path.join(dir, "bin");
        if (!fs.existsSync(path.join(wrap, "skopeo"))) {
            fs.mkdirSync(wrap, { recursive: true });
            fs.writeFileSync(
                path.join(wrap, "skopeo"),
                `#!/bin/sh\nexec unshare --mount --propagation private -- /bin/sh -c 'mount --bind "$0" /etc/hosts && exec /usr/bin/skopeo "$@"' ${hostsFile} "$@"\n`,
                { mode: 0o755 },
            );
        }
        return skopeo(args, { env: { PATH: `${wrap}:/usr/sbin:/usr/bin:/bin` } });
    }
    const creds = (c: { username: string; password: string }) => `${c.username}:${c.password}`;
    const ref = (repo: string) => `docker://${HOST}:${port}/${repo}`;

    it("a push user pushes and a pull-only user pulls by the Ingress's host name (digests checked); the registry's upload URLs point back at it", async () => {
        const pushed = await skopeoByName([
            "copy",
            "-q",
            "--preserve-digests",
            "--dest-cert-dir",
            certDir,
            "--dest-creds",
            creds({ username: reg.username, password: reg.password }),
            `oci:${image.dir}:${image.tag}`,
            ref("team/app:v1"),
        ]);
        assert.strictEqual(pushed.code, 0, pushed.stderr);
        const out = workDir("ingress-pull");
        try {
            const pulled = await skopeoByName([
                "copy",
                "-q",
                "--preserve-digests",
                "--src-cert-dir",
                certDir,
                "--src-creds",
                creds(pullCreds),
                ref("team/app:v1"),
                `oci:${out}:pulled`,
            ]);
            assert.strictEqual(pulled.code, 0, pulled.stderr);
            assert.deepStrictEqual(compareImage(image, out), []);
        } finally {
            fs.rmSync(out, { recursive: true, force: true });
        }
        // The stand-in answers for 127.0.0.1 too (no SNI match needed): the registry builds its
        // Location from the Host and X-Forwarded-Proto the Ingress passes.
        const start = await request(`https://127.0.0.1:${port}/v2/team/app/blobs/uploads/`, {
            method: "POST",
            insecure: true,
            headers: { host: `${HOST}:${port}` },
            auth: { username: reg.username, password: reg.password },
        });
        assert.strictEqual(start.status, 202, start.body);
        assert.match(String(start.headers.location), new RegExp(`^https://${HOST.replace(/\./g, "\\.")}:${port}/v2/team/app/blobs/uploads/`));
    });

    it("through the Ingress the gate still decides: the pull-only user's writes get 401, no credentials 401, a wrong password 401", async () => {
        const other = buildImage([2048], "by-puller");
        try {
            const pushed = await skopeoByName([
                "copy",
                "-q",
                "--dest-cert-dir",
                certDir,
                "--dest-creds",
                creds(pullCreds),
                `oci:${other.dir}:${other.tag}`,
                ref("team/app:v2"),
            ]);
            assert.notStrictEqual(pushed.code, 0, "a pull-only user cannot push through the Ingress");
            assert.match(pushed.stderr, /401|unauthorized|authentication required/i);
        } finally {
            fs.rmSync(other.dir, { recursive: true, force: true });
        }
        const url = (p: string) => `https://127.0.0.1:${port}${p}`;
        const h = { host: `${HOST}:${port}` };
        for (const [method, p] of [
            ["POST", "/v2/team/app/blobs/uploads/"],
            ["PUT", "/v2/team/app/manifests/v1"],
            ["DELETE", "/v2/team/app/manifests/v1"],
        ] as const) {
            assert.strictEqual(
                (await request(url(p), { method, insecure: true, headers: h, auth: pullCreds })).status,
                401,
                `${method} ${p} as the pull-only user`,
            );
        }
        assert.strictEqual((await request(url("/v2/team/app/tags/list"), { insecure: true, headers: h, auth: pullCreds })).status, 200);
        assert.strictEqual((await request(url("/v2/"), { insecure: true, headers: h })).status, 401);
        assert.strictEqual(
            (await request(url("/v2/"), { insecure: true, headers: h, auth: { username: reg.username, password: `${reg.password}x` } })).status,
            401,
        );
        // v1 is still what was pushed: the pull user's attempts changed nothing.
        const tags = await request(url("/v2/team/app/tags/list"), { insecure: true, headers: h, auth: pullCreds });
        assert.deepStrictEqual(JSON.parse(tags.body).tags, ["v1"]);
    });

    it("with a CA that did not sign the registry's certificate in the annotation's Secret, the Ingress refuses to forward (502)", async () => {
        const { makePki } = await import("../support/pki");
        const stranger = await makePki([HOST]);
        fs.writeFileSync(path.join(dir, "upstream-ca.crt"), stranger.caPem);
        assert.ok(proxy !== undefined);
        // nginx reads the trusted CA on (re)load: restart it on the same port.
        await proxy.stop();
        proxy = await startStandIn("nginx-2.log");
        const r = await request(`https://127.0.0.1:${port}/v2/`, { insecure: true, headers: { host: `${HOST}:${port}` }, auth: pullCreds });
        assert.strictEqual(r.status, 502);
    });
});
