// Access end to end, against the registry pod the program declares:
// - scripts/registry-login.sh with a fake `pulumi` printing this run's real stack outputs, a fake
//   HOME and a fake /etc/containers (bind-mounted in a private mount namespace); then skopeo with
//   no flags at all pushes and pulls, trusting only the files the script wrote;
// - the localhost proxy's nginx.conf, run by Debian's nginx in front of the registry: plain HTTP on
//   "localhost", TLS to the registry verified with its CA, pulls only (with the pull Secrets'
//   pull-only credentials for `localhost:<port>`); and refused with the wrong CA.
import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import * as YAML from "yaml";

import { localProxyConf, mirrorTarget } from "../../components/access";
import { requireCapability } from "../support/capability";
import { makePki } from "../support/pki";
import { secretValue } from "../support/pod";
import { ROOT } from "../support/program";
import { request } from "../harness/http";
import { mountNamespaces, RegistryDeployment, startRegistry } from "../harness/harness";
import { run, workstation } from "../harness/workstation";
import { buildImage, compareImage, MiB, OciImage, pull, push } from "../harness/oci";
import { CACHE_BIN, freePort, Proc, startProc, stopAll, waitFor, workDir } from "../harness/procs";

import peers from "../harness/peers.json";

after(stopAll);

const SCRIPT = path.join(ROOT, "scripts", "registry-login.sh");

describe("access end to end: scripts/registry-login.sh, then skopeo with no flags", () => {
    let reg: RegistryDeployment;
    let image: OciImage;
    let bin: string;
    before(async function () {
        // The fake /etc/containers needs a private mount namespace (root).
        requireCapability(this, "mount namespaces", mountNamespaces(), "the fake /etc/containers is bind-mounted in a private mount namespace");
        reg = await startRegistry({ config: { users: ["admin", "ci"], storageKind: "emptyDir" } });
        image = buildImage([4096, 2 * MiB]);
        // `pulumi stack output --json --show-secrets` of this very run: the outputs the program exported.
        bin = workDir("fake-pulumi");
        fs.writeFileSync(path.join(bin, "outputs.json"), JSON.stringify(reg.run.outputs));
        fs.writeFileSync(
            path.join(bin, "pulumi"),
            `#!/bin/sh\n[ "$*" = "stack output --json --show-secrets --stack e2e" ] || { echo "unexpected: $*" >&2; exit 9; }\ncat ${path.join(bin, "outputs.json")}\n`,
            { mode: 0o755 },
        );
    });
    after(async () => reg?.stop());

    it("installs the CA where skopeo looks and logs in; skopeo then pushes and pulls with nothing but those files", async () => {
        const ws = workstation(bin);
        const login = await ws.exec(SCRIPT, ["--stack", "e2e", "--user", "ci", "--client", "skopeo"]);
        assert.strictEqual(login.code, 0, login.stderr);
        assert.match(login.stdout, new RegExp(`skopeo logged in to ${reg.host.replace(/\./g, "\\.")} as ci`));
        assert.strictEqual(fs.readFileSync(path.join(ws.etcContainers, "certs.d", reg.host, "ca.crt"), "utf8"), `${reg.caPem.trimEnd()}\n`);
        assert.strictEqual(fs.readFileSync(path.join(ws.home, ".docker", "certs.d", reg.host, "ca.crt"), "utf8"), `${reg.caPem.trimEnd()}\n`);
        const authFile = path.join(ws.env.XDG_RUNTIME_DIR, "containers", "auth.json");
        assert.ok(Object.keys(JSON.parse(fs.readFileSync(authFile, "utf8")).auths).includes(reg.host), "skopeo login stored the credentials");

        const ref = `docker://${reg.host}/team/login:v1`;
        const pushed = await ws.exec("skopeo", ["copy", "-q", "--preserve-digests", `oci:${image.dir}:${image.tag}`, ref]);
        assert.strictEqual(pushed.code, 0, pushed.stderr);
        const out = workDir("login-pull");
        const pulled = await ws.exec("skopeo", ["copy", "-q", "--preserve-digests", ref, `oci:${out}:pulled`]);
        assert.strictEqual(pulled.code, 0, pulled.stderr);
        assert.deepStrictEqual(compareImage(image, out), []);
    });

    it("the same skopeo without the CA file is refused (unknown authority), and without the login is unauthorized", async () => {
        const ws = workstation(bin);
        const login = await ws.exec(SCRIPT, ["--stack", "e2e", "--client", "skopeo"]);
        assert.strictEqual(login.code, 0, login.stderr);
        const ref = `docker://${reg.host}/team/login:v1`;
        fs.rmSync(path.join(ws.etcContainers, "certs.d"), { recursive: true });
        const untrusted = await ws.exec("skopeo", ["inspect", ref]);
        assert.notStrictEqual(untrusted.code, 0);
        assert.match(untrusted.stderr, /x509|certificate signed by unknown authority/);

        const fresh = workstation(bin);
        fs.mkdirSync(path.join(fresh.etcContainers, "certs.d", reg.host), { recursive: true });
        fs.writeFileSync(path.join(fresh.etcContainers, "certs.d", reg.host, "ca.crt"), reg.caPem);
        const anonymous = await fresh.exec("skopeo", ["inspect", ref]);
        assert.notStrictEqual(anonymous.code, 0);
        assert.match(anonymous.stderr, /authentication required|unauthorized/i);
    });

    it("a pull-only consumer logs in as the pull user (`--user puller`): skopeo pulls, and its push is refused", async () => {
        const ws = workstation(bin);
        const login = await ws.exec(SCRIPT, ["--stack", "e2e", "--user", "puller", "--client", "skopeo"]);
        assert.strictEqual(login.code, 0, login.stderr);
        const ref = `docker://${reg.host}/team/login:v1`;
        const out = workDir("login-pull-only");
        const pulled = await ws.exec("skopeo", ["copy", "-q", "--preserve-digests", ref, `oci:${out}:pulled`]);
        assert.strictEqual(pulled.code, 0, pulled.stderr);
        assert.deepStrictEqual(compareImage(image, out), []);
        const pushed = await ws.exec("skopeo", ["copy", "-q", `oci:${image.dir}:${image.tag}`, `docker://${reg.host}/team/by-puller:v1`]);
        assert.notStrictEqual(pushed.code, 0);
        assert.match(pushed.stderr, /unauthorized|authentication required/i);
    });

    it("a wrong password from the outputs fails the login, and the script with it", async () => {
        const wrongBin = workDir("fake-pulumi-wrong");
        fs.writeFileSync(path.join(wrongBin, "outputs.json"), JSON.stringify({ ...reg.run.outputs, password: `${reg.password}x` }));
        fs.writeFileSync(path.join(wrongBin, "pulumi"), `#!/bin/sh\ncat ${path.join(wrongBin, "outputs.json")}\n`, { mode: 0o755 });
        const ws = workstation(wrongBin);
        const login = await ws.exec(SCRIPT, ["--client", "skopeo"]);
        assert.notStrictEqual(login.code, 0);
        assert.match(login.stderr, /unauthorized|401|invalid username\/password/i);
    });
});

describe("access end to end: the localhost proxy's nginx.conf in front of the registry", () => {
    let reg: RegistryDeployment;
    let image: OciImage;
    const procs: Proc[] = [];
    before(async () => {
        reg = await startRegistry({ config: { storageKind: "emptyDir", localProxy: true, pullSecretNamespaces: ["apps"] } });
        image = buildImage([2048, 17 * MiB]);
    });
    after(async () => {
        await Promise.all(procs.map((p) => p.stop()));
        await reg?.stop();
    });

    /**
     * Runs the proxy as the DaemonSet's ConfigMap defines it, changing only where it listens and
     * where the Service is (127.0.0.1 here); the CA file is the ConfigMap's `ca.crt` unless given.
     */
    async function startProxy(caPem?: string): Promise<{ port: number; proc: Proc }> {
        const cm = reg.run.resources.find((r) => r.type === "kubernetes:core/v1:ConfigMap" && r.name.endsWith("-localhost-proxy"));
        assert.ok(cm !== undefined, "the program declares the proxy's ConfigMap");
        const dir = workDir("localhost-proxy");
        fs.writeFileSync(path.join(dir, "ca.crt"), caPem ?? cm.inputs.data["ca.crt"]);
        const port = await freePort();
        const upstreamName = `${String(reg.run.outputs.serviceName)}.${String(reg.run.outputs.namespace)}.svc.cluster.local`;
        // What runs here is the declared config with only the addresses changed (the harness's
        // servicePort is the registry's port).
        const declared = localProxyConf({
            listen: "8080",
            upstreamHost: upstreamName,
            upstreamPort: reg.replicas[0].port,
            upstreamName,
            caFile: "/etc/registry-proxy/ca.crt",
            tmpDir: "/tmp",
        });
        assert.strictEqual(String(cm.inputs.data["nginx.conf"]), declared);
        const conf = localProxyConf({
            listen: `127.0.0.1:${port}`,
            upstreamHost: "127.0.0.1",
            upstreamPort: reg.replicas[0].port,
            upstreamName,
            caFile: path.join(dir, "ca.crt"),
            tmpDir: dir,
        });
        fs.writeFileSync(path.join(dir, "nginx.conf"), conf);
        const proc = startProc("localhost-proxy", "nginx", ["-e", "/dev/stderr", "-c", path.join(dir, "nginx.conf")], {
            env: { PATH: "/usr/sbin:/usr/bin:/bin" },
            logFile: path.join(dir, "nginx.log"),
        });
        procs.push(proc);
        await waitFor(`proxy on ${port}`, async () => (await request(`http://127.0.0.1:${port}/`)).status > 0, 15000, 100, proc);
        return { port, proc };
    }

    it("pulls through http://localhost:<port> with the pull Secrets' pull-only credentials, the proxy verifying the registry by its CA", async () => {
        const { port } = await startProxy();
        // What a pod in a pull Secret's namespace presents for `localhost:<localProxyPort>`.
        const secret = reg.run.resources.find(
            (r) => r.type === "kubernetes:core/v1:Secret" && r.inputs.type === "kubernetes.io/dockerconfigjson" && r.name.includes("-pull-"),
        );
        assert.ok(secret !== undefined);
        const entry = JSON.parse(secretValue(secret, ".dockerconfigjson") ?? "").auths["localhost:5000"];
        assert.strictEqual(entry?.username, "puller");
        const creds = { username: entry.username as string, password: entry.password as string };
        const pushed = await push(image, `${reg.host}/team/proxied:v1`, reg.access());
        assert.strictEqual(pushed.code, 0, pushed.stderr);
        const v2 = await request(`http://localhost:${port}/v2/`, { auth: creds });
        assert.strictEqual(v2.status, 200);
        const unauth = await request(`http://localhost:${port}/v2/`);
        assert.strictEqual(unauth.status, 401, "the proxy passes the registry's auth through");
        // Plain HTTP to localhost, as a node's runtime talks to the hostPort.
        const { dir, result } = await pull(`localhost:${port}/team/proxied:v1`, { creds, tlsVerify: false });
        assert.strictEqual(result.code, 0, result.stderr);
        assert.deepStrictEqual(compareImage(image, dir), []);
    });

    it("refuses every write, whoever asks (403 from the proxy itself): nodes only pull", async () => {
        const { port } = await startProxy();
        const admin = { username: reg.username, password: reg.password };
        for (const method of ["POST", "PUT", "PATCH", "DELETE"]) {
            const r = await request(`http://localhost:${port}/v2/team/proxied/blobs/uploads/`, { auth: admin, method });
            assert.strictEqual(r.status, 403, method);
        }
        const other = buildImage([1024], "by-proxy");
        const pushed = await push(other, `localhost:${port}/team/proxied:v2`, { creds: admin, tlsVerify: false });
        fs.rmSync(other.dir, { recursive: true, force: true });
        assert.notStrictEqual(pushed.code, 0);
        // The same user pushes to the registry itself.
        assert.strictEqual((await request(`${reg.url}/v2/team/proxied/blobs/uploads/`, { ca: reg.caPem, auth: admin, method: "POST" })).status, 202);
    });

    it("with a CA that did not sign the registry's certificate, the proxy refuses to forward (502)", async () => {
        const { makePki } = await import("../support/pki");
        const other = await makePki(["registry.registry.svc.cluster.local"]);
        const { port } = await startProxy(other.caPem);
        const r = await request(`http://localhost:${port}/v2/`, { auth: { username: reg.username, password: reg.password } });
        assert.strictEqual(r.status, 502);
    });
});

describe("access end to end: the mirroring Job's script copies upstream images into the registry", () => {
    let reg: RegistryDeployment;
    let upstream: { host: string; caPem: string; proc: Proc };
    let image: OciImage;
    before(async function () {
        requireCapability(
            this,
            "mount namespaces",
            mountNamespaces(),
            "the stand-ins for the pod's /etc/hosts and system trust are bind-mounted in a private mount namespace",
        );
        // The "upstream": a plain registry with its own CA and no auth, like a public registry.
        const dir = workDir("upstream");
        const port = await freePort();
        const pki = await makePki(["localhost"], ["127.0.0.1"]);
        fs.writeFileSync(path.join(dir, "tls.crt"), pki.certPem);
        fs.writeFileSync(path.join(dir, "tls.key"), pki.keyPem);
        const config = {
            version: 0.1,
            storage: { filesystem: { rootdirectory: path.join(dir, "data") } },
            http: { addr: `127.0.0.1:${port}`, tls: { certificate: path.join(dir, "tls.crt"), key: path.join(dir, "tls.key") }, debug: { addr: "" } },
        };
        fs.writeFileSync(path.join(dir, "config.yml"), YAML.stringify(config));
        const proc = startProc("upstream", path.join(CACHE_BIN, peers.go.registry3.binary), ["serve", path.join(dir, "config.yml")], {
            env: { PATH: "/usr/bin:/bin", OTEL_TRACES_EXPORTER: "none" },
            logFile: path.join(dir, "registry.log"),
        });
        upstream = { host: `127.0.0.1:${port}`, caPem: pki.caPem, proc };
        await waitFor("upstream registry", async () => (await request(`https://${upstream.host}/v2/`, { ca: pki.caPem })).status === 200, 20000, 100, proc);
        const caDir = workDir("upstream-ca");
        fs.writeFileSync(path.join(caDir, "ca.crt"), pki.caPem);
        image = buildImage([4096, 3 * MiB]);
        const seeded = await push(image, `${upstream.host}/library/app:1.0`, { certDir: caDir });
        assert.strictEqual(seeded.code, 0, seeded.stderr);

        reg = await startRegistry({
            config: { storageKind: "emptyDir", mirrorImages: [`${upstream.host}/library/app:1.0`, `${upstream.host}/library/missing:1.0`] },
        });
    });
    after(async () => {
        await reg?.stop();
        await upstream?.proc.stop();
    });

    it("copies every listed image (digests intact), reports the one that does not exist, and fails", async () => {
        // The Job, its ConfigMap and Secret as the program declares them, materialised as the kubelet would.
        const job = reg.run.resources.find((r) => r.type === "kubernetes:batch/v1:Job");
        assert.ok(job !== undefined);
        const spec = job.inputs.spec.template.spec;
        const volumes = new Map<string, Record<string, any>>(spec.volumes.map((v: Record<string, any>) => [v.name, v]));
        const root = workDir("mirror-pod");
        const byName = (type: string, n: string) => reg.run.resources.find((r) => r.type === type && r.state.metadata.name === n);
        const mountDir = new Map<string, string>();
        for (const m of spec.containers[0].volumeMounts as { name: string; mountPath: string }[]) {
            const v = volumes.get(m.name) ?? {};
            const dir = path.join(root, m.name);
            fs.mkdirSync(dir);
            if (v.configMap !== undefined) {
                const cm = byName("kubernetes:core/v1:ConfigMap", v.configMap.name);
                for (const item of v.configMap.items as { key: string; path: string }[]) {
                    fs.writeFileSync(path.join(dir, item.path), cm?.inputs.data[item.key]);
                }
            } else if (v.secret !== undefined) {
                const secret = byName("kubernetes:core/v1:Secret", v.secret.secretName);
                assert.ok(secret !== undefined);
                fs.writeFileSync(path.join(dir, ".dockerconfigjson"), secretValue(secret, ".dockerconfigjson") ?? "", { mode: 0o400 });
            }
            mountDir.set(m.mountPath, dir);
        }
        // The container's env, with the mount paths pointing at the materialised directories.
        // One rewrite per value, by the longest mount path that contains it: rewriting in turn would
        // rewrite a rewritten path again when the work directory is under another mount (/tmp).
        const remap = (value: string) => {
            const hit = [...mountDir]
                .filter(([mountPath]) => value === mountPath || value.startsWith(`${mountPath}/`))
                .sort(([a], [b]) => b.length - a.length)[0];
            return hit === undefined ? value : hit[1] + value.slice(hit[0].length);
        };
        const env: Record<string, string> = { PATH: "/usr/sbin:/usr/bin:/sbin:/bin" };
        for (const e of spec.containers[0].env as { name: string; value: string }[]) {
            env[e.name] = remap(e.value);
        }
        const dest = `registry.registry.svc.cluster.local:${reg.replicas[0].port}`;
        assert.strictEqual(env.DEST, dest, "the Job pushes to the Service's in-cluster name");
        // The pod's view: cluster DNS resolves the Service (here to 127.0.0.1), and the image's
        // system trust knows the upstream's CA (as public registries are known).
        const etc = workDir("mirror-etc");
        fs.writeFileSync(path.join(etc, "hosts"), `${fs.readFileSync("/etc/hosts", "utf8")}\n127.0.0.1 registry.registry.svc.cluster.local\n`);
        const containers = path.join(etc, "containers");
        fs.cpSync("/etc/containers", containers, { recursive: true, filter: (src) => !src.includes("certs.d") });
        fs.mkdirSync(path.join(containers, "certs.d", upstream.host), { recursive: true });
        fs.writeFileSync(path.join(containers, "certs.d", upstream.host, "ca.crt"), upstream.caPem);
        const script = remap(spec.containers[0].command[1]);
        const r = await run(
            "unshare",
            [
                "--mount",
                "--propagation",
                "private",
                "--",
                "/bin/sh",
                "-c",
                'mount --bind "$0/hosts" /etc/hosts && mount --bind "$0/containers" /etc/containers && exec /bin/sh "$1"',
                etc,
                script,
            ],
            env,
        );
        assert.notStrictEqual(r.code, 0, "a missing upstream image must fail the Job");
        assert.match(r.stdout, /mirror: 1 copied, 1 failed/);
        assert.match(r.stderr, /mirror: FAILED 127\.0\.0\.1:\d+\/library\/missing:1\.0/);

        const target = mirrorTarget(`${upstream.host}/library/app:1.0`);
        assert.strictEqual(target, `127.0.0.1_${upstream.host.split(":")[1]}/library/app:1.0`);
        const { dir, result } = await pull(`${reg.host}/${target}`, reg.access());
        assert.strictEqual(result.code, 0, result.stderr);
        assert.deepStrictEqual(compareImage(image, dir), []);
    });
});
