// Config validation in unit tests: values as Pulumi passes them, and the problems they raise.
import * as assert from "assert";

import { ConfigError, parseConfig, RawConfig } from "../../config";

/** Raw config the way Pulumi passes it: every value a string, lists as JSON. */
export function raw(values: Record<string, unknown>): RawConfig {
    return Object.fromEntries(Object.entries(values).map(([k, v]) => [k, typeof v === "string" ? v : JSON.stringify(v)]));
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
