// Runs a dynamic resource's provider the way the Pulumi engine does: from the serialised
// `__provider` text the program registered (require-from-string, `.handler()`), with the
// resource's recorded inputs. So tests exercise the exact code `pulumi up` would ship to the
// dynamic provider host, closure serialisation included.
import * as path from "path";
import type * as pulumi from "@pulumi/pulumi";

import type { RecordedResource } from "./mocks";
import { ROOT } from "./program";

// eslint-disable-next-line @typescript-eslint/no-require-imports
const requireFromString = require("require-from-string") as (code: string, filename?: string) => { handler(): pulumi.dynamic.ResourceProvider };

const cache = new Map<string, pulumi.dynamic.ResourceProvider>();

/** The provider serialised into a recorded dynamic resource's `__provider` input. */
export function providerOf(resource: RecordedResource): pulumi.dynamic.ResourceProvider {
    const text = resource.inputs.__provider;
    if (typeof text !== "string" || text === "") {
        throw new Error(`${resource.type} ${resource.name} has no serialised __provider`);
    }
    let p = cache.get(text);
    if (p === undefined) {
        p = requireFromString(text, path.join(ROOT, "__dynamic_provider.js")).handler();
        cache.set(text, p);
    }
    return p;
}

/** The resource's inputs as the engine hands them to the provider (secrets unwrapped). */
export function inputsOf(resource: RecordedResource): Record<string, any> {
    return { ...resource.inputs };
}

/** check + create, as for a new resource; resolves with the id and outputs. */
export async function engineCreate(resource: RecordedResource): Promise<{ id: string; outs: Record<string, any> }> {
    const provider = providerOf(resource);
    const news = provider.check === undefined ? inputsOf(resource) : ((await provider.check({}, inputsOf(resource))).inputs ?? inputsOf(resource));
    const r = await provider.create(news);
    return { id: r.id, outs: { ...r.outs } };
}

/** What `engineUp` did to one resource. */
export interface EngineStep {
    readonly diff: pulumi.dynamic.DiffResult;
    /** The resource's id and outputs now (the replacement's after a replace). */
    readonly id: string;
    readonly outs: Record<string, any>;
    /** After a create-before-delete replacement: the old resource, which the engine deletes at the end of the update. */
    readonly replaced?: { readonly id: string; readonly outs: Record<string, any> };
}

/**
 * check + diff, then create (a replacement) or update, as `pulumi up` does for an existing
 * resource. A replacement's old resource is not deleted here: the engine deletes it only after
 * every other step, so the caller deletes `replaced` (engineDelete) at its own end of the update.
 */
export async function engineUp(resource: RecordedResource, id: string, olds: Record<string, any>): Promise<EngineStep> {
    const provider = providerOf(resource);
    const news = provider.check === undefined ? inputsOf(resource) : ((await provider.check(olds, inputsOf(resource))).inputs ?? inputsOf(resource));
    const diff = provider.diff === undefined ? { changes: true } : await provider.diff(id, olds, news);
    if (diff.changes !== true) {
        return { diff, id, outs: olds };
    }
    if ((diff.replaces ?? []).length > 0) {
        if (diff.deleteBeforeReplace === true) {
            throw new Error(`${resource.name}: delete-before-replace is not simulated`);
        }
        const created = await provider.create(news);
        return { diff, id: created.id, outs: { ...created.outs }, replaced: { id, outs: olds } };
    }
    if (provider.update === undefined) {
        throw new Error(`${resource.name}: no update`);
    }
    const r = await provider.update(id, olds, news);
    return { diff, id, outs: { ...r.outs } };
}

/** read, as `pulumi refresh`. */
export async function engineRead(resource: RecordedResource, id: string, olds: Record<string, any>): Promise<Record<string, any>> {
    const provider = providerOf(resource);
    if (provider.read === undefined) {
        return olds;
    }
    return { ...((await provider.read(id, olds)).props ?? olds) };
}

/** delete, as `pulumi destroy`. */
export async function engineDelete(resource: RecordedResource, id: string, olds: Record<string, any>): Promise<void> {
    await providerOf(resource).delete?.(id, olds);
}
