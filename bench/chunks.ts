// The storage driver's chunk size (S3 multipart part size, Swift segment size): push and pull
// time of one big layer at each size, on the same backend in the same run. The stack's own key
// sets it (`s3ChunkSize`, `cephChunkSize`).
import { MiB, OciImage } from "../tests/harness/oci";
import { Backend } from "./backends";
import { roundTrip } from "./datapath";
import { startDeployed } from "./registries";

export interface ChunkResult {
    readonly backend: string;
    readonly chunkMiB: number;
    readonly layerBytes: number;
    readonly pushMs: number;
    readonly pullMs: number;
    readonly errors: string[];
}

/** For each chunk size: a fresh deployed registry (own root directory), push and pull of `image`. */
export async function measureChunks(
    backend: Backend,
    image: OciImage,
    chunkMiB: readonly number[],
    clientDir: string,
    log: (s: string) => void,
): Promise<ChunkResult[]> {
    const chunk = backend.chunk;
    if (chunk === undefined) {
        throw new Error(`the ${backend.name} backend's storage driver has no chunk size`);
    }
    const out: ChunkResult[] = [];
    for (const c of chunkMiB) {
        const prepared = await backend.prepare(`/chunk-${c}`, { [chunk.key]: c * MiB });
        const reg = await startDeployed(prepared.config, prepared.extra);
        try {
            const declared = Number(chunk.declared(reg.deployment.pod.config));
            if (declared !== c * MiB) {
                throw new Error(`${chunk.key} ${c * MiB} did not reach config.yml (chunksize ${declared})`);
            }
            const r = await roundTrip(reg, image, `bench/chunk-${c}`, clientDir);
            out.push({ backend: backend.name, chunkMiB: c, layerBytes: image.layers.reduce((a, l) => a + l.size, 0), ...r });
            log(
                `  ${backend.name} chunk ${c} MiB: push ${r.pushMs.toFixed(0)} ms, pull ${r.pullMs.toFixed(0)} ms${r.errors.length > 0 ? ` ERRORS ${r.errors.join("; ")}` : ""}`,
            );
        } finally {
            await reg.deployment.remove();
        }
    }
    return out;
}
