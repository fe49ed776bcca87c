// Access under Pulumi mocks: the pull Secrets (pull-only credentials) and the image mirroring Job.
import * as assert from "assert";

import { htpasswdUsers, secretValue } from "./support/pod";
import { loadStackFile, one, ofType, ProgramRun, runProgram, stackFiles } from "./support/program";
import { VARIANTS } from "./support/variants";
import { run, selects } from "./support/access-fixtures";

describe("access: pull secrets", () => {
    let r: ProgramRun;
    before(async () => {
        r = await run("accessAll", VARIANTS.accessAll);
    });

    it("a kubernetes.io/dockerconfigjson Secret per listed namespace, for the pull-only user, as a Pulumi secret, naming the localhost proxy too", () => {
        const secrets = ofType(r, "kubernetes:core/v1:Secret").filter((s) => s.inputs.type === "kubernetes.io/dockerconfigjson" && s.name.includes("-pull-"));
        assert.deepStrictEqual(
            secrets.map((s) => [s.inputs.metadata.namespace, s.inputs.metadata.name]),
            [
                ["apps", "registry-pull"],
                ["ci", "registry-pull"],
            ],
        );
        const passwords = r.outputs.passwords as Record<string, string>;
        assert.deepStrictEqual(Object.keys(passwords), ["admin", "puller"]);
        for (const s of secrets) {
            assert.ok(s.secretInputs.includes("stringData"), `${s.name} secret inputs: ${s.secretInputs.join(",")}`);
            const doc = JSON.parse(secretValue(s, ".dockerconfigjson") ?? "");
            const hosts = Object.keys(doc.auths);
            assert.strictEqual(hosts[0], r.outputs.registryHost);
            assert.deepStrictEqual(hosts, [
                "registry.example.com",
                "registry",
                "registry.registry",
                "registry.registry.svc",
                "registry.registry.svc.cluster.local",
                "203.0.113.10",
                "localhost:5001",
            ]);
            for (const h of hosts) {
                const e = doc.auths[h];
                assert.deepStrictEqual([e.username, e.password], ["puller", passwords.puller]);
                assert.strictEqual(Buffer.from(e.auth, "base64").toString(), `puller:${passwords.puller}`);
            }
        }
    });

    it("the pull user may read and not write (in the gate's pull file only), and the primary user stays the first", () => {
        const auth = one(r, "kubernetes:core/v1:Secret", "registry-auth");
        const users = (file: string) => htpasswdUsers(auth, file);
        assert.deepStrictEqual(users("pull.htpasswd"), ["admin", "puller"]);
        assert.deepStrictEqual(users("push.htpasswd"), ["admin"]);
        assert.strictEqual(r.outputs.username, "admin");
    });

    it("the pull Secrets carry only a pull-only credential, whichever pull user is named", async () => {
        const x = await runProgram({ users: ["admin", "ci"], pullUsers: ["nodes", "reader"], pullUser: "reader", pullSecretNamespaces: ["apps"] });
        assert.strictEqual(x.error, undefined, String(x.error));
        const pushUsers = ["admin", "ci"];
        const passwords = x.outputs.passwords as Record<string, string>;
        assert.deepStrictEqual(Object.keys(passwords), ["admin", "ci", "nodes", "reader"]);
        const secret = ofType(x, "kubernetes:core/v1:Secret").find((s) => s.inputs.type === "kubernetes.io/dockerconfigjson" && s.name.includes("-pull-"));
        assert.ok(secret !== undefined);
        assert.ok(secret.secretInputs.includes("stringData"));
        const dockerConfig = JSON.parse(secretValue(secret, ".dockerconfigjson") ?? "") as { auths: Record<string, { username: string; password: string }> };
        const entries = Object.values(dockerConfig.auths);
        assert.ok(entries.length > 0);
        for (const e of entries) {
            assert.deepStrictEqual([e.username, e.password], ["reader", passwords.reader]);
            assert.ok(!pushUsers.some((u) => passwords[u] === e.password), "a push user's password is in a pull Secret");
        }
    });

    it("patches each namespace's default ServiceAccount when asked", () => {
        const patches = ofType(r, "kubernetes:core/v1:ServiceAccountPatch");
        assert.deepStrictEqual(
            patches.map((p) => [p.inputs.metadata.namespace, p.inputs.metadata.name, p.inputs.imagePullSecrets]),
            [
                ["apps", "default", [{ name: "registry-pull" }]],
                ["ci", "default", [{ name: "registry-pull" }]],
            ],
        );
    });

    it("no pull Secret by default; the pull-only user is there all the same, for the pull-only outputs", async () => {
        const dev = await run("dev", loadStackFile(stackFiles().dev), { stack: "dev" });
        assert.strictEqual(ofType(dev, "kubernetes:core/v1:Secret").filter((s) => s.inputs.type === "kubernetes.io/dockerconfigjson").length, 0);
        assert.deepStrictEqual(Object.keys(dev.outputs.passwords as object), ["admin", "ci", "puller"]);
    });

    it("a pull user already among `pullUsers` is reused, not added twice", async () => {
        const x = await runProgram({ pullUsers: ["puller", "reader"], pullSecretNamespaces: ["apps"] });
        assert.strictEqual(x.error, undefined, String(x.error));
        assert.deepStrictEqual(Object.keys(x.outputs.passwords as object), ["admin", "puller", "reader"]);
    });
});

describe("access: image mirroring Job", () => {
    let r: ProgramRun;
    before(async () => {
        r = await run("accessAll", VARIANTS.accessAll);
    });
    const job = (x: ProgramRun) => one(x, "kubernetes:batch/v1:Job");

    it("copies each upstream image to <registry>/<upstream name>:<tag> with skopeo, from its auto-named ConfigMap", () => {
        const j = job(r);
        const spec = j.inputs.spec.template.spec;
        const c = spec.containers[0];
        assert.strictEqual(c.image, "quay.io/skopeo/stable:v1.16.1");
        const env = Object.fromEntries(c.env.map((e: { name: string; value: string }) => [e.name, e.value]));
        assert.strictEqual(env.DEST, "registry.registry.svc.cluster.local", "the Service's name, which the certificate covers (port 443 implied)");
        const cmName = spec.volumes.find((v: { name: string }) => v.name === "config").configMap.name;
        const cm = ofType(r, "kubernetes:core/v1:ConfigMap").find((x) => x.state.metadata.name === cmName);
        assert.ok(cm !== undefined);
        assert.strictEqual(cm.inputs.metadata.name, undefined, "auto-named: a new list is a new pod template");
        assert.strictEqual(
            cm.inputs.data.images,
            `docker.io/library/nginx:1.27.3 docker.io/library/nginx:1.27.3\nregistry.k8s.io/pause:3.10@sha256:${"b".repeat(64)} registry.k8s.io/pause:3.10\n`,
        );
        assert.strictEqual(cm.inputs.data["ca.crt"], r.outputs.caCertificate);
        assert.deepStrictEqual(j.options.ignoreChanges, []);
    });

    it("waits for the registry Deployment, and a changed list replaces the Job (its template is immutable)", async () => {
        const j = job(r);
        assert.ok(
            j.options.dependencies.some((d) => d.endsWith("$kubernetes:apps/v1:Deployment::registry-deployment")),
            `Job dependencies: ${j.options.dependencies.join(", ")}`,
        );
        const other = await runProgram({ ...VARIANTS.accessAll, mirrorImages: ["docker.io/library/nginx:1.27.4"] });
        assert.strictEqual(other.error, undefined, String(other.error));
        const checksum = (x: ProgramRun) => job(x).inputs.spec.template.metadata.annotations["checksum/images"];
        assert.match(checksum(r), /^[a-f0-9]{64}$/);
        assert.notStrictEqual(checksum(other), checksum(r), "a new list must change the pod template");
    });

    it("`pulumi up` waits for the Job as long as the Job may run (activeDeadlineSeconds) and five minutes more, not the provider's 10 minutes", () => {
        const j = job(r);
        const deadline = j.inputs.spec.activeDeadlineSeconds;
        assert.strictEqual(deadline, 3600);
        const t = j.options.customTimeouts;
        assert.ok(t !== undefined, "no customTimeouts");
        assert.deepStrictEqual([t.create, t.update], [`${deadline + 300}s`, `${deadline + 300}s`]);
    });

    it("pushes as the primary user through a dockerconfigjson Secret that is a Pulumi secret", () => {
        const spec = job(r).inputs.spec.template.spec;
        const secretName = spec.volumes.find((v: { name: string }) => v.name === "auth").secret.secretName;
        const secret = ofType(r, "kubernetes:core/v1:Secret").find((x) => x.state.metadata.name === secretName);
        assert.ok(secret !== undefined);
        assert.ok(secret.secretInputs.includes("stringData"));
        const doc = JSON.parse(secretValue(secret, ".dockerconfigjson") ?? "");
        assert.deepStrictEqual(Object.keys(doc.auths), ["registry.registry.svc.cluster.local"]);
        assert.deepStrictEqual(
            [doc.auths["registry.registry.svc.cluster.local"].username, doc.auths["registry.registry.svc.cluster.local"].password],
            ["admin", r.outputs.password],
        );
    });

    it("passes the restricted Pod Security Standard, and the registry Service cannot select its pod", () => {
        const j = job(r);
        const spec = j.inputs.spec.template.spec;
        assert.deepStrictEqual(spec.containers[0].securityContext, {
            allowPrivilegeEscalation: false,
            readOnlyRootFilesystem: true,
            runAsNonRoot: true,
            capabilities: { drop: ["ALL"] },
            seccompProfile: { type: "RuntimeDefault" },
        });
        assert.strictEqual(spec.securityContext.runAsNonRoot, true);
        assert.strictEqual(j.inputs.metadata.namespace, "registry");
        const svc = one(r, "kubernetes:core/v1:Service");
        assert.ok(!selects(svc.inputs.spec.selector, j.inputs.spec.template.metadata.labels), "the registry Service would send traffic to the mirror pod");
    });

    it("no Job by default", async () => {
        const dev = await run("dev", loadStackFile(stackFiles().dev), { stack: "dev" });
        assert.strictEqual(ofType(dev, "kubernetes:batch/v1:Job").length, 0);
    });
});
