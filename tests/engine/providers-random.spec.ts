// The stand-in random provider plugin (tests/engine/providers/random.ts), called directly: its
// check, create and diff decisions for RandomPassword against the real provider's rules; and the
// executables that start both stand-in plugins as the engine starts a plugin.
import * as grpc from "@grpc/grpc-js";
import { ResourceProviderClient } from "@pulumi/pulumi/proto/provider_grpc_pb";
import * as assert from "assert";
import * as bcrypt from "bcryptjs";
import { spawn } from "child_process";
import * as fs from "fs";
import { Empty } from "google-protobuf/google/protobuf/empty_pb";
import * as os from "os";
import * as path from "path";

import { Props, secretOf } from "./providers/common";
import { installStandInProviders } from "./providers";
import { randomProvider } from "./providers/random";
import { check, create, diff, isSecret, NO_CHANGES, PASSWORD, plain, replaces, UPDATE, urn } from "./provider-calls";

describe("stand-in tls and random providers", function () {
    describe("random.RandomPassword", () => {
        const args = { length: 32, special: false, minNumeric: 2, minUpper: 2, minLower: 2 };

        it("check applies the provider's defaults; number and numeric follow each other", async () => {
            assert.deepStrictEqual((await check(PASSWORD, { length: 8 })).inputs, {
                length: 8,
                special: true,
                upper: true,
                lower: true,
                number: true,
                numeric: true,
                minUpper: 0,
                minLower: 0,
                minNumeric: 0,
                minSpecial: 0,
            });
            const { inputs } = await check(PASSWORD, { length: 8, numeric: false });
            assert.deepStrictEqual([inputs.number, inputs.numeric], [false, false]);
        });

        it("check refuses a length below the minimums' sum or below 1, and number/numeric that disagree", async () => {
            const reasons = async (news: Props): Promise<string[]> => (await check(PASSWORD, news)).failures.map((f) => `${f.property}: ${f.reason}`);
            assert.deepStrictEqual(await reasons({ length: 3, minUpper: 2, minLower: 2 }), [
                "length: `length` must be at least minUpper + minLower + minNumeric + minSpecial (4), got 3",
            ]);
            assert.deepStrictEqual(await reasons({ length: 0 }), ["length: `length` must be at least 1, got 0"]);
            assert.deepStrictEqual(await reasons({ length: 8, number: true, numeric: false }), [
                "numeric: `number` and `numeric` are both set, with different values; `number` is deprecated, use `numeric`",
            ]);
        });

        it("create: id none; result follows the rules; bcryptHash is bcrypt cost 10 ($2a$) of it; both secret", async () => {
            const { id, state } = await create(PASSWORD, args);
            assert.strictEqual(id, "none");
            assert.ok(isSecret(state.result) && isSecret(state.bcryptHash));
            const result = String(plain(state.result));
            assert.match(result, /^[A-Za-z0-9]{32}$/);
            assert.ok((result.match(/[0-9]/g) ?? []).length >= 2 && (result.match(/[A-Z]/g) ?? []).length >= 2 && (result.match(/[a-z]/g) ?? []).length >= 2);
            assert.match(String(plain(state.bcryptHash)), /^\$2a\$10\$/);
            assert.ok(bcrypt.compareSync(result, String(plain(state.bcryptHash))));
        });

        it("create: secret keepers stay secret in the outputs", async () => {
            const { state } = await create(PASSWORD, { ...args, keepers: secretOf({ rotation: "1" }) });
            assert.ok(isSecret(state.keepers));
        });

        it("diff: old outputs against the same inputs, defaults spelled out or not, is no change", async () => {
            const { state } = await create(PASSWORD, { ...args, keepers: { rotation: "1" } });
            assert.deepStrictEqual(await diff(PASSWORD, state, { ...args, keepers: { rotation: "1" } }), NO_CHANGES);
            assert.deepStrictEqual(await diff(PASSWORD, state, { ...args, keepers: { rotation: "1" }, upper: true, numeric: true, minSpecial: 0 }), NO_CHANGES);
        });

        it("diff: keepers changed, added or removed replace; so does every other input", async () => {
            const { state } = await create(PASSWORD, { ...args, keepers: { rotation: "1" } });
            assert.deepStrictEqual(await diff(PASSWORD, state, { ...args, keepers: { rotation: "2" } }), replaces("keepers"));
            assert.deepStrictEqual(await diff(PASSWORD, state, args), replaces("keepers"));
            assert.deepStrictEqual(await diff(PASSWORD, (await create(PASSWORD, args)).state, { ...args, keepers: { rotation: "1" } }), replaces("keepers"));
            assert.deepStrictEqual(await diff(PASSWORD, state, { ...args, keepers: { rotation: "1" }, length: 40 }), replaces("length"));
            assert.deepStrictEqual(await diff(PASSWORD, state, { ...args, keepers: { rotation: "1" }, special: true }), replaces("special"));
            assert.deepStrictEqual(await diff(PASSWORD, state, { ...args, keepers: { rotation: "1" }, number: false }), replaces("number", "numeric"));
        });

        it('diff: overrideSpecial from "" to unset updates in place; any other change replaces', async () => {
            const { state } = await create(PASSWORD, { ...args, overrideSpecial: "" });
            assert.deepStrictEqual(await diff(PASSWORD, state, args), UPDATE);
            assert.deepStrictEqual(await diff(PASSWORD, state, { ...args, overrideSpecial: "!" }), replaces("overrideSpecial"));
            const outs = ((await randomProvider.update?.("none", urn(PASSWORD), state, (await check(PASSWORD, args)).inputs))?.outs ?? {}) as Props;
            assert.ok(!("overrideSpecial" in outs));
            assert.deepStrictEqual(plain(outs.result), plain(state.result));
        });
    });

    describe("plugin executables", () => {
        it("installStandInProviders writes wrappers that start the plugins on 127.0.0.1, reporting their versions", async () => {
            const dir = fs.mkdtempSync(path.join(os.tmpdir(), "standin-bin-"));
            try {
                installStandInProviders(dir);
                for (const [name, version] of [
                    ["pulumi-resource-tls", "5.6.1"],
                    ["pulumi-resource-random", "4.21.2"],
                ]) {
                    const file = path.join(dir, name);
                    assert.ok((fs.statSync(file).mode & 0o111) !== 0, `${name} is not executable`);
                    assert.strictEqual(await pluginVersion(file), version);
                }
            } finally {
                fs.rmSync(dir, { recursive: true, force: true });
            }
        });
    });
});

/** Starts a plugin as the engine does, asks its version over gRPC, and stops it. */
async function pluginVersion(file: string): Promise<string> {
    const child = spawn(file, [], { stdio: ["ignore", "pipe", "pipe"] });
    let stderr = "";
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    try {
        const port = await new Promise<string>((resolve, reject) => {
            let out = "";
            child.stdout.on("data", (d: Buffer) => {
                out += d.toString();
                const line = /^(\d+)\n/.exec(out);
                if (line !== null) {
                    resolve(line[1]);
                }
            });
            child.on("exit", (code) => reject(new Error(`${file} exited with ${String(code)} before printing its port: ${stderr}`)));
        });
        const client = new ResourceProviderClient(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
        try {
            return await new Promise<string>((resolve, reject) =>
                client.getPluginInfo(new Empty(), (err, info) => (err !== null ? reject(err) : resolve(info.getVersion()))),
            );
        } finally {
            client.close();
        }
    } finally {
        child.kill("SIGTERM");
    }
}
