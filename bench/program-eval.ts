// Child process of the bench: evaluates one stack's program under mocks in preview mode, the
// stand-in for the program's share of `pulumi preview`, and prints one JSON line.
//   node -r ts-node/register/transpile-only bench/program-eval.ts <Pulumi.<stack>.yaml> <runs>
import * as path from "path";

import { loadStackFile, runProgram } from "../tests/support/program";
import { recorder } from "../tests/support/mocks";
import { GraphNode } from "./graph";

export interface ProgramEval {
    readonly stack: string;
    readonly resources: number;
    /** First evaluation in a fresh process: loads and transpiles the program and the SDKs. */
    readonly coldMs: number;
    /** Later evaluations in the same process. */
    readonly warmMs: readonly number[];
    /** Wall time while a mock was computing (real keys, certificates, bcrypt), per run. */
    readonly mockMs: readonly number[];
    /** From process start to the end of the last evaluation (Node, ts-node, SDK load included). */
    readonly processMs: number;
    /** Peak RSS of the process, bytes. */
    readonly maxRssBytes: number;
    readonly heapUsedBytes: number;
    readonly nodes: readonly GraphNode[];
}

async function main(): Promise<void> {
    const [file, runsArg] = process.argv.slice(2);
    const runs = Math.max(1, Number(runsArg ?? "3"));
    const config = loadStackFile(file);
    const stack = path.basename(file).split(".")[1];
    const times: number[] = [];
    const mockMs: number[] = [];
    let nodes: GraphNode[] = [];
    let resources = 0;
    for (let i = 0; i < runs; i++) {
        const t0 = performance.now();
        const run = await runProgram(config, { stack, preview: true });
        times.push(performance.now() - t0);
        mockMs.push(recorder.mockMs);
        if (run.error !== undefined) {
            throw run.error;
        }
        resources = run.resources.length;
        nodes = run.resources.map((r) => ({
            urn: r.engineUrn,
            type: r.type,
            name: r.name,
            custom: r.custom,
            parent: r.options.parent,
            dependencies: r.options.dependencies,
            propertyDependencies: r.options.propertyDependencies,
        }));
    }
    const result: ProgramEval = {
        stack,
        resources,
        coldMs: times[0],
        warmMs: times.slice(1),
        mockMs,
        processMs: performance.now(),
        maxRssBytes: process.resourceUsage().maxRSS * 1024,
        heapUsedBytes: process.memoryUsage().heapUsed,
        nodes,
    };
    process.stdout.write(`${JSON.stringify(result)}\n`);
}

main().then(
    () => process.exit(0),
    (e: unknown) => {
        process.stderr.write(`${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
        process.exit(1);
    },
);
