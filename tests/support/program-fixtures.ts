// What the program unit specs (tests/program-*.spec.ts) share: one memoised run per variant label.
import { cachedRun, ProgramRun, RunOptions, StackConfig } from "./program";
import { VARIANTS } from "./variants";

const runOnce = cachedRun();
/** The run of a variant (or of `config` under that label), once per label. */
export function run(variant: string, config: StackConfig = VARIANTS[variant], opts: RunOptions = {}): Promise<ProgramRun> {
    return runOnce(variant, config, opts);
}
