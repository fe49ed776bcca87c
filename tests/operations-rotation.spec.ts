// Day-2 operations: password and TLS key rotation, and the pods rolling on new Secret content,
// under mocks.
import * as assert from "assert";

import { htpasswdUsers, registryPod } from "./support/pod";
import { ofType, one } from "./support/program";
import { run } from "./support/operations-fixtures";

describe("operations: rotation", () => {
    it("passwordRotation: the rotated user's password has a keeper (a new token, a new password); the others have none", async () => {
        const r = await run("rotated");
        assert.deepStrictEqual(one(r, "random:index/randomPassword:RandomPassword", "registry-user-admin").inputs.keepers, { rotation: "2026-11" });
        assert.strictEqual(one(r, "random:index/randomPassword:RandomPassword", "registry-user-ci").inputs.keepers, undefined);
    });

    it("tlsRotation: the server key is replaced on a new token (its CSR and certificate follow); the CA is not", async () => {
        const r = await run("rotated");
        const keys = ofType(r, "tls:index/privateKey:PrivateKey");
        assert.strictEqual(keys.find((k) => k.name === "registry-server-key")?.options.replacementTrigger, "2026-11");
        assert.strictEqual(keys.find((k) => k.name === "registry-ca-key")?.options.replacementTrigger, undefined);
        const plain = await run("defaults", {});
        assert.strictEqual(one(plain, "tls:index/privateKey:PrivateKey", "registry-server-key").options.replacementTrigger, undefined);
    });

    it("the Secrets and ConfigMap the pods read are auto-named and referenced by name from the pod template, so new content rolls the pods", async () => {
        const r = await run("rotated");
        const pod = registryPod(r);
        const names = new Set<string>();
        for (const v of pod.podSpec.volumes as Record<string, any>[]) {
            const ref = v.secret?.secretName ?? v.configMap?.name;
            if (ref !== undefined) {
                names.add(ref);
            }
        }
        for (const e of pod.container.env as Record<string, any>[]) {
            if (e.valueFrom?.secretKeyRef !== undefined) {
                names.add(e.valueFrom.secretKeyRef.name);
            }
        }
        assert.ok(names.size >= 3);
        for (const n of names) {
            const obj = r.resources.find((x) => x.state.metadata?.name === n);
            assert.ok(obj !== undefined, n);
            assert.strictEqual(obj.inputs.metadata.name, undefined, `${n} must be auto-named (a fixed name would update in place and not roll the pods)`);
        }
        // The rotated password is the one in htpasswd and in the outputs.
        const auth = pod.secrets.get((pod.podSpec.volumes as Record<string, any>[]).find((v) => v.name === "auth")?.secret.secretName)!;
        assert.deepStrictEqual(htpasswdUsers(auth, "pull.htpasswd"), ["admin", "ci", "puller"]);
        assert.ok((r.outputs.passwords as Record<string, string>).admin.length >= 32);
    });
});
