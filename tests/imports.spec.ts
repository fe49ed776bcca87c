// The program's modules form no import cycle, type-only imports included: a cycle means a type
// or a function sits in the wrong module (usually one the lower module should own).
import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";

import { ROOT } from "./support/program";

/** The relative module specifiers a TypeScript file imports or re-exports (`import ... from "./x"`, `export * from "./x"`). */
export function relativeImports(source: string): string[] {
    const specifiers: string[] = [];
    const re = /^\s*(?:import|export)\s[^;]*?\sfrom\s+["'](\.{1,2}\/[^"']*)["']/gms;
    for (const m of source.matchAll(re)) {
        specifiers.push(m[1]);
    }
    return specifiers;
}

/** The file a relative specifier names: `<x>.ts`, else `<x>/index.ts`; undefined when neither exists. */
function resolve(from: string, specifier: string): string | undefined {
    const base = path.resolve(path.dirname(from), specifier);
    return [`${base}.ts`, path.join(base, "index.ts"), base].find((f) => f.endsWith(".ts") && fs.existsSync(f));
}

/** Every `.ts` file under `dir`. */
function tsFiles(dir: string): string[] {
    return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
        const p = path.join(dir, e.name);
        return e.isDirectory() ? tsFiles(p) : e.name.endsWith(".ts") ? [p] : [];
    });
}

/** The import graph reachable from `roots`: file to the files it imports. */
export function importGraph(roots: readonly string[]): Map<string, string[]> {
    const graph = new Map<string, string[]>();
    const queue = [...roots];
    while (queue.length > 0) {
        const file = queue.pop() as string;
        if (graph.has(file)) {
            continue;
        }
        const deps = relativeImports(fs.readFileSync(file, "utf8"))
            .map((s) => resolve(file, s))
            .filter((f): f is string => f !== undefined);
        graph.set(file, deps);
        queue.push(...deps);
    }
    return graph;
}

/** Every cycle found by a depth-first walk, each as the files on it, first file repeated at the end. */
export function importCycles(graph: ReadonlyMap<string, readonly string[]>): string[][] {
    const cycles: string[][] = [];
    const state = new Map<string, "open" | "done">();
    const stack: string[] = [];
    const visit = (file: string): void => {
        state.set(file, "open");
        stack.push(file);
        for (const dep of graph.get(file) ?? []) {
            if (state.get(dep) === "open") {
                cycles.push([...stack.slice(stack.indexOf(dep)), dep]);
            } else if (state.get(dep) === undefined) {
                visit(dep);
            }
        }
        stack.pop();
        state.set(file, "done");
    };
    for (const file of [...graph.keys()].sort()) {
        if (state.get(file) === undefined) {
            visit(file);
        }
    }
    return cycles;
}

describe("module imports", () => {
    it("finds a cycle when there is one, type-only imports included", () => {
        assert.deepStrictEqual(relativeImports('import type { A } from "./a";\nexport * from "../b";\nimport * as x from "x";'), ["./a", "../b"]);
        const graph = new Map([
            ["a", ["b"]],
            ["b", ["c"]],
            ["c", ["a"]],
            ["d", ["a"]],
        ]);
        assert.deepStrictEqual(importCycles(graph), [["a", "b", "c", "a"]]);
    });

    it("index.ts, config.ts and components/ import each other without cycles", () => {
        const roots = [path.join(ROOT, "index.ts"), path.join(ROOT, "config.ts"), ...tsFiles(path.join(ROOT, "components"))];
        const cycles = importCycles(importGraph(roots)).map((c) => c.map((f) => path.relative(ROOT, f)).join(" -> "));
        assert.deepStrictEqual(cycles, [], `import cycles:\n${cycles.join("\n")}`);
    });
});
