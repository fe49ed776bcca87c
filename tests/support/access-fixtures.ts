// What the access unit specs (tests/access-*.spec.ts) share: one memoised run per label for all of
// them, and the lookups of the node DaemonSets and their ConfigMaps.
import * as assert from "assert";

import { RecordedResource } from "./mocks";
import { cachedRun, one, ofType, ProgramRun } from "./program";

export const run = cachedRun();

export const DS = "kubernetes:apps/v1:DaemonSet";
export const dsNamed = (r: ProgramRun, suffix: string): RecordedResource => {
    const found = ofType(r, DS).filter((d) => d.name.endsWith(suffix));
    assert.strictEqual(
        found.length,
        1,
        `DaemonSets: ${ofType(r, DS)
            .map((d) => d.name)
            .join(", ")}`,
    );
    return found[0];
};
export const configMapOf = (r: ProgramRun, ds: RecordedResource, volume: string): RecordedResource => {
    const name = ds.inputs.spec.template.spec.volumes.find((v: { name: string }) => v.name === volume).configMap.name;
    return one(r, "kubernetes:core/v1:ConfigMap", ofType(r, "kubernetes:core/v1:ConfigMap").find((c) => c.state.metadata.name === name)?.name);
};

/** Whether a label selector (matchLabels) selects an object with these labels. */
export const selects = (selector: Record<string, string>, labels: Record<string, string>) => Object.entries(selector).every(([k, v]) => labels[k] === v);
