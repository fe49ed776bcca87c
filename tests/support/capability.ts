// What a test needs from the machine (root, mount namespaces, a tool the install scripts put in
// place). Where it is missing, a developer's run skips the test; a CI run (CI=true) fails, since
// CI installs everything and a skip there would hide a broken install or a test that never runs.
import type { Context } from "mocha";

/**
 * Capabilities named here (comma-separated) count as missing, whatever the machine has: how the
 * skip-or-fail rule itself is tested (tests/capabilities.spec.ts).
 */
export const WITHOUT_ENV = "REGISTRY_TEST_WITHOUT";

/** Whether this run is CI's: the CI convention, `CI=true`. */
export function inCi(): boolean {
    return process.env.CI === "true";
}

function withdrawn(capability: string): boolean {
    return (process.env[WITHOUT_ENV] ?? "")
        .split(",")
        .map((s) => s.trim())
        .includes(capability);
}

/**
 * Returns when `capability` is present. Otherwise skips the current test (or, from a hook, its
 * suite) on a developer's machine, and under CI=true throws, failing the run.
 */
export function requireCapability(ctx: Context, capability: string, present: boolean, why: string): void {
    if (present && !withdrawn(capability)) {
        return;
    }
    if (inCi()) {
        throw new Error(`${capability} is missing (${why}); under CI=true a missing capability fails the run instead of skipping`);
    }
    ctx.skip();
}
