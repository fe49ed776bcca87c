// Every shipped stack file, and bad configuration, through the real Pulumi CLI: the CLI validates
// the stack's config against Pulumi.yaml and hands the program every declared default, exactly as
// for a user; the program validates what it gets. (This is where the CLI once refused the `dev`
// stack, and where the program once refused every stack, while every test under mocks passed.)
import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import * as k8s from "@kubernetes/client-node";

import { runCommand, workDir as makeWorkDir } from "../harness/procs";

import { STACK_SECRETS } from "../support/stack-secrets";
import { ROOT, stackFiles } from "../support/program";
import { EngineProject } from "./stack";
import { useEngine } from "./suite";

/** Stacks whose resources need providers that cannot be obtained here (their Go modules are not served). */
const UNBUILDABLE_PROVIDER: Readonly<Record<string, string>> = { aws: "aws", gcp: "gcp" };

describe("the shipped stacks and bad configuration through the real Pulumi CLI", function () {
    let project: EngineProject;
    let core: k8s.CoreV1Api;

    const engine = useEngine();
    before(() => {
        ({ project, core } = engine);
    });

    /** `pulumi stack select <stack> --create`, and the secrets the stack file's comments ask for, set with --secret. */
    const select = async (stack: string): Promise<void> => {
        await project.cliOk(["stack", "select", stack, "--create"]);
        for (const [key, value] of Object.entries(STACK_SECRETS[stack] ?? {})) {
            await project.setConfig(stack, key, value.value, true);
        }
    };

    for (const stack of Object.keys(stackFiles())) {
        const missing = UNBUILDABLE_PROVIDER[stack];
        const title =
            missing === undefined
                ? `${stack}: the CLI and the program accept the stack file, and \`pulumi preview\` plans it against the API server`
                : `${stack}: the CLI and the program accept the stack file; preview stops only where the ${missing} provider plugin is needed`;
        it(title, async () => {
            await select(stack);
            const r = await project.op("preview", stack);
            const text = `${r.error ?? ""}\n${r.stdout}\n${r.stderr}`;
            assert.doesNotMatch(text, /missing configuration value|Invalid stack configuration|ConfigError/);
            if (missing === undefined) {
                assert.ok(r.ok, text.slice(-4000));
                assert.ok((r.changes?.create ?? 0) > 20, JSON.stringify(r.changes));
            } else {
                // The program got past its config validation and registered its first resource of
                // that provider: only then does the engine look for the plugin.
                assert.ok(!r.ok);
                assert.match(text, new RegExp(`no resource plugin 'pulumi-resource-${missing}' found`));
            }
        });
    }

    describe("bad configuration: the program's message through the CLI, and nothing created", () => {
        const cases: { name: string; set: [string, string, boolean?][]; message: string }[] = [
            {
                name: "a storage kind that does not exist",
                set: [["registry:storageKind", "nfs"]],
                message: "`storageKind` must be one of `filesystem`, `emptyDir`, `gcePersistentDisk`, `gcs`, `s3`, `cephSwift`, `cephS3`; got `nfs`",
            },
            {
                name: "two replicas on a ReadWriteOnce claim",
                set: [["registry:replicas", "2"]],
                message: "`replicas` > 1 needs storage that several pods can share",
            },
            {
                name: "a credential set without --secret",
                set: [
                    ["registry:storageKind", "cephS3"],
                    ["registry:cephRgwUrl", "http://rgw.example.com:7480"],
                    ["registry:cephAdminAccessKey", "PLAINADMINKEY"],
                    ["registry:cephAdminSecretKey", "plain-admin-secret", true],
                ],
                message: "`cephAdminAccessKey` must be stored as a secret: `pulumi config set --secret cephAdminAccessKey <value>`",
            },
        ];
        cases.forEach((c, i) => {
            it(`${c.name}: \`pulumi up\` fails with "${c.message.slice(0, 60)}…" and creates nothing`, async () => {
                const stack = `bad${i}`;
                await project.cliOk(["stack", "select", stack, "--create"]);
                for (const [key, value, secret] of c.set) {
                    await project.setConfig(stack, key, value, secret === true);
                }
                const r = await project.op("up", stack);
                assert.ok(!r.ok, "up must fail");
                assert.ok(`${r.stdout}${r.stderr}${r.error ?? ""}`.includes(c.message), `${r.stdout}${r.stderr}`.slice(-3000));
                const state = JSON.parse(await project.cliOk(["stack", "export", "--stack", stack])) as { deployment: { resources?: { type: string }[] } };
                const made = (state.deployment.resources ?? []).map((res) => res.type).filter((t) => t !== "pulumi:pulumi:Stack");
                assert.deepStrictEqual(made, [], "no resource in the state but the stack itself");
                await assert.rejects(core.readNamespace("registry"), (e: { statusCode?: number }) => e.statusCode === 404);
            });
        });

        it("a value of the wrong type is refused by the CLI against Pulumi.yaml, before the program runs", async () => {
            const stack = "badtype";
            await project.cliOk(["stack", "select", stack, "--create"]);
            await project.setConfig(stack, "registry:replicas", "two");
            const r = await project.op("preview", stack);
            assert.ok(!r.ok);
            assert.match(`${r.stdout}${r.stderr}${r.error ?? ""}`, /Stack 'badtype' with configuration key 'replicas' must be of type 'integer'/);
        });
    });

    describe("a stack deployed by the version before PrivateRegistry (index.ts making every component at the top level)", () => {
        /** The last commit whose index.ts wired the components itself. */
        const FLAT_PROGRAM = "26dfd7a9bf3a7ef8c44045b4bdb8bb0e1f568f7f";
        let old: string;
        before(async () => {
            old = engine.mark(makeWorkDir("flat-program"));
            const archive = await runCommand("bash", [
                "-c",
                `git -C '${ROOT}' archive ${FLAT_PROGRAM} Pulumi.yaml index.ts config.ts components | tar -x -C '${old}'`,
            ]);
            assert.strictEqual(archive.code, 0, `the flat program's commit must be in this clone's history: ${archive.stderr}`);
            fs.symlinkSync(path.join(ROOT, "node_modules"), path.join(old, "node_modules"));
        });

        it("updates in place: the preview creates only the component and deletes nothing; what changed since that version replaces only auto-named ConfigMaps and Secrets", async () => {
            await select("dev");
            // A user on that version had its Pulumi.yaml too: the CLI hands the program every
            // default declared there, and a key added since is unknown to the old program.
            const projectFile = path.join(project.dir, "Pulumi.yaml");
            fs.copyFileSync(path.join(old, "Pulumi.yaml"), projectFile);
            let first;
            try {
                first = await project.opOk("up", "dev", { root: old });
            } finally {
                fs.copyFileSync(path.join(ROOT, "Pulumi.yaml"), projectFile);
            }
            assert.ok((first.changes?.create ?? 0) > 20, JSON.stringify(first.changes));
            // Without the aliases every resource would be created under its new URN and the old
            // one deleted. Features added since that version may change a resource's inputs: a
            // ConfigMap or Secret is auto-named, so new content replaces it (create, then delete
            // the old); anything else must update in place.
            const preview = await project.opOk("preview", "dev");
            const text = JSON.stringify(preview.changes);
            assert.strictEqual(preview.changes?.create, 1, `only the new component is created: ${text}`);
            assert.strictEqual(preview.changes?.delete, undefined, `nothing is deleted: ${text}`);
            const replaced = [...preview.stdout.matchAll(/^\s*\+-\s+(\S+)\s+(\S+)\s+replace\b/gm)].map((m) => `${m[1]} ${m[2]}`);
            assert.strictEqual(replaced.length, preview.changes?.replace ?? 0, `every replacement found in the preview:\n${preview.stdout.slice(-4000)}`);
            for (const r of replaced) {
                assert.match(r, /^kubernetes:core\/v1:(ConfigMap|Secret) /, `only auto-named ConfigMaps and Secrets are replaced: ${r}`);
            }
            const up = await project.opOk("up", "dev");
            assert.strictEqual(up.changes?.create, 1, JSON.stringify(up.changes));
            assert.strictEqual(up.changes?.delete, undefined, JSON.stringify(up.changes));
            await project.opOk("preview", "dev", { expectNoChanges: true });
            await project.opOk("destroy", "dev");
        });
    });
});
