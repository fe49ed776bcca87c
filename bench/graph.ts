// The dependency graph of a program run: which resources must wait for which during
// `pulumi up`, and its longest chain. Pure: works on the recorded register requests.

/** What the graph needs of one registered resource. */
export interface GraphNode {
    readonly urn: string;
    readonly type: string;
    readonly name: string;
    /** Custom resources take time to create; components only group (weight 0). */
    readonly custom: boolean;
    /** Parent URN ("" for none). */
    readonly parent: string;
    /** URNs of the request's `dependencies` (dependsOn and every input's resources). */
    readonly dependencies: readonly string[];
    /** URNs per input property. */
    readonly propertyDependencies: Readonly<Record<string, readonly string[]>>;
}

export interface LongestChain {
    /** Custom resources on the longest chain: how many must be created one after another. */
    readonly depth: number;
    /** The chain from the first resource created to the last, components included. */
    readonly chain: readonly GraphNode[];
    readonly customResources: number;
    readonly components: number;
    /** Edges to URNs that were never registered (ignored; e.g. default providers). */
    readonly unknownTargets: readonly string[];
}

/** Every URN `node` waits for: its dependencies, property dependencies and parent, deduplicated. */
export function waitsFor(node: GraphNode): string[] {
    const all = [...node.dependencies, ...Object.values(node.propertyDependencies).flat(), ...(node.parent === "" ? [] : [node.parent])];
    return [...new Set(all)].filter((u) => u !== node.urn);
}

/**
 * The longest chain of resources that must wait for each other, weighting custom resources 1
 * and components 0 (a component registers at once; its children and dependents wait only for
 * what it waited for). Ties go to the chain found first in registration order, so the result
 * is deterministic. Throws on a cycle, which the engine would refuse too.
 */
export function longestChain(nodes: readonly GraphNode[]): LongestChain {
    const byUrn = new Map<string, GraphNode>();
    for (const n of nodes) {
        if (byUrn.has(n.urn)) {
            throw new Error(`duplicate URN ${n.urn}`);
        }
        byUrn.set(n.urn, n);
    }
    const unknown = new Set<string>();
    const best = new Map<string, { depth: number; prev?: string }>();
    const visiting = new Set<string>();
    const visit = (urn: string): number => {
        const done = best.get(urn);
        if (done !== undefined) {
            return done.depth;
        }
        if (visiting.has(urn)) {
            throw new Error(`dependency cycle through ${urn}`);
        }
        visiting.add(urn);
        const node = byUrn.get(urn) as GraphNode;
        let depth = 0;
        let prev: string | undefined;
        for (const dep of waitsFor(node)) {
            if (!byUrn.has(dep)) {
                unknown.add(dep);
                continue;
            }
            const d = visit(dep);
            if (prev === undefined || d > depth) {
                depth = d;
                prev = dep;
            }
        }
        visiting.delete(urn);
        const own = depth + (node.custom ? 1 : 0);
        best.set(urn, { depth: own, prev });
        return own;
    };
    let end: string | undefined;
    let max = -1;
    for (const n of nodes) {
        const d = visit(n.urn);
        if (d > max) {
            max = d;
            end = n.urn;
        }
    }
    const chain: GraphNode[] = [];
    for (let u = end; u !== undefined; u = best.get(u)?.prev) {
        chain.unshift(byUrn.get(u) as GraphNode);
    }
    return {
        depth: Math.max(0, max),
        chain,
        customResources: nodes.filter((n) => n.custom).length,
        components: nodes.filter((n) => !n.custom).length,
        unknownTargets: [...unknown].sort(),
    };
}

/** "type name" of each chain element, components marked, for the report. */
export function describeChain(chain: readonly GraphNode[]): string[] {
    return chain.map((n) => `${n.type.split(":").pop()} \`${n.name}\`${n.custom ? "" : " (component)"}`);
}
