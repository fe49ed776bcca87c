// What the ceph engine spec (ceph.spec.ts) reads to check its steps: the stack's state as
// `pulumi stack export` gives it (the RGW credentials' outputs, secrets revealed) and, from radosgw
// itself, the RGW user and the bucket the program made.
import * as assert from "assert";

import { CephPeer } from "../harness/peers/ceph";
import { EngineProject } from "./stack";

export const STACK = "ceph";
/** The RGW user and bucket the program names `<registryName>-<stack>`. */
export const UID = "registry-ceph";
export const CREDS = "pulumi-nodejs:dynamic/ceph:RgwCredentials";
export const BUCKET = "pulumi-nodejs:dynamic/ceph:RgwBucket";
/** How Pulumi marks an encrypted value in the state. */
const SECRET_SIG = "4dabf18193072939515e22adb298388d";

export interface StateResource {
    readonly urn: string;
    readonly type: string;
    readonly id?: string;
    readonly inputs?: Record<string, unknown>;
    readonly outputs?: Record<string, unknown>;
}

/** The outputs of the RGW credentials resource that these tests read, secrets revealed. */
export interface CredsState {
    readonly fullSubuser: string;
    readonly keyType: string;
    readonly accessKey: string;
    readonly secretKey: string;
    readonly userCreated: boolean;
    readonly purgeUserOnDelete: boolean;
}

/** The signature a state value carries when it is a secret (undefined for a plain value). */
export const secretSig = (v: unknown): unknown => (typeof v === "object" && v !== null ? (v as Record<string, unknown>)[SECRET_SIG] : undefined);

export interface RgwUserInfo {
    readonly subusers: { id: string; permissions: string }[];
    readonly keys: { user: string; access_key: string; secret_key: string }[];
    readonly swift_keys: { user: string; secret_key: string }[];
}

/** A pull loop's tally. */
export interface PullLoop {
    ok: number;
    readonly failures: string[];
    stop(): Promise<void>;
}

/** The RGW user the program made, as radosgw-admin reports it; undefined when there is none. */
export async function rgwUserInfo(ceph: CephPeer): Promise<RgwUserInfo | undefined> {
    try {
        return JSON.parse(await ceph.radosgwAdmin(["user", "info", `--uid=${UID}`])) as RgwUserInfo;
    } catch {
        return undefined;
    }
}

/** How many objects the program's bucket holds (checking its user owns it); undefined when there is no bucket. */
export async function bucketObjectCount(ceph: CephPeer): Promise<number | undefined> {
    try {
        const stats = JSON.parse(await ceph.radosgwAdmin(["bucket", "stats", `--bucket=${UID}`])) as {
            owner: string;
            usage: Record<string, { num_objects: number }>;
        };
        assert.strictEqual(stats.owner, UID);
        return stats.usage["rgw.main"]?.num_objects ?? 0;
    } catch {
        return undefined;
    }
}

/** The stack's state as `pulumi stack export` gives it. */
export async function stackResources(project: EngineProject, showSecrets = false): Promise<StateResource[]> {
    const state = JSON.parse(await project.cliOk(["stack", "export", "--stack", STACK, ...(showSecrets ? ["--show-secrets"] : [])])) as {
        deployment: { resources?: StateResource[] };
    };
    return state.deployment.resources ?? [];
}

/** The credentials' outputs in the `--show-secrets` resources, secrets revealed (`--show-secrets` keeps them marked, with the plaintext as JSON). */
export function credsStateOf(resources: readonly StateResource[]): CredsState {
    const creds = resources.filter((r) => r.type === CREDS);
    assert.strictEqual(creds.length, 1, creds.map((c) => c.urn).join(", "));
    return Object.fromEntries(
        Object.entries(creds[0].outputs ?? {}).map(([k, v]) => [
            k,
            secretSig(v) !== undefined ? (JSON.parse(String((v as { plaintext?: unknown }).plaintext)) as unknown) : v,
        ]),
    ) as unknown as CredsState;
}
