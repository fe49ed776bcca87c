// `pulumi preview` runs the program with unknown outputs (a Service's address, a bucket's ARN).
// The program must declare the same resources as in an update, for every stack and variant.
import * as assert from "assert";

import { containsUnknown } from "./support/mocks";
import { ProgramRun, runProgram } from "./support/program";
import { allConfigs } from "./support/variants";

const names = (r: ProgramRun): string[] => r.resources.map((x) => `${x.type} ${x.name}`).sort();

describe("preview (`pulumi preview`, a dry run)", () => {
    for (const [label, config] of allConfigs()) {
        it(`${label}: declares the same resources as an update`, async () => {
            const preview = await runProgram(config, { stack: "dev", preview: true });
            assert.strictEqual(preview.error, undefined, String(preview.error));
            const update = await runProgram(config, { stack: "dev" });
            assert.strictEqual(update.error, undefined, String(update.error));
            assert.deepStrictEqual(names(preview), names(update));
        });
    }

    it("a certificate whose names are not known yet is not computed in preview", async () => {
        // ClusterIP: the Service's status is unknown until it exists, so are the SANs.
        const preview = await runProgram({ serviceType: "ClusterIP" }, { preview: true });
        assert.strictEqual(preview.error, undefined, String(preview.error));
        const csr = preview.resources.find((r) => r.type === "tls:index/certRequest:CertRequest");
        assert.ok(csr !== undefined);
        assert.ok(containsUnknown(csr.inputs.dnsNames), "the SANs should be unknown in preview");
        assert.strictEqual(csr.state.certRequestPem, undefined);
    });

    it("containsUnknown finds unknowns at any depth, and nothing else", () => {
        assert.strictEqual(containsUnknown({ a: [1, { b: { __pulumiUnknown: true } }] }), true);
        assert.strictEqual(containsUnknown({ a: [1, { b: "x" }], c: null }), false);
    });
});
