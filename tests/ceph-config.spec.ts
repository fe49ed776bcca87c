// Ceph: the Ceph config keys' validation, and the image line each storage kind picks.
import * as assert from "assert";

import { ConfigError, parseConfig } from "../config";
import { problemsOf as configProblems, raw } from "./support/config-problems";
import { runProgram } from "./support/program";
import { BASE, SECRETS } from "./support/ceph-fixtures";

function problemsOf(values: Record<string, unknown>, secretKeys: string[] = SECRETS): readonly string[] {
    return configProblems(values, secretKeys);
}

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
