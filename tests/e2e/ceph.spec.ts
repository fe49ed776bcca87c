// Ceph end to end, for real: a single-node Ceph (mon, memstore OSD, radosgw) on 127.0.0.1; the
// program's dynamic resources are created, updated, refreshed and deleted by their serialised
// providers (as the Pulumi engine would run them) against RGW's Admin Ops API; then the registry
// pod the program declares runs with the provisioned credentials, over Swift (2.8) and S3 (3.x
// and 2.8), and images go through it with every digest checked.
import * as assert from "assert";

import { engineRead } from "../support/dynamic-provider";
import { ofType, one, StackConfig } from "../support/program";
import { secretValue } from "../support/pod";
import { RgwAdmin, send, swiftAuth } from "../../components/storage/ceph/admin-ops";
import { BUCKET, cephConfig as cephStackConfig, CREDS, destroy, provision, Provisioned, startOn, update } from "../harness/ceph-stack";
import { RegistryDeployment } from "../harness/harness";
import { buildImage, MiB, OciImage, pullAndCompare, push } from "../harness/oci";
import { CephPeer, startCeph } from "../harness/peers/ceph";
import { stopAll } from "../harness/procs";

let ceph: CephPeer;

/** The stack config of a registry on this Ceph. */
function cephConfig(extra: StackConfig): StackConfig {
    return cephStackConfig(ceph, extra);
}

async function userInfo(uid: string): Promise<Record<string, any>> {
    return JSON.parse(await ceph.radosgwAdmin(["user", "info", `--uid=${uid}`])) as Record<string, any>;
}

/** A Swift request with a token, on the storage URL RGW handed out. */
async function swiftRequest(storageUrl: string, token: string, method: string, path: string) {
    const u = new URL(`${storageUrl}${path}`);
    return send({
        protocol: "http:",
        hostname: u.hostname,
        port: Number(u.port),
        method,
        path: `${u.pathname}${u.search}`,
        headers: { "X-Auth-Token": token },
    });
}

/** An S3 request signed with a key pair. */
function s3(accessKey: string, secretKey: string): RgwAdmin {
    return new RgwAdmin({ url: ceph.rgwUrl, accessKey, secretKey });
}

describe("Ceph RGW end to end", () => {
    before(async function () {
        this.timeout(180000);
        ceph = await startCeph();
    });

    after(async () => {
        await stopAll();
        await ceph?.stop();
    });

    describe("Ceph: cephSwift on distribution 2.8, credentials through Admin Ops", () => {
        let p: Provisioned;
        let reg: RegistryDeployment | undefined;
        let image: OciImage;
        const uid = "registry-test";

        before(async () => {
            p = await provision(cephConfig({ storageKind: "cephSwift" }));
            reg = await startOn(p);
            // Several layers, one above the 10 MiB chunk size (a segmented Swift upload).
            image = buildImage([2048, 3 * MiB, 17 * MiB]);
        });
        after(async () => reg?.stop());

        it("created the RGW user, the subuser <uid>:registry with full access and exactly one Swift key", async () => {
            assert.strictEqual(p.creds.id, `${uid}:registry`);
            assert.strictEqual(p.creds.outs.userCreated, true);
            const info = await userInfo(uid);
            assert.deepStrictEqual(info.subusers, [{ id: `${uid}:registry`, permissions: "full-control" }]);
            assert.deepStrictEqual(
                info.swift_keys.map((k: { user: string; secret_key: string }) => [k.user, k.secret_key]),
                [[`${uid}:registry`, p.creds.outs.secretKey]],
            );
            // The user got no key of its own: only the subuser authenticates.
            assert.deepStrictEqual(
                info.keys.filter((k: { user: string }) => k.user === uid),
                [],
            );
        });

        it("the key reaches the registry only through the Kubernetes Secret (secretKeyRef), never config.yml", () => {
            const pod = reg!.pod;
            const env = (pod.container.env as Record<string, any>[]).find((e) => e.name === "REGISTRY_STORAGE_SWIFT_PASSWORD");
            const ref = env?.valueFrom?.secretKeyRef;
            assert.ok(ref !== undefined, "REGISTRY_STORAGE_SWIFT_PASSWORD must come from a secretKeyRef");
            assert.strictEqual(secretValue(pod.secrets.get(ref.name)!, ref.key), p.creds.outs.secretKey);
            assert.ok(!String(pod.configMap.inputs.data["config.yml"]).includes(p.creds.outs.secretKey));
            assert.deepStrictEqual(pod.config.storage.swift, {
                authurl: `${ceph.rgwUrl}/auth/v1.0`,
                authversion: 1,
                username: `${uid}:registry`,
                container: uid,
                chunksize: 10 * MiB,
                insecureskipverify: false,
            });
            assert.deepStrictEqual(pod.config.storage.redirect, { disable: true });
        });

        it("pushes a multi-layer image (one layer above chunksize) and pulls it back with identical digests; the blobs are in the registry's container", async () => {
            const ref = `${reg!.host}/team/app:v1`;
            const pushed = await push(image, ref, reg!.access());
            assert.strictEqual(pushed.code, 0, pushed.stderr);
            assert.deepStrictEqual(await pullAndCompare(image, ref, reg!.access()), []);
            const auth = await swiftAuth(ceph.rgwUrl, `${uid}:registry`, p.creds.outs.secretKey);
            assert.ok(auth.ok);
            const listing = await swiftRequest(auth.storageUrl, auth.token, "GET", `/${uid}?prefix=files/docker/registry/v2/blobs/&format=json`);
            assert.strictEqual(listing.status, 200, listing.body);
            const names = (JSON.parse(listing.body) as { name: string }[]).map((o) => o.name);
            for (const layer of image.layers) {
                assert.ok(
                    names.some((n) => n.includes(layer.digest.slice("sha256:".length))),
                    `layer ${layer.digest} not in container ${uid}`,
                );
            }
        });

        it("a wrong Swift key is refused with 401", async () => {
            const wrong = await swiftAuth(ceph.rgwUrl, `${uid}:registry`, `${p.creds.outs.secretKey}x`);
            assert.deepStrictEqual(wrong, { ok: false, status: 401 });
        });

        it("a second registry gets its own user and container, and its credentials cannot read the first one's", async () => {
            const other = await provision(cephConfig({ storageKind: "cephSwift" }), "other");
            try {
                assert.strictEqual(other.creds.id, "registry-other:registry");
                assert.strictEqual(other.bucket.id, "registry-other");
                const auth = await swiftAuth(ceph.rgwUrl, "registry-other:registry", other.creds.outs.secretKey);
                assert.ok(auth.ok);
                const theirs = await swiftRequest(auth.storageUrl, auth.token, "GET", `/${uid}?format=json`);
                assert.strictEqual(theirs.status, 403, `reading ${uid} as registry-other answered ${theirs.status}: ${theirs.body}`);
                const own = await swiftRequest(auth.storageUrl, auth.token, "GET", "/registry-other?format=json");
                assert.deepStrictEqual([own.status, own.body], [200, "[]"], "its own, empty, container");
            } finally {
                await destroy(other);
            }
        });

        it("rotation: cephKeyGeneration 2 makes subuser <uid>:registry-g2 with a new key; once the old resource is deleted the old subuser is refused, and the registry restarted on the new Secret serves the image", async () => {
            const old = { ...p.creds.outs };
            const r = await update(p, { ...p.config, cephKeyGeneration: 2 });
            assert.ok(r.credsChanged);
            p = r.provisioned;
            assert.strictEqual(p.creds.outs.fullSubuser, `${uid}:registry-g2`);
            assert.notStrictEqual(p.creds.outs.secretKey, old.secretKey);
            // RGW answers 403 for a subuser it no longer knows.
            assert.deepStrictEqual(await swiftAuth(ceph.rgwUrl, old.fullSubuser, old.secretKey), { ok: false, status: 403 });
            assert.ok((await swiftAuth(ceph.rgwUrl, p.creds.outs.fullSubuser, p.creds.outs.secretKey)).ok);
            assert.deepStrictEqual((await userInfo(uid)).subusers, [{ id: `${uid}:registry-g2`, permissions: "full-control" }]);
            assert.strictEqual(reg!.pod.config.storage.swift.username, `${uid}:registry`);
            await reg!.stop();
            reg = await startOn(p);
            assert.strictEqual(reg.pod.config.storage.swift.username, `${uid}:registry-g2`);
            assert.deepStrictEqual(await pullAndCompare(image, `${reg.host}/team/app:v1`, reg.access()), []);
        });

        it("an up with nothing changed changes nothing (the key is live)", async () => {
            const r = await update(p, p.config);
            assert.strictEqual(r.credsChanged, false);
            assert.strictEqual(r.provisioned.creds.outs.secretKey, p.creds.outs.secretKey);
        });

        it("repair: a subuser deleted outside the stack shows as a missing key on refresh, and the next up recreates it", async () => {
            const subuser = p.creds.outs.fullSubuser as string;
            await ceph.radosgwAdmin(["subuser", "rm", `--uid=${uid}`, `--subuser=${subuser}`, "--purge-keys"]);
            const refreshed = await engineRead(one(p.run, CREDS), p.creds.id, p.creds.outs);
            assert.strictEqual(refreshed.secretKey, "");
            // Without a refresh, diff itself asks RGW and sees the key is gone.
            const r = await update(p, p.config);
            assert.ok(r.credsChanged);
            p = r.provisioned;
            assert.ok((await swiftAuth(ceph.rgwUrl, subuser, p.creds.outs.secretKey)).ok);
            assert.deepStrictEqual((await userInfo(uid)).subusers, [{ id: subuser, permissions: "full-control" }]);
        });

        it("repair: a key changed outside the stack is replaced by one the stack records", async () => {
            await ceph.radosgwAdmin(["key", "create", `--subuser=${p.creds.outs.fullSubuser}`, "--key-type=swift", "--gen-secret"]);
            const r = await update(p, p.config);
            assert.ok(r.credsChanged);
            p = r.provisioned;
            const info = await userInfo(uid);
            assert.deepStrictEqual(
                info.swift_keys.map((k: { secret_key: string }) => k.secret_key),
                [p.creds.outs.secretKey],
            );
            await reg!.stop();
            reg = await startOn(p);
            assert.deepStrictEqual(await pullAndCompare(image, `${reg.host}/team/app:v1`, reg.access()), []);
        });

        it("destroy removes the subuser and its key (Swift auth then answers 403); the user and the images stay", async () => {
            await reg!.stop();
            reg = undefined;
            assert.strictEqual(one(p.run, BUCKET).options.retainOnDelete, true);
            await destroy(p);
            // RGW answers 403 for a subuser it no longer knows (401 is for a wrong key of a known one).
            assert.deepStrictEqual(await swiftAuth(ceph.rgwUrl, p.creds.outs.fullSubuser, p.creds.outs.secretKey), { ok: false, status: 403 });
            const info = await userInfo(uid);
            assert.deepStrictEqual(info.subusers, []);
            assert.deepStrictEqual(info.swift_keys, []);
            const stats = JSON.parse(await ceph.radosgwAdmin(["bucket", "stats", `--bucket=${uid}`])) as {
                owner: string;
                usage: Record<string, { num_objects: number }>;
            };
            assert.strictEqual(stats.owner, uid);
            assert.ok((stats.usage["rgw.main"]?.num_objects ?? 0) > 0, JSON.stringify(stats.usage));
        });
    });

    for (const line of [
        { name: "distribution 3.x", stack: "s3three", extra: {} },
        { name: "distribution 2.8", stack: "s3two", extra: { imageTag: "2.8.3" } },
    ]) {
        describe(`Ceph: cephS3 on ${line.name}`, () => {
            let p: Provisioned;
            let reg: RegistryDeployment;
            const uid = `registry-${line.stack}`;

            before(async () => {
                p = await provision(cephConfig({ storageKind: "cephS3", ...line.extra }), line.stack);
                reg = await startOn(p);
            });
            after(async () => {
                await reg?.stop();
                await destroy(p);
            });

            it("the subuser has one S3 key pair, and the bucket was created by the provider, owned by the registry's user", async () => {
                const info = await userInfo(uid);
                const keys = info.keys.filter((k: { user: string }) => k.user === `${uid}:registry`);
                assert.deepStrictEqual(
                    keys.map((k: { access_key: string }) => k.access_key),
                    [p.creds.outs.accessKey],
                );
                const stats = JSON.parse(await ceph.radosgwAdmin(["bucket", "stats", `--bucket=${uid}`])) as { owner: string };
                assert.strictEqual(stats.owner, uid);
                assert.deepStrictEqual(reg.pod.config.storage.s3, {
                    region: "us-east-1",
                    regionendpoint: ceph.rgwUrl,
                    bucket: uid,
                    rootdirectory: "/files",
                    forcepathstyle: true,
                    v4auth: true,
                    secure: false,
                    skipverify: false,
                    chunksize: 10 * MiB,
                });
            });

            it("pushes a multi-layer image (one layer above chunksize) and pulls it back with identical digests", async () => {
                const image = buildImage([1024, 2 * MiB, 12 * MiB]);
                const ref = `${reg.host}/s3/app:v1`;
                const pushed = await push(image, ref, reg.access());
                assert.strictEqual(pushed.code, 0, pushed.stderr);
                assert.deepStrictEqual(await pullAndCompare(image, ref, reg.access()), []);
                const listing = await s3(p.creds.outs.accessKey, p.creds.outs.secretKey).call("list", "GET", `/${uid}`, [
                    ["prefix", "files/docker/registry/v2/blobs/"],
                ]);
                for (const layer of image.layers) {
                    assert.ok(listing.body.includes(layer.digest.slice("sha256:".length)), `layer ${layer.digest} not in bucket ${uid}`);
                }
            });

            it("rotation replaces the S3 key pair on subuser <uid>:registry-g7: the old access key is refused (403 InvalidAccessKeyId)", async () => {
                const old = { ...p.creds.outs };
                const r = await update(p, { ...p.config, cephKeyGeneration: 7 });
                p = r.provisioned;
                assert.strictEqual(p.creds.outs.fullSubuser, `${uid}:registry-g7`);
                assert.notStrictEqual(p.creds.outs.accessKey, old.accessKey);
                await assert.rejects(s3(old.accessKey, old.secretKey).call("list", "GET", `/${uid}`, []), /InvalidAccessKeyId/);
                const ok = await s3(p.creds.outs.accessKey, p.creds.outs.secretKey).call("list", "GET", `/${uid}`, []);
                assert.strictEqual(ok.status, 200);
            });
        });
    }

    describe("Ceph: isolation and errors", () => {
        it("another registry's S3 key cannot list this registry's bucket (403 AccessDenied)", async () => {
            const a = await provision(cephConfig({ storageKind: "cephS3" }), "iso-a");
            const b = await provision(cephConfig({ storageKind: "cephS3" }), "iso-b");
            try {
                await assert.rejects(s3(b.creds.outs.accessKey, b.creds.outs.secretKey).call("list", "GET", "/registry-iso-a", []), /403 AccessDenied/);
                const own = await s3(a.creds.outs.accessKey, a.creds.outs.secretKey).call("list", "GET", "/registry-iso-a", []);
                assert.strictEqual(own.status, 200);
            } finally {
                await destroy(a);
                await destroy(b);
            }
        });

        it("a bucket name another RGW user owns is refused with a message naming cephBucket", async () => {
            const a = await provision(cephConfig({ storageKind: "cephS3" }), "owner-a");
            try {
                await assert.rejects(provision(cephConfig({ storageKind: "cephS3", cephBucket: "registry-owner-a" }), "owner-b"), (e: Error) => {
                    assert.match(
                        e.message,
                        /create S3 bucket registry-owner-a: the bucket belongs to another RGW user \(409 BucketAlreadyExists\); each registry needs its own: set `cephBucket` to an unused name/,
                    );
                    return true;
                });
            } finally {
                await destroy(a);
                // owner-b got its credentials before the bucket failed.
                await ceph.radosgwAdmin(["user", "rm", "--uid=registry-owner-b", "--purge-data"]);
            }
        });

        it("a wrong admin secret key: 403 SignatureDoesNotMatch, named as such", async () => {
            await assert.rejects(provision(cephConfig({ storageKind: "cephSwift", cephAdminSecretKey: `${ceph.adminSecretKey}x` }), "badsig"), (e: Error) => {
                assert.strictEqual(
                    e.message,
                    `read RGW user registry-badsig: RGW at ${ceph.rgwUrl} rejected the request signature (403 SignatureDoesNotMatch): \`cephAdminSecretKey\` does not belong to \`cephAdminAccessKey\``,
                );
                return true;
            });
        });

        it("an unknown admin access key: 403 InvalidAccessKeyId", async () => {
            await assert.rejects(
                provision(cephConfig({ storageKind: "cephSwift", cephAdminAccessKey: "NOSUCHKEY0000000" }), "badak"),
                /403 InvalidAccessKeyId\): check `cephAdminAccessKey`/,
            );
        });

        it("an admin user without the users caps: 403 AccessDenied, naming the caps to add", async () => {
            await ceph.radosgwAdmin([
                "user",
                "create",
                "--uid=nocaps",
                "--display-name=nocaps",
                "--access-key=NOCAPSACCESSKEY00000",
                "--secret-key=nocapssecret",
            ]);
            await assert.rejects(
                provision(cephConfig({ storageKind: "cephSwift", cephAdminAccessKey: "NOCAPSACCESSKEY00000", cephAdminSecretKey: "nocapssecret" }), "nocaps"),
                /403 AccessDenied\): the admin user needs the caps `users=\*` and `buckets=\*`/,
            );
        });

        it("deleteStorageOnDestroy: destroy deletes the bucket with its objects, and the user the stack created", async () => {
            const p = await provision(cephConfig({ storageKind: "cephS3", deleteStorageOnDestroy: true }), "gone");
            assert.strictEqual(one(p.run, BUCKET).options.retainOnDelete, false);
            await s3(p.creds.outs.accessKey, p.creds.outs.secretKey).call("put", "PUT", "/registry-gone/some/object", []);
            await destroy(p);
            await assert.rejects(ceph.radosgwAdmin(["user", "info", "--uid=registry-gone"]), /could not fetch user info|no user info saved/);
            await assert.rejects(ceph.radosgwAdmin(["bucket", "stats", "--bucket=registry-gone"]), /failure|not found|No such/i);
            assert.strictEqual(ofType(p.run, CREDS).length, 1);
        });
    });
});
