// GCP area, end to end: the registry pod of the `gcp` stack (GCE persistent disk,
// Cloud DNS name, static IP) run for real; the disk becomes the claim's directory.
import * as assert from "assert";
import * as crypto from "crypto";
import * as fs from "fs";
import * as path from "path";
import * as tls from "tls";

import { GCS_CHUNK_SIZE } from "../../components";
import { gcpMocks, MOCK_GCP_PROJECT } from "../support/cloud-mocks-gcp";
import { loadStackFile, stackFiles } from "../support/program";
import { FrontDoor, startFrontDoor } from "../harness/google-front-door";
import { mountNamespaces, RegistryDeployment, startRegistry } from "../harness/harness";
import { request } from "../harness/http";
import { buildImage, MiB, OciImage, pullAndCompare, push } from "../harness/oci";
import { stopAll } from "../harness/procs";

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

/**
 * The registry's environment on a GKE node: an egress proxy to "Google" (the front door), the
 * node's metadata server, and a trust store holding the front door's CA. Nothing else changes:
 * the config file, the bucket name and the credentials are the program's.
 */
function googleEnvironment(door: FrontDoor): { extraEnv: Record<string, string>; extraMounts: { source: string; target: string }[] } {
    // HTTP_PROXY too, so plain-HTTP egress would show up (refused) instead of leaving the machine.
    const extraEnv: Record<string, string> = { HTTPS_PROXY: door.proxyUrl, HTTP_PROXY: door.proxyUrl, GCE_METADATA_HOST: door.metadataHost };
    if (!mountNamespaces()) {
        // Without mount namespaces the trust store cannot be mounted; point Go at the file.
        extraEnv.SSL_CERT_FILE = path.join(door.trustDir, "ca-certificates.crt");
    }
    return { extraEnv, extraMounts: mountNamespaces() ? [{ source: door.trustDir, target: "/etc/ssl/certs" }] : [] };
}

/** The objects fake-gcs-server holds in `bucket` under `prefix`, asked directly (not through the front door). */
async function listObjects(door: FrontDoor, bucket: string, prefix: string): Promise<{ name: string; size: string }[]> {
    const items: { name: string; size: string }[] = [];
    let pageToken = "";
    for (let i = 0; i < 100; i++) {
        const r = await fetch(
            `${door.gcsUrl}/storage/v1/b/${bucket}/o?prefix=${encodeURIComponent(prefix)}${pageToken === "" ? "" : `&pageToken=${pageToken}`}`,
        );
        const body = (await r.json()) as { items?: { name: string; size: string }[]; nextPageToken?: string };
        items.push(...(body.items ?? []));
        if (body.nextPageToken === undefined || body.nextPageToken === "") {
            return items;
        }
        pageToken = body.nextPageToken;
    }
    throw new Error("too many pages");
}

for (const mode of [
    { name: "Workload Identity, two replicas", config: { storageKind: "gcs", replicas: 2, gcsVersioning: true }, workloadIdentity: true },
    {
        name: "service-account key file",
        config: { storageKind: "gcs", gcpWorkloadIdentity: false, gcsBucketName: "acme-registry-images" },
        workloadIdentity: false,
    },
]) {
    describe(`gcs end to end (distribution 3.1.2 against fake-gcs-server behind a Google front door): ${mode.name}`, () => {
        let door: FrontDoor;
        let reg: RegistryDeployment;
        let image: OciImage;
        let bucket: string;
        let gsa: string;
        before(async () => {
            door = await startFrontDoor({ project: MOCK_GCP_PROJECT });
            door.podServiceAccount = "registry/registry";
            reg = await startRegistry({ config: mode.config, mocks: door.mocks, ...googleEnvironment(door) });
            bucket = String(reg.pod.config.storage.gcs.bucket);
            gsa = `registry-storage@${MOCK_GCP_PROJECT}.iam.gserviceaccount.com`;
            // Three layers, one bigger than the driver's chunk size (a multi-chunk resumable upload).
            image = buildImage([4096, 3 * MiB, GCS_CHUNK_SIZE + 3 * MiB]);
        });
        after(async () => {
            await reg?.stop();
            await door?.stop();
        });

        it("pushes a multi-layer image with a layer above the chunk size and pulls it back with identical digests", async () => {
            const pushed = await push(image, `${reg.host}/team/app:v1`, reg.access());
            assert.strictEqual(pushed.code, 0, pushed.stderr);
            assert.deepStrictEqual(await pullAndCompare(image, `${reg.host}/team/app:v1`, reg.access()), []);
            if (reg.replicas.length > 1) {
                // Each replica, asked directly, serves the image from the shared bucket.
                for (const r of reg.replicas) {
                    assert.deepStrictEqual(await pullAndCompare(image, `127.0.0.1:${r.port}/team/app:v1`, reg.access()), [], `replica ${r.index}`);
                }
            }
        });

        it("the blobs are objects in the program's bucket, the big layer whole", async () => {
            const objects = await listObjects(door, bucket, "docker/registry/v2/blobs/");
            for (const layer of image.layers) {
                const hex = layer.digest.replace("sha256:", "");
                const obj = objects.find((o) => o.name === `docker/registry/v2/blobs/sha256/${hex.slice(0, 2)}/${hex}/data`);
                assert.ok(obj !== undefined, `layer ${layer.digest} is not in gs://${bucket}`);
                assert.strictEqual(Number(obj.size), layer.size);
            }
        });

        it("the registry talked only to Google's names, as the program's service account, with its own credentials", () => {
            const connects = door.seen.filter((s) => s.via === "connect");
            assert.deepStrictEqual(
                connects.filter((s) => s.status !== 200),
                [],
                "refused CONNECTs",
            );
            const hosts = new Set(connects.map((s) => s.host));
            assert.ok(hosts.has("storage.googleapis.com") && hosts.has("www.googleapis.com"), [...hosts].join(", "));
            const api = door.seen.filter((s) => s.via === "google" && s.host !== "oauth2.googleapis.com");
            assert.ok(api.length > 0);
            assert.deepStrictEqual(
                api.filter((s) => s.identity !== gsa || s.status === 401 || s.status === 403),
                [],
                "requests not made as the registry's account",
            );
            // The resumable upload sessions the driver opens itself, at its hard-coded URL.
            assert.ok(
                api.some(
                    (s) => s.host === "www.googleapis.com" && s.method === "POST" && s.path.startsWith(`/upload/storage/v1/b/${bucket}/o?uploadType=resumable`),
                ),
            );
            // The big layer went up in several chunks of one resumable session.
            const chunks = new Map<string, number>();
            for (const s of api.filter((x) => x.method === "PUT" && x.path.includes("upload_id="))) {
                const id = /upload_id=([^&]+)/.exec(s.path)?.[1] ?? "";
                chunks.set(id, (chunks.get(id) ?? 0) + 1);
            }
            assert.ok(
                [...chunks.values()].some((n) => n >= 2),
                `chunks per session: ${[...chunks.values()].join(",")}`,
            );
            const tokens = door.seen.filter(
                (s) => (s.via === "metadata" && s.path.includes("/token")) || (s.via === "google" && s.host === "oauth2.googleapis.com"),
            );
            assert.ok(tokens.length > 0, "no token was fetched");
            for (const t of tokens) {
                assert.strictEqual(t.via, mode.workloadIdentity ? "metadata" : "google", `${t.via} ${t.host}${t.path}`);
                assert.deepStrictEqual([t.identity, t.status], [gsa, 200]);
            }
        });

        it("negative control: without the bucket binding, Google refuses the account and a push fails", async () => {
            const grants = [...door.iam.bucketAccess];
            door.iam.bucketAccess.clear();
            try {
                const small = buildImage([2048, 300 * 1024], "denied");
                const pushed = await push(small, `${reg.host}/team/denied:v1`, reg.access());
                assert.notStrictEqual(pushed.code, 0);
                assert.ok(door.seen.some((s) => s.via === "google" && s.status === 403 && s.identity === gsa));
            } finally {
                grants.forEach((g) => door.iam.bucketAccess.add(g));
            }
        });

        it(
            mode.workloadIdentity
                ? "negative control: a pod whose Kubernetes ServiceAccount is not the bound one gets no token, and its push fails"
                : "negative control: with a key Google does not know, the token grant is refused and the push fails",
            async () => {
                const before = door.seen.length;
                if (mode.workloadIdentity) {
                    door.podServiceAccount = "registry/someone-else";
                } else {
                    door.iam.keys.set(gsa, [crypto.generateKeyPairSync("rsa", { modulusLength: 2048 }).publicKey]);
                }
                // A fresh process has no cached token.
                const replica = reg.replicas[0];
                await replica.restart();
                const pushed = await push(buildImage([2048, 300 * 1024], "refused"), `127.0.0.1:${replica.port}/team/refused:v1`, reg.access());
                assert.notStrictEqual(pushed.code, 0);
                const after = door.seen.slice(before);
                if (mode.workloadIdentity) {
                    assert.ok(
                        after.some((x) => x.via === "metadata" && x.path.includes("/token") && x.status === 404),
                        "the metadata server was not asked",
                    );
                    assert.ok(!after.some((x) => x.via === "metadata" && x.status === 200 && x.path.includes("/token")));
                } else {
                    assert.ok(
                        after.some((x) => x.via === "google" && ((x.host === "oauth2.googleapis.com" && x.status === 400) || x.status === 401)),
                        "no refused grant",
                    );
                }
                assert.ok(
                    !after.some((x) => x.via === "google" && x.host !== "oauth2.googleapis.com" && x.status < 400 && x.method !== "GET"),
                    "a write went through",
                );
            },
        );
    });
}
