// AWS area (issue 4), end to end. The Swift all-in-one peer (tests/e2e/peers/swift.ts) stands
// in for S3 through its s3api middleware.
import * as assert from "assert";
import * as crypto from "crypto";

import { request } from "./http";
import { stopAll } from "./procs";
import { startSwift, SwiftPeer } from "./peers/swift";

after(stopAll);

describe("Swift all-in-one peer (S3 through s3api)", () => {
    let swift: SwiftPeer;
    before(async () => {
        swift = await startSwift({
            users: [
                { account: "registry", user: "registry", key: "first-key" },
                { account: "other", user: "reader", key: "second-key" },
            ],
            containers: ["registry"],
        });
    });
    after(async () => swift?.stop());

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

    it("stop() ends every process it started", async () => {
        const peer = await startSwift();
        assert.ok(peer.procs.every((p) => p.running));
        await peer.stop();
        assert.ok(peer.procs.every((p) => !p.running));
        await assert.rejects(request(`${peer.s3Endpoint}/healthcheck`, { timeoutMs: 2000 }), /ECONNREFUSED/);
    });
});
