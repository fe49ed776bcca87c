// PrivateRegistry used as a library: a second, small program (tests/fixtures/team-program.ts)
// imports the component and the config parser, under the same mocks as the stacks.
import * as assert from "assert";
import * as path from "path";

import { ofType, ProgramRun, runProgramOrThrow } from "./support/program";

describe("PrivateRegistry in a platform team's own program", () => {
    let run: ProgramRun;
    before(async () => {
        run = await runProgramOrThrow({}, { entry: path.join(__dirname, "fixtures", "team-program.ts") });
    });

    it("makes the registry under the team's component name, its resources named after registryName", () => {
        const top = run.resources.filter((r) => r.options.parent === "").map((r) => `${r.type}::${r.name}`);
        assert.deepStrictEqual(top.sort(), [
            "kubernetes:core/v1:ConfigMap::registry-endpoint",
            "kubernetes:core/v1:Namespace::apps",
            "registry:index:PrivateRegistry::images",
        ]);
        const ns = ofType(run, "kubernetes:core/v1:Namespace").find((r) => r.name === "images-namespace");
        assert.strictEqual(ns?.inputs.metadata.name, "platform-images");
        assert.strictEqual(ofType(run, "kubernetes:apps/v1:Deployment")[0].inputs.metadata.namespace, "platform-images");
    });

    it("the team's own resources take the registry's outputs", () => {
        const cm = run.resources.find((r) => r.type === "kubernetes:core/v1:ConfigMap" && r.name === "registry-endpoint");
        assert.ok(cm !== undefined);
        assert.strictEqual(cm.inputs.data.host, "images.platform-images.svc.cluster.local");
        assert.match(cm.inputs.data.caCertificate, /^-----BEGIN CERTIFICATE-----\n/);
        const tlsCa = run.resources.find((r) => r.type === "tls:index/selfSignedCert:SelfSignedCert");
        assert.strictEqual(cm.inputs.data.caCertificate, tlsCa?.state.certPem);
    });

    it("the pull Secret in the team's namespace and the outputs carry what the typed config asked for, secrets kept", () => {
        const pull = ofType(run, "kubernetes:core/v1:Secret").find((r) => r.inputs.metadata?.namespace === "apps");
        assert.ok(pull !== undefined, "a pull Secret in apps");
        const doc = JSON.parse(pull.inputs.stringData[".dockerconfigjson"]) as { auths: Record<string, { username: string }> };
        assert.deepStrictEqual([...new Set(Object.values(doc.auths).map((a) => a.username))], ["nodes"]);
        assert.strictEqual(run.outputs.imagePrefix, "images.platform-images.svc.cluster.local/apps");
        assert.ok(run.secretOutputs.has("pullConfig") && run.secretOutputs.has("pushPassword"));
        assert.strictEqual(
            (JSON.parse(run.outputs.pullConfig as string) as { auths: Record<string, { username: string }> }).auths["images.platform-images.svc.cluster.local"]
                .username,
            "nodes",
        );
    });

    it("`dependsOn` given to the component holds back every resource inside it, not only the component", () => {
        const apps = run.resources.find((r) => r.type === "kubernetes:core/v1:Namespace" && r.name === "apps");
        assert.ok(apps !== undefined);
        const inside = run.resources.filter((r) => r.name !== "apps" && r.name !== "registry-endpoint");
        assert.ok(inside.length > 20, `only ${inside.length} resources inside`);
        const waiting = (r: (typeof inside)[number]) => r.options.dependencies.some((d) => d.endsWith("::kubernetes:core/v1:Namespace::apps"));
        assert.deepStrictEqual(
            inside.filter((r) => !waiting(r)).map((r) => `${r.type}::${r.name}`),
            [],
        );
    });
});
