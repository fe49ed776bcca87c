// AWS area, end to end. The Swift all-in-one peer (tests/harness/peers/swift.ts) stands
// in for S3 through its s3api middleware; the registry pod is the one the `aws` stack
// (Pulumi.aws.yaml) declares, pointed at Swift through the program's own S3-compatible keys.
import * as assert from "assert";
import * as crypto from "crypto";
import * as path from "path";

import { loadStackFile, ROOT, StackConfig } from "../support/program";
import { RegistryDeployment, startRegistry } from "../harness/harness";
import { request } from "../harness/http";
import { buildImage, MiB, OciImage, pullAndCompare, push } from "../harness/oci";
import { stopAll, waitFor } from "../harness/procs";
import { startSwift, SwiftPeer } from "../harness/peers/swift";
import { s3CompatibleStorage, withoutAwsOnlyKeys } from "../harness/s3-compatible";

after(stopAll);

/** Pulumi.aws.yaml's keys, without the project prefix (provider keys dropped). */
function awsStack(): StackConfig {
    const out: StackConfig = {};
    for (const [k, v] of Object.entries(loadStackFile(path.join(ROOT, "Pulumi.aws.yaml")))) {
        if (k.startsWith("registry:")) {
            out[k.slice("registry:".length)] = v;
        }
    }
    return out;
}

/**
 * The aws stack with its storage pointed at the Swift peer, through the program's own keys:
 * an existing bucket at an S3-compatible endpoint (plain HTTP, path style), the accessKey identity
 * with the Swift user's key as a config secret. What an S3-compatible store cannot have goes:
 * the IRSA provider (no IAM there), the settings of a bucket the program would create, and the
 * Route53 record (nothing resolves it here; its resources are unit-tested). Everything else
 * (replicas, root directory, chunk size, encrypt, redirect, users, NLB annotations) is the stack's.
 */
function awsStackOnSwift(swift: SwiftPeer, bucket: string, overrides: StackConfig = {}): StackConfig {
    const store = { endpoint: swift.s3Endpoint, region: swift.region, bucket, accessKey: swift.accessKey, secretKey: swift.secretKey };
    return { ...withoutAwsOnlyKeys(awsStack()), ...s3CompatibleStorage(store), ...overrides };
}

const mocks = {
    secretKeys: ["s3SecretAccessKey"],
    // The stack's NLB annotations make the mocks give the Service an ELB hostname; here the load
    // balancer is the harness's 127.0.0.1.
    resourceState: (type: string) => (type === "kubernetes:core/v1:Service" ? {} : undefined),
};

/** The storage path of a blob under the registry's root directory. */
function blobKey(root: string, digest: string): string {
    const hex = digest.replace(/^sha256:/, "");
    return `${root.replace(/^\//, "")}/docker/registry/v2/blobs/sha256/${hex.slice(0, 2)}/${hex}/data`;
}

describe("AWS end to end", () => {
    // One Swift for every test here (it takes 5-10 s to start): two tempauth users, and a bucket for
    // each registry below (the registry does not create its bucket).
    let swift: SwiftPeer;
    before(async () => {
        swift = await startSwift({
            users: [
                { account: "registry", user: "registry", key: crypto.randomBytes(16).toString("hex") },
                { account: "other", user: "reader", key: "second-key" },
            ],
            containers: ["registry", "registry-v3", "registry-v28", "registry-badkey"],
        });
    });
    after(async () => swift?.stop());

    describe("Swift all-in-one peer (S3 through s3api)", () => {
        it("authenticates every configured user and refuses a wrong key", async () => {
            for (const u of swift.users) {
                const a = await swift.auth(u);
                assert.match(a.storageUrl, new RegExp(`/v1/AUTH_${u.account}$`));
            }
            await assert.rejects(swift.auth({ ...swift.users[0], key: "wrong" }), /HTTP 401/);
        });

        it("created the requested container, empty, and only in the first user's account", async () => {
            assert.deepStrictEqual(await swift.listObjects("registry"), []);
            await assert.rejects(swift.listObjects("registry", "", swift.users[1]), /HTTP 404/);
        });

        it("answers S3 for the user's access key and refuses a wrong secret", async () => {
            // A signature-v2 ListObjects (HMAC-SHA1 of the request line, date and path) is the
            // smallest signed S3 request; the registry's driver signs v4 and is tested below.
            const list = (secret: string) => {
                const date = new Date().toUTCString();
                const signature = crypto.createHmac("sha1", secret).update(`GET\n\n\n${date}\n/registry/`).digest("base64");
                return request(`${swift.s3Endpoint}/registry/`, { headers: { date, authorization: `AWS ${swift.accessKey}:${signature}` } });
            };
            const ok = await list(swift.secretKey);
            assert.strictEqual(ok.status, 200, ok.body);
            assert.match(ok.body, /<ListBucketResult[^>]*>.*<Name>registry<\/Name>/s);
            const wrong = await list(`${swift.secretKey}x`);
            assert.strictEqual(wrong.status, 403);
            assert.match(wrong.body, /<Code>SignatureDoesNotMatch<\/Code>/);
        });
    });

    describe("the aws stack's registry on S3 (Swift s3api), end to end", () => {
        const LINES = [
            { name: "distribution 3.x", bucket: "registry-v3", overrides: {} },
            { name: "distribution 2.8", bucket: "registry-v28", overrides: { imageTag: "2.8.3", tlsKeyAlgorithm: "RSA" } },
        ];
        for (const line of LINES) {
            describe(line.name, () => {
                let reg: RegistryDeployment;
                let image: OciImage;
                let chunkSize: number;
                let root: string;
                before(async () => {
                    reg = await startRegistry({ config: awsStackOnSwift(swift, line.bucket, line.overrides), mocks });
                    chunkSize = Number(reg.pod.config.storage.s3.chunksize);
                    root = String(reg.pod.config.storage.s3.rootdirectory);
                    // A layer above 2 x chunksize (so the upload has at least three parts), and small ones.
                    image = buildImage([4096, 2 * MiB, 2 * chunkSize + 3 * MiB]);
                });
                after(async () => reg?.stop());

                it("runs the stack's pod: S3 settings from the program's keys, credentials only through secretKeyRef", () => {
                    const s3 = reg.pod.config.storage.s3;
                    assert.deepStrictEqual(
                        { regionendpoint: s3.regionendpoint, forcepathstyle: s3.forcepathstyle, secure: s3.secure, bucket: s3.bucket, encrypt: s3.encrypt },
                        { regionendpoint: swift.s3Endpoint, forcepathstyle: true, secure: false, bucket: line.bucket, encrypt: true },
                    );
                    assert.strictEqual(chunkSize, 16 * MiB, "the stack's s3ChunkSize");
                    assert.strictEqual(root, "/registry");
                    assert.ok(!("accesskey" in s3) && !("secretkey" in s3), "no credentials in config.yml");
                    assert.ok(!reg.pod.configMap.inputs.data["config.yml"].includes(swift.secretKey));
                    const env = reg.pod.container.env as Record<string, any>[];
                    for (const name of ["REGISTRY_STORAGE_S3_ACCESSKEY", "REGISTRY_STORAGE_S3_SECRETKEY"]) {
                        const e = env.find((x) => x.name === name);
                        assert.ok(e?.valueFrom?.secretKeyRef !== undefined && e.value === undefined, `${name} comes from a secretKeyRef`);
                    }
                    assert.strictEqual(reg.replicas.length, 2, "the stack's two replicas share the bucket");
                });

                it("pushes a multi-layer image (one layer > 2 x chunksize) through both replicas and pulls it back, digests identical", async () => {
                    const ref = `${reg.host}/team/app:v1`;
                    const pushed = await push(image, ref, { certDir: reg.certDir, authFile: reg.authFile });
                    assert.strictEqual(pushed.code, 0, pushed.stderr);
                    assert.deepStrictEqual(await pullAndCompare(image, ref, reg.access()), []);
                    const upstreams = new Set((reg.frontend?.upstreamLog() ?? []).map((l) => l.split(" -> ")[1]?.split(" ")[0]));
                    assert.strictEqual(upstreams.size, 2, `requests reached both replicas: ${[...upstreams].join(", ")}`);
                });

                it("stored the blobs in the bucket under the root directory, the big layer as a multipart (SLO) object", async () => {
                    const objects = await swift.listObjects(line.bucket);
                    assert.ok(objects.length > 0);
                    assert.ok(
                        objects.every((o) => o.name.startsWith("registry/docker/registry/v2/")),
                        objects.map((o) => o.name).join("\n"),
                    );
                    const big = image.layers[image.layers.length - 1];
                    const key = blobKey(root, big.digest);
                    const stored = objects.find((o) => o.name === key);
                    assert.ok(stored !== undefined, `${key} is in the bucket`);
                    const head = await swift.headObject(line.bucket, key);
                    // s3api stores a completed multipart upload as a static large object of its parts.
                    assert.strictEqual(String(head["x-static-large-object"]).toLowerCase(), "true", JSON.stringify(head));
                    assert.strictEqual(Number(head["content-length"]), big.size);
                });

                it("uploaded the big layer as an S3 multipart upload of chunksize parts (the S3 server's request log)", () => {
                    const uploads = new Map<string, number[]>();
                    for (const r of swift.requestLog()) {
                        const u = new URL(r.path, "http://s3");
                        const part = u.searchParams.get("partNumber");
                        const id = u.searchParams.get("uploadId");
                        if (
                            r.method === "PUT" &&
                            r.status === 200 &&
                            u.pathname.startsWith(`/${line.bucket}/`) &&
                            part !== null &&
                            id !== null &&
                            !u.pathname.includes("/blobs/")
                        ) {
                            uploads.set(id, [...(uploads.get(id) ?? []), r.bytesReceived]);
                        }
                    }
                    const big = image.layers[image.layers.length - 1].size;
                    const match = [...uploads.values()].find((parts) => parts.reduce((a, b) => a + b, 0) === big);
                    assert.ok(match !== undefined, `an upload of the big layer's ${big} bytes in parts: ${JSON.stringify([...uploads.values()])}`);
                    // 3.x sends every part at chunksize (3 parts here); 2.8 folds the remainder into its
                    // last part (2 parts: chunksize, then the rest, up to 2 x chunksize).
                    assert.ok(match.length >= 2, `parts: ${JSON.stringify(match)}`);
                    assert.deepStrictEqual(
                        match.slice(0, -1),
                        match.slice(0, -1).map(() => chunkSize),
                        "every part but the last is chunksize bytes",
                    );
                });

                it("restarted, serves everything pushed before (the images live in the bucket)", async () => {
                    await Promise.all(reg.replicas.map((r) => r.restart()));
                    assert.deepStrictEqual(await pullAndCompare(image, `${reg.host}/team/app:v1`, reg.access()), []);
                });
            });
        }

        describe("with a wrong secret key", () => {
            let reg: RegistryDeployment;
            before(async () => {
                reg = await startRegistry({
                    config: awsStackOnSwift(swift, "registry-badkey", { s3SecretAccessKey: `${swift.secretKey}-wrong`, replicas: 1 }),
                    mocks,
                });
            });
            after(async () => reg?.stop());

            it("the push fails and the storage health check turns the pod unready", async () => {
                const pushed = await push(buildImage([1024]), `${reg.host}/team/denied:v1`, reg.access());
                assert.notStrictEqual(pushed.code, 0);
                // health.storagedriver: 3 failed checks 10 s apart.
                const health = `${reg.replicas[0].debugUrl}/debug/health`;
                await waitFor("storage health to fail", async () => (await request(health)).status === 503, 60000, 1000);
                const body = (await request(health)).body;
                assert.match(body, /storagedriver_s3|SignatureDoesNotMatch|AccessDenied|InvalidAccessKeyId|403/i, body);
                assert.deepStrictEqual(await swift.listObjects("registry-badkey"), [], "nothing was written");
            });
        });
    });

    describe("Swift all-in-one peer: stop", () => {
        it("stop() ends every process it started, and the ports close", async () => {
            assert.ok(swift.procs.every((p) => p.running));
            await swift.stop();
            assert.ok(
                swift.procs.every((p) => !p.running),
                swift.procs.map((p) => `${p.name}:${p.running}`).join(" "),
            );
            await assert.rejects(request(`${swift.s3Endpoint}/healthcheck`, { timeoutMs: 2000 }), /ECONNREFUSED/);
        });
    });
});
