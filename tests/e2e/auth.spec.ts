// htpasswd end to end on both distribution lines: the dev stack's registry pod with the hashes
// the program makes at the default bcrypt cost (every user logs in; no credentials, a wrong
// password and an unknown user get 401), and what the gate's reader, nginx's auth_basic through
// crypt(3), makes of the bcrypt prefixes and costs. The nginx here is Debian's, on Debian's
// libxcrypt, as in the Debian-based gate image; musl (Alpine images) differs: no `$2b$`, and no
// cost above 11 (components/registry/gate.ts refuses that pairing).
import * as assert from "assert";
import * as bcrypt from "bcryptjs";
import * as fs from "fs";
import * as path from "path";

import { defaultOf } from "../../config";
import { loadStackFile, stackFiles } from "../support/program";
import { request } from "../harness/http";
import { RegistryDeployment, startRegistry } from "../harness/harness";
import { buildImage, push } from "../harness/oci";
import { stopAll } from "../harness/procs";

after(stopAll);

const LINES: { name: string; config: Record<string, unknown> }[] = [
    { name: "3.x (go install, pinned)", config: {} },
    { name: "2.8 (Debian)", config: { imageTag: "2.8.3" } },
];

/** The gate's htpasswd file of who may read (every user): the auth Secret's volume, as the harness materialised it. */
function mountedHtpasswd(reg: RegistryDeployment): string {
    const file = path.join(reg.replicas[0].volumes.get("auth") ?? "", "pull.htpasswd");
    assert.ok(fs.existsSync(file), `no htpasswd at ${file}`);
    return file;
}

/** Rewrites the mounted htpasswd (nginx reads it on every request). */
function rewrite(file: string, content: string): void {
    const mtime = fs.statSync(file).mtime.getTime() / 1000;
    fs.chmodSync(file, 0o640);
    fs.writeFileSync(file, content);
    // The work disk may keep whole seconds: a later second makes sure the registry sees a change.
    fs.utimesSync(file, mtime + 10, mtime + 10);
}

for (const line of LINES) {
    describe(`htpasswd end to end: distribution ${line.name}`, () => {
        let reg: RegistryDeployment;
        const v2 = (username: string, password: string) => request(`${reg.url}/v2/`, { ca: reg.caPem, auth: { username, password } });
        before(async () => {
            const dev = stackFiles().dev;
            assert.ok(dev !== undefined, "Pulumi.dev.yaml");
            reg = await startRegistry({ config: { ...loadStackFile(dev), ...line.config } });
        });
        after(async () => reg?.remove());

        it(`mounts one \`$2a$\` line per user of the dev stack at the default cost (${String(defaultOf("htpasswdBcryptCost"))}), and every user logs in; the push users push`, async () => {
            const lines = fs.readFileSync(mountedHtpasswd(reg), "utf8").trim().split("\n");
            assert.deepStrictEqual(
                lines.map((l) => l.split(":")[0]),
                ["admin", "ci", "puller"],
            );
            const cost = String(defaultOf("htpasswdBcryptCost")).padStart(2, "0");
            for (const l of lines) {
                assert.match(l.slice(l.indexOf(":") + 1), new RegExp(`^\\$2a\\$${cost}\\$[./A-Za-z0-9]{53}$`));
            }
            for (const [username, password] of Object.entries(reg.users)) {
                assert.strictEqual((await v2(username, password)).status, 200, username);
                if (username === "puller") {
                    continue; // pull-only: roles.spec.ts
                }
                const pushed = await push(buildImage([1024], `by-${username}`), `${reg.host}/team/${username}:v1`, reg.access(username));
                assert.strictEqual(pushed.code, 0, pushed.stderr);
            }
        });

        it("answers 401 without credentials, with a wrong password and for an unknown user", async () => {
            const none = await request(`${reg.url}/v2/`, { ca: reg.caPem });
            assert.strictEqual(none.status, 401);
            assert.strictEqual(none.headers["www-authenticate"], 'Basic realm="registry"');
            assert.strictEqual((await v2(reg.username, `${reg.password}x`)).status, 401);
            assert.strictEqual((await v2("mallory", reg.password)).status, 401);
        });

        it("the gate reads `$2a$`, `$2b$` and `$2y$` hashes alike, at costs 4, 10 and 12; refuses cost 3 and a version above 2", async () => {
            const file = mountedHtpasswd(reg);
            const original = fs.readFileSync(file, "utf8");
            const password = "Passw0rdOfTwentyTwoChr";
            // One computation, relabelled: the minor letter does not change bcrypt's output for passwords under 255 bytes.
            const at4 = bcrypt.hashSync(password, bcrypt.genSaltSync(4)).slice(4);
            const at10 = bcrypt.hashSync(password, bcrypt.genSaltSync(10)).slice(4);
            const at12 = bcrypt.hashSync(password, bcrypt.genSaltSync(12)).slice(4);
            const lines: Record<string, { hash: string; status: number }> = {
                "a-4": { hash: `$2a$${at4}`, status: 200 },
                "b-4": { hash: `$2b$${at4}`, status: 200 },
                "y-4": { hash: `$2y$${at4}`, status: 200 },
                "a-10": { hash: `$2a$${at10}`, status: 200 },
                "y-10": { hash: `$2y$${at10}`, status: 200 },
                // libxcrypt goes on past musl's 11.
                "b-12": { hash: `$2b$${at12}`, status: 200 },
                // crypt(3) refuses a cost below 4 and a major version above 2.
                "a-3": { hash: `$2a$03$${at4.slice(3)}`, status: 401 },
                "v3-4": { hash: `$3a$${at4}`, status: 401 },
            };
            try {
                rewrite(
                    file,
                    original +
                        Object.entries(lines)
                            .map(([user, l]) => `${user}:${l.hash}\n`)
                            .join(""),
                );
                const got: Record<string, number> = {};
                for (const user of Object.keys(lines)) {
                    got[user] = (await v2(user, password)).status;
                }
                assert.deepStrictEqual(got, Object.fromEntries(Object.entries(lines).map(([u, l]) => [u, l.status])));
                assert.strictEqual((await v2(reg.username, reg.password)).status, 200, "the program's own lines still work");
            } finally {
                rewrite(file, original);
            }
        });
    });
}
