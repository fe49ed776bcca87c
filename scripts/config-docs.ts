// Keeps Pulumi.yaml and the README in step with CONFIG_KEYS (config.ts).
//   ts-node scripts/config-docs.ts pulumi-yaml      rewrites Pulumi.yaml's `config:` section
//   ts-node scripts/config-docs.ts table [key...]   prints README table rows (all keys, or those named)
// tests/stacks.spec.ts checks both, so running this is how a new key gets documented.
import * as fs from "fs";
import * as path from "path";
import * as YAML from "yaml";

import { CONFIG_KEYS, ConfigKeySpec } from "../config";

const ROOT = path.resolve(__dirname, "..");
const entries = Object.entries(CONFIG_KEYS) as [string, ConfigKeySpec][];

function pulumiYaml(): void {
    const file = path.join(ROOT, "Pulumi.yaml");
    const doc = YAML.parseDocument(fs.readFileSync(file, "utf8"));
    const config: Record<string, unknown> = {};
    for (const [key, spec] of entries) {
        const d: Record<string, unknown> = { type: spec.type, description: spec.description };
        if (spec.type === "array") {
            d.items = { type: "string" };
        }
        // No `secret: true`: the CLI refuses it beside a default, and a key without a default is
        // required. The program refuses a plain value for its secret keys instead.
        d.default = spec.default;
        config[key] = d;
    }
    doc.set("config", doc.createNode(config));
    fs.writeFileSync(file, doc.toString({ lineWidth: 0 }));
}

/** The README's rendering of a default; tests/stacks.spec.ts uses the same. */
export function readmeDefault(spec: ConfigKeySpec): string {
    // An empty string shows as `""`; an empty code span would not render.
    return `\`${typeof spec.default === "string" && spec.default !== "" ? spec.default : JSON.stringify(spec.default)}\``;
}

function table(keys: string[]): void {
    const rows = entries.filter(([k]) => keys.length === 0 || keys.includes(k));
    console.log("| key | type | default | description |\n| --- | --- | --- | --- |");
    for (const [k, s] of rows) {
        console.log(`| \`${k}\` | ${s.type}${s.secret === true ? " (secret)" : ""} | ${readmeDefault(s)} | ${s.description.replace(/\|/g, "\\|")} |`);
    }
}

if (require.main === module) {
    const [cmd, ...rest] = process.argv.slice(2);
    if (cmd === "pulumi-yaml") {
        pulumiYaml();
    } else if (cmd === "table") {
        table(rest);
    } else {
        console.error("usage: config-docs.ts pulumi-yaml | table [key...]");
        process.exit(2);
    }
}
