// Ceph: the credentials provider's serialised code through replacements (key type, subuser, key
// generation) and deletes, against an in-memory Admin Ops stand-in (tests/support/fake-rgw.ts).
import * as assert from "assert";

import { keyIsLive, RgwCredentialsOutputs } from "../components/storage/ceph/credentials";
import { engineCreate, engineDelete, engineUp } from "./support/dynamic-provider";
import { FakeRgw, startFakeRgw } from "./support/fake-rgw";
import { registryPod } from "./support/pod";
import { one, ProgramRun, StackConfig } from "./support/program";
import type { RecordedResource } from "./support/mocks";
import { CREDS, run } from "./support/ceph-fixtures";

const BUCKET = "pulumi-nodejs:dynamic/ceph:RgwBucket";

describe("Ceph: credentials replaced create-before-delete (the serialised provider against an Admin Ops stand-in)", () => {
    let fake: FakeRgw;
    const uid = "registry-test";
    before(async () => {
        fake = await startFakeRgw();
    });
    after(async () => fake?.stop());
    beforeEach(() => fake.reset());

    const runOn = (config: StackConfig): Promise<ProgramRun> => run({ cephRgwUrl: fake.url, ...config });
    const live = (outs: Record<string, any>): boolean => keyIsLive(fake.user(uid), outs as RgwCredentialsOutputs);
    /** The program's credentials resource, its delete not waiting (the wait has a test of its own). */
    const creds = (r: ProgramRun, retireAfterSeconds = 0): RecordedResource => {
        const res = one(r, CREDS);
        return { ...res, inputs: { ...res.inputs, retireAfterSeconds } };
    };

    /**
     * `pulumi up` from the created `from` to the program's new `to`, as the engine runs a
     * replacement: diff, create the new resource, (`between`: the Secret is replaced and the pods
     * roll), then delete the old one at the end of the update.
     */
    async function replace(
        from: { res: RecordedResource; id: string; outs: Record<string, any> },
        to: RecordedResource,
        between: (outs: Record<string, any>) => void = () => undefined,
    ) {
        const step = await engineUp(to, from.id, from.outs);
        assert.ok(step.replaced !== undefined, `a replacement, not ${JSON.stringify(step.diff)}`);
        between(step.outs);
        await engineDelete(from.res, step.replaced.id, step.replaced.outs);
        return step;
    }

    it("cephSwift -> cephS3 on the same subuser: the old resource's delete removes its Swift key only; the new S3 key and the subuser stay", async () => {
        const swift = creds(await runOn({ storageKind: "cephSwift" }));
        const c1 = await engineCreate(swift);
        const s3 = creds(await runOn({ storageKind: "cephS3" }));
        let both = false;
        const step = await replace({ res: swift, ...c1 }, s3, (outs) => {
            both = live(c1.outs) && live(outs);
        });
        assert.deepStrictEqual(step.diff.replaces, ["keyType"]);
        assert.ok(both, "both keys work until the old resource is deleted");
        assert.strictEqual(step.outs.fullSubuser, `${uid}:registry`);
        const user = fake.user(uid);
        assert.deepStrictEqual(
            user?.subusers.map((s) => s.id),
            [`${uid}:registry`],
        );
        assert.deepStrictEqual(
            user?.keys.map((k) => k.access_key),
            [step.outs.accessKey],
            "the replacement's S3 key survives",
        );
        assert.deepStrictEqual(user?.swift_keys, [], "the old Swift key is gone");
        assert.ok(live(step.outs));
    });

    it("with deleteStorageOnDestroy, a new cephSubuser's replacement keeps the user and the bucket; a destroy then removes both", async () => {
        const before = creds(await runOn({ storageKind: "cephS3", deleteStorageOnDestroy: true }));
        const c1 = await engineCreate(before);
        assert.deepStrictEqual([c1.outs.userCreated, c1.outs.purgeUserOnDelete], [true, true]);
        fake.addBucket(uid, uid);
        const afterRun = await runOn({ storageKind: "cephS3", deleteStorageOnDestroy: true, cephSubuser: "pusher" });
        const step = await replace({ res: before, ...c1 }, creds(afterRun));
        assert.deepStrictEqual(step.diff.replaces, ["subuser"]);
        assert.deepStrictEqual(
            fake.user(uid)?.subusers.map((s) => s.id),
            [`${uid}:pusher`],
            "the user is still there, with the new subuser",
        );
        assert.strictEqual(fake.buckets().get(uid), uid, "the bucket is still there");
        assert.ok(live(step.outs));
        assert.ok(!fake.calls.includes("DELETE user"), fake.calls.join(", "));
        // `pulumi destroy`: the bucket first (it depends on the credentials), then the credentials.
        const bucket = one(afterRun, BUCKET);
        await engineDelete(bucket, uid, bucket.inputs);
        await engineDelete(creds(afterRun), step.id, step.outs);
        assert.deepStrictEqual([fake.user(uid), fake.buckets().size], [undefined, 0]);
    });

    for (const kind of ["cephSwift", "cephS3"] as const) {
        it(`${kind}: rotation replaces the credentials on the new generation's subuser; the old key works until the old resource is deleted`, async () => {
            const g1 = creds(await runOn({ storageKind: kind }));
            const c1 = await engineCreate(g1);
            const g2 = creds(await runOn({ storageKind: kind, cephKeyGeneration: 2 }));
            let both = false;
            const step = await replace({ res: g1, ...c1 }, g2, (outs) => {
                both = live(c1.outs) && live(outs);
            });
            assert.deepStrictEqual(step.diff.replaces, ["subuser", "generation"]);
            assert.strictEqual(step.outs.fullSubuser, `${uid}:registry-g2`);
            assert.ok(both, "old and new key both work between the replacement's create and the old resource's delete");
            assert.ok(!live(c1.outs), "the old key is gone after the delete");
            assert.ok(live(step.outs));
            assert.deepStrictEqual(
                fake.user(uid)?.subusers.map((s) => s.id),
                [`${uid}:registry-g2`],
            );
        });
    }

    it("the old key outlives the pods still terminating: delete waits the registry pods' grace period before it removes the key", async () => {
        const r = await runOn({ storageKind: "cephSwift" });
        const grace = registryPod(r).podSpec.terminationGracePeriodSeconds as number;
        assert.ok(grace > 5, `terminationGracePeriodSeconds ${grace}`);
        assert.strictEqual(one(r, CREDS).inputs.retireAfterSeconds, grace, "the wait is the Deployment's grace period");
        // The same code, with a 1 s wait.
        const res = creds(r, 1);
        const c = await engineCreate(res);
        const started = Date.now();
        const deleting = engineDelete(res, c.id, c.outs);
        await new Promise((resolve) => setTimeout(resolve, 500));
        assert.ok(live(c.outs), "the key still works half a second into the delete");
        await deleting;
        assert.ok(Date.now() - started >= 1000, `the delete took ${Date.now() - started} ms`);
        assert.ok(!live(c.outs), "the key is gone once the delete returns");
    });

    it("a user that still owns a bucket is never deleted, even when the stack opted in", async () => {
        const res = creds(await runOn({ storageKind: "cephS3", deleteStorageOnDestroy: true }));
        const c = await engineCreate(res);
        fake.addBucket(uid, "kept");
        await engineDelete(res, c.id, c.outs);
        assert.deepStrictEqual(fake.user(uid)?.subusers, [], "the subuser and its key went");
        assert.strictEqual(fake.buckets().get("kept"), uid, "the bucket and its data stay");
    });
});
