// Ceph under mocks: the resource graph (dynamic resources, secrets, retainOnDelete, Secret +
// secretKeyRef), the driver sections, the gateway Service/EndpointSlice and the CA bundle. The
// providers run against a real RGW in tests/e2e/ceph.spec.ts, and under the real engine in
// tests/engine/ceph.spec.ts.
import * as assert from "assert";

import { makePki } from "./support/pki";
import { registryPod, secretValue } from "./support/pod";
import { one, ofType, ProgramRun, runProgram } from "./support/program";
import { BASE, CREDS, run, SECRETS } from "./support/ceph-fixtures";

describe("Ceph: the program under mocks", () => {
    let swift: ProgramRun;
    let s3: ProgramRun;
    before(async () => {
        swift = await run({ storageKind: "cephSwift", cephRgwUrl: "http://rgw.ceph.svc:7480", cephAdminUrl: "https://rgw.example.com", replicas: 2 });
        s3 = await run({ storageKind: "cephS3", cephRgwUrl: "http://rgw.ceph.svc:7480", cephKeyGeneration: 3, deleteStorageOnDestroy: true });
    });

    it("declares RgwCredentials and RgwBucket dynamic resources with the admin keys as secret inputs", () => {
        const creds = one(swift, "pulumi-nodejs:dynamic/ceph:RgwCredentials");
        assert.strictEqual(creds.inputs.adminUrl, "https://rgw.example.com");
        assert.strictEqual(creds.inputs.uid, "registry-test");
        assert.strictEqual(creds.inputs.subuser, "registry");
        assert.strictEqual(creds.inputs.keyType, "swift");
        assert.strictEqual(creds.inputs.generation, 1);
        assert.strictEqual(creds.inputs.purgeUserOnDelete, false);
        assert.ok(typeof creds.inputs.__provider === "string" && creds.inputs.__provider.includes("exports.handler"));
        assert.deepStrictEqual([...creds.secretInputs].sort(), ["adminAccessKey", "adminSecretKey"]);
        assert.deepStrictEqual([...creds.options.additionalSecretOutputs].sort(), ["adminAccessKey", "adminSecretKey", "secretKey"]);
        const bucket = one(swift, "pulumi-nodejs:dynamic/ceph:RgwBucket");
        assert.strictEqual(bucket.inputs.bucket, "registry-test");
        assert.strictEqual(bucket.inputs.api, "swift");
        assert.ok(bucket.secretInputs.includes("secretKey"));
        assert.strictEqual(bucket.options.retainOnDelete, true, "images are kept on destroy by default");
        const s3creds = one(s3, "pulumi-nodejs:dynamic/ceph:RgwCredentials");
        assert.deepStrictEqual([s3creds.inputs.keyType, s3creds.inputs.generation, s3creds.inputs.purgeUserOnDelete], ["s3", 3, true]);
        assert.strictEqual(one(s3, "pulumi-nodejs:dynamic/ceph:RgwBucket").options.retainOnDelete, false);
    });

    it("gives the registry the key only through a Secret and secretKeyRef; config.yml has the driver without it", () => {
        const pod = registryPod(swift);
        const creds = one(swift, "pulumi-nodejs:dynamic/ceph:RgwCredentials");
        const env = (pod.container.env as Record<string, any>[]).find((e) => e.name === "REGISTRY_STORAGE_SWIFT_PASSWORD");
        const secret = pod.secrets.get(env?.valueFrom?.secretKeyRef?.name);
        assert.ok(secret !== undefined);
        assert.strictEqual(secretValue(secret, "password"), creds.state.secretKey);
        assert.ok(
            secret.secretInputs.some((p) => p === "stringData" || p === "stringData.password"),
            secret.secretInputs.join(","),
        );
        assert.ok(!JSON.stringify(pod.configMap.inputs).includes(String(creds.state.secretKey)));
        assert.deepStrictEqual(pod.config.storage.swift, {
            authurl: "http://rgw.ceph.svc:7480/auth/v1.0",
            authversion: 1,
            username: "registry-test:registry",
            container: "registry-test",
            chunksize: 10485760,
            insecureskipverify: false,
        });
        assert.deepStrictEqual(pod.config.storage.redirect, { disable: true });
        assert.strictEqual(pod.container.image, "docker.io/library/registry:2.8.3");
        assert.strictEqual(pod.deployment.inputs.spec.replicas, 2);
    });

    it("S3: access and secret key from the Secret, RGW as regionendpoint with path-style and SigV4", () => {
        const pod = registryPod(s3);
        const names = (pod.container.env as Record<string, any>[]).filter((e) => e.name.startsWith("REGISTRY_STORAGE_S3_"));
        assert.deepStrictEqual(
            names.map((e) => [e.name, e.valueFrom?.secretKeyRef?.key]),
            [
                ["REGISTRY_STORAGE_S3_ACCESSKEY", "accesskey"],
                ["REGISTRY_STORAGE_S3_SECRETKEY", "secretkey"],
            ],
        );
        assert.deepStrictEqual(pod.config.storage.s3, {
            region: "us-east-1",
            regionendpoint: "http://rgw.ceph.svc:7480",
            bucket: "registry-test",
            // The Swift driver's layout: cephSwift and cephS3 read the same images.
            rootdirectory: "/files",
            forcepathstyle: true,
            v4auth: true,
            secure: false,
            skipverify: false,
            chunksize: 10485760,
        });
        assert.strictEqual(pod.container.image, "docker.io/library/registry:3.1.2");
    });

    it("gateways outside the cluster: a selector-less Service and an EndpointSlice; the registry uses the Service's name", async () => {
        const r = await run({
            storageKind: "cephS3",
            cephGatewayAddresses: ["192.0.2.10", "192.0.2.11"],
            cephGatewayPort: 8443,
            cephGatewayTls: true,
            cephAdminUrl: "https://192.0.2.10:8443",
        });
        const services = ofType(r, "kubernetes:core/v1:Service").filter((s) => s.inputs.metadata.name === "registry-rgw");
        assert.strictEqual(services.length, 1);
        assert.strictEqual(services[0].inputs.spec.selector, undefined);
        assert.deepStrictEqual(services[0].inputs.spec.ports, [{ name: "https", port: 8443, targetPort: 8443, protocol: "TCP" }]);
        const slice = one(r, "kubernetes:discovery.k8s.io/v1:EndpointSlice");
        assert.strictEqual(slice.inputs.metadata.labels["kubernetes.io/service-name"], "registry-rgw");
        assert.strictEqual(slice.inputs.addressType, "IPv4");
        assert.deepStrictEqual(
            slice.inputs.endpoints.map((e: { addresses: string[] }) => e.addresses),
            [["192.0.2.10"], ["192.0.2.11"]],
        );
        assert.deepStrictEqual(registryPod(r).config.storage.s3.regionendpoint, "https://registry-rgw.registry.svc:8443");
        assert.strictEqual(registryPod(r).config.storage.s3.secure, true);
    });

    it("a CA bundle for RGW's TLS: a ConfigMap mounted read-only and named by SSL_CERT_FILE, and given to the providers", async () => {
        const pki = await makePki(["rgw.example.com"]);
        const r = await run({ storageKind: "cephS3", cephRgwUrl: "https://rgw.example.com", cephCaCertificate: pki.caPem });
        const pod = registryPod(r);
        const mount = (pod.container.volumeMounts as Record<string, any>[]).find((m) => m.name === "rgw-ca");
        assert.deepStrictEqual(mount, { name: "rgw-ca", mountPath: "/etc/ceph-rgw-ca", readOnly: true });
        const env = (pod.container.env as Record<string, any>[]).find((e) => e.name === "SSL_CERT_FILE");
        assert.strictEqual(env?.value, "/etc/ceph-rgw-ca/ca.crt");
        const volume = (pod.podSpec.volumes as Record<string, any>[]).find((v) => v.name === "rgw-ca");
        assert.strictEqual(pod.configMaps.get(volume?.configMap?.name)?.inputs.data["ca.crt"], pki.caPem);
        assert.strictEqual(one(r, "pulumi-nodejs:dynamic/ceph:RgwCredentials").inputs.caBundle, pki.caPem);
    });

    it("a key generation other than 1 has a subuser of its own: the Swift username is `<uid>:registry-g<N>`", async () => {
        const r = await run({ storageKind: "cephSwift", cephRgwUrl: "http://rgw.ceph.svc:7480", cephKeyGeneration: 2 });
        assert.strictEqual(registryPod(r).config.storage.swift.username, "registry-test:registry-g2");
        assert.deepStrictEqual([one(r, CREDS).inputs.subuser, one(r, CREDS).inputs.generation], ["registry-g2", 2]);
        assert.strictEqual(registryPod(swift).config.storage.swift.username, "registry-test:registry", "generation 1 keeps the configured name");
    });

    it("the registry pods wait for the gateway Service and its EndpointSlice (the Swift driver authenticates at start)", async () => {
        const r = await run({ storageKind: "cephSwift", cephGatewayAddresses: ["192.0.2.10"], cephAdminUrl: "http://192.0.2.10:7480" });
        const deps = registryPod(r).deployment.options.dependencies;
        for (const o of [
            one(r, "kubernetes:discovery.k8s.io/v1:EndpointSlice"),
            ofType(r, "kubernetes:core/v1:Service").find((x) => x.inputs.metadata.name === "registry-rgw"),
        ]) {
            assert.ok(o !== undefined && deps.includes(o.engineUrn), `${o?.engineUrn} not in ${deps.join(", ")}`);
        }
    });

    it("two stacks get two users and two buckets", async () => {
        const a = await runProgram({ ...BASE, storageKind: "cephS3", cephRgwUrl: "http://rgw:7480" }, { secretKeys: SECRETS, stack: "team-a" });
        const b = await runProgram({ ...BASE, storageKind: "cephS3", cephRgwUrl: "http://rgw:7480" }, { secretKeys: SECRETS, stack: "Team_B" });
        assert.strictEqual(one(a, "pulumi-nodejs:dynamic/ceph:RgwBucket").inputs.bucket, "registry-team-a");
        assert.strictEqual(one(b, "pulumi-nodejs:dynamic/ceph:RgwBucket").inputs.bucket, "registry-team-b");
    });
});
