// One Pulumi operation on the project, through the real CLI, in a process of its own: the
// Automation API with an inline program that loads index.ts (the Node language host, which a
// `pulumi up` from the shell would start, cannot be built here; the inline program runs the same
// code in this process, and the real CLI runs the real engine against it).
//
// A fresh process per operation gives the program fresh modules and a fresh Pulumi runtime, as
// every `pulumi up` has. Run by tests/engine/stack.ts:
//   node -r ts-node/register/transpile-only tests/engine/op.ts <request.json> <result.json>
import * as fs from "fs";
import * as path from "path";

import { LocalWorkspace, OutputMap, PulumiCommand } from "@pulumi/pulumi/automation";

/** What tests/engine/stack.ts asks for. */
export interface OpRequest {
    readonly op: "up" | "preview" | "refresh" | "destroy";
    readonly stack: string;
    /** The project's directory: Pulumi.yaml and Pulumi.<stack>.yaml, as a user's checkout has them. */
    readonly workDir: string;
    /** The repository, whose index.ts is the program. */
    readonly root: string;
    readonly envVars: Record<string, string>;
    readonly pulumiHome: string;
    /** Directory holding bin/pulumi, the pinned CLI. */
    readonly cliRoot: string;
    /** preview: fail when there are changes (`--expect-no-changes`). */
    readonly expectNoChanges?: boolean;
    /** up/destroy/refresh: `--target` URNs. */
    readonly targets?: readonly string[];
}

/** What the operation did. */
export interface OpResult {
    readonly ok: boolean;
    readonly error?: string;
    readonly stdout: string;
    readonly stderr: string;
    /** up: the stack outputs, with their secretness. */
    readonly outputs?: OutputMap;
    /** Counts of resource operations (create, update, replace, delete, same). */
    readonly changes?: Record<string, number>;
}

async function main(): Promise<void> {
    const [requestFile, resultFile] = process.argv.slice(2);
    const req = JSON.parse(fs.readFileSync(requestFile, "utf8")) as OpRequest;
    let stdout = "";
    let stderr = "";
    const result = (r: Omit<OpResult, "stdout" | "stderr">): OpResult => ({ ...r, stdout, stderr });
    try {
        const pulumiCommand = await PulumiCommand.get({ root: req.cliRoot, skipVersionCheck: true });
        const entry = path.join(req.root, "index.ts");
        const stack = await LocalWorkspace.selectStack(
            // eslint-disable-next-line @typescript-eslint/no-require-imports -- the program is loaded by path at run time
            { stackName: req.stack, projectName: "registry", program: async () => require(entry) as Record<string, unknown> },
            { workDir: req.workDir, envVars: req.envVars, pulumiHome: req.pulumiHome, pulumiCommand },
        );
        const onOutput = (s: string): void => {
            stdout += s;
        };
        const onError = (s: string): void => {
            stderr += s;
        };
        let r: OpResult;
        switch (req.op) {
            case "up": {
                const up = await stack.up({ onOutput, onError, target: req.targets ? [...req.targets] : undefined });
                r = result({ ok: true, outputs: up.outputs, changes: up.summary.resourceChanges });
                break;
            }
            case "preview": {
                const p = await stack.preview({ onOutput, onError, expectNoChanges: req.expectNoChanges });
                r = result({ ok: true, changes: p.changeSummary });
                break;
            }
            case "refresh": {
                const p = await stack.refresh({ onOutput, onError });
                r = result({ ok: true, changes: p.summary.resourceChanges });
                break;
            }
            case "destroy": {
                const d = await stack.destroy({ onOutput, onError, target: req.targets ? [...req.targets] : undefined });
                r = result({ ok: true, changes: d.summary.resourceChanges });
                break;
            }
        }
        fs.writeFileSync(resultFile, JSON.stringify(r));
    } catch (e) {
        fs.writeFileSync(resultFile, JSON.stringify(result({ ok: false, error: e instanceof Error ? e.message : String(e) })));
    }
}

if (require.main === module) {
    main().then(
        () => process.exit(0),
        (e) => {
            console.error(e);
            process.exit(1);
        },
    );
}
