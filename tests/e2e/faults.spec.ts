// Failure tests, on the real registry binary run from the pod spec: each fault is
// injected while a push is in flight, and each test checks that nothing pushed is lost (every
// earlier image pulled back and digest-verified).
import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";

import { RegistryDeployment, startRegistry } from "../harness/harness";
import { request } from "../harness/http";
import { buildImage, MiB, OciImage, pullAndCompare, push } from "../harness/oci";
import { startSwift, SwiftPeer } from "../harness/peers/swift";
import { startProc, stopAll, waitFor } from "../harness/procs";
import { s3CompatibleStorage } from "../harness/s3-compatible";

after(stopAll);

/**
 * What a client sees when the registry process serving its request dies: the socket breaks
 * mid-write ("broken pipe"), mid-read ("connection reset", "EOF", "use of closed network
 * connection"), or a proxy in front answers for the dead backend ("502 Bad Gateway"). skopeo
 * retries some of these itself and gives up on others; any other failure is a real defect.
 */
const BROKEN_CONNECTION = /broken pipe|use of closed network connection|connection reset|EOF|502 Bad Gateway/;

/** Bytes of the largest upload in progress under a claim directory (the filesystem driver's _uploads). */
function uploadedBytes(claimDir: string): number {
    let max = 0;
    const repos = path.join(claimDir, "docker", "registry", "v2", "repositories");
    const walk = (dir: string): void => {
        for (const e of fs.existsSync(dir) ? fs.readdirSync(dir, { withFileTypes: true }) : []) {
            const p = path.join(dir, e.name);
            if (e.isDirectory()) {
                walk(p);
            } else if (e.name === "data" && p.includes(`${path.sep}_uploads${path.sep}`)) {
                max = Math.max(max, fs.statSync(p).size);
            }
        }
    };
    walk(repos);
    return max;
}

/** Waits until an upload under `claimDir` holds at least `bytes` (the push is mid-way). */
async function midUpload(claimDir: string, bytes: number): Promise<number> {
    let seen = 0;
    await waitFor(`an upload of ${bytes} bytes`, async () => (seen = uploadedBytes(claimDir)) >= bytes, 60000, 10);
    return seen;
}

describe("fault: kill -9 of the registry in the middle of a large push", () => {
    let reg: RegistryDeployment;
    let earlier: OciImage;
    before(async function () {
        this.timeout(120000);
        reg = await startRegistry({ config: {} });
        earlier = buildImage([1024, 4 * MiB], "earlier");
        const r = await push(earlier, `${reg.host}/team/earlier:v1`, reg.access());
        assert.strictEqual(r.code, 0, r.stderr);
    });
    after(async () => reg?.stop());

    it("the pod restarted from the same spec takes the client's retry (or its second push); the push completes and every image is intact", async function () {
        this.timeout(240000);
        const big = buildImage([2048, 96 * MiB], "big");
        const claim = Object.values(reg.claimDirs)[0];
        const started = Date.now();
        const pushing = push(big, `${reg.host}/team/big:v1`, reg.access(), { retryTimes: 6, timeoutMs: 200000 });
        const atKill = await midUpload(claim, 8 * MiB);
        await reg.replicas[0].proc.kill();
        const killedAt = Date.now();
        await reg.replicas[0].restart();
        const readyAfter = Date.now() - killedAt;
        // skopeo retries some broken connections itself ("connection reset", refused while the pod
        // restarts) but not all: when the kill lands between reads it reports "use of closed
        // network connection", mid-write "broken pipe", and gives up. A client then pushes again (docker push retries each
        // layer itself; CI re-runs the job); the second attempt must complete and lose nothing.
        let result = await pushing;
        let retry = "skopeo's own retries";
        if (result.code !== 0) {
            const broken = BROKEN_CONNECTION.exec(result.stderr);
            assert.ok(broken !== null, `the push failed for another reason than the killed connection: ${result.stderr}`);
            retry = `a second push (the first ended with "${broken[0]}")`;
            result = await push(big, `${reg.host}/team/big:v1`, reg.access(), { retryTimes: 6, timeoutMs: 200000 });
        }
        assert.strictEqual(result.code, 0, result.stderr);
        assert.ok(atKill < big.bytes, "the kill happened before the upload finished");
        console.log(
            `      killed at ${(atKill / MiB).toFixed(1)} MiB of ${(big.bytes / MiB).toFixed(1)} MiB; ready again after ${readyAfter} ms; push completed by ${retry} after ${((Date.now() - started) / 1000).toFixed(1)} s`,
        );
        assert.deepStrictEqual(await pullAndCompare(big, `${reg.host}/team/big:v1`, reg.access()), []);
        assert.deepStrictEqual(await pullAndCompare(earlier, `${reg.host}/team/earlier:v1`, reg.access()), []);
    });
});

describe("fault: one of two replicas killed mid-push behind the round-robin proxy", () => {
    let reg: RegistryDeployment;
    let earlier: OciImage;
    before(async function () {
        this.timeout(120000);
        reg = await startRegistry({ config: { storageAccessMode: "ReadWriteMany", replicas: 2 } });
        earlier = buildImage([1024, 3 * MiB], "earlier");
        const r = await push(earlier, `${reg.host}/ha/earlier:v1`, reg.access());
        assert.strictEqual(r.code, 0, r.stderr);
    });
    after(async () => reg?.stop());

    it("pushes and pulls keep succeeding through the other replica; nothing is lost", async function () {
        this.timeout(240000);
        const big = buildImage([2048, 64 * MiB], "big");
        const claim = Object.values(reg.claimDirs)[0];
        const pushing = push(big, `${reg.host}/ha/big:v1`, reg.access(), { retryTimes: 6, timeoutMs: 200000 });
        await midUpload(claim, 8 * MiB);
        // Which replica holds the upload does not matter: kill replica 0's pod (the registry and
        // its gate, as when its node goes) and keep it down.
        await Promise.all([reg.replicas[0].proc.kill(), reg.replicas[0].gate?.kill()]);
        // While it is down, pulls and a new push go through the survivor.
        const pulls = await Promise.all(Array.from({ length: 5 }, () => pullAndCompare(earlier, `${reg.host}/ha/earlier:v1`, reg.access())));
        assert.deepStrictEqual(pulls.flat(), []);
        const small = buildImage([4096, 512 * 1024], "small");
        const pushedWhileDown = await push(small, `${reg.host}/ha/small:v1`, reg.access(), { retryTimes: 3 });
        assert.strictEqual(pushedWhileDown.code, 0, pushedWhileDown.stderr);
        // The upload in flight on the killed replica may break: nginx answers 502 for the request
        // the dead backend dropped, which skopeo does not retry. Running the push again (what CI
        // does) completes it through the survivor: upload state lives in the shared storage.
        let result = await pushing;
        let inFlight = "completed by skopeo's own retries";
        if (result.code !== 0) {
            const broken = BROKEN_CONNECTION.exec(result.stderr);
            assert.ok(broken !== null, `the push failed for another reason than the killed replica: ${result.stderr}`);
            inFlight = `failed ("${broken[0]}"); re-run`;
            result = await push(big, `${reg.host}/ha/big:v1`, reg.access(), { retryTimes: 3, timeoutMs: 200000 });
        }
        assert.strictEqual(result.code, 0, result.stderr);
        console.log(`      the push in flight ${inFlight}; 5 pulls and a new push during the outage succeeded`);
        const survivor = reg.replicas[1];
        for (const [img, ref] of [
            [big, "ha/big:v1"],
            [earlier, "ha/earlier:v1"],
            [small, "ha/small:v1"],
        ] as const) {
            assert.deepStrictEqual(await pullAndCompare(img, `127.0.0.1:${survivor.port}/${ref}`, reg.access()), [], ref);
        }
        // Brought back, the killed replica serves everything too.
        await reg.replicas[0].restart();
        assert.deepStrictEqual(await pullAndCompare(big, `127.0.0.1:${reg.replicas[0].port}/ha/big:v1`, reg.access()), []);
    });
});

describe("fault: the object store (Swift s3api) stopped mid-push, then restored", () => {
    let swift: SwiftPeer;
    let reg: RegistryDeployment;
    let earlier: OciImage;
    const bucket = "registry-outage";
    before(async function () {
        this.timeout(180000);
        swift = await startSwift({ containers: [bucket] });
        reg = await startRegistry({
            config: {
                storageKind: "s3",
                ...s3CompatibleStorage({ endpoint: swift.s3Endpoint, region: swift.region, bucket, accessKey: swift.accessKey, secretKey: swift.secretKey }),
            },
            mocks: { secretKeys: ["s3SecretAccessKey"] },
        });
        earlier = buildImage([1024, 2 * MiB], "earlier");
        const r = await push(earlier, `${reg.host}/store/earlier:v1`, reg.access());
        assert.strictEqual(r.code, 0, r.stderr);
    });
    after(async () => {
        await reg?.stop();
        await swift?.stop();
    });

    it("clients get errors within a bounded time, nothing corrupt is served, and after the store returns everything is intact", async function () {
        this.timeout(300000);
        const proxy = swift.procs[swift.procs.length - 1];
        assert.strictEqual(proxy.name, "swift-proxy");
        const [cmd, ...args] = proxy.child.spawnargs;
        const big = buildImage([2048, 48 * MiB], "big");
        const started = Date.now();
        const pushing = push(big, `${reg.host}/store/big:v1`, reg.access(), { timeoutMs: 200000 });
        await new Promise((r) => setTimeout(r, 700));
        await proxy.kill();
        const pushResult = await pushing;
        const pushSeconds = (Date.now() - started) / 1000;
        const pullStarted = Date.now();
        const pullDuring = await pullAndCompare(earlier, `${reg.host}/store/earlier:v1`, reg.access());
        const pullSeconds = (Date.now() - pullStarted) / 1000;
        console.log(
            `      during the outage: push exit ${pushResult.code} after ${pushSeconds.toFixed(1)} s; pull ${pullDuring.length === 0 ? "succeeded" : "failed"} after ${pullSeconds.toFixed(1)} s`,
        );
        // An error, not a hang and not a corrupt blob.
        assert.ok(pushResult.code !== 0 || pushSeconds < 2, "the push should fail once the store is gone (or have finished before)");
        assert.ok(pushSeconds < 180 && pullSeconds < 180, "bounded");
        assert.ok(!pullDuring.some((p) => /hashes to|is empty|digest .* != pushed/.test(p)), pullDuring.join("; "));
        // Restore: the proxy again, same config.
        const restored = startProc("swift-proxy", cmd, args, {
            env: { PATH: process.env.PATH ?? "/usr/sbin:/usr/bin:/sbin:/bin", HOME: swift.dir, LANG: "C.UTF-8" },
            logFile: proxy.logFile,
        });
        await waitFor(
            "swift proxy back",
            async () => (await request(`${swift.s3Endpoint}/healthcheck`, { timeoutMs: 2000 })).status === 200,
            60000,
            200,
            restored,
        );
        const again = await push(big, `${reg.host}/store/big:v1`, reg.access(), { retryTimes: 3, timeoutMs: 200000 });
        assert.strictEqual(again.code, 0, again.stderr);
        assert.deepStrictEqual(await pullAndCompare(big, `${reg.host}/store/big:v1`, reg.access()), []);
        assert.deepStrictEqual(await pullAndCompare(earlier, `${reg.host}/store/earlier:v1`, reg.access()), []);
        await restored.stop();
    });
});
