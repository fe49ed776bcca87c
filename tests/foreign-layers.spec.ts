// Foreign (non-distributable) layers: the `foreignLayerUrls*` keys, their validation, and the
// `validation` section of config.yml they become. tests/e2e/conformance.spec.ts runs the registry
// with them against the OCI conformance suite's foreign-layer image.
import * as assert from "assert";

import { parseConfig } from "../config";
import { re2Problem } from "../components/registry/foreign-layers";
import { problemsOf, raw } from "./support/config-problems";
import { registryPod } from "./support/pod";
import { runProgram, runProgramOrThrow, StackConfig } from "./support/program";

const MCR = "^https://mcr\\.microsoft\\.com/";

describe("foreign layers (foreignLayerUrlsAllow, foreignLayerUrlsDeny)", () => {
    describe("config", () => {
        it("refuses every layer URL by default: both lists empty", () => {
            assert.deepStrictEqual(parseConfig(raw({})).foreignLayers, { allow: [], deny: [] });
        });

        it("takes the lists as the stack file writes them", () => {
            const cfg = parseConfig(raw({ foreignLayerUrlsAllow: [MCR, "^https://registry\\.example\\.com/blobs/"], foreignLayerUrlsDeny: ["/private/"] }));
            assert.deepStrictEqual(cfg.foreignLayers, { allow: [MCR, "^https://registry\\.example\\.com/blobs/"], deny: ["/private/"] });
        });

        const BAD: { name: string; config: Record<string, unknown>; problem: string }[] = [
            {
                name: "an unanchored allow pattern",
                config: { foreignLayerUrlsAllow: ["mcr\\.microsoft\\.com/"] },
                problem:
                    "`foreignLayerUrlsAllow` entries must start with `^`, so they match from the start of the URL (e.g. `^https://mcr\\.microsoft\\.com/`); got `mcr\\.microsoft\\.com/`",
            },
            {
                name: "a pattern that does not compile",
                config: { foreignLayerUrlsAllow: ["^https://(mcr"] },
                problem: "`foreignLayerUrlsAllow` entry `^https://(mcr` is not a valid regular expression",
            },
            {
                name: "a lookahead (JavaScript has it, Go's RE2 does not)",
                config: { foreignLayerUrlsAllow: ["^https://(?!evil)"] },
                problem:
                    "`foreignLayerUrlsAllow` entry `^https://(?!evil)` uses lookaround (`(?=`, `(?!`, `(?<=`, `(?<!`), which Go's regular expressions (RE2) do not have",
            },
            {
                name: "a backreference in the deny list",
                config: { foreignLayerUrlsAllow: [MCR], foreignLayerUrlsDeny: ["(a)\\1"] },
                problem: "`foreignLayerUrlsDeny` entry `(a)\\1` uses backreferences, which Go's regular expressions (RE2) do not have",
            },
            {
                name: "a repeat count Go refuses",
                config: { foreignLayerUrlsAllow: ["^https://a{1001}"] },
                problem: "`foreignLayerUrlsAllow` entry `^https://a{1001}` repeats more than 1000 times, which Go's regular expressions (RE2) refuse",
            },
            {
                name: "a deny list alone",
                config: { foreignLayerUrlsDeny: ["^http://"] },
                problem:
                    "`foreignLayerUrlsDeny` needs `foreignLayerUrlsAllow`: with only a deny list the registry accepts every other URL; list the allowed URLs (`^https://` allows any HTTPS URL)",
            },
            {
                name: "not a list",
                config: { foreignLayerUrlsAllow: MCR },
                problem: `\`foreignLayerUrlsAllow\` must be a list of strings (YAML list in the stack file); got \`${MCR}\``,
            },
        ];
        for (const bad of BAD) {
            it(`refuses ${bad.name}`, () => {
                assert.deepStrictEqual(problemsOf(bad.config), [bad.problem]);
            });
        }

        it("fails before any resource is registered", async () => {
            const run = await runProgram({ foreignLayerUrlsDeny: ["^http://"] });
            assert.match(String(run.error?.message), /`foreignLayerUrlsDeny` needs `foreignLayerUrlsAllow`/);
            assert.deepStrictEqual(run.resources, []);
        });

        it("accepts what Go's regexp accepts: classes, alternation, bounded repeats, escapes", () => {
            for (const p of [
                MCR,
                "^https://(mcr|registry)\\.example\\.(com|org)/[a-z0-9/]{1,200}$",
                "^https?://\\d+\\.\\d+\\.\\d+\\.\\d+(:\\d+)?/",
                "^https://a{2,1000}",
            ]) {
                assert.strictEqual(re2Problem(p), undefined, p);
            }
        });
    });

    describe("config.yml", () => {
        async function configYml(config: StackConfig): Promise<Record<string, any>> {
            return registryPod(await runProgramOrThrow(config)).config;
        }

        it("has no validation section by default: distribution's own default, which accepts no layer URL, and an unchanged config for existing stacks", async () => {
            assert.strictEqual((await configYml({})).validation, undefined);
        });

        for (const line of [
            { name: "3.x", config: {} },
            { name: "2.8", config: { imageTag: "2.8.3", tlsKeyAlgorithm: "RSA" } },
        ]) {
            it(`writes validation.manifests.urls from the lists (${line.name}, where validation is on unless disabled too)`, async () => {
                const yml = await configYml({ ...line.config, foreignLayerUrlsAllow: [MCR], foreignLayerUrlsDeny: ["/private/"] });
                assert.deepStrictEqual(yml.validation, { manifests: { urls: { allow: [MCR], deny: ["/private/"] } } });
            });
        }

        it("writes no deny list when only the allow list is set", async () => {
            assert.deepStrictEqual((await configYml({ foreignLayerUrlsAllow: [MCR] })).validation, { manifests: { urls: { allow: [MCR] } } });
        });
    });
});
