// What the simulated clouds answer by default, composed from one section per area.
//
// Each area (AWS, GCP, Ceph, ...) adds its own file `tests/support/cloud-mocks-<area>.ts`
// exporting a `CloudMocks` value and lists it in AREAS below. runProgram() uses these unless a
// test passes its own `calls`/`resourceState` (the test's win, per token / per type).
import { gcpMocks } from "./cloud-mocks-gcp";
import { awsMocks } from "./cloud-mocks-aws";
import { cephMocks } from "./cloud-mocks-ceph";
import type { CallMock } from "./mocks";

/** One area's defaults. */
export interface CloudMocks {
    /** Data-source and function calls, by token. */
    readonly calls?: Record<string, CallMock>;
    /** Computed state for resources of this area (ARNs, self links, ids via `id`). */
    readonly resourceState?: (type: string, name: string, inputs: Record<string, any>) => Record<string, unknown> | undefined;
}

const AREAS: readonly CloudMocks[] = [gcpMocks, awsMocks, cephMocks];

/** Every area's default calls. */
export const defaultCalls: Record<string, CallMock> = Object.assign({}, ...AREAS.map((a) => a.calls ?? {}));

/** Every area's computed state for a resource (the first area that knows the type answers). */
export function defaultResourceState(type: string, name: string, inputs: Record<string, any>): Record<string, unknown> | undefined {
    for (const area of AREAS) {
        const s = area.resourceState?.(type, name, inputs);
        if (s !== undefined) {
            return s;
        }
    }
    return undefined;
}
