import * as assert from "assert";

import { validateObject } from "./support/k8s-schema";
import { runProgram } from "./support/program";
import { allConfigs } from "./support/variants";

const CONFIGS = allConfigs();

describe("Kubernetes objects against the OpenAPI schema", () => {
    describe("the validator", () => {
        const good = {
            apiVersion: "apps/v1",
            kind: "Deployment",
            metadata: { name: "x" },
            spec: { selector: { matchLabels: { a: "b" } }, template: { metadata: { labels: { a: "b" } }, spec: { containers: [{ name: "c", image: "i" }] } } },
        };
        it("accepts a valid object", () => {
            assert.deepStrictEqual(validateObject(good), []);
        });
        it("refuses a misspelled field", () => {
            const bad = JSON.parse(JSON.stringify(good));
            bad.spec.template.spec.containers[0].imagePullPolicyy = "Always";
            assert.deepStrictEqual(validateObject(bad), ["unknown field spec.template.spec.containers[0].imagePullPolicyy"]);
        });
        it("refuses a misplaced field", () => {
            const bad = JSON.parse(JSON.stringify(good));
            bad.spec.template.spec.readOnlyRootFilesystem = true;
            assert.deepStrictEqual(validateObject(bad), ["unknown field spec.template.spec.readOnlyRootFilesystem"]);
        });
        it("refuses a wrong type and a missing required field", () => {
            const bad = JSON.parse(JSON.stringify(good));
            bad.spec.replicas = "3";
            delete bad.spec.template.spec.containers[0].name;
            const problems = validateObject(bad);
            assert.strictEqual(problems.length, 1);
            assert.match(problems[0], /must be integer/);
            assert.match(problems[0], /must have required property name/);
        });
        it("refuses an unknown kind", () => {
            assert.throws(() => validateObject({ apiVersion: "apps/v1", kind: "Deploymnet" }), /Cannot find module|has no/);
        });
    });

    for (const [label, config] of CONFIGS) {
        it(`${label}: every object is valid`, async () => {
            const run = await runProgram(config);
            assert.strictEqual(run.error, undefined, String(run.error));
            const objects = run.resources.filter((r) => r.type.startsWith("kubernetes:") && !r.type.startsWith("kubernetes:index"));
            assert.ok(objects.length >= 6, `only ${objects.length} Kubernetes objects`);
            for (const o of objects) {
                assert.deepStrictEqual(validateObject(o.inputs), [], `${o.type} ${o.name}`);
            }
        });
    }
});
