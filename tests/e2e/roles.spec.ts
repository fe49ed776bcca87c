// Roles end to end, on the registry pod the program declares (the registry binary and its gate,
// this machine's nginx, with the program's nginx.conf and htpasswd files):
// - pull-only users pull every image, and every write they try is refused and changes nothing
//   in the storage; push users push and delete; no credentials or a wrong password get 401;
// - nothing reaches the registry's API around the gate: the registry process listens on its
//   socket and its debug port only, the debug port serves no API, and no path spelling gets an
//   anonymous request past the gate;
// - the pull-only outputs (`pullDockerConfigJson`) pull and cannot push;
// - two replicas behind the Service's stand-in, each with its own gate.
import * as assert from "assert";
import * as crypto from "crypto";
import * as fs from "fs";
import * as path from "path";

import { request } from "../harness/http";
import { RegistryDeployment, startRegistry } from "../harness/harness";
import { buildImage, MiB, OciImage, pull, pullAndCompare, push } from "../harness/oci";
import { listeners, stopAll, workDir } from "../harness/procs";

after(stopAll);

/** Every file under `dir` with its size and SHA-256 (the registry's whole storage). */
function snapshot(dir: string): Record<string, string> {
    const out: Record<string, string> = {};
    const walk = (d: string) => {
        for (const e of fs.readdirSync(d, { withFileTypes: true })) {
            const p = path.join(d, e.name);
            if (e.isDirectory()) {
                walk(p);
            } else {
                const data = fs.readFileSync(p);
                out[path.relative(dir, p)] = `${data.length} ${crypto.createHash("sha256").update(data).digest("hex")}`;
            }
        }
    };
    walk(dir);
    return out;
}

describe("roles end to end: push users and pull-only users, enforced by the gate", () => {
    let reg: RegistryDeployment;
    let images: OciImage[];
    let dataDir: string;
    const pullers = ["reader", "puller"];
    const scratch: string[] = [];
    const v2 = (p: string) => `${reg.url}/v2/${p}`;
    const as = (user: string) => ({ username: user, password: reg.users[user] });

    before(async () => {
        // The dev stack's shape (a claim), a second push user, a pull user listed, and `pullUser` added.
        reg = await startRegistry({ config: { users: ["admin", "ci"], pullUsers: ["reader"] } });
        dataDir = Object.values(reg.claimDirs)[0];
        images = [buildImage([4096, 2 * MiB], "v1"), buildImage([1024, 3 * MiB, 512], "v2")];
        scratch.push(...images.map((i) => i.dir));
        for (const [i, image] of images.entries()) {
            const pushed = await push(image, `${reg.host}/team/app${i}:v1`, reg.access("admin"));
            assert.strictEqual(pushed.code, 0, pushed.stderr);
        }
    });
    after(async () => {
        await reg?.remove();
        scratch.forEach((d) => fs.rmSync(d, { recursive: true, force: true }));
    });

    it("the users: push users and pull-only users (pullUsers, then pullUser), each with a password in `passwords`", () => {
        assert.deepStrictEqual(Object.keys(reg.users), ["admin", "ci", "reader", "puller"]);
        assert.strictEqual(reg.run.outputs.pullUsername, "puller");
        assert.strictEqual(reg.run.outputs.pullPassword, reg.users.puller);
    });

    it("a pull-only user pulls every image (digests checked), lists the catalog and tags, reads manifests and blobs", async () => {
        for (const user of pullers) {
            for (const [i, image] of images.entries()) {
                assert.deepStrictEqual(await pullAndCompare(image, `${reg.host}/team/app${i}:v1`, reg.access(user)), [], `${user} pulls app${i}`);
            }
            const catalog = await request(v2("_catalog"), { ca: reg.caPem, auth: as(user) });
            assert.strictEqual(catalog.status, 200);
            assert.deepStrictEqual(JSON.parse(catalog.body).repositories, ["team/app0", "team/app1"]);
            assert.strictEqual((await request(v2("team/app0/tags/list"), { ca: reg.caPem, auth: as(user) })).status, 200);
            const accept = { accept: "application/vnd.oci.image.manifest.v1+json" };
            assert.strictEqual(
                (await request(v2(`team/app0/manifests/${images[0].manifestDigest}`), { ca: reg.caPem, auth: as(user), method: "HEAD", headers: accept }))
                    .status,
                200,
            );
            assert.strictEqual(
                (await request(v2(`team/app0/blobs/${images[0].layers[0].digest}`), { ca: reg.caPem, auth: as(user), method: "HEAD" })).status,
                200,
            );
        }
    });

    it("every write a pull-only user tries is refused with 401, and the storage is byte for byte unchanged", async () => {
        const manifest = await request(v2("team/app0/manifests/v1"), {
            ca: reg.caPem,
            auth: as("admin"),
            headers: { accept: "application/vnd.oci.image.manifest.v1+json" },
        });
        assert.strictEqual(manifest.status, 200);
        // An upload session a push user opened: a pull user may not write into it either.
        const session = await request(v2("team/app0/blobs/uploads/"), { ca: reg.caPem, auth: as("admin"), method: "POST" });
        assert.strictEqual(session.status, 202);
        const location = new URL(String(session.headers.location), reg.url).toString();
        const before = snapshot(dataDir);
        const blob = crypto.randomBytes(1024);
        const blobDigest = `sha256:${crypto.createHash("sha256").update(blob).digest("hex")}`;
        const writes: [string, string, Record<string, string>?, (string | Buffer)?][] = [
            ["POST", v2("team/app0/blobs/uploads/")],
            ["POST", v2(`team/new/blobs/uploads/?digest=${blobDigest}`), { "content-type": "application/octet-stream" }, blob],
            ["POST", v2(`team/new/blobs/uploads/?mount=${images[0].layers[0].digest}&from=team/app0`)],
            ["PATCH", location, { "content-type": "application/octet-stream" }, blob],
            ["PUT", `${location}&digest=${blobDigest}`, { "content-type": "application/octet-stream" }, blob],
            ["PUT", v2("team/app0/manifests/v1"), { "content-type": "application/vnd.oci.image.manifest.v1+json" }, manifest.body],
            ["PUT", v2("team/app1/manifests/v1"), { "content-type": "application/vnd.oci.image.manifest.v1+json" }, manifest.body],
            ["DELETE", v2(`team/app0/manifests/${images[0].manifestDigest}`)],
            ["DELETE", v2(`team/app0/blobs/${images[0].layers[0].digest}`)],
            ["DELETE", location],
            ["PUT", v2("_catalog"), {}, "{}"],
            ["DELETE", v2("_catalog")],
            ["POST", v2("_catalog")],
            ["OPTIONS", v2("team/app0/manifests/v1")],
        ];
        for (const user of pullers) {
            const got = [];
            for (const [method, url, headers, body] of writes) {
                const r = await request(url, { ca: reg.caPem, auth: as(user), method, headers, body });
                got.push(`${method} ${url.replace(reg.url, "")}: ${r.status}`);
            }
            assert.deepStrictEqual(
                got,
                writes.map(([method, url]) => `${method} ${url.replace(reg.url, "")}: 401`),
                user,
            );
            // And a whole push with skopeo.
            const image = buildImage([2048], `by-${user}`);
            scratch.push(image.dir);
            const pushed = await push(image, `${reg.host}/team/app0:v1`, reg.access(user));
            assert.notStrictEqual(pushed.code, 0, `${user} pushed`);
            assert.match(pushed.stderr, /unauthorized|authentication required|401/i);
        }
        assert.deepStrictEqual(snapshot(dataDir), before, "the storage changed");
        assert.strictEqual((await request(location, { ca: reg.caPem, auth: as("admin"), method: "DELETE" })).status, 204, "the push user cancels its session");
        assert.deepStrictEqual(await pullAndCompare(images[0], `${reg.host}/team/app0:v1`, reg.access("reader")), []);
    });

    it("push users push (a second push user too) and delete", async () => {
        const image = buildImage([8192, MiB], "v3");
        scratch.push(image.dir);
        for (const user of ["admin", "ci"]) {
            const pushed = await push(image, `${reg.host}/team/by-${user}:v1`, reg.access(user));
            assert.strictEqual(pushed.code, 0, pushed.stderr);
            assert.deepStrictEqual(await pullAndCompare(image, `${reg.host}/team/by-${user}:v1`, reg.access("reader")), []);
        }
        const del = await request(v2(`team/by-ci/manifests/${image.manifestDigest}`), { ca: reg.caPem, auth: as("ci"), method: "DELETE" });
        assert.strictEqual(del.status, 202);
        const gone = await request(v2(`team/by-ci/manifests/${image.manifestDigest}`), { ca: reg.caPem, auth: as("reader"), method: "HEAD" });
        assert.strictEqual(gone.status, 404);
    });

    it("no credentials, a wrong password, an unknown user or another user's password: 401, with the registry's challenge and API version", async () => {
        for (const method of ["GET", "HEAD", "POST", "PUT", "DELETE"]) {
            const none = await request(v2(""), { ca: reg.caPem, method });
            assert.strictEqual(none.status, 401, method);
            assert.strictEqual(none.headers["www-authenticate"], 'Basic realm="registry"');
            assert.strictEqual(none.headers["docker-distribution-api-version"], "registry/2.0");
        }
        const cases: [string, string][] = [
            ["admin", `${reg.users.admin}x`],
            ["reader", `${reg.users.reader}x`],
            ["mallory", reg.users.admin],
            ["admin", reg.users.reader],
            ["reader", ""],
        ];
        for (const [username, password] of cases) {
            assert.strictEqual((await request(v2("_catalog"), { ca: reg.caPem, auth: { username, password } })).status, 401, username);
            assert.strictEqual(
                (await request(v2("team/x/blobs/uploads/"), { ca: reg.caPem, auth: { username, password }, method: "POST" })).status,
                401,
                username,
            );
        }
        // A successful answer carries the registry's own header once.
        const ok = await request(v2(""), { ca: reg.caPem, auth: as("reader") });
        assert.strictEqual(ok.status, 200);
        assert.strictEqual(ok.headers["docker-distribution-api-version"], "registry/2.0");
    });

    it("nothing reaches the registry's API around the gate: its process listens on the pod's socket and the debug port only", async () => {
        const replica = reg.replicas[0];
        const seen = listeners(replica.proc.pid);
        assert.deepStrictEqual(seen, { tcp: [replica.debugPort], unix: ["/run/registry/registry.sock"] });
        // The socket is in the pod's `sockets` emptyDir, the registry's (uid 1000), owner-writable only.
        const sock = fs.statSync(path.join(replica.volumes.get("sockets") ?? "", "registry.sock"));
        assert.ok(sock.isSocket());
        if (process.getuid?.() === 0) {
            assert.strictEqual(sock.uid, 1000);
        }
        assert.strictEqual(sock.mode & 0o022, 0, "no one but its owner (the pod's user) may connect");
        // The debug port serves health and metrics, not the API.
        for (const p of ["/v2/", "/v2/_catalog", `/v2/team/app0/manifests/v1`]) {
            assert.strictEqual((await request(`${replica.debugUrl}${p}`)).status, 404, p);
        }
        // The gate's own listener is the pod's only API port.
        assert.deepStrictEqual(listeners(replica.gate?.pid ?? -1).tcp, [replica.port]);
    });

    it("no spelling of a path gets an anonymous request to the API: nginx normalises it first, and anything it maps to `/` reaches the registry as `/`", async () => {
        const paths = [
            "/v2/_catalog",
            "//v2/_catalog",
            "/v2/../v2/_catalog",
            "/./v2/_catalog",
            "/%76%32/_catalog",
            "/v2/%2e%2e/v2/_catalog",
            "/v2/team/app0/tags/list",
        ];
        for (const p of paths) {
            const r = await request(`${reg.url}${p}`, { ca: reg.caPem });
            assert.strictEqual(r.status, 401, p);
        }
        // `/` is the registry's liveness answer (empty); paths nginx reduces to `/` get that, not the API.
        for (const p of ["/", "/v2/..", "/v2/%2e%2e/", "/x/../"]) {
            const r = await request(`${reg.url}${p}`, { ca: reg.caPem });
            assert.deepStrictEqual([r.status, r.body], [200, ""], p);
        }
        assert.strictEqual((await request(`${reg.url}/`, { ca: reg.caPem, method: "POST" })).status, 403);
        // nginx's own redirect to the location with its slash.
        const bare = await request(`${reg.url}/v2`, { ca: reg.caPem });
        assert.deepStrictEqual([bare.status, new URL(String(bare.headers.location)).pathname], [301, "/v2/"]);
        for (const p of ["/debug/health", "/metrics", "/debug/vars"]) {
            assert.strictEqual((await request(`${reg.url}${p}`, { ca: reg.caPem })).status, 404, p);
        }
    });

    it("the gate remembers a passed check per role and credentials, in its memory emptyDir, and never a failed one; its check locations are not the API", async () => {
        const cacheDir = reg.replicas[0].volumes.get("gate-auth-cache") ?? "";
        const entries = () => fs.readdirSync(cacheDir, { recursive: true, withFileTypes: true }).filter((e) => e.isFile()).length;
        const before = entries();
        assert.ok(before > 0, "the requests so far left no remembered check");
        // A new password of a known user: its failure is not remembered, and stays a failure.
        for (let i = 0; i < 3; i++) {
            assert.strictEqual((await request(v2(""), { ca: reg.caPem, auth: { username: "reader", password: `${reg.users.reader}y` } })).status, 401);
        }
        assert.strictEqual(entries(), before, "a failed check was remembered");
        // A pull user's remembered read does not let it write, and a push user's write is remembered apart.
        assert.strictEqual((await request(v2(""), { ca: reg.caPem, auth: as("reader") })).status, 200);
        assert.strictEqual((await request(v2("team/x/blobs/uploads/"), { ca: reg.caPem, auth: as("reader"), method: "POST" })).status, 401);
        const session = await request(v2("team/x/blobs/uploads/"), { ca: reg.caPem, auth: as("ci"), method: "POST" });
        assert.strictEqual(session.status, 202);
        assert.strictEqual(
            (await request(new URL(String(session.headers.location), reg.url).toString(), { ca: reg.caPem, auth: as("ci"), method: "DELETE" })).status,
            204,
        );
        // The internal location answers only subrequests; the checks proxy to nothing.
        assert.strictEqual((await request(`${reg.url}/_gate/auth`, { ca: reg.caPem, auth: as("admin") })).status, 404);
        const check = await request(`${reg.url}/_gate/check/push`, { ca: reg.caPem, auth: as("admin") });
        assert.deepStrictEqual([check.status, check.headers["content-type"]], [200, "image/gif"]);
        assert.strictEqual(check.headers["docker-distribution-api-version"], undefined, "a check reached the registry");
    });

    it("`pullDockerConfigJson` pulls, and cannot push", async () => {
        const authFile = path.join(workDir("pull-auth"), "auth.json");
        scratch.push(path.dirname(authFile));
        fs.writeFileSync(authFile, String(reg.run.outputs.pullDockerConfigJson), { mode: 0o600 });
        const access = { certDir: reg.certDir, authFile };
        assert.deepStrictEqual(await pullAndCompare(images[1], `${reg.host}/team/app1:v1`, access), []);
        const pushed = await push(images[1], `${reg.host}/team/copy:v1`, access);
        assert.notStrictEqual(pushed.code, 0);
        const { dir, result } = await pull(`${reg.host}/team/copy:v1`, reg.access("admin"));
        fs.rmSync(dir, { recursive: true, force: true });
        assert.notStrictEqual(result.code, 0, "the refused push left no image");
    });
});

describe("roles end to end: two replicas on shared storage, each pod with its gate", () => {
    let reg: RegistryDeployment;
    let image: OciImage;
    before(async () => {
        reg = await startRegistry({
            config: { storageAccessMode: "ReadWriteMany", replicas: 2, blobDescriptorCache: "inmemory", storageDeleteEnabled: false },
        });
        image = buildImage([4096, 2 * MiB], "ha");
    });
    after(async () => {
        await reg?.remove();
        if (image !== undefined) {
            fs.rmSync(image.dir, { recursive: true, force: true });
        }
    });

    it("pushes through the Service's stand-in, and the pull user pulls from each pod but writes through neither", async () => {
        assert.strictEqual(reg.replicas.length, 2);
        const pushed = await push(image, `${reg.host}/ha/app:v1`, reg.access("admin"));
        assert.strictEqual(pushed.code, 0, pushed.stderr);
        for (const r of reg.replicas) {
            assert.deepStrictEqual(await pullAndCompare(image, `127.0.0.1:${r.port}/ha/app:v1`, reg.access("puller")), [], `pod ${r.index}`);
            const write = await request(`${r.url}/v2/ha/app/blobs/uploads/`, {
                ca: reg.caPem,
                auth: { username: "puller", password: reg.users.puller },
                method: "POST",
            });
            assert.strictEqual(write.status, 401, `pod ${r.index}`);
        }
    });
});

describe("roles end to end: `gateAuthCacheSeconds` 0, every request checked by `auth_basic` itself", () => {
    let reg: RegistryDeployment;
    let image: OciImage;
    before(async () => {
        reg = await startRegistry({ config: { gateAuthCacheSeconds: 0 } });
        image = buildImage([4096, MiB], "nocache");
    });
    after(async () => {
        await reg?.remove();
        if (image !== undefined) {
            fs.rmSync(image.dir, { recursive: true, force: true });
        }
    });

    it("the push user pushes, the pull user pulls and cannot write, wrong credentials get 401, and nothing is remembered", async () => {
        const pushed = await push(image, `${reg.host}/nocache/app:v1`, reg.access("admin"));
        assert.strictEqual(pushed.code, 0, pushed.stderr);
        assert.deepStrictEqual(await pullAndCompare(image, `${reg.host}/nocache/app:v1`, reg.access("puller")), []);
        const write = await request(`${reg.url}/v2/nocache/app/blobs/uploads/`, {
            ca: reg.caPem,
            auth: { username: "puller", password: reg.users.puller },
            method: "POST",
        });
        assert.strictEqual(write.status, 401);
        const wrong = await request(`${reg.url}/v2/`, { ca: reg.caPem, auth: { username: "admin", password: `${reg.users.admin}x` } });
        assert.deepStrictEqual([wrong.status, wrong.headers["www-authenticate"]], [401, 'Basic realm="registry"']);
        const cacheDir = reg.replicas[0].volumes.get("gate-auth-cache") ?? "";
        assert.deepStrictEqual(fs.readdirSync(cacheDir), []);
        assert.strictEqual(
            (await request(`${reg.url}/_gate/check/push`, { ca: reg.caPem, auth: { username: "admin", password: reg.users.admin } })).status,
            404,
        );
    });
});
