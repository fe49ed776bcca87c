import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import * as YAML from "yaml";

import { CONFIG_KEYS, ConfigKeySpec } from "../config";
import { CONFIGURATION_DOC, docsDefault } from "../scripts/config-docs";
import { registryPod } from "./support/pod";
import { loadStackFile, PROJECT, ROOT, runProgram, stackFiles } from "./support/program";

interface Declaration {
    type: string;
    description?: string;
    default?: unknown;
    secret?: boolean;
    items?: { type: string };
}

const project = YAML.parse(fs.readFileSync(path.join(ROOT, "Pulumi.yaml"), "utf8")) as {
    name: string;
    runtime: { name: string; options?: { typescript?: boolean } };
    config: Record<string, Declaration>;
};

describe("stack files and Pulumi.yaml", () => {
    it("Pulumi.yaml names the project the code reads config from, with the TypeScript runtime", () => {
        assert.strictEqual(project.name, PROJECT);
        assert.deepStrictEqual(project.runtime, { name: "nodejs", options: { typescript: true } });
    });

    it("declares exactly the keys the program reads, with the code's types, defaults and descriptions", () => {
        const declared = Object.keys(project.config).map((k) => k.replace(`${PROJECT}:`, ""));
        assert.deepStrictEqual(declared, Object.keys(CONFIG_KEYS));
        for (const [key, spec] of Object.entries(CONFIG_KEYS) as [string, ConfigKeySpec][]) {
            const d = project.config[key] ?? project.config[`${PROJECT}:${key}`];
            assert.strictEqual(d.type, spec.type, `${key}: type`);
            assert.deepStrictEqual(d.default, spec.default, `${key}: default`);
            assert.strictEqual(d.description, spec.description, `${key}: description`);
            // The CLI requires every declared key without a default, and refuses `secret: true`
            // beside one; the program itself refuses plain values of its secret keys.
            assert.ok("default" in d, `${key}: a declaration without a default is required by the CLI`);
            assert.strictEqual(d.secret, undefined, `${key}: \`secret: true\` cannot have a default`);
            if (spec.type === "array") {
                assert.deepStrictEqual(d.items, { type: "string" }, `${key}: items`);
            }
            assert.ok(!("value" in d), `${key}: a declaration cannot have both value and default`);
        }
    });

    it("docs/configuration.md's table lists every key with its default", () => {
        const doc = fs.readFileSync(path.join(ROOT, CONFIGURATION_DOC), "utf8");
        for (const [key, spec] of Object.entries(CONFIG_KEYS) as [string, ConfigKeySpec][]) {
            const row = doc.split("\n").find((l) => l.startsWith(`| \`${key}\` |`));
            assert.ok(row !== undefined, `${CONFIGURATION_DOC} has no row for ${key}`);
            const cells = row.split(" | ");
            assert.strictEqual(cells[2], docsDefault(spec), `${CONFIGURATION_DOC} default of ${key}`);
        }
    });

    const files = stackFiles();
    it("the repository has a dev stack", () => {
        assert.ok("dev" in files);
    });

    for (const [stack, file] of Object.entries(files)) {
        describe(`Pulumi.${stack}.yaml`, () => {
            const config = loadStackFile(file);

            it("sets only declared keys of this project (other namespaces only for providers)", () => {
                for (const key of Object.keys(config)) {
                    const [ns, name] = key.split(":");
                    if (ns === PROJECT) {
                        assert.ok(name in CONFIG_KEYS, `${key} is not declared`);
                    } else {
                        assert.ok(["kubernetes", "aws", "gcp"].includes(ns), `${key}: unexpected namespace`);
                    }
                }
            });

            it("runs under mocks and declares the registry", async () => {
                const run = await runProgram(config, { stack });
                assert.strictEqual(run.error, undefined, String(run.error));
                assert.strictEqual(registryPod(run).container.name, "registry");
                assert.match(String(run.outputs.registryUrl), /^https:\/\//);
            });
        });
    }
});
