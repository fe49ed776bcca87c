// The storage backends the bench runs the registry on: the filesystem (the dev stack's PVC);
// S3 (the aws stack's s3 storage) on two S3-compatible peers on 127.0.0.1, OpenStack Swift's
// s3api and Ceph RGW; and Swift's own API (the ceph stack's cephSwift storage, distribution 2.8)
// on the same Ceph RGW, with the registry's RGW user, subuser, key and container provisioned by
// the program's dynamic resources as in `pulumi up`. Each compared registry gets storage of its
// own (a root directory in the bucket, or a stack with its own RGW user and container), so none
// finds another's blobs and skips an upload. Peers start once per run and are shared.
import * as aws4 from "aws4";
import * as path from "path";

import { cephConfig, mocksFor, provision } from "../tests/harness/ceph-stack";
import { request } from "../tests/harness/http";
import { cephInstalled, CephPeer, startCeph } from "../tests/harness/peers/ceph";
import { startSwift, SwiftPeer } from "../tests/harness/peers/swift";
import { S3CompatibleStore, s3CompatibleStorage, withoutAwsOnlyKeys } from "../tests/harness/s3-compatible";
import type { RegistryPod } from "../tests/support/pod";
import { loadStackFile, ROOT, stackFiles, StackConfig } from "../tests/support/program";
import type { BackendName } from "./plan";
import type { Extra } from "./registries";

/** config.yml as the pod mounts it, parsed. */
type RegistryConfig = RegistryPod["config"];
/** The part of the registry's `storage` section a chunk-size check reads. */
interface ChunkedStorage {
    readonly s3?: { readonly chunksize?: unknown };
    readonly swift?: { readonly chunksize?: unknown };
}
const storageOf = (c: RegistryConfig): ChunkedStorage | undefined => c.storage as ChunkedStorage | undefined;

export { BACKENDS } from "./plan";
export type { BackendName } from "./plan";

/** What a registry on a backend is started with. */
export interface Prepared {
    readonly config: StackConfig;
    /** Harness extras (mock settings, one process: the comparison is about storage, not replicas). */
    readonly extra: Extra;
}

/** A backend ready for registries. */
export interface Backend {
    readonly name: BackendName;
    /** One line on what runs (for the report). */
    readonly description: string;
    /** A registry's stack on storage of its own, named by `root` (a fresh one per compared registry). */
    prepare(root: string, overrides?: StackConfig): Promise<Prepared>;
    /** The stack key of the storage driver's chunk size and where config.yml has it; none for the filesystem. */
    readonly chunk?: { readonly key: string; declared(config: RegistryConfig): unknown };
}

/** A stack file's keys of this project, without the prefix (provider keys dropped). */
export function projectKeys(file: string): StackConfig {
    const out: StackConfig = {};
    for (const [k, v] of Object.entries(loadStackFile(file))) {
        if (!k.includes(":")) {
            out[k] = v;
        } else if (k.startsWith("registry:")) {
            out[k.slice("registry:".length)] = v;
        }
    }
    return out;
}

/**
 * The aws stack with its storage pointed at an S3-compatible endpoint through the program's own
 * keys: an existing bucket, plain HTTP, path style, an access key as a config secret. What such
 * a store cannot have goes (the IRSA provider, settings of a bucket the program would create,
 * the Route53 record); the rest (chunk size, encrypt, redirect, users) is the stack's.
 */
export function awsStackOn(s3: S3CompatibleStore): StackConfig {
    return { ...withoutAwsOnlyKeys(projectKeys(path.join(ROOT, "Pulumi.aws.yaml"))), ...s3CompatibleStorage(s3) };
}

/**
 * The ceph stack on a Ceph peer: its RGW reached at the peer's URL by `cephRgwUrl` instead of
 * the stack's gateway Service (whose addresses are the example's, not this machine's), and the
 * registry reached at its load balancer's address (no DNS name here resolves to 127.0.0.1).
 */
export function cephStackOn(ceph: CephPeer): StackConfig {
    const keys = projectKeys(path.join(ROOT, "Pulumi.ceph.yaml"));
    for (const k of ["cephGatewayAddresses", "cephGatewayPort", "cephGatewayTls", "cephAdminUrl", "hostnames"]) {
        delete keys[k];
    }
    // The loader gives the stack's admin keys placeholders (they are set with `pulumi config set --secret`).
    return { ...keys, ...cephConfig(ceph, {}) };
}

/** The stack name a root stands for: `/dp-deployed` -> `bench-dp-deployed` (RGW user `registry-bench-dp-deployed`). */
export function stackForRoot(root: string): string {
    const slug = root
        .toLowerCase()
        .replace(/[^a-z0-9]+/g, "-")
        .replace(/^-|-$/g, "");
    if (slug === "") {
        throw new Error(`root ${JSON.stringify(root)} names no stack`);
    }
    return `bench-${slug}`;
}

const S3_EXTRA: Extra = {
    replicas: 1,
    mocks: {
        secretKeys: ["s3SecretAccessKey"],
        // The stack's NLB annotations make the mocks give the Service an ELB hostname; here the
        // load balancer is the harness's 127.0.0.1.
        resourceState: (type: string) => (type === "kubernetes:core/v1:Service" ? {} : undefined),
    },
};

/** An S3 backend: `base` with each registry under its own root directory in the bucket. */
function s3Backend(name: BackendName, description: string, base: StackConfig): Backend {
    return {
        name,
        description,
        prepare: async (root, overrides = {}) => ({ config: { ...base, s3RootDirectory: root, ...overrides }, extra: S3_EXTRA }),
        chunk: { key: "s3ChunkSize", declared: (c: RegistryConfig) => storageOf(c)?.s3?.chunksize },
    };
}

/** Creates a bucket with a SigV4-signed S3 PUT (aws4 signs; the request is plain Node). */
async function createBucket(endpoint: string, region: string, bucket: string, accessKeyId: string, secretAccessKey: string): Promise<void> {
    const u = new URL(endpoint);
    const signed = aws4.sign({ host: u.host, path: `/${bucket}`, method: "PUT", service: "s3", region }, { accessKeyId, secretAccessKey });
    const r = await request(`${endpoint}/${bucket}`, { method: "PUT", headers: signed.headers as Record<string, string> });
    if (r.status !== 200) {
        throw new Error(`creating bucket ${bucket} at ${endpoint}: HTTP ${r.status} ${r.body}`);
    }
}

/**
 * The backends of one run: each started on first use, its peer shared (s3-ceph and swift-ceph
 * use one Ceph), everything stopped by `stop()`. `cephMemoryBytes` bounds Ceph's in-memory OSD:
 * room for everything the run pushes to it.
 */
export class BackendPool {
    private readonly started = new Map<BackendName, Promise<Backend>>();
    private swift?: Promise<SwiftPeer>;
    private ceph?: Promise<CephPeer>;

    constructor(private readonly cephMemoryBytes?: number) {}

    get(name: BackendName): Promise<Backend> {
        let b = this.started.get(name);
        if (b === undefined) {
            b = this.start(name);
            this.started.set(name, b);
            // A backend that failed to start is retried on the next get.
            b.catch(() => this.started.delete(name));
        }
        return b;
    }

    async stop(): Promise<void> {
        const peers = [this.swift, this.ceph];
        this.swift = this.ceph = undefined;
        this.started.clear();
        await Promise.all(peers.map(async (p) => (await p?.catch(() => undefined))?.stop()));
    }

    private swiftPeer(): Promise<SwiftPeer> {
        this.swift ??= startSwift({ containers: ["bench"] });
        return this.swift;
    }

    private cephPeer(): Promise<CephPeer> {
        if (!cephInstalled()) {
            return Promise.reject(new Error("Ceph is not installed (tests/harness/debs/ceph.txt)"));
        }
        if (this.ceph === undefined) {
            this.ceph = startCeph({ memstoreBytes: this.cephMemoryBytes });
            this.ceph.catch(() => (this.ceph = undefined));
        }
        return this.ceph;
    }

    private async start(name: BackendName): Promise<Backend> {
        switch (name) {
            case "filesystem": {
                const dev = stackFiles().dev;
                if (dev === undefined) {
                    throw new Error("Pulumi.dev.yaml is missing; the filesystem backend runs the dev stack");
                }
                const config = loadStackFile(dev);
                return {
                    name,
                    description: "the dev stack: a PVC (here a directory on the work disk), distribution 3.x",
                    // The harness gives every registry its own claim directory.
                    prepare: async (_root, overrides = {}) => ({ config: { ...config, ...overrides }, extra: { replicas: 1 } }),
                };
            }
            case "s3-swift": {
                const swift = await this.swiftPeer();
                return s3Backend(
                    name,
                    "the aws stack's S3 storage on OpenStack Swift's s3api (Debian's swift, one process per server), distribution 3.x",
                    awsStackOn({ endpoint: swift.s3Endpoint, region: swift.region, bucket: "bench", accessKey: swift.accessKey, secretKey: swift.secretKey }),
                );
            }
            case "s3-ceph": {
                const ceph = await this.cephPeer();
                const region = "us-east-1";
                await createBucket(ceph.rgwUrl, region, "bench", ceph.adminAccessKey, ceph.adminSecretKey);
                // RGW refuses server-side encryption over plain HTTP and has no SSE-S3 keys here (no
                // Vault): with the stack's `s3Encrypt: true` it answers 400 InvalidRequest to every upload.
                return s3Backend(
                    name,
                    "the aws stack's S3 storage on Ceph RGW (one mon, one memstore OSD: RAM, not disk; `s3Encrypt` off, RGW has no SSE-S3 keys here), distribution 3.x",
                    {
                        ...awsStackOn({ endpoint: ceph.rgwUrl, region, bucket: "bench", accessKey: ceph.adminAccessKey, secretKey: ceph.adminSecretKey }),
                        s3Encrypt: false,
                    },
                );
            }
            case "swift-ceph": {
                const ceph = await this.cephPeer();
                const base = cephStackOn(ceph);
                return {
                    name,
                    description:
                        "the ceph stack's cephSwift storage: Swift's API (auth v1) on the same Ceph RGW, the registry's RGW user, subuser, Swift key and container provisioned through Admin Ops by the program's dynamic resources; distribution 2.8 (Debian's)",
                    prepare: async (root, overrides = {}) => {
                        const stack = stackForRoot(root);
                        const p = await provision({ ...base, ...overrides }, stack);
                        return { config: p.config, extra: { replicas: 1, mocks: mocksFor(p.state, p.stack) } };
                    },
                    chunk: { key: "cephChunkSize", declared: (c: RegistryConfig) => storageOf(c)?.swift?.chunksize },
                };
            }
        }
    }
}
