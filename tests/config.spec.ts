import * as assert from "assert";

import { CONFIG_KEYS, ConfigError, DEFAULT_IMAGE_TAGS, parseConfig, STORAGE_KINDS } from "../config";
import { makePki, TestPki } from "./support/pki";
import { runProgram } from "./support/program";
import { problemsOf, raw } from "./support/config-problems";

let pki: TestPki;
before(async () => {
    pki = await makePki(["registry.example.com"]);
});

/** Each bad config with the exact problem it must report (and only that problem). */
const BAD_CONFIGS: { name: string; config: Record<string, unknown>; problem: string }[] = [
    {
        name: "unknown storage kind",
        config: { storageKind: "nfs" },
        problem: `\`storageKind\` must be one of ${STORAGE_KINDS.map((k) => `\`${k}\``).join(", ")}; got \`nfs\``,
    },
    {
        name: "negative size",
        config: { storageSize: "-5Gi" },
        problem: "`storageSize` must be a positive Kubernetes quantity such as `10Gi` or `500m`; got `-5Gi`",
    },
    { name: "zero size", config: { storageSize: "0" }, problem: "`storageSize` must be a positive Kubernetes quantity such as `10Gi` or `500m`; got `0`" },
    {
        name: "replicas > 1 on a ReadWriteOnce PVC",
        config: { replicas: 2 },
        problem:
            "`replicas` > 1 needs storage that several pods can share; `storageKind` `filesystem` with `storageAccessMode` `ReadWriteOnce` can be mounted by one node only. Set `replicas` to 1, or use shared storage (`storageAccessMode` `ReadWriteMany`)",
    },
    {
        name: "replicas > 1 on emptyDir",
        config: { replicas: 3, storageKind: "emptyDir" },
        problem:
            "`replicas` > 1 needs storage that several pods can share; `storageKind` `emptyDir` is private to each pod. Set `replicas` to 1, or use shared storage (`storageAccessMode` `ReadWriteMany`)",
    },
    { name: "zero replicas", config: { replicas: 0 }, problem: "`replicas` must be a whole number between 1 and 100; got 0" },
    { name: "fractional replicas", config: { replicas: "1.5" }, problem: "`replicas` must be a whole number between 1 and 100; got `1.5`" },
    {
        name: "bad hostname",
        config: { hostnames: ["Registry_Example.com"] },
        problem: "`hostnames` entries must be lowercase DNS names such as `registry.example.com`; got `Registry_Example.com`",
    },
    {
        name: "hostnames not a list",
        config: { hostnames: "registry.example.com" },
        problem: "`hostnames` must be a list of strings (YAML list in the stack file); got `registry.example.com`",
    },
    { name: "empty users", config: { users: [] }, problem: "`users` must list at least one user; the registry refuses anonymous access" },
    { name: "duplicate users", config: { users: ["admin", "ci", "admin"] }, problem: "`users` lists `admin` twice" },
    {
        name: "user with a colon",
        config: { users: ["ci:bot"] },
        problem: "`users` entries must be 1-64 characters of a-z, 0-9, '.', '_', '-' starting with a letter or digit; got `ci:bot`",
    },
    { name: "port out of range", config: { servicePort: 70000 }, problem: "`servicePort` must be a whole number between 1 and 65535; got 70000" },
    { name: "port not a number", config: { servicePort: "https" }, problem: "`servicePort` must be a whole number between 1 and 65535; got `https`" },
    {
        name: "unknown service type",
        config: { serviceType: "Ingress" },
        problem: "`serviceType` must be one of `LoadBalancer`, `ClusterIP`, `NodePort`; got `Ingress`",
    },
    {
        name: "node port out of range",
        config: { serviceType: "NodePort", nodePort: 8080 },
        problem: "`nodePort` must be 0 (allocated) or within 30000-32767; got 8080",
    },
    {
        name: "node port on ClusterIP",
        config: { serviceType: "ClusterIP", nodePort: 30500 },
        problem: "`nodePort` needs `serviceType` `NodePort` or `LoadBalancer`; a ClusterIP Service has no node port",
    },
    {
        name: "floating image tag",
        config: { imageTag: "latest" },
        problem: "`imageTag` must be an exact distribution version, `3.x.y` or `2.8.x` (it decides the config path and storage drivers); got `latest`",
    },
    {
        name: "unsupported old line",
        config: { imageTag: "2.7.1" },
        problem: "`imageTag` must be an exact distribution version, `3.x.y` or `2.8.x` (it decides the config path and storage drivers); got `2.7.1`",
    },
    { name: "bad digest", config: { imageDigest: "sha256:xyz" }, problem: "`imageDigest` must look like `sha256:<64 hex digits>`; got `sha256:xyz`" },
    {
        name: "early renewal not before expiry",
        config: { tlsValidityHours: 100, tlsEarlyRenewalHours: 100 },
        problem: "`tlsEarlyRenewalHours` (100) must be less than `tlsValidityHours` (100), or every `pulumi up` re-issues the certificate",
    },
    {
        name: "CA shorter than the certificate",
        config: { tlsValidityHours: 1000, tlsCaValidityHours: 500, tlsEarlyRenewalHours: 10 },
        problem: "`tlsCaValidityHours` (500) must be at least `tlsValidityHours` (1000): a certificate cannot outlive its CA",
    },
    {
        name: "source range not a CIDR",
        config: { loadBalancerSourceRanges: ["10.0.0.0/33"] },
        problem: "`loadBalancerSourceRanges` entries must be CIDRs such as `203.0.113.0/24`; got `10.0.0.0/33`",
    },
    {
        name: "source ranges without a load balancer",
        config: { serviceType: "ClusterIP", loadBalancerSourceRanges: ["10.0.0.0/8"] },
        problem: "`loadBalancerSourceRanges` only applies when `serviceType` is `LoadBalancer`",
    },
    {
        name: "bad namespace",
        config: { namespace: "Kube_System" },
        problem: "`namespace` must be a lowercase DNS label (a-z, 0-9, -, at most 63 characters); got `Kube_System`",
    },
    { name: "bad IP", config: { ipAddresses: ["300.1.1.1"] }, problem: "`ipAddresses` entries must be IPv4 or IPv6 addresses; got `300.1.1.1`" },
    {
        name: "annotation without value",
        config: { serviceAnnotations: ["noequals"] },
        problem: "`serviceAnnotations` entries must be `key=value` with a valid annotation key; got `noequals`",
    },
    { name: "unknown log level", config: { logLevel: "verbose" }, problem: "`logLevel` must be one of `error`, `warn`, `info`, `debug`; got `verbose`" },
    { name: "boolean as word", config: { createNamespace: "yes" }, problem: "`createNamespace` must be true or false; got `yes`" },
    { name: "short passwords", config: { passwordLength: 8 }, problem: "`passwordLength` must be a whole number between 16 and 128; got 8" },
    {
        name: "bcrypt cost below Go's minimum",
        config: { htpasswdBcryptCost: 3 },
        problem: "`htpasswdBcryptCost` must be a whole number between 4 and 31; got 3",
    },
    {
        name: "bcrypt cost above Go's maximum",
        config: { htpasswdBcryptCost: 32 },
        problem: "`htpasswdBcryptCost` must be a whole number between 4 and 31; got 32",
    },
    {
        name: "bcrypt cost not a number",
        config: { htpasswdBcryptCost: "low" },
        problem: "`htpasswdBcryptCost` must be a whole number between 4 and 31; got `low`",
    },
    {
        name: "the default bcrypt cost with short passwords",
        config: { passwordLength: 21 },
        problem:
            "`htpasswdBcryptCost` below 10 needs `passwordLength` of at least 22 (22 letters and digits carry 131 bits, beyond guessing at any cost); got `htpasswdBcryptCost` 5 with `passwordLength` 21. Raise `passwordLength`, or set `htpasswdBcryptCost` to 10 or more",
    },
    {
        name: "bcrypt cost 9 with the shortest passwords",
        config: { passwordLength: 16, htpasswdBcryptCost: 9 },
        problem:
            "`htpasswdBcryptCost` below 10 needs `passwordLength` of at least 22 (22 letters and digits carry 131 bits, beyond guessing at any cost); got `htpasswdBcryptCost` 9 with `passwordLength` 16. Raise `passwordLength`, or set `htpasswdBcryptCost` to 10 or more",
    },
    {
        name: "bad pull-only user",
        config: { pullUsers: ["Reader"] },
        problem: "`pullUsers` entries must be 1-64 characters of a-z, 0-9, '.', '_', '-' starting with a letter or digit; got `Reader`",
    },
    { name: "pull-only user twice", config: { pullUsers: ["reader", "reader"] }, problem: "`pullUsers` lists `reader` twice" },
    {
        name: "a user with two roles",
        config: { users: ["admin", "ci"], pullUsers: ["ci"] },
        problem: "`ci` is in both `users` and `pullUsers`; a user has one role: push (`users`) or pull-only (`pullUsers`)",
    },
    {
        name: "gate image not pinned",
        config: { gateImage: "nginx" },
        problem: "`gateImage` must be an image pinned by an exact tag or a digest, such as `docker.io/library/busybox:1.37.0`; got `nginx`",
    },
    {
        name: "an Alpine gate with a bcrypt cost musl cannot compute",
        config: { gateImage: "docker.io/nginxinc/nginx-unprivileged:1.28.0-alpine", htpasswdBcryptCost: 12 },
        problem:
            "`htpasswdBcryptCost` 12 cannot be checked by an Alpine `gateImage` (`docker.io/nginxinc/nginx-unprivileged:1.28.0-alpine`): musl's crypt(3) computes bcrypt only up to cost 11. Use a Debian-based image such as `docker.io/nginxinc/nginx-unprivileged:1.28.0`, or a cost of 11 or less",
    },
    {
        name: "gate auth cache longer than an hour",
        config: { gateAuthCacheSeconds: 3601 },
        problem: "`gateAuthCacheSeconds` must be a whole number between 0 and 3600; got 3601",
    },
    {
        name: "gate auth cache negative",
        config: { gateAuthCacheSeconds: -1 },
        problem: "`gateAuthCacheSeconds` must be a whole number between 0 and 3600; got -1",
    },
    {
        name: "auth realm with a variable",
        config: { authRealm: "reg$istry" },
        problem: "`authRealm` must be a non-empty string without quotes, backslashes, `$` or control characters",
    },
    {
        name: "bad access mode",
        config: { storageAccessMode: "ReadOnlyMany" },
        problem: "`storageAccessMode` must be one of `ReadWriteOnce`, `ReadWriteMany`; got `ReadOnlyMany`",
    },
    {
        name: "CPU limit not a quantity",
        config: { cpuLimit: "two" },
        problem: "`cpuLimit` must be a positive Kubernetes quantity such as `10Gi` or `500m`; got `two`",
    },
    {
        name: "misspelled key",
        config: { replica: 2 },
        problem: `unknown config key \`replica\`; known keys: ${Object.keys(CONFIG_KEYS).join(", ")}`,
    },
    {
        name: "certificate material with generated TLS",
        config: { tlsCertificate: "-----BEGIN CERTIFICATE-----" },
        problem: "`tlsCertificate` is only used when `tlsMode` is `provided`; remove it or set `tlsMode` to `provided`",
    },
    {
        name: "bad existing claim name",
        config: { storageExistingClaim: "Data_1" },
        problem: "`storageExistingClaim` must be a PVC name (lowercase DNS name); got `Data_1`",
    },
    {
        name: "existing claim on emptyDir",
        config: { storageKind: "emptyDir", storageExistingClaim: "data" },
        problem: "`storageExistingClaim` needs `storageKind` `filesystem`",
    },
    {
        name: "registry name too long",
        config: { registryName: "r".repeat(60) },
        problem: `\`registryName\` must be a lowercase DNS label of at most 52 characters (a-z, 0-9, -); got \`${"r".repeat(60)}\``,
    },
];

describe("config validation", () => {
    it("accepts an empty stack config and applies the defaults", () => {
        const cfg = parseConfig(raw({}));
        assert.strictEqual(cfg.registryName, "registry");
        assert.strictEqual(cfg.namespace, "registry");
        assert.deepStrictEqual(cfg.storage, {
            kind: "filesystem",
            size: "10Gi",
            storageClass: undefined,
            accessMode: "ReadWriteOnce",
            existingClaim: undefined,
        });
        assert.deepStrictEqual(cfg.image, { repository: "docker.io/library/registry", tag: DEFAULT_IMAGE_TAGS[3], digest: undefined, line: 3 });
        assert.deepStrictEqual(cfg.users, ["admin"]);
        assert.strictEqual(cfg.service.type, "LoadBalancer");
        assert.strictEqual(cfg.service.port, 443);
        assert.strictEqual(cfg.deleteStorageOnDestroy, false);
        assert.deepStrictEqual(cfg.tls, { mode: "generate", keyAlgorithm: "ECDSA", validityHours: 8760, earlyRenewalHours: 720, caValidityHours: 87600 });
    });

    it("keeps a configured 0 or false instead of replacing it with the default", () => {
        const cfg = parseConfig(raw({ tlsEarlyRenewalHours: 0, createNamespace: false, accessLog: false }));
        assert.strictEqual(cfg.tls.mode === "generate" && cfg.tls.earlyRenewalHours, 0);
        assert.strictEqual(cfg.createNamespace, false);
        assert.strictEqual(cfg.log.accessLog, false);
    });

    it("roles: push users and pull-only users as configured (pullUser added by access), a pull user's password rotatable, the gate's image", () => {
        const cfg = parseConfig(raw({ users: ["admin", "ci"], pullUsers: ["reader"], passwordRotation: ["reader=1", "puller=2"] }));
        assert.deepStrictEqual([cfg.users, cfg.pullUsers, cfg.access.extraPullUsers], [["admin", "ci"], ["reader"], ["puller"]]);
        assert.deepStrictEqual(cfg.operations.passwordRotation, { reader: "1", puller: "2" });
        assert.strictEqual(cfg.gateImage, "docker.io/nginxinc/nginx-unprivileged:1.28.0");
        assert.deepStrictEqual(parseConfig(raw({ pullUsers: ["puller"] })).access.extraPullUsers, []);
        // musl's bcrypt reaches cost 11.
        assert.strictEqual(
            parseConfig(raw({ gateImage: "docker.io/nginxinc/nginx-unprivileged:1.28.0-alpine", htpasswdBcryptCost: 11 })).htpasswdBcryptCost,
            11,
        );
    });

    it("takes the 2.8 line from a 2.8.x tag", () => {
        assert.strictEqual(parseConfig(raw({ imageTag: "2.8.3" })).image.line, 2);
    });

    it("allows several replicas on a ReadWriteMany claim", () => {
        assert.strictEqual(parseConfig(raw({ replicas: 3, storageAccessMode: "ReadWriteMany" })).replicas, 3);
    });

    it("parses annotations and source ranges", () => {
        const cfg = parseConfig(raw({ serviceAnnotations: ["a.b/c=x=y", "plain="], loadBalancerSourceRanges: ["10.0.0.0/8", "2001:db8::/32"] }));
        assert.deepStrictEqual(cfg.service.annotations, { "a.b/c": "x=y", plain: "" });
        assert.deepStrictEqual(cfg.service.loadBalancerSourceRanges, ["10.0.0.0/8", "2001:db8::/32"]);
    });

    for (const bad of BAD_CONFIGS) {
        it(`refuses ${bad.name} with a message naming the key`, () => {
            assert.deepStrictEqual(problemsOf(bad.config), [bad.problem]);
        });
    }

    it("reports every problem at once", () => {
        const problems = problemsOf({ storageKind: "nfs", servicePort: 0, users: [] });
        assert.strictEqual(problems.length, 3);
        const err = (() => {
            try {
                parseConfig(raw({ servicePort: 0 }));
            } catch (e) {
                return e as Error;
            }
            return undefined;
        })();
        assert.strictEqual(err?.message, "Invalid stack configuration:\n  - `servicePort` must be a whole number between 1 and 65535; got 0");
    });

    describe("provided TLS", () => {
        it("requires certificate, key and CA", () => {
            assert.deepStrictEqual(problemsOf({ tlsMode: "provided" }), [
                "`tlsCertificate` is required when `tlsMode` is `provided`",
                "`tlsPrivateKey` is required when `tlsMode` is `provided`",
                "`tlsCaCertificate` is required when `tlsMode` is `provided`",
            ]);
        });

        it("requires the private key to be a secret", () => {
            const config = { tlsMode: "provided", tlsCertificate: pki.certPem, tlsPrivateKey: pki.keyPem, tlsCaCertificate: pki.caPem };
            assert.deepStrictEqual(problemsOf(config), ["`tlsPrivateKey` must be stored as a secret: `pulumi config set --secret tlsPrivateKey < key.pem`"]);
            assert.deepStrictEqual(problemsOf(config, ["tlsPrivateKey"]), []);
        });

        it("refuses a key that does not match the certificate", async () => {
            const other = await makePki(["registry.example.com"]);
            const config = { tlsMode: "provided", tlsCertificate: pki.certPem, tlsPrivateKey: other.keyPem, tlsCaCertificate: pki.caPem };
            assert.deepStrictEqual(problemsOf(config, ["tlsPrivateKey"]), ["`tlsPrivateKey` does not belong to `tlsCertificate`"]);
        });

        it("refuses a CA that did not issue the certificate", async () => {
            const other = await makePki(["registry.example.com"]);
            const config = { tlsMode: "provided", tlsCertificate: pki.certPem, tlsPrivateKey: pki.keyPem, tlsCaCertificate: other.caPem };
            assert.deepStrictEqual(problemsOf(config, ["tlsPrivateKey"]), ["`tlsCertificate` was not issued by `tlsCaCertificate`"]);
        });

        it("refuses a certificate that does not cover the hostnames", () => {
            const config = {
                tlsMode: "provided",
                tlsCertificate: pki.certPem,
                tlsPrivateKey: pki.keyPem,
                tlsCaCertificate: pki.caPem,
                hostnames: ["other.example.com"],
            };
            assert.deepStrictEqual(problemsOf(config, ["tlsPrivateKey"]), [
                "`tlsCertificate` does not cover `other.example.com` from `hostnames`; clients would refuse it",
            ]);
        });

        it("refuses text that is not PEM", () => {
            const config = { tlsMode: "provided", tlsCertificate: "hello", tlsPrivateKey: "world", tlsCaCertificate: pki.caPem };
            assert.deepStrictEqual(problemsOf(config, ["tlsPrivateKey"]), [
                "`tlsCertificate` must be a PEM certificate (-----BEGIN CERTIFICATE-----)",
                "`tlsPrivateKey` must be a PEM private key (-----BEGIN ... PRIVATE KEY-----)",
            ]);
        });
    });

    describe("in the program", () => {
        it(`fails before any resource is registered, for all ${BAD_CONFIGS.length} bad configs`, async () => {
            for (const bad of BAD_CONFIGS) {
                const run = await runProgram(bad.config);
                assert.ok(run.error instanceof ConfigError, `${bad.name}: expected a ConfigError, got ${String(run.error)}`);
                assert.ok(run.error.message.includes(bad.problem), `${bad.name}: ${run.error.message}`);
                assert.deepStrictEqual(
                    run.resources.map((r) => r.type),
                    [],
                    `${bad.name}: resources were registered`,
                );
            }
        });
    });
});
