// The program itself: each shipped stack evaluated under mocks in preview mode, in a fresh
// process (so time and memory are the program's, not the bench's), and its dependency graph.
import { execFile } from "child_process";
import * as path from "path";

import { stackFiles } from "../tests/support/program";
import { longestChain, LongestChain } from "./graph";
import type { ProgramEval } from "./program-eval";

export interface ProgramResult extends Omit<ProgramEval, "nodes"> {
    readonly graph: LongestChain;
}

function evalStack(file: string, runs: number): Promise<ProgramEval> {
    const root = path.join(__dirname, "..");
    return new Promise((resolve, reject) =>
        execFile(
            process.execPath,
            ["-r", "ts-node/register/transpile-only", path.join(__dirname, "program-eval.ts"), file, String(runs)],
            { cwd: root, maxBuffer: 64 * 1024 * 1024, timeout: 300000 },
            (err, stdout, stderr) => {
                if (err !== null) {
                    reject(new Error(`evaluating ${path.basename(file)} failed: ${stderr.trim() || err.message}`));
                    return;
                }
                resolve(JSON.parse(stdout.trim().split("\n").pop() ?? "{}") as ProgramEval);
            },
        ),
    );
}

/** Evaluates every Pulumi.<stack>.yaml of the repository. */
export async function measurePrograms(runs: number, log: (s: string) => void): Promise<ProgramResult[]> {
    const out: ProgramResult[] = [];
    for (const [stack, file] of Object.entries(stackFiles()).sort()) {
        const e = await evalStack(file, runs);
        const { nodes, ...rest } = e;
        out.push({ ...rest, graph: longestChain(nodes) });
        log(`  stack ${stack}: ${e.resources} resources, cold ${e.coldMs.toFixed(0)} ms, process ${e.processMs.toFixed(0)} ms`);
    }
    return out;
}
