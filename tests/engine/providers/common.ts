// What the stand-in provider plugins share: reading the engine's property values (secrets and
// unknowns included), a small input schema per resource type, and check/diff driven by it.
//
// The stand-ins are written on @pulumi/pulumi/provider, whose server hands the implementation the
// raw protobuf Struct: secrets arrive wrapped ({"4dabf…": "1b47…", value}) because the server tells
// the engine it accepts secrets, and unknowns arrive as a sentinel string during previews. Because
// the provider accepts secrets, the engine does not re-mark secrets itself: whatever the provider
// returns unwrapped is stored in plain text. So every value is revealed on the way in and the
// secret ones are wrapped again on the way out.
import * as fs from "fs";

import * as provider from "@pulumi/pulumi/provider";
import { specialOutputValueSig, specialSecretSig, specialSigKey, unknownValue } from "@pulumi/pulumi/runtime/rpc";

/** A property bag as the engine and the provider exchange it. */
export type Props = Record<string, unknown>;

/** The property bag with secrets unwrapped, and which top-level keys were secret or unknown. */
export interface Revealed {
    readonly values: Props;
    /** Top-level keys whose value was, or contained, a secret. */
    readonly secret: ReadonlySet<string>;
    /** Top-level keys whose value was, or contained, an unknown (previews only). */
    readonly unknown: ReadonlySet<string>;
}

function isObject(v: unknown): v is Record<string, unknown> {
    return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** Unwraps secrets and output values, deeply; unknowns stay the sentinel string. */
function unwrap(v: unknown, flags: { secret: boolean; unknown: boolean }): unknown {
    if (v === unknownValue) {
        flags.unknown = true;
        return v;
    }
    if (Array.isArray(v)) {
        return v.map((e) => unwrap(e, flags));
    }
    if (!isObject(v)) {
        return v;
    }
    if (v[specialSigKey] === specialSecretSig) {
        flags.secret = true;
        return unwrap(v.value, flags);
    }
    if (v[specialSigKey] === specialOutputValueSig) {
        if (v.secret === true) {
            flags.secret = true;
        }
        if (!("value" in v)) {
            flags.unknown = true;
            return unknownValue;
        }
        return unwrap(v.value, flags);
    }
    return Object.fromEntries(Object.entries(v).map(([k, e]) => [k, unwrap(e, flags)]));
}

/** Reveals a property bag: plain values plus which keys were secret or unknown. */
export function reveal(props: Props | undefined): Revealed {
    const values: Props = {};
    const secret = new Set<string>();
    const unknown = new Set<string>();
    for (const [k, v] of Object.entries(props ?? {})) {
        const flags = { secret: false, unknown: false };
        values[k] = unwrap(v, flags);
        if (flags.secret) {
            secret.add(k);
        }
        if (flags.unknown) {
            unknown.add(k);
        }
    }
    return { values, secret, unknown };
}

/** A value wrapped as a secret for the engine. */
export function secretOf(value: unknown): Props {
    return { [specialSigKey]: specialSecretSig, value };
}

/** The bag with the named top-level keys wrapped as secrets (those present). */
export function conceal(values: Props, secretKeys: Iterable<string>): Props {
    const out: Props = { ...values };
    for (const k of secretKeys) {
        if (out[k] !== undefined) {
            out[k] = secretOf(out[k]);
        }
    }
    return out;
}

// ---- Input schema ----------------------------------------------------------------------------

export type Kind = "string" | "integer" | "boolean" | "stringList" | "stringMap" | "object";

/** How the real provider applies a change to an input: replace the resource, or update in place. */
export type ChangeRule = "replace" | "update" | ((oldValue: unknown, newValue: unknown) => "replace" | "update");

/** One input property, as the real provider's schema defines it. */
export interface InputSpec {
    readonly kind: Kind;
    readonly required?: boolean;
    /** The provider's default, applied by check and when diffing. */
    readonly default?: unknown;
    readonly onChange: ChangeRule;
    /** The provider marks it sensitive: it leaves check and create as a secret. */
    readonly sensitive?: boolean;
    /** Allowed values (for a string, or each element of a list). */
    readonly oneOf?: readonly string[];
    /** Smallest allowed value (integers). */
    readonly min?: number;
    /** For kind "object": its fields and their kinds. */
    readonly fields?: Readonly<Record<string, Kind>>;
    /** Set when the stand-in does not implement this input: check refuses it with this reason. */
    readonly notImplemented?: string;
}

/** A resource type's inputs and the outputs the provider marks secret. */
export interface ResourceSpec {
    readonly token: string;
    readonly inputs: Readonly<Record<string, InputSpec>>;
    readonly secretOutputs: readonly string[];
    /** Defaults that depend on other inputs, applied after the static ones. */
    readonly derive?: (inputs: Props) => Props;
    /** Rules across inputs, on the values with defaults applied; `skip` names the inputs that are
     * unknown (previews) or already refused, whose values mean nothing here. */
    readonly validate?: (values: Props, skip: ReadonlySet<string>) => provider.CheckFailure[];
}

function kindError(kind: Kind, v: unknown, fields?: Readonly<Record<string, Kind>>): string | undefined {
    switch (kind) {
        case "string":
            return typeof v === "string" ? undefined : "must be a string";
        case "integer":
            return typeof v === "number" && Number.isInteger(v) ? undefined : "must be an integer";
        case "boolean":
            return typeof v === "boolean" ? undefined : "must be a boolean";
        case "stringList":
            return Array.isArray(v) && v.every((e) => typeof e === "string" || e === unknownValue) ? undefined : "must be a list of strings";
        case "stringMap":
            return isObject(v) && Object.values(v).every((e) => typeof e === "string") ? undefined : "must be a map of strings";
        case "object": {
            if (!isObject(v)) {
                return "must be an object";
            }
            for (const [k, e] of Object.entries(v)) {
                const fieldKind = fields?.[k];
                if (fieldKind === undefined) {
                    return `has no field \`${k}\`; known fields: ${Object.keys(fields ?? {}).join(", ")}`;
                }
                const err = e === undefined || e === null || e === unknownValue ? undefined : kindError(fieldKind, e);
                if (err !== undefined) {
                    return `field \`${k}\` ${err}`;
                }
            }
            return undefined;
        }
    }
}

/**
 * Null, empty lists, empty maps and empty objects (after dropping their null fields) all count as
 * "not set" (the stand-in's choice: a program switching between [] and undefined changes nothing).
 */
function normalize(v: unknown): unknown {
    if (v === null || v === undefined) {
        return undefined;
    }
    if (Array.isArray(v)) {
        return v.length === 0 ? undefined : v;
    }
    if (isObject(v)) {
        const entries = Object.entries(v)
            .map(([k, e]) => [k, normalize(e)] as const)
            .filter(([, e]) => e !== undefined);
        return entries.length === 0 ? undefined : Object.fromEntries(entries);
    }
    return v;
}

/** The input properties of a bag (outputs dropped), normalized, with the provider's defaults. */
export function inputsOf(spec: ResourceSpec, values: Props): Props {
    const out: Props = {};
    for (const [k, s] of Object.entries(spec.inputs)) {
        const v = normalize(values[k]) ?? s.default;
        if (v !== undefined) {
            out[k] = v;
        }
    }
    return spec.derive?.(out) ?? out;
}

/** check: the real provider's validation and defaults; secrets stay secret. */
export function checkInputs(spec: ResourceSpec, news: Props): provider.CheckResult {
    const { values, secret, unknown } = reveal(news);
    const failures: provider.CheckFailure[] = [];
    for (const [k, v] of Object.entries(values)) {
        const s = spec.inputs[k];
        if (s === undefined) {
            failures.push({ property: k, reason: `${spec.token} has no input \`${k}\`; its inputs: ${Object.keys(spec.inputs).join(", ")}` });
            continue;
        }
        if (v === undefined || v === null || unknown.has(k)) {
            continue;
        }
        if (s.notImplemented !== undefined) {
            failures.push({ property: k, reason: `\`${k}\` is not implemented by the stand-in ${spec.token.split(":")[0]} provider: ${s.notImplemented}` });
            continue;
        }
        const err = kindError(s.kind, v, s.fields);
        if (err !== undefined) {
            failures.push({ property: k, reason: `\`${k}\` ${err}, got ${JSON.stringify(v)}` });
            continue;
        }
        const elements = Array.isArray(v) ? v : [v];
        const bad = s.oneOf === undefined ? [] : elements.filter((e) => e !== unknownValue && !s.oneOf?.includes(String(e)));
        if (bad.length > 0) {
            failures.push({ property: k, reason: `\`${k}\` must be one of ${s.oneOf?.join(", ")}; got ${bad.map((b) => JSON.stringify(b)).join(", ")}` });
        }
        if (s.min !== undefined && typeof v === "number" && v < s.min) {
            failures.push({ property: k, reason: `\`${k}\` must be at least ${s.min}, got ${v}` });
        }
    }
    for (const [k, s] of Object.entries(spec.inputs)) {
        if (s.required === true && (values[k] === undefined || values[k] === null)) {
            failures.push({ property: k, reason: `${spec.token} needs \`${k}\`` });
        }
    }
    let withDefaults: Props = { ...values };
    for (const [k, s] of Object.entries(spec.inputs)) {
        if ((withDefaults[k] === undefined || withDefaults[k] === null) && s.default !== undefined) {
            withDefaults[k] = s.default;
        }
    }
    withDefaults = spec.derive?.(withDefaults) ?? withDefaults;
    if (spec.validate !== undefined) {
        failures.push(...spec.validate(withDefaults, new Set([...unknown, ...failures.map((f) => f.property)])));
    }
    const sensitive = Object.entries(spec.inputs)
        .filter(([, s]) => s.sensitive === true)
        .map(([k]) => k);
    return { inputs: conceal(withDefaults, [...secret, ...sensitive]), failures };
}

function deepEqual(a: unknown, b: unknown): boolean {
    return JSON.stringify(sortKeys(a)) === JSON.stringify(sortKeys(b));
}

function sortKeys(v: unknown): unknown {
    if (Array.isArray(v)) {
        return v.map(sortKeys);
    }
    if (isObject(v)) {
        return Object.fromEntries(
            Object.keys(v)
                .sort()
                .map((k) => [k, sortKeys(v[k])]),
        );
    }
    return v;
}

/** Which inputs differ between the old state and the new inputs, and which of those force a replacement. */
export interface InputDiff {
    readonly changed: readonly string[];
    readonly replaces: readonly string[];
}

/**
 * diff of inputs only: `olds` is the old state (outputs, computed fields included), `news` the
 * checked new inputs. Both are reduced to the spec's inputs with defaults applied, so an absent
 * input equals its default and computed outputs never count as changes.
 */
export function diffInputs(spec: ResourceSpec, olds: Props, news: Props): InputDiff {
    const before = inputsOf(spec, reveal(olds).values);
    const revealedNews = reveal(news);
    const after = inputsOf(spec, revealedNews.values);
    const changed: string[] = [];
    const replaces: string[] = [];
    for (const [k, s] of Object.entries(spec.inputs)) {
        if (!revealedNews.unknown.has(k) && deepEqual(before[k], after[k])) {
            continue;
        }
        changed.push(k);
        const rule = typeof s.onChange === "function" ? s.onChange(before[k], after[k]) : s.onChange;
        if (rule === "replace") {
            replaces.push(k);
        }
    }
    return { changed, replaces };
}

// ---- The plugin ------------------------------------------------------------------------------

/** One resource type of a stand-in: its schema and how it is created, read and updated. */
export interface ResourceImpl {
    readonly spec: ResourceSpec;
    /** The id and the outputs (plain values; common code marks the secret ones). */
    create(inputs: Props): Promise<{ id: string; outs: Props }>;
    /** Extra replacement reasons beyond changed inputs (tls: readyForRenewal). */
    extraReplaces?(olds: Props, news: Props): string[];
    /** Adjusts the state after an in-place update: the old computed outputs with the new inputs. */
    update?(state: Props): Props;
    /** The state read back; default: the state as is. */
    read?(state: Props): Props;
}

/** The resource type of a URN ("urn:pulumi:stack::project::parent$type::name"). */
export function typeOfUrn(urn: string): string {
    const parts = urn.split("::");
    return (parts[2] ?? "").split("$").pop() ?? "";
}

/** The version the npm package of a provider asks the engine for (its package.json `pulumi.version`). */
export function sdkPluginVersion(npmPackage: string): string {
    const file = require.resolve(`${npmPackage}/package.json`);
    const pkg = JSON.parse(fs.readFileSync(file, "utf8")) as { version: string; pulumi?: { version?: string } };
    return pkg.pulumi?.version ?? pkg.version;
}

/** A provider for the engine from the stand-in's resource types. */
export function makeProvider(name: string, version: string, impls: readonly ResourceImpl[]): provider.Provider {
    const byToken = new Map(impls.map((i) => [i.spec.token, i]));
    const implFor = (urn: string): ResourceImpl => {
        const token = typeOfUrn(urn);
        const impl = byToken.get(token);
        if (impl === undefined) {
            throw new Error(`the stand-in ${name} provider implements only ${[...byToken.keys()].join(", ")}; not ${token}`);
        }
        return impl;
    };
    /** Outputs as the engine gets them: the spec's secret outputs and every input that came in secret. */
    const toEngine = (impl: ResourceImpl, outs: Props, secretInputs: Iterable<string>): Props => conceal(outs, [...impl.spec.secretOutputs, ...secretInputs]);
    return {
        version,
        async check(urn: string, _olds: Props, news: Props) {
            return checkInputs(implFor(urn).spec, news);
        },
        async diff(_id: string, urn: string, olds: Props, news: Props) {
            const impl = implFor(urn);
            const { changed, replaces } = diffInputs(impl.spec, olds, news);
            const all = [...new Set([...replaces, ...(impl.extraReplaces?.(reveal(olds).values, reveal(news).values) ?? [])])];
            // create-before-delete, as the real providers (no deleteBeforeReplace in their schemas).
            return { changes: changed.length > 0 || all.length > 0, replaces: all, deleteBeforeReplace: false };
        },
        async create(urn: string, inputs: Props) {
            const impl = implFor(urn);
            const { values, secret } = reveal(inputs);
            const { id, outs } = await impl.create(inputsOf(impl.spec, values));
            return { id, outs: toEngine(impl, outs, secret) };
        },
        async read(id: string, urn: string, props: Props) {
            const impl = implFor(urn);
            const { values, secret } = reveal(props);
            return { id, props: toEngine(impl, impl.read?.(values) ?? values, secret) };
        },
        async update(_id: string, urn: string, olds: Props, news: Props) {
            const impl = implFor(urn);
            const old = reveal(olds);
            const next = reveal(news);
            const inputs = inputsOf(impl.spec, next.values);
            // Computed outputs carry over; the inputs are the new ones (an input now unset goes).
            const computed = Object.fromEntries(Object.entries(old.values).filter(([k]) => impl.spec.inputs[k] === undefined));
            const merged = { ...computed, ...inputs };
            const state = impl.update?.(merged) ?? merged;
            return { outs: toEngine(impl, state, [...old.secret, ...next.secret]) };
        },
        async delete() {
            // Nothing exists outside the state, as for the real providers.
        },
    };
}

/** Starts the plugin: the engine reads the port from stdout, so nothing else may write there. */
export function serve(p: provider.Provider): void {
    provider.main(p, process.argv.slice(2)).catch((err: unknown) => {
        process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
        process.exit(1);
    });
}
