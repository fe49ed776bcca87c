// A ceph stack whose RGW resources exist for real: the program's dynamic resources created,
// updated and deleted by their serialised providers (as the Pulumi engine would run them)
// against a Ceph peer's Admin Ops API, and the registry pod started with what they returned.
// Used by the Ceph end-to-end tests and by the bench's native Swift backend.
import { engineCreate, engineDelete, engineUp } from "../support/dynamic-provider";
import { one, ProgramRun, runProgramOrThrow, StackConfig } from "../support/program";
import { RegistryDeployment, startRegistry } from "./harness";
import type { CephPeer } from "./peers/ceph";

export const CREDS = "pulumi-nodejs:dynamic/ceph:RgwCredentials";
export const BUCKET = "pulumi-nodejs:dynamic/ceph:RgwBucket";
const SECRET_KEYS = ["cephAdminAccessKey", "cephAdminSecretKey"];

/** One dynamic resource the "engine" created: its id and outputs. */
export interface Created {
    id: string;
    outs: Record<string, any>;
}

/** A stack whose RGW resources exist for real. */
export interface Provisioned {
    readonly config: StackConfig;
    /** The stack name: it names the RGW user and bucket (`registry-<stack>`). */
    readonly stack: string;
    /** Outputs by `type/name`, fed back to the program as the resources' state. */
    readonly state: Map<string, Created>;
    readonly run: ProgramRun;
    readonly creds: Created;
    readonly bucket: Created;
}

/** Mock settings that feed the created resources' outputs back to the program. */
export function mocksFor(state: Map<string, Created>, stack: string) {
    return {
        stack,
        secretKeys: SECRET_KEYS,
        resourceState: (type: string, name: string) => {
            const c = state.get(`${type}/${name}`);
            return c === undefined ? undefined : { ...c.outs, id: c.id };
        },
    };
}

/** The stack config of a registry on this Ceph: its RGW and admin keys, then `extra`. */
export function cephConfig(ceph: CephPeer, extra: StackConfig): StackConfig {
    return { cephRgwUrl: ceph.rgwUrl, cephAdminAccessKey: ceph.adminAccessKey, cephAdminSecretKey: ceph.adminSecretKey, ...extra };
}

function programRun(config: StackConfig, state: Map<string, Created>, stack: string): Promise<ProgramRun> {
    return runProgramOrThrow(config, mocksFor(state, stack));
}

/**
 * `pulumi up` of the stack's RGW resources, in dependency order, as the engine does it: run the
 * program, create the credentials with the inputs it computed, run it again with their outputs,
 * create the bucket with the inputs it now computes.
 */
export async function provision(config: StackConfig, stack = "test"): Promise<Provisioned> {
    const state = new Map<string, Created>();
    const first = await programRun(config, state, stack);
    const credsRes = one(first, CREDS);
    const creds = await engineCreate(credsRes);
    state.set(`${CREDS}/${credsRes.name}`, creds);
    const second = await programRun(config, state, stack);
    const bucketRes = one(second, BUCKET);
    const bucket = await engineCreate(bucketRes);
    state.set(`${BUCKET}/${bucketRes.name}`, bucket);
    const run = await programRun(config, state, stack);
    return { config, stack, state, run, creds, bucket };
}

/**
 * `pulumi up` after a config change or drift: diff and update (or replace) the credentials, then
 * the bucket; a replaced credentials resource is deleted last, as the engine deletes replaced
 * resources at the end of the update.
 */
export async function update(p: Provisioned, config: StackConfig): Promise<{ provisioned: Provisioned; credsChanged: boolean }> {
    const state = new Map(p.state);
    const run1 = await programRun(config, state, p.stack);
    const credsRes = one(run1, CREDS);
    const c = await engineUp(credsRes, p.creds.id, p.creds.outs);
    const creds = { id: c.id, outs: c.outs };
    state.set(`${CREDS}/${credsRes.name}`, creds);
    const run2 = await programRun(config, state, p.stack);
    const bucketRes = one(run2, BUCKET);
    const b = await engineUp(bucketRes, p.bucket.id, p.bucket.outs);
    if (b.replaced !== undefined) {
        throw new Error(`${bucketRes.name}: the bucket would be replaced (${(b.diff.replaces ?? []).join(", ")})`);
    }
    const bucket = { id: b.id, outs: b.outs };
    state.set(`${BUCKET}/${bucketRes.name}`, bucket);
    const run = await programRun(config, state, p.stack);
    if (c.replaced !== undefined) {
        await engineDelete(one(p.run, CREDS), c.replaced.id, c.replaced.outs);
    }
    return { provisioned: { config, stack: p.stack, state, run, creds, bucket }, credsChanged: c.diff.changes === true };
}

/** `pulumi destroy` of the RGW resources: the bucket unless retained, then the credentials. */
export async function destroy(p: Provisioned): Promise<void> {
    const bucketRes = one(p.run, BUCKET);
    if (!bucketRes.options.retainOnDelete) {
        await engineDelete(bucketRes, p.bucket.id, p.bucket.outs);
    }
    await engineDelete(one(p.run, CREDS), p.creds.id, p.creds.outs);
}

/** The registry pod of a provisioned stack. */
export function startOn(p: Provisioned): Promise<RegistryDeployment> {
    return startRegistry({ config: p.config, mocks: mocksFor(p.state, p.stack) });
}
