// Names the program derives from `registryName`, against the limits Kubernetes and the providers
// put on them: refused up front with a message naming `registryName`, and the table of derived
// names checked against the names the program really registers.
import * as assert from "assert";

import { DERIVED_NAMES, derivedNameProblems, parseConfig } from "../config";
import { problemsOf, raw } from "./support/config-problems";
import { one, runProgram } from "./support/program";

/** A config that makes each derived name exist. */
const USES: Record<(typeof DERIVED_NAMES)[number]["id"], Record<string, unknown>> = {
    gcCronJob: { gcSchedule: "@daily" },
    mirrorJob: { mirrorImages: ["docker.io/library/nginx:1.27.3"] },
    s3BucketPrefix: { storageKind: "s3" },
};

describe("names derived from registryName", () => {
    it("refuses a registryName too long for the garbage collection CronJob's name (CronJob names: at most 52)", () => {
        const name = "r".repeat(40);
        assert.deepStrictEqual(problemsOf({ registryName: name, gcSchedule: "@daily" }), [
            `\`registryName\` is too long for the garbage collection CronJob (\`gcSchedule\`): its name \`${name}-gc-cronjob-\` + 8 random characters would be 60 characters, over 52 (Kubernetes' limit for CronJob names: the Jobs it starts add 11 characters); use a \`registryName\` of at most 32 characters`,
        ]);
    });

    it("refuses a registryName too long for the mirroring Job's name (Job names: at most 63)", () => {
        const name = "m".repeat(50);
        assert.deepStrictEqual(problemsOf({ registryName: name, mirrorImages: ["docker.io/library/nginx:1.27.3"] }), [
            `\`registryName\` is too long for the image mirroring Job (\`mirrorImages\`): its name \`${name}-mirror-\` + 8 random characters would be 66 characters, over 63 (Kubernetes' limit for Job names: the Job's pods carry it in a label); use a \`registryName\` of at most 47 characters`,
        ]);
    });

    it("refuses a registryName too long for the S3 bucket's generated name (bucketPrefix: at most 37)", () => {
        const name = "b".repeat(40);
        assert.deepStrictEqual(problemsOf({ registryName: name, storageKind: "s3" }), [
            `\`registryName\` is too long for the S3 bucket's generated name (\`s3Bucket\` empty): its name prefix \`${name}-\` would be 41 characters, over 37 (the AWS provider's limit for \`bucketPrefix\`, to which it adds 26 characters); use a \`registryName\` of at most 36 characters, or name the bucket in \`s3Bucket\``,
        ]);
        assert.deepStrictEqual(problemsOf({ registryName: name, storageKind: "s3", s3Bucket: "team-images" }), []);
    });

    it("accepts the longest registryName each derived name allows, and checks only names that exist", () => {
        for (const d of DERIVED_NAMES) {
            const longest = "x".repeat(d.maxRegistryName);
            assert.deepStrictEqual(problemsOf({ registryName: longest, ...USES[d.id] }), [], d.id);
            assert.strictEqual(problemsOf({ registryName: `${longest}x`, ...USES[d.id] }).length, 1, d.id);
        }
        // 52 characters with none of them in use.
        assert.deepStrictEqual(problemsOf({ registryName: "y".repeat(52) }), []);
        assert.deepStrictEqual(derivedNameProblems(parseConfig(raw({ registryName: "y".repeat(52) }))), []);
    });

    it("refuses a registryName that starts with a digit: it names Services, which must start with a letter", () => {
        assert.deepStrictEqual(problemsOf({ registryName: "9lives" }), [
            "`registryName` must start with a letter: it names the registry's Services, and Kubernetes requires a Service name to start with one (RFC 1035); got `9lives`",
        ]);
    });

    it("the table's names are the ones the program registers", async () => {
        const registryName = "names-check";
        const r = await runProgram({ registryName, storageKind: "s3", gcSchedule: "@daily", mirrorImages: ["docker.io/library/nginx:1.27.3"] });
        assert.strictEqual(r.error, undefined, String(r.error));
        const names: Record<(typeof DERIVED_NAMES)[number]["id"], string> = {
            // Auto-named objects are `<resource name>-<8 random>`: the table's name ends before the random part.
            gcCronJob: `${one(r, "kubernetes:batch/v1:CronJob").name}-`,
            mirrorJob: `${one(r, "kubernetes:batch/v1:Job").name}-`,
            s3BucketPrefix: String(one(r, "aws:s3/bucket:Bucket").inputs.bucketPrefix),
        };
        for (const d of DERIVED_NAMES) {
            assert.strictEqual(d.name(registryName), names[d.id], d.id);
        }
        assert.strictEqual(
            one(r, "kubernetes:batch/v1:CronJob").state.metadata.name.length,
            DERIVED_NAMES.find((d) => d.id === "gcCronJob")!.name(registryName).length + 8,
        );
    });
});
