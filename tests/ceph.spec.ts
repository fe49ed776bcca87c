// Ceph under mocks: config validation, the resource graph (dynamic resources, secrets,
// retainOnDelete, Secret + secretKeyRef), the driver sections, the gateway Service/EndpointSlice
// and CA bundle; the Admin Ops client's request building, SigV4 signing (AWS's published test
// vectors) and error mapping; the credentials provider's serialised code through replacements
// (key type, subuser, key generation) and deletes, against an in-memory Admin Ops stand-in
// (tests/support/fake-rgw.ts). The providers run against a real RGW in tests/e2e/ceph.spec.ts,
// and under the real engine in tests/engine/ceph.spec.ts.
import * as assert from "assert";

import { buildPath, describeRgwError, errorCode, signRequest } from "../components/storage/ceph/admin-ops";
import {
    deletionPlan,
    diffInputs,
    findKeys,
    generationSubuser,
    keyIsLive,
    RgwCredentialsInputs,
    RgwCredentialsOutputs,
} from "../components/storage/ceph/credentials";
import { rgwName } from "../components/storage/ceph/storage";
import { ConfigError, parseConfig } from "../config";
import { problemsOf as configProblems, raw } from "./support/config-problems";
import { engineCreate, engineDelete, engineUp } from "./support/dynamic-provider";
import { FakeRgw, startFakeRgw } from "./support/fake-rgw";
import { makePki } from "./support/pki";
import { registryPod, secretValue } from "./support/pod";
import { one, ofType, ProgramRun, runProgram, runProgramOrThrow, StackConfig } from "./support/program";
import type { RecordedResource } from "./support/mocks";

const SECRETS = ["cephAdminAccessKey", "cephAdminSecretKey"];
const BASE = { cephAdminAccessKey: "ADMINKEY", cephAdminSecretKey: "adminsecret" };

function problemsOf(values: Record<string, unknown>, secretKeys: string[] = SECRETS): readonly string[] {
    return configProblems(values, secretKeys);
}

function run(config: StackConfig): Promise<ProgramRun> {
    return runProgramOrThrow({ ...BASE, ...config }, { secretKeys: SECRETS });
}

/** The credentials resource's inputs the pure-function tests start from. */
const CREDENTIALS_INPUTS: RgwCredentialsInputs = {
    adminUrl: "http://rgw",
    adminAccessKey: "a",
    adminSecretKey: "s",
    caBundle: "",
    uid: "u",
    displayName: "u",
    subuser: "registry",
    keyType: "swift",
    generation: 1,
    purgeUserOnDelete: false,
    retireAfterSeconds: 0,
};
describe("Ceph: config validation", () => {
    const cases: { name: string; config: Record<string, unknown>; problems: string[]; secret?: string[] }[] = [
        {
            name: "no RGW URL",
            config: { storageKind: "cephS3", ...BASE },
            problems: ["`cephRgwUrl` (or `cephGatewayAddresses`) is required when `storageKind` is `cephS3`"],
        },
        {
            name: "admin keys missing",
            config: { storageKind: "cephS3", cephRgwUrl: "http://rgw:7480" },
            problems: [
                "`cephAdminAccessKey` is required when `storageKind` is `cephS3`: `pulumi config set --secret cephAdminAccessKey <value>`",
                "`cephAdminSecretKey` is required when `storageKind` is `cephS3`: `pulumi config set --secret cephAdminSecretKey <value>`",
            ],
        },
        {
            name: "admin secret key in plain text",
            config: { storageKind: "cephS3", cephRgwUrl: "http://rgw:7480", ...BASE },
            secret: ["cephAdminAccessKey"],
            problems: ["`cephAdminSecretKey` must be stored as a secret: `pulumi config set --secret cephAdminSecretKey <value>`"],
        },
        {
            name: "Swift with a 3.x image",
            config: { storageKind: "cephSwift", cephRgwUrl: "http://rgw:7480", imageTag: "3.1.2", ...BASE },
            problems: [
                "`storageKind` `cephSwift` needs the distribution 2.x line, but `imageTag` is `3.1.2`: the Swift driver was removed in distribution 3.0. Set `imageTag` to `2.8.3` (or leave it empty), or use `storageKind` `cephS3`, which works with 3.x",
            ],
        },
        {
            name: "a URL with a path",
            config: { storageKind: "cephS3", cephRgwUrl: "http://rgw:7480/swift", ...BASE },
            problems: ["`cephRgwUrl` must be an RGW base URL such as `http://rgw.ceph.svc:7480` (http or https, no path); got `http://rgw:7480/swift`"],
        },
        {
            name: "gateways without an admin URL",
            config: { storageKind: "cephS3", cephGatewayAddresses: ["10.0.0.1"], ...BASE },
            problems: [
                "`cephAdminUrl` is required with `cephGatewayAddresses`: `pulumi up` runs outside the cluster and cannot use the gateway Service's name",
            ],
        },
        {
            name: "gateways given as names",
            config: { storageKind: "cephS3", cephGatewayAddresses: ["rgw1.example.com"], cephAdminUrl: "http://rgw:7480", ...BASE },
            problems: ["`cephGatewayAddresses` entries must be IPv4 or IPv6 addresses (an EndpointSlice lists addresses, not names); got `rgw1.example.com`"],
        },
        {
            name: "a URL and gateways",
            config: { storageKind: "cephS3", cephRgwUrl: "http://rgw:7480", cephGatewayAddresses: ["10.0.0.1"], cephAdminUrl: "http://rgw:7480", ...BASE },
            problems: ["`cephRgwUrl` and `cephGatewayAddresses` exclude each other: with gateway addresses the registry uses the gateway Service"],
        },
        {
            name: "a bad bucket name",
            config: { storageKind: "cephS3", cephRgwUrl: "http://rgw:7480", cephBucket: "My_Bucket", ...BASE },
            problems: [
                "`cephBucket` must be a bucket name: 3-63 characters of a-z, 0-9, '.', '-', starting and ending with a letter or digit; got `My_Bucket`",
            ],
        },
        {
            name: "a chunk size below 5 MiB",
            config: { storageKind: "cephS3", cephRgwUrl: "http://rgw:7480", cephChunkSize: 1048576, ...BASE },
            problems: ["`cephChunkSize` must be a whole number between 5242880 and 5368709120; got 1048576"],
        },
        {
            name: "a CA for plain HTTP",
            config: { storageKind: "cephS3", cephRgwUrl: "http://rgw:7480", cephCaCertificate: "x", ...BASE },
            problems: [
                "`cephCaCertificate` must be a PEM certificate (-----BEGIN CERTIFICATE-----)",
                "`cephCaCertificate` needs RGW over HTTPS: an `https://` `cephRgwUrl`, or `cephGatewayTls` true",
            ],
        },
        {
            name: "Ceph keys with filesystem storage",
            config: { cephRgwUrl: "http://rgw:7480" },
            problems: ["`cephRgwUrl` is only used when `storageKind` is `cephSwift` or `cephS3`"],
        },
    ];
    for (const c of cases) {
        it(`refuses ${c.name}, naming the key`, () => {
            assert.deepStrictEqual(problemsOf(c.config, c.secret), c.problems);
        });
    }

    it("refuses before any resource is registered", async () => {
        const r = await runProgram({ storageKind: "cephSwift", cephRgwUrl: "http://rgw:7480", imageTag: "3.1.2", ...BASE }, { secretKeys: SECRETS });
        assert.ok(r.error instanceof ConfigError);
        assert.deepStrictEqual(r.resources, []);
    });

    it("Swift defaults to the 2.8 line; S3 keeps 3.x", () => {
        const swift = parseConfig(raw({ storageKind: "cephSwift", cephRgwUrl: "http://rgw:7480", ...BASE }), (k) => SECRETS.includes(k));
        assert.deepStrictEqual([swift.image.tag, swift.image.line], ["2.8.3", 2]);
        const s3 = parseConfig(raw({ storageKind: "cephS3", cephRgwUrl: "http://rgw:7480", ...BASE }), (k) => SECRETS.includes(k));
        assert.deepStrictEqual([s3.image.tag, s3.image.line], ["3.1.2", 3]);
    });
});

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

describe("Ceph: Admin Ops client", () => {
    it("rgwName makes a valid uid and bucket name from registry and stack", () => {
        assert.strictEqual(rgwName("registry", "prod"), "registry-prod");
        assert.strictEqual(rgwName("registry", "Org_Team/Prod"), "registry-org-team-prod");
        assert.strictEqual(rgwName("r", "x".repeat(80)).length, 63);
    });

    it("builds paths with each parameter once, bare sub-resources without a value, RFC 3986 encoding", () => {
        assert.strictEqual(
            buildPath("/admin/user", [
                ["key", undefined],
                ["uid", "kube"],
                ["subuser", "kube:registry"],
                ["display-name", "a b!"],
            ]),
            "/admin/user?key&uid=kube&subuser=kube%3Aregistry&display-name=a%20b%21",
        );
        assert.strictEqual(buildPath("/admin/user"), "/admin/user");
    });

    // AWS Signature Version 4 test suite (get-vanilla, get-vanilla-query-order-key-case):
    // credentials AKIDEXAMPLE / wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY, 20150830T123600Z.
    const vector = { url: "https://example.amazonaws.com", accessKey: "AKIDEXAMPLE", secretKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY" };
    const date = new Date("2015-08-30T12:36:00Z");
    it("signs the AWS SigV4 test vector get-vanilla", () => {
        const req = signRequest(vector, "GET", "/", { date, service: "service" });
        assert.strictEqual(
            req.headers.Authorization,
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31",
        );
    });
    it("signs the AWS SigV4 test vector get-vanilla-query-order-key-case", () => {
        const req = signRequest(vector, "GET", "/?Param2=value2&Param1=value1", { date, service: "service" });
        assert.match(String(req.headers.Authorization), /Signature=b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500$/);
    });
    it("signs Admin Ops requests for service s3, with the payload hash header RGW checks", () => {
        const req = signRequest({ url: "http://127.0.0.1:7480", accessKey: "AK", secretKey: "SK" }, "GET", "/admin/user?uid=kube&format=json", { date });
        assert.match(
            String(req.headers.Authorization),
            /^AWS4-HMAC-SHA256 Credential=AK\/20150830\/us-east-1\/s3\/aws4_request, SignedHeaders=host;x-amz-content-sha256;x-amz-date, Signature=[0-9a-f]{64}$/,
        );
        assert.strictEqual(req.headers["X-Amz-Content-Sha256"], "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
        assert.deepStrictEqual([req.hostname, req.port, req.protocol], ["127.0.0.1", 7480, "http:"]);
    });

    it("reads error codes from Admin Ops JSON and S3 XML", () => {
        assert.strictEqual(errorCode('{"Code":"NoSuchUser","Message":""}'), "NoSuchUser");
        assert.strictEqual(errorCode('<?xml version="1.0"?><Error><Code>BucketAlreadyExists</Code></Error>'), "BucketAlreadyExists");
        assert.strictEqual(errorCode("oops"), "");
    });

    it("maps RGW errors to messages that name what to fix", () => {
        const url = "http://rgw:7480";
        assert.strictEqual(
            describeRgwError("read RGW user u", 403, "SignatureDoesNotMatch", url),
            "read RGW user u: RGW at http://rgw:7480 rejected the request signature (403 SignatureDoesNotMatch): `cephAdminSecretKey` does not belong to `cephAdminAccessKey`",
        );
        assert.match(describeRgwError("x", 403, "AccessDenied", url), /caps `users=\*` and `buckets=\*`/);
        assert.match(describeRgwError("x", 403, "InvalidAccessKeyId", url), /check `cephAdminAccessKey`/);
        assert.match(describeRgwError("x", 409, "BucketAlreadyExists", url), /set `cephBucket` to an unused name/);
        assert.strictEqual(describeRgwError("x", 500, "", url), "x: RGW at http://rgw:7480 answered 500");
    });
});

describe("Ceph: credential state logic", () => {
    const user = {
        user_id: "u",
        display_name: "u",
        subusers: [{ id: "u:registry", permissions: "full-control" }],
        keys: [
            { user: "u", access_key: "USERKEY", secret_key: "usersecret" },
            { user: "u:registry", access_key: "SUBKEY", secret_key: "subsecret" },
        ],
        swift_keys: [{ user: "u:registry", secret_key: "swiftsecret" }],
    };
    it("finds the subuser's keys of a kind, not the user's", () => {
        assert.deepStrictEqual(findKeys(user, "u:registry", "s3"), [{ accessKey: "SUBKEY", secretKey: "subsecret" }]);
        assert.deepStrictEqual(findKeys(user, "u:registry", "swift"), [{ accessKey: "u:registry", secretKey: "swiftsecret" }]);
        assert.deepStrictEqual(findKeys(undefined, "u:registry", "swift"), []);
    });
    it("a key is live only if the subuser exists and holds exactly that key", () => {
        const state = { fullSubuser: "u:registry", keyType: "swift" as const, accessKey: "u:registry", secretKey: "swiftsecret" };
        assert.strictEqual(keyIsLive(user, state), true);
        assert.strictEqual(keyIsLive(user, { ...state, secretKey: "changed" }), false);
        assert.strictEqual(keyIsLive(user, { ...state, secretKey: "" }), false);
        assert.strictEqual(keyIsLive({ ...user, subusers: [] }, state), false);
        assert.strictEqual(keyIsLive(undefined, state), false);
    });
    it("diff: a new uid, subuser, key type or key generation replaces; admin keys update", () => {
        const base: RgwCredentialsInputs = { ...CREDENTIALS_INPUTS, purgeUserOnDelete: false };
        assert.deepStrictEqual(diffInputs(base, base), { replaces: [], updates: [] });
        assert.deepStrictEqual(diffInputs(base, { ...base, generation: 2, adminSecretKey: "t" }), { replaces: ["generation"], updates: ["adminSecretKey"] });
        assert.deepStrictEqual(diffInputs(base, { ...base, uid: "v", keyType: "s3" }), { replaces: ["uid", "keyType"], updates: [] });
    });
    it("generation 1 uses the configured subuser, others `<subuser>-g<N>`", () => {
        assert.deepStrictEqual(
            [1, 2, 10].map((g) => generationSubuser("registry", g)),
            ["registry", "registry-g2", "registry-g10"],
        );
    });
    it("delete plan: only its own key; the subuser once empty; a created user only when opted in and nothing else is on it", () => {
        const props: RgwCredentialsOutputs = {
            ...CREDENTIALS_INPUTS,
            purgeUserOnDelete: true,
            fullSubuser: "u:registry",
            accessKey: "u:registry",
            secretKey: "swiftsecret",
            userCreated: true,
        };
        const alone = { ...user, keys: [], swift_keys: [{ user: "u:registry", secret_key: "swiftsecret" }] };
        assert.deepStrictEqual(deletionPlan(alone, props), { key: true, subuser: true, user: true });
        assert.deepStrictEqual(deletionPlan(alone, { ...props, purgeUserOnDelete: false }), { key: true, subuser: true, user: false });
        // The replacement's S3 key on the same subuser (cephSwift -> cephS3): the subuser and the user stay.
        assert.deepStrictEqual(deletionPlan({ ...alone, keys: [{ user: "u:registry", access_key: "NEW", secret_key: "new" }] }, props), {
            key: true,
            subuser: false,
            user: false,
        });
        // The replacement's subuser on the same user (a new cephSubuser or key generation): the user stays.
        const sibling = {
            ...alone,
            subusers: [...alone.subusers, { id: "u:registry-g2", permissions: "full-control" }],
            swift_keys: [...alone.swift_keys, { user: "u:registry-g2", secret_key: "g2" }],
        };
        assert.deepStrictEqual(deletionPlan(sibling, props), { key: true, subuser: true, user: false });
        // A Swift key that is no longer the recorded one is someone else's.
        assert.deepStrictEqual(deletionPlan(alone, { ...props, secretKey: "other" }), { key: false, subuser: false, user: false });
        assert.deepStrictEqual(deletionPlan(undefined, props), { key: false, subuser: false, user: false });
    });
});

const CREDS = "pulumi-nodejs:dynamic/ceph:RgwCredentials";
const BUCKET = "pulumi-nodejs:dynamic/ceph:RgwBucket";

describe("Ceph: credentials replaced create-before-delete (the serialised provider against an Admin Ops stand-in)", () => {
    let fake: FakeRgw;
    const uid = "registry-test";
    before(async () => {
        fake = await startFakeRgw();
    });
    after(async () => fake?.stop());
    beforeEach(() => fake.reset());

    const runOn = (config: StackConfig): Promise<ProgramRun> => run({ cephRgwUrl: fake.url, ...config });
    const live = (outs: Record<string, any>): boolean => keyIsLive(fake.user(uid), outs as RgwCredentialsOutputs);
    /** The program's credentials resource, its delete not waiting (the wait has a test of its own). */
    const creds = (r: ProgramRun, retireAfterSeconds = 0): RecordedResource => {
        const res = one(r, CREDS);
        return { ...res, inputs: { ...res.inputs, retireAfterSeconds } };
    };

    /**
     * `pulumi up` from the created `from` to the program's new `to`, as the engine runs a
     * replacement: diff, create the new resource, (`between`: the Secret is replaced and the pods
     * roll), then delete the old one at the end of the update.
     */
    async function replace(
        from: { res: RecordedResource; id: string; outs: Record<string, any> },
        to: RecordedResource,
        between: (outs: Record<string, any>) => void = () => undefined,
    ) {
        const step = await engineUp(to, from.id, from.outs);
        assert.ok(step.replaced !== undefined, `a replacement, not ${JSON.stringify(step.diff)}`);
        between(step.outs);
        await engineDelete(from.res, step.replaced.id, step.replaced.outs);
        return step;
    }

    it("cephSwift -> cephS3 on the same subuser: the old resource's delete removes its Swift key only; the new S3 key and the subuser stay", async () => {
        const swift = creds(await runOn({ storageKind: "cephSwift" }));
        const c1 = await engineCreate(swift);
        const s3 = creds(await runOn({ storageKind: "cephS3" }));
        let both = false;
        const step = await replace({ res: swift, ...c1 }, s3, (outs) => {
            both = live(c1.outs) && live(outs);
        });
        assert.deepStrictEqual(step.diff.replaces, ["keyType"]);
        assert.ok(both, "both keys work until the old resource is deleted");
        assert.strictEqual(step.outs.fullSubuser, `${uid}:registry`);
        const user = fake.user(uid);
        assert.deepStrictEqual(
            user?.subusers.map((s) => s.id),
            [`${uid}:registry`],
        );
        assert.deepStrictEqual(
            user?.keys.map((k) => k.access_key),
            [step.outs.accessKey],
            "the replacement's S3 key survives",
        );
        assert.deepStrictEqual(user?.swift_keys, [], "the old Swift key is gone");
        assert.ok(live(step.outs));
    });

    it("with deleteStorageOnDestroy, a new cephSubuser's replacement keeps the user and the bucket; a destroy then removes both", async () => {
        const before = creds(await runOn({ storageKind: "cephS3", deleteStorageOnDestroy: true }));
        const c1 = await engineCreate(before);
        assert.deepStrictEqual([c1.outs.userCreated, c1.outs.purgeUserOnDelete], [true, true]);
        fake.addBucket(uid, uid);
        const afterRun = await runOn({ storageKind: "cephS3", deleteStorageOnDestroy: true, cephSubuser: "pusher" });
        const step = await replace({ res: before, ...c1 }, creds(afterRun));
        assert.deepStrictEqual(step.diff.replaces, ["subuser"]);
        assert.deepStrictEqual(
            fake.user(uid)?.subusers.map((s) => s.id),
            [`${uid}:pusher`],
            "the user is still there, with the new subuser",
        );
        assert.strictEqual(fake.buckets().get(uid), uid, "the bucket is still there");
        assert.ok(live(step.outs));
        assert.ok(!fake.calls.includes("DELETE user"), fake.calls.join(", "));
        // `pulumi destroy`: the bucket first (it depends on the credentials), then the credentials.
        const bucket = one(afterRun, BUCKET);
        await engineDelete(bucket, uid, bucket.inputs);
        await engineDelete(creds(afterRun), step.id, step.outs);
        assert.deepStrictEqual([fake.user(uid), fake.buckets().size], [undefined, 0]);
    });

    for (const kind of ["cephSwift", "cephS3"] as const) {
        it(`${kind}: rotation replaces the credentials on the new generation's subuser; the old key works until the old resource is deleted`, async () => {
            const g1 = creds(await runOn({ storageKind: kind }));
            const c1 = await engineCreate(g1);
            const g2 = creds(await runOn({ storageKind: kind, cephKeyGeneration: 2 }));
            let both = false;
            const step = await replace({ res: g1, ...c1 }, g2, (outs) => {
                both = live(c1.outs) && live(outs);
            });
            assert.deepStrictEqual(step.diff.replaces, ["subuser", "generation"]);
            assert.strictEqual(step.outs.fullSubuser, `${uid}:registry-g2`);
            assert.ok(both, "old and new key both work between the replacement's create and the old resource's delete");
            assert.ok(!live(c1.outs), "the old key is gone after the delete");
            assert.ok(live(step.outs));
            assert.deepStrictEqual(
                fake.user(uid)?.subusers.map((s) => s.id),
                [`${uid}:registry-g2`],
            );
        });
    }

    it("the old key outlives the pods still terminating: delete waits the registry pods' grace period before it removes the key", async () => {
        const r = await runOn({ storageKind: "cephSwift" });
        const grace = registryPod(r).podSpec.terminationGracePeriodSeconds as number;
        assert.ok(grace > 5, `terminationGracePeriodSeconds ${grace}`);
        assert.strictEqual(one(r, CREDS).inputs.retireAfterSeconds, grace, "the wait is the Deployment's grace period");
        // The same code, with a 1 s wait.
        const res = creds(r, 1);
        const c = await engineCreate(res);
        const started = Date.now();
        const deleting = engineDelete(res, c.id, c.outs);
        await new Promise((resolve) => setTimeout(resolve, 500));
        assert.ok(live(c.outs), "the key still works half a second into the delete");
        await deleting;
        assert.ok(Date.now() - started >= 1000, `the delete took ${Date.now() - started} ms`);
        assert.ok(!live(c.outs), "the key is gone once the delete returns");
    });

    it("a user that still owns a bucket is never deleted, even when the stack opted in", async () => {
        const res = creds(await runOn({ storageKind: "cephS3", deleteStorageOnDestroy: true }));
        const c = await engineCreate(res);
        fake.addBucket(uid, "kept");
        await engineDelete(res, c.id, c.outs);
        assert.deepStrictEqual(fake.user(uid)?.subusers, [], "the subuser and its key went");
        assert.strictEqual(fake.buckets().get("kept"), uid, "the bucket and its data stay");
    });
});
