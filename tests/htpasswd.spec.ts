// The htpasswd hashes: their cost, their salt from state (the same state gives the same files, so
// `pulumi up` leaves the Secret and the pods alone), the gate's two files (every user may read,
// push users may write), and what the gate's nginx makes of each line.
import * as assert from "assert";
import * as bcrypt from "bcryptjs";

import { parseConfig } from "../config";
import { BCRYPT_MAX_COST, BCRYPT_MIN_COST, bcryptCostOf, htpasswdHash, MIN_LENGTH_BELOW_FULL_COST, passwordBits } from "../components/security/htpasswd";
import { raw } from "./support/config-problems";
import { bcryptHash, randomString } from "./support/crypto";
import { secretValue } from "./support/pod";
import { one, ProgramRun, runProgram, StackConfig } from "./support/program";

const RANDOM_PASSWORD = "random:index/randomPassword:RandomPassword";

/**
 * What the gate makes of an htpasswd file: nginx's auth_basic reads `user:hash` lines (blank and
 * `#` lines skipped, the user up to the first colon) and hands the hash to crypt(3); glibc's
 * libxcrypt (the Debian-based gate image, and the nginx the e2e tests run) takes bcrypt as `$2` +
 * `a`, `b`, `x` or `y` + `$` + a two-digit cost in 4..31 + `$` + 22 salt and 31 hash characters.
 */
function readAsGate(file: string): Map<string, { minor: string; cost: number }> {
    const entries = new Map<string, { minor: string; cost: number }>();
    for (const line of file.split("\n").map((l) => l.trim())) {
        if (line === "" || line.startsWith("#")) {
            continue;
        }
        const i = line.indexOf(":");
        assert.ok(i > 0, `htpasswd line without a user: ${line}`);
        const m = /^\$2([abxy])\$(\d\d)\$[./A-Za-z0-9]{53}$/.exec(line.slice(i + 1));
        assert.ok(m !== null, `not a bcrypt hash crypt(3) parses: ${line}`);
        const cost = Number(m[2]);
        assert.ok(cost >= BCRYPT_MIN_COST && cost <= BCRYPT_MAX_COST, `cost ${cost} outside bcrypt's range`);
        entries.set(line.slice(0, i), { minor: m[1], cost });
    }
    return entries;
}

/** A password and the provider's hash of it, as the random provider keeps them in state. */
function passwordState(length = 32): { result: string; bcryptHash: string } {
    const result = randomString({ length, upper: true, lower: true, numeric: true, special: false, minUpper: 2, minLower: 2, minNumeric: 2, minSpecial: 0 });
    return { result, bcryptHash: bcryptHash(result) };
}

describe("htpasswd hashes", () => {
    describe("htpasswdHash", () => {
        const state = passwordState();

        it("verifies with the password, carries the cost asked for with Go's `$2a$` prefix, and not another password", () => {
            for (const cost of [4, 5, 6]) {
                const hash = htpasswdHash(state.result, state.bcryptHash, cost);
                assert.match(hash, new RegExp(`^\\$2a\\$0${cost}\\$`));
                assert.strictEqual(bcryptCostOf(hash), cost);
                assert.ok(bcrypt.compareSync(state.result, hash));
                assert.ok(!bcrypt.compareSync(`${state.result}x`, hash));
            }
        });

        it("takes its salt from the provider's hash in state: the same state gives the same hash, another state another", () => {
            const a = htpasswdHash(state.result, state.bcryptHash, 5);
            assert.strictEqual(htpasswdHash(state.result, state.bcryptHash, 5), a);
            // getSalt gives `$2a$NN$` and the 22 salt characters.
            assert.strictEqual(bcrypt.getSalt(a).slice(7), bcrypt.getSalt(state.bcryptHash).slice(7));
            const resalted = bcryptHash(state.result);
            assert.notStrictEqual(htpasswdHash(state.result, resalted, 5), a);
        });

        it("at the provider's cost is the provider's hash itself (a stack kept at cost 10 sees no change)", () => {
            assert.strictEqual(htpasswdHash(state.result, state.bcryptHash, 10), state.bcryptHash);
        });

        it("hashes the first 72 bytes of a long password, as the provider and Go's bcrypt do", () => {
            const long = passwordState(100);
            assert.strictEqual(htpasswdHash(long.result, long.bcryptHash, 10), long.bcryptHash);
            const hash = htpasswdHash(long.result, long.bcryptHash, 4);
            assert.ok(bcrypt.compareSync(long.result, hash));
            assert.ok(bcrypt.compareSync(long.result.slice(0, 72), hash));
        });

        it("refuses a cost outside Go's range and a salt source that is not a bcrypt hash", () => {
            assert.throws(() => htpasswdHash(state.result, state.bcryptHash, 3), /bcrypt cost must be a whole number from 4 to 31; got 3/);
            assert.throws(() => htpasswdHash(state.result, state.bcryptHash, 32), /got 32/);
            assert.throws(() => htpasswdHash(state.result, "not-a-hash", 5), /not a bcrypt hash/);
        });

        it(`the length rule: ${MIN_LENGTH_BELOW_FULL_COST} letters and digits are the first past 128 bits`, () => {
            assert.ok(passwordBits(MIN_LENGTH_BELOW_FULL_COST) >= 128);
            assert.ok(passwordBits(MIN_LENGTH_BELOW_FULL_COST - 1) < 128);
        });
    });

    describe("config", () => {
        it("defaults to cost 5 for the default 32-character passwords", () => {
            const cfg = parseConfig(raw({}));
            assert.strictEqual(cfg.htpasswdBcryptCost, 5);
            assert.strictEqual(cfg.passwordLength, 32);
        });

        it("accepts any cost from 10 with the shortest passwords, and cost 4 from 22 characters", () => {
            assert.strictEqual(parseConfig(raw({ passwordLength: 16, htpasswdBcryptCost: 10 })).htpasswdBcryptCost, 10);
            assert.strictEqual(parseConfig(raw({ passwordLength: 16, htpasswdBcryptCost: 31 })).htpasswdBcryptCost, 31);
            assert.strictEqual(parseConfig(raw({ passwordLength: 22, htpasswdBcryptCost: 4 })).htpasswdBcryptCost, 4);
        });
    });

    describe("in the program", () => {
        /** Fixed random-provider state per RandomPassword name, as a second evaluation of the same stack finds it. */
        const STATE: Record<string, { result: string; bcryptHash: string }> = {};
        const withState = (config: StackConfig): Promise<ProgramRun> =>
            runProgram(config, {
                resourceState: (type, name) => {
                    if (type !== RANDOM_PASSWORD) {
                        return undefined;
                    }
                    STATE[name] ??= passwordState();
                    return STATE[name];
                },
            });
        /** The gate's file of who may read (every user), or of who may write (push users). */
        const htpasswdOf = (r: ProgramRun, file: "pull.htpasswd" | "push.htpasswd" = "pull.htpasswd"): string => {
            assert.strictEqual(r.error, undefined);
            return secretValue(one(r, "kubernetes:core/v1:Secret", "registry-auth"), file) ?? "";
        };
        const users = ["admin", "ci", "deploy"];
        const everyone = [...users, "reader", "puller"];

        it("every line parses as the gate reads it, verifies with that user's password, and has the configured cost", async () => {
            const r = await runProgram({ users, pullUsers: ["reader"] });
            const entries = readAsGate(htpasswdOf(r));
            const passwords = r.outputs.passwords as Record<string, string>;
            assert.deepStrictEqual([...entries.keys()], everyone);
            const lines = htpasswdOf(r).trim().split("\n");
            for (const [i, user] of everyone.entries()) {
                assert.deepStrictEqual(entries.get(user), { minor: "a", cost: 5 });
                const hash = lines[i].slice(user.length + 1);
                assert.ok(bcrypt.compareSync(passwords[user], hash), `${user}'s password does not verify`);
            }
        });

        it("who may write: the push users' lines, the same ones, and no pull-only user", async () => {
            const r = await runProgram({ users, pullUsers: ["reader"] });
            const push = htpasswdOf(r, "push.htpasswd");
            assert.deepStrictEqual([...readAsGate(push).keys()], users);
            assert.strictEqual(
                push,
                htpasswdOf(r)
                    .split("\n")
                    .slice(0, users.length)
                    .map((l) => `${l}\n`)
                    .join(""),
            );
        });

        it("the same state gives the same htpasswd Secret on a second evaluation (no pod roll); another cost another file", async () => {
            const first = await withState({ users, htpasswdBcryptCost: 4 });
            const second = await withState({ users, htpasswdBcryptCost: 4 });
            assert.strictEqual(htpasswdOf(second), htpasswdOf(first));
            assert.deepStrictEqual(
                one(second, "kubernetes:core/v1:Secret", "registry-auth").inputs,
                one(first, "kubernetes:core/v1:Secret", "registry-auth").inputs,
            );
            const costs = [...readAsGate(htpasswdOf(first)).values()].map((e) => e.cost);
            assert.deepStrictEqual(costs, [4, 4, 4, 4]);
            const atTen = await withState({ users, htpasswdBcryptCost: 10 });
            assert.strictEqual(
                htpasswdOf(atTen),
                [...users, "puller"].map((u) => `${u}:${STATE[`registry-user-${u}`].bcryptHash}\n`).join(""),
                "at cost 10 the file is the provider's hashes, as before the cost was configurable",
            );
        });

        it("the hashes stay Pulumi secrets: the Secret's data and every password output", async () => {
            const r = await runProgram({ users });
            assert.ok(one(r, "kubernetes:core/v1:Secret", "registry-auth").secretInputs.includes("stringData"));
            assert.ok(r.secretOutputs.has("passwords"));
        });
    });
});
