// What the operations unit specs (tests/operations*.spec.ts) share: one memoised run per variant
// label for all of them, and the lookups they make on it.
import { cachedRun, one, ProgramRun, RunOptions, StackConfig } from "./program";
import { VARIANTS } from "./variants";

const runOnce = cachedRun();
/** The run of a variant (or of `config` under that label), once per label. */
export function run(name: string, config: StackConfig = VARIANTS[name], opts: RunOptions = {}): Promise<ProgramRun> {
    return runOnce(name, config, opts);
}

export function deployment(r: ProgramRun, name = "registry-deployment") {
    return one(r, "kubernetes:apps/v1:Deployment", name);
}

export function selects(selector: Record<string, string>, labels: Record<string, string> = {}): boolean {
    return Object.entries(selector).every(([k, v]) => labels[k] === v);
}
