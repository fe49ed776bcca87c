// STAND-IN for the `random` provider plugin (pulumi-resource-random), for tests under the real engine.
//
// Why: the real plugin (github.com/pulumi/pulumi-random/provider/v4, a bridge over
// hashicorp/terraform-provider-random) cannot be built on the test machines: neither Go module is
// served by the module proxy there. This plugin implements, on @pulumi/pulumi/provider, exactly the
// resource type the program uses (RandomPassword), registered under the version @pulumi/random asks
// for, with a crypto-random password and a real bcrypt hash (tests/support/crypto/). It follows the
// real provider where the engine can tell the difference: defaults, which changes replace, the id,
// outputs and their secrecy. It is not the real provider.
//
// Rules, from terraform-provider-random internal/provider/resource_password.go (schema v3) and its
// plan modifiers (internal/planmodifiers/...):
// - every input forces a replacement (RequiresReplace), with two exceptions that update in place:
//   `keepers` keys whose value is null (RequiresReplaceIfValuesNotNull; Pulumi drops them anyway)
//   and `overrideSpecial` going from "" to unset (RequiresReplaceUnlessEmptyStringToNull);
// - `number` and `numeric` follow each other, default true, and may not disagree;
// - `length` >= 1 and >= minUpper + minLower + minNumeric + minSpecial;
// - the id is "none"; `result` and `bcryptHash` (bcrypt, cost 10, of the first 72 bytes) are secret;
// - create-before-delete (no deleteBeforeReplace).
import { bcryptHash, randomString } from "../../support/crypto";
import { makeProvider, Props, ResourceImpl, ResourceSpec, sdkPluginVersion, serve } from "./common";

const MINIMUMS = ["minUpper", "minLower", "minNumeric", "minSpecial"] as const;

const randomPasswordSpec: ResourceSpec = {
    token: "random:index/randomPassword:RandomPassword",
    inputs: {
        keepers: { kind: "stringMap", onChange: "replace" },
        length: { kind: "integer", required: true, min: 1, onChange: "replace" },
        special: { kind: "boolean", default: true, onChange: "replace" },
        upper: { kind: "boolean", default: true, onChange: "replace" },
        lower: { kind: "boolean", default: true, onChange: "replace" },
        // No static default: each takes the other's value, and true when neither is set (derive).
        number: { kind: "boolean", onChange: "replace" },
        numeric: { kind: "boolean", onChange: "replace" },
        // The provider has no validator here; Go would panic on a negative count.
        minUpper: { kind: "integer", default: 0, min: 0, onChange: "replace" },
        minLower: { kind: "integer", default: 0, min: 0, onChange: "replace" },
        minNumeric: { kind: "integer", default: 0, min: 0, onChange: "replace" },
        minSpecial: { kind: "integer", default: 0, min: 0, onChange: "replace" },
        overrideSpecial: { kind: "string", onChange: (oldValue, newValue) => (oldValue === "" && newValue === undefined ? "update" : "replace") },
    },
    secretOutputs: ["result", "bcryptHash"],
    derive(inputs) {
        const numeric = inputs.numeric ?? inputs.number ?? true;
        return { ...inputs, number: inputs.number ?? numeric, numeric };
    },
    validate(values, skip) {
        const failures = [];
        if (
            !skip.has("number") &&
            !skip.has("numeric") &&
            typeof values.number === "boolean" &&
            typeof values.numeric === "boolean" &&
            values.number !== values.numeric
        ) {
            failures.push({ property: "numeric", reason: "`number` and `numeric` are both set, with different values; `number` is deprecated, use `numeric`" });
        }
        if (![...MINIMUMS, "length"].some((k) => skip.has(k))) {
            const sum = MINIMUMS.reduce((acc, k) => acc + Number(values[k] ?? 0), 0);
            if (Number(values.length) < sum) {
                failures.push({
                    property: "length",
                    reason: `\`length\` must be at least minUpper + minLower + minNumeric + minSpecial (${sum}), got ${String(values.length)}`,
                });
            }
        }
        return failures;
    },
};

export const randomPassword: ResourceImpl = {
    spec: randomPasswordSpec,
    async create(inputs: Props) {
        const result = randomString({
            length: Number(inputs.length),
            upper: inputs.upper === true,
            lower: inputs.lower === true,
            numeric: inputs.numeric === true,
            special: inputs.special === true,
            minUpper: Number(inputs.minUpper),
            minLower: Number(inputs.minLower),
            minNumeric: Number(inputs.minNumeric),
            minSpecial: Number(inputs.minSpecial),
            overrideSpecial: typeof inputs.overrideSpecial === "string" ? inputs.overrideSpecial : undefined,
        });
        return { id: "none", outs: { ...inputs, id: "none", result, bcryptHash: bcryptHash(result) } };
    },
};

/** The stand-in random provider, at the version @pulumi/random requests. */
export const randomProvider = makeProvider("random", sdkPluginVersion("@pulumi/random"), [randomPassword]);

if (require.main === module) {
    serve(randomProvider);
}
