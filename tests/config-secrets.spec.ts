// How the program tells a config value set with `pulumi config set --secret` from a plain one.
// @pulumi/pulumi has no public API for it, so the program uses the SDK's own `isConfigSecret`
// (what Config uses) and these tests pin that behaviour: an SDK upgrade that changes it fails here
// or fails loudly at `pulumi up`, never silently accepting plain secrets.
import * as assert from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import * as runtimeConfig from "@pulumi/pulumi/runtime/config";
import { version as sdkVersion } from "@pulumi/pulumi/version";

import { configIsSecret, SECRET_DETECTION_SDK_VERSION } from "../config";
import { ROOT } from "./support/program";

/** Runs `code` in a fresh Node process with the environment the Pulumi CLI's language host gives a program. */
function inProgramProcess(code: string, config: Record<string, string>, secretKeys: string[]): { status: number | null; stdout: string; stderr: string } {
    const r = spawnSync(process.execPath, ["-r", "ts-node/register/transpile-only", "-e", code], {
        cwd: ROOT,
        encoding: "utf8",
        env: {
            PATH: process.env.PATH ?? "",
            HOME: process.env.HOME ?? "",
            PULUMI_NODEJS_PROJECT: "registry",
            PULUMI_NODEJS_STACK: "test",
            PULUMI_CONFIG: JSON.stringify(config),
            PULUMI_CONFIG_SECRET_KEYS: JSON.stringify(secretKeys),
        },
    });
    return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe("secret config detection", () => {
    it("fails loudly, naming the SDK, when @pulumi/pulumi no longer provides it", () => {
        const exports = runtimeConfig as unknown as Record<string, unknown>;
        const saved = exports.isConfigSecret;
        exports.isConfigSecret = undefined;
        try {
            assert.throws(
                () => configIsSecret("registry:redisPassword"),
                new Error(
                    `@pulumi/pulumi ${sdkVersion} has no runtime isConfigSecret, which the program uses to tell secret config values from plain ones (verified with ${SECRET_DETECTION_SDK_VERSION}); see configIsSecret in config.ts`,
                ),
            );
        } finally {
            exports.isConfigSecret = saved;
        }
    });

    it("reads the secret keys the Pulumi CLI's language host passes to the program (PULUMI_CONFIG_SECRET_KEYS)", () => {
        const config = { "registry:blobDescriptorCache": "redis", "registry:redisAddress": "redis.cache.svc:6379", "registry:redisPassword": "hunter2" };
        const probe =
            'const c = require("./config"); console.log(JSON.stringify([c.configIsSecret("registry:redisPassword"), c.configIsSecret("registry:redisAddress")]));';
        const r = inProgramProcess(probe, config, ["registry:redisPassword"]);
        assert.strictEqual(r.status, 0, r.stderr);
        assert.strictEqual(r.stdout.trim(), "[true,false]");
    });

    it("loadConfig accepts a secret set with --secret and refuses the same value set in plain text", () => {
        const config = { "registry:blobDescriptorCache": "redis", "registry:redisAddress": "redis.cache.svc:6379", "registry:redisPassword": "hunter2" };
        const load = 'try { require("./config").loadConfig(); console.log("ok"); } catch (e) { console.log(e.problems ? e.problems.join("\\n") : String(e)); }';
        const secret = inProgramProcess(load, config, ["registry:redisPassword"]);
        assert.strictEqual(secret.status, 0, secret.stderr);
        assert.strictEqual(secret.stdout.trim(), "ok");
        const plain = inProgramProcess(load, config, []);
        assert.strictEqual(plain.stdout.trim(), "`redisPassword` must be stored as a secret: `pulumi config set --secret redisPassword <value>`");
    });

    it("the SDK is pinned exactly, to the version the detection was verified with", () => {
        const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, "package.json"), "utf8")) as { dependencies: Record<string, string> };
        assert.strictEqual(pkg.dependencies["@pulumi/pulumi"], SECRET_DETECTION_SDK_VERSION, "package.json must pin @pulumi/pulumi to the verified version");
        assert.strictEqual(
            sdkVersion,
            SECRET_DETECTION_SDK_VERSION,
            "the installed @pulumi/pulumi is not the verified one: rerun these tests' checks against it, then update SECRET_DETECTION_SDK_VERSION",
        );
    });
});
