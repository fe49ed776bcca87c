// Config validation in unit tests: values as Pulumi passes them, and the problems they raise.
import * as assert from "assert";

import { CONFIG_KEYS, ConfigError, ConfigKey, cliDefaultString, parseConfig, RawConfig } from "../../config";

/**
 * Every key Pulumi.yaml declares, at its default, as the Pulumi CLI hands them to the program
 * when the stack sets none (tests/engine shows the real CLI doing it).
 */
export function cliDefaults(): Record<string, string> {
    return Object.fromEntries((Object.keys(CONFIG_KEYS) as ConfigKey[]).map((k) => [k, cliDefaultString(k)]));
}

/** Raw config the way the Pulumi CLI passes it: every declared key, every value a string, lists as JSON. */
export function raw(values: Record<string, unknown>): RawConfig {
    return { ...cliDefaults(), ...Object.fromEntries(Object.entries(values).map(([k, v]) => [k, typeof v === "string" ? v : JSON.stringify(v)])) };
}

/** The problems `parseConfig` reports for these values (none: []); `secretKeys` count as set with --secret. */
export function problemsOf(values: Record<string, unknown>, secretKeys: readonly string[] = []): readonly string[] {
    try {
        parseConfig(raw(values), (k) => secretKeys.includes(k));
    } catch (e) {
        assert.ok(e instanceof ConfigError, `expected a ConfigError, got ${String(e)}`);
        return e.problems;
    }
    return [];
}
