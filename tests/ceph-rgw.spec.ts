// Ceph: the Admin Ops client's request building, SigV4 signing (AWS's published test vectors) and
// error mapping; the credentials provider's state logic (keys, diff, subusers, delete plan).
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
