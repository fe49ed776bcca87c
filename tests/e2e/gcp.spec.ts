// GCP area (issue 5), end to end: the registry pod of the `gcp` stack (GCE persistent disk,
// Cloud DNS name, static IP) run for real; the disk becomes the claim's directory.
import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import * as tls from "tls";

import { gcpMocks } from "../support/cloud-mocks-gcp";
import { loadStackFile, stackFiles } from "../support/program";
import { RegistryDeployment, startRegistry } from "./harness";
import { request } from "./http";
import { buildImage, MiB, OciImage, pullAndCompare, push } from "./oci";
import { stopAll } from "./procs";

after(stopAll);

/** In this simulation the reserved static IP is the loopback address the harness serves on. */
const ADDRESS_ON_LOOPBACK = {
    resourceState(type: string, name: string, inputs: Record<string, any>) {
        return type === "gcp:compute/address:Address" ? { ...gcpMocks.resourceState?.(type, name, inputs), address: "127.0.0.1" } : undefined;
    },
};

/** Completes a TLS handshake with the replica as `servername`, verifying against `ca`. */
function handshake(port: number, servername: string, ca: string): Promise<Error | undefined> {
    return new Promise((resolve) => {
        const s = tls.connect({ host: "127.0.0.1", port, servername, ca }, () => {
            s.end();
            resolve(undefined);
        });
        s.on("error", (e) => resolve(e));
    });
}

describe("gcp stack end to end: GCE persistent disk, Cloud DNS name", () => {
    let reg: RegistryDeployment;
    let image: OciImage;
    before(async () => {
        reg = await startRegistry({ config: loadStackFile(stackFiles().gcp), mocks: { stack: "gcp", ...ADDRESS_ON_LOOPBACK } });
        image = buildImage([4096, 2 * MiB, 17 * MiB]);
    });
    after(async () => reg?.stop());

    it("registryHost is the Cloud DNS name, and the certificate covers it and the reserved IP", async () => {
        const port = reg.replicas[0].port;
        assert.strictEqual(reg.host, `registry.example.com:${port}`);
        assert.strictEqual(await handshake(port, "registry.example.com", reg.caPem), undefined);
        assert.match(String(await handshake(port, "registry.example.org", reg.caPem)), /does not match certificate's altnames/);
    });

    it("runs one pod, whose data volume is the claim bound to the disk", () => {
        assert.strictEqual(reg.replicas.length, 1);
        assert.deepStrictEqual(Object.keys(reg.claimDirs), ["registry-data"]);
    });

    it("pushes a multi-layer image and pulls it back with identical digests; the blobs are on the disk", async () => {
        // Through the reserved IP (the name would need a resolver; the handshake above covers it).
        const ref = `127.0.0.1:${reg.replicas[0].port}/team/app:v1`;
        const pushed = await push(image, ref, reg.access());
        assert.strictEqual(pushed.code, 0, pushed.stderr);
        assert.deepStrictEqual(await pullAndCompare(image, ref, reg.access()), []);
        const blobs = path.join(reg.claimDirs["registry-data"], "docker", "registry", "v2", "blobs", "sha256");
        const layer = image.layers.find((l) => l.size > 16 * MiB);
        assert.ok(layer !== undefined);
        const hex = layer.digest.replace("sha256:", "");
        assert.strictEqual(fs.statSync(path.join(blobs, hex.slice(0, 2), hex, "data")).size, layer.size);
    });

    it("refuses a wrong password and an anonymous client", async () => {
        const url = `https://127.0.0.1:${reg.replicas[0].port}/v2/_catalog`;
        assert.strictEqual((await request(url, { ca: reg.caPem, auth: { username: reg.username, password: `${reg.password}x` } })).status, 401);
        assert.strictEqual((await request(url, { ca: reg.caPem })).status, 401);
    });

    it("after the pod is recreated on the same disk, everything pushed is still there", async () => {
        await reg.replicas[0].restart();
        assert.deepStrictEqual(await pullAndCompare(image, `127.0.0.1:${reg.replicas[0].port}/team/app:v1`, reg.access()), []);
    });
});
