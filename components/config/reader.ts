// The one reader of stack configuration: typed getters over the strings Pulumi hands the program.
// Each getter returns the key's value (or its declared default) and records a problem when the
// value is malformed, so one run reports every mistake at once, in one ConfigError.
import * as pulumi from "@pulumi/pulumi";

/** The kinds of value a Pulumi.yaml `config:` declaration can have. */
export type ConfigKeyType = "string" | "integer" | "boolean" | "array";

/**
 * A declared config key. Every key has a default: the Pulumi CLI treats a declared key without
 * one as required, and hands the program every declared default as if the stack had set it.
 */
export interface ConfigKeySpec {
    readonly type: ConfigKeyType;
    readonly description: string;
    readonly default: string | number | boolean | readonly string[];
    /**
     * The value must be set with `pulumi config set --secret`; the program refuses a plain one.
     * Pulumi.yaml cannot say so (the CLI refuses `secret: true` beside a default), so the program
     * checks it.
     */
    readonly secret?: boolean;
}

/** Raw stack config: key (without the project prefix) to the string Pulumi stores. */
export type RawConfig = Readonly<Partial<Record<string, string>>>;

/** Thrown by parseConfig with every problem found, each naming its key. */
export class ConfigError extends Error {
    constructor(readonly problems: readonly string[]) {
        super(`Invalid stack configuration:\n${problems.map((p) => `  - ${p}`).join("\n")}`);
        this.name = "ConfigError";
    }
}

const QUANTITY = /^([0-9]+(\.[0-9]+)?|\.[0-9]+)(m|k|M|G|T|P|E|Ki|Mi|Gi|Ti|Pi|Ei)?$/;

/**
 * Collects problems while parsing. `K` is the keys a parser may read: an area's parser takes a
 * Reader of its own keys, so reading a key it does not own fails to compile.
 */
export class Reader<K extends string = string> {
    readonly problems: string[] = [];

    /** `isSecret` tells whether a key was stored encrypted (secret keys must be). */
    constructor(
        private readonly raw: RawConfig,
        private readonly specs: Readonly<Record<K, ConfigKeySpec>>,
        private readonly isSecret: (key: K) => boolean = () => false,
    ) {}

    problem(msg: string): void {
        this.problems.push(msg);
    }

    /** The declared default of a key. */
    defaultOf(key: K): ConfigKeySpec["default"] {
        return this.specs[key].default;
    }

    /**
     * Whether the stack sets the key to something other than its default. The CLI passes every
     * declared default as a value, so a value equal to the default is indistinguishable from an
     * unset key, and counts as unset (it is never wrong to state a default).
     */
    has(key: K): boolean {
        const v = this.raw[key];
        if (v === undefined || v === "") {
            return false;
        }
        const d = this.defaultOf(key);
        if (typeof d === "object") {
            try {
                return JSON.stringify(JSON.parse(v)) !== JSON.stringify(d);
            } catch {
                return true;
            }
        }
        return v.trim() !== String(d);
    }

    string(key: K): string {
        return this.raw[key] ?? String(this.defaultOf(key));
    }

    oneOf<T extends string>(key: K, allowed: readonly T[]): T {
        const v = this.string(key);
        if ((allowed as readonly string[]).includes(v)) {
            return v as T;
        }
        this.problem(`\`${key}\` must be one of ${allowed.map((a) => `\`${a}\``).join(", ")}; got \`${v}\``);
        return allowed[0];
    }

    integer(key: K, min: number, max: number): number {
        const raw = this.raw[key];
        const dflt = this.defaultOf(key) as number;
        if (raw === undefined) {
            return dflt;
        }
        if (!/^-?[0-9]+$/.test(raw.trim())) {
            this.problem(`\`${key}\` must be a whole number between ${min} and ${max}; got \`${raw}\``);
            return dflt;
        }
        const n = Number(raw);
        if (n < min || n > max) {
            this.problem(`\`${key}\` must be a whole number between ${min} and ${max}; got ${n}`);
            return dflt;
        }
        return n;
    }

    boolean(key: K): boolean {
        const raw = this.raw[key];
        if (raw === undefined) {
            return this.defaultOf(key) as boolean;
        }
        if (raw !== "true" && raw !== "false") {
            this.problem(`\`${key}\` must be true or false; got \`${raw}\``);
            return this.defaultOf(key) as boolean;
        }
        return raw === "true";
    }

    /** Arrays arrive as JSON text (Pulumi stores structured values that way). */
    stringArray(key: K): string[] {
        const raw = this.raw[key];
        if (raw === undefined) {
            return [...(this.defaultOf(key) as readonly string[])];
        }
        let parsed: unknown;
        try {
            parsed = JSON.parse(raw);
        } catch {
            parsed = undefined;
        }
        if (!Array.isArray(parsed) || !parsed.every((x) => typeof x === "string")) {
            this.problem(`\`${key}\` must be a list of strings (YAML list in the stack file); got \`${raw}\``);
            return [];
        }
        return parsed;
    }

    quantity(key: K, allowEmpty: boolean): string | undefined {
        const v = this.string(key);
        if (v === "" && allowEmpty) {
            return undefined;
        }
        if (!QUANTITY.test(v) || Number.parseFloat(v) <= 0) {
            this.problem(`\`${key}\` must be a positive Kubernetes quantity such as \`10Gi\` or \`500m\`; got \`${v}\``);
            return undefined;
        }
        return v;
    }

    /**
     * Records a problem unless `key` was stored as a secret. `value` is the placeholder in the
     * command the message gives as the fix.
     */
    requireSecret(key: K, value = "<value>"): void {
        if (!this.isSecret(key)) {
            this.problem(`\`${key}\` must be stored as a secret: \`pulumi config set --secret ${key} ${value}\``);
        }
    }

    /** A secret key's value as a secret Output (checked to be stored as one), or undefined when unset. */
    optionalSecret(key: K): pulumi.Output<string> | undefined {
        if (!this.has(key)) {
            return undefined;
        }
        this.requireSecret(key);
        return pulumi.secret(this.string(key));
    }
}
