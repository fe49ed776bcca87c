// Runs the Pulumi program (index.ts) under mocks with a given stack configuration.
import * as fs from "fs";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import * as YAML from "yaml";

import { defaultCalls, defaultResourceState } from "./cloud-mocks";
import { cliDefaults } from "./config-problems";
import { installMocks, MockEnvironment, RecordedResource, recorder } from "./mocks";
import { SecretConfig, STACK_SECRETS } from "./stack-secrets";

export { SecretConfig };

export const ROOT = path.resolve(__dirname, "..", "..");
export const PROJECT = "registry";

/** Stack config as written in a Pulumi.<stack>.yaml (keys with or without the project prefix). */
export type StackConfig = Record<string, unknown>;

export interface RunOptions extends MockEnvironment {
    /** Stack name. Default "test". */
    readonly stack?: string;
    /** Keys (without prefix) whose values count as `pulumi config set --secret` (besides SecretConfig values). */
    readonly secretKeys?: readonly string[];
    /** Run as `pulumi preview` (unknown outputs). Default false. */
    readonly preview?: boolean;
    /** The program's entry module. Default the project's index.ts. */
    readonly entry?: string;
}

/** The outcome of one program run. */
export interface ProgramRun {
    readonly resources: readonly RecordedResource[];
    /** Stack outputs, resolved. */
    readonly outputs: Record<string, unknown>;
    /** Names of outputs that are secret. */
    readonly secretOutputs: ReadonlySet<string>;
    /** The error the program threw, if any. */
    readonly error?: Error;
}

/** Resolves an Output to its value (the test's `await` instead of nested applies). */
export function promiseOf<T>(o: pulumi.Output<T>): Promise<T> {
    return new Promise((resolve) => o.apply((v) => resolve(v)));
}

/** The string the Pulumi CLI hands the program for a config value. */
function configString(v: unknown): string {
    return typeof v === "string" ? v : JSON.stringify(v);
}

/**
 * Reads a Pulumi.<stack>.yaml's `config:` map. Encrypted (`secure:`) values are refused; the
 * secrets the stack's instructions say to set come from tests/support/stack-secrets.ts.
 */
export function loadStackFile(file: string): StackConfig {
    const doc = YAML.parse(fs.readFileSync(file, "utf8")) as { config?: Record<string, unknown> } | null;
    const config = doc?.config ?? {};
    for (const [k, v] of Object.entries(config)) {
        if (v !== null && typeof v === "object" && "secure" in v) {
            throw new Error(`${path.basename(file)}: ${k} is encrypted; example stacks must not hold secrets`);
        }
    }
    return { ...config, ...(STACK_SECRETS[path.basename(file).split(".")[1]] ?? {}) };
}

/** Every Pulumi.<stack>.yaml in the repository, by stack name. */
export function stackFiles(): Record<string, string> {
    return Object.fromEntries(
        fs
            .readdirSync(ROOT)
            .filter((f) => /^Pulumi\.[^.]+\.yaml$/.test(f))
            .map((f) => [f.split(".")[1], path.join(ROOT, f)]),
    );
}

let running = false;

/** Runs index.ts (or `opts.entry`) with `config` under fresh mocks; records every resource and resolves outputs. */
export async function runProgram(config: StackConfig, opts: RunOptions = {}): Promise<ProgramRun> {
    if (running) {
        throw new Error("runProgram is not re-entrant");
    }
    running = true;
    try {
        const stack = opts.stack ?? "test";
        // The simulated clouds' defaults (tests/support/cloud-mocks.ts); the test's own win.
        const env: MockEnvironment = {
            ...opts,
            calls: { ...defaultCalls, ...(opts.calls ?? {}) },
            resourceState: (type, name, inputs) => opts.resourceState?.(type, name, inputs) ?? defaultResourceState(type, name, inputs),
        };
        await installMocks(PROJECT, stack, env, opts.preview ?? false);
        // As the Pulumi CLI does: every key Pulumi.yaml declares reaches the program, with its
        // declared default where the stack sets none (tests/engine shows the real CLI doing it).
        const full: Record<string, string> = {};
        for (const [key, value] of Object.entries(cliDefaults())) {
            full[`${PROJECT}:${key}`] = value;
        }
        for (const [k, v] of Object.entries(config)) {
            full[k.includes(":") ? k : `${PROJECT}:${k}`] = configString(v);
        }
        const secretKeys = [...(opts.secretKeys ?? []).map((k) => `${PROJECT}:${k}`)];
        for (const [k, v] of Object.entries(config)) {
            if (v instanceof SecretConfig) {
                const key = k.includes(":") ? k : `${PROJECT}:${k}`;
                full[key] = v.value;
                secretKeys.push(key);
            }
        }
        pulumi.runtime.setAllConfig(full, secretKeys);

        const entry = require.resolve(opts.entry ?? path.join(ROOT, "index.ts"));
        delete require.cache[entry];
        let mod: Record<string, unknown>;
        try {
            // eslint-disable-next-line @typescript-eslint/no-require-imports -- loaded afresh after clearing the require cache
            mod = require(entry) as Record<string, unknown>;
        } catch (e) {
            await recorder.settle();
            return { resources: recorder.resources, outputs: {}, secretOutputs: new Set(), error: e as Error };
        }
        const outputs: Record<string, unknown> = {};
        const secretOutputs = new Set<string>();
        for (const [k, v] of Object.entries(mod)) {
            if (pulumi.Output.isInstance(v)) {
                if (await pulumi.isSecret(v)) {
                    secretOutputs.add(k);
                }
                outputs[k] = opts.preview === true ? undefined : await promiseOf(v);
            } else {
                outputs[k] = v;
            }
        }
        await recorder.settle();
        return { resources: [...recorder.resources], outputs, secretOutputs };
    } finally {
        running = false;
    }
}

/** Runs index.ts as runProgram does, and throws the error the program threw, if any. */
export async function runProgramOrThrow(config: StackConfig, opts: RunOptions = {}): Promise<ProgramRun> {
    const run = await runProgram(config, opts);
    if (run.error !== undefined) {
        throw run.error;
    }
    return run;
}

/** A run function that runs the program once per label and hands later callers the same run. */
export type CachedRun = (label: string, config: StackConfig, opts?: RunOptions) => Promise<ProgramRun>;

/**
 * A spec file's run(): each label's configuration runs once (runProgramOrThrow) and its `it`s
 * share the recorded resources, as a run under mocks takes seconds. A failed run is not kept.
 */
export function cachedRun(): CachedRun {
    const runs = new Map<string, ProgramRun>();
    return async (label, config, opts = {}) => {
        const cached = runs.get(label);
        if (cached !== undefined) {
            return cached;
        }
        const run = await runProgramOrThrow(config, opts);
        runs.set(label, run);
        return run;
    };
}

/** Resources of a type token, e.g. "kubernetes:apps/v1:Deployment". */
export function ofType(run: ProgramRun, type: string): RecordedResource[] {
    return run.resources.filter((r) => r.type === type);
}

/** The single resource of a type (and name, when given); throws when there are none or several. */
export function one(run: ProgramRun, type: string, name?: string): RecordedResource {
    const found = ofType(run, type).filter((r) => name === undefined || r.name === name);
    if (found.length !== 1) {
        throw new Error(`expected one ${type}${name === undefined ? "" : ` named ${name}`}, found ${found.length}: ${found.map((r) => r.name).join(", ")}`);
    }
    return found[0];
}

/** The recorded resource whose Kubernetes object has this kind and metadata.name (as the mock named it). */
export function k8sObject(run: ProgramRun, kind: string, objectName: string): RecordedResource {
    const found = run.resources.filter((r) => r.type.startsWith("kubernetes:") && r.type.endsWith(`:${kind}`) && r.state.metadata?.name === objectName);
    if (found.length !== 1) {
        throw new Error(`expected one ${kind} named ${objectName}, found ${found.length}`);
    }
    return found[0];
}
