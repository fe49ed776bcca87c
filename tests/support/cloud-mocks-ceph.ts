// What the simulated Ceph RGW answers under mocks: the dynamic providers' outputs. The keys are
// derived from the resource name (stable across runs); the real provider code runs against a
// real RGW in tests/e2e/ceph.spec.ts.
import * as crypto from "crypto";

import type { CloudMocks } from "./cloud-mocks";

function fake(seed: string, length: number, alphabet: string): string {
    const bytes = crypto.createHash("sha256").update(seed).digest();
    return Array.from({ length }, (_, i) => alphabet[bytes[i % bytes.length] % alphabet.length]).join("");
}

export const cephMocks: CloudMocks = {
    resourceState(type, name, inputs) {
        if (type === "pulumi-nodejs:dynamic/ceph:RgwCredentials") {
            const fullSubuser = `${inputs.uid}:${inputs.subuser}`;
            const gen = `${name}/${String(inputs.generation)}`;
            return {
                id: fullSubuser,
                fullSubuser,
                accessKey: inputs.keyType === "s3" ? fake(`${gen}/ak`, 20, "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789") : fullSubuser,
                secretKey: fake(`${gen}/sk`, 40, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"),
                userCreated: true,
            };
        }
        if (type === "pulumi-nodejs:dynamic/ceph:RgwBucket") {
            return { id: String(inputs.bucket) };
        }
        return undefined;
    },
};
