// What the Ceph unit specs (tests/ceph-*.spec.ts) share: the admin keys as secret config, the
// program's run with them, and the credentials resource's type.
import { ProgramRun, runProgramOrThrow, StackConfig } from "./program";

export const SECRETS = ["cephAdminAccessKey", "cephAdminSecretKey"];
export const BASE = { cephAdminAccessKey: "ADMINKEY", cephAdminSecretKey: "adminsecret" };

export function run(config: StackConfig): Promise<ProgramRun> {
    return runProgramOrThrow({ ...BASE, ...config }, { secretKeys: SECRETS });
}

export const CREDS = "pulumi-nodejs:dynamic/ceph:RgwCredentials";
