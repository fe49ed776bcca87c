// The storage backends the bench runs the registry on: the filesystem (the dev stack's PVC),
// and S3 (the aws stack's s3 storage) on two S3-compatible peers on 127.0.0.1: OpenStack
// Swift's s3api and Ceph RGW. Each compared registry gets its own root directory in the bucket,
// so none finds another's blobs and skips an upload.
import * as aws4 from "aws4";
import * as path from "path";

import { request } from "../tests/e2e/http";
import { cephInstalled, startCeph } from "../tests/e2e/peers/ceph";
import { startSwift } from "../tests/e2e/peers/swift";
import { S3CompatibleStore, s3CompatibleStorage, withoutAwsOnlyKeys } from "../tests/e2e/s3-compatible";
import { loadStackFile, ROOT, stackFiles, StackConfig } from "../tests/support/program";
import type { BackendName } from "./plan";
import type { Extra } from "./registries";

export { BACKENDS } from "./plan";
export type { BackendName } from "./plan";

/** A backend ready for registries: the stack config for a root directory, and teardown. */
export interface Backend {
    readonly name: BackendName;
    /** One line on what runs (for the report). */
    readonly description: string;
    /** Stack config whose storage lives under `root` (a fresh one per compared registry). */
    config(root: string, overrides?: StackConfig): StackConfig;
    /** Harness extras (mock settings, one process: the comparison is about storage, not replicas). */
    readonly extra: Extra;
    stop(): Promise<void>;
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

const S3_EXTRA: Extra = {
    replicas: 1,
    mocks: {
        secretKeys: ["s3SecretAccessKey"],
        // The stack's NLB annotations make the mocks give the Service an ELB hostname; here the
        // load balancer is the harness's 127.0.0.1.
        resourceState: (type: string) => (type === "kubernetes:core/v1:Service" ? {} : undefined),
    },
};

/** Creates a bucket with a SigV4-signed S3 PUT (aws4 signs; the request is plain Node). */
async function createBucket(endpoint: string, region: string, bucket: string, accessKeyId: string, secretAccessKey: string): Promise<void> {
    const u = new URL(endpoint);
    const signed = aws4.sign({ host: u.host, path: `/${bucket}`, method: "PUT", service: "s3", region }, { accessKeyId, secretAccessKey });
    const r = await request(`${endpoint}/${bucket}`, { method: "PUT", headers: signed.headers as Record<string, string> });
    if (r.status !== 200) {
        throw new Error(`creating bucket ${bucket} at ${endpoint}: HTTP ${r.status} ${r.body}`);
    }
}

/** Starts the peer a backend needs. `memoryBytes` bounds Ceph's in-memory OSD. */
export async function startBackend(name: BackendName, opts: { memoryBytes?: number } = {}): Promise<Backend> {
    if (name === "filesystem") {
        const dev = stackFiles().dev;
        if (dev === undefined) {
            throw new Error("Pulumi.dev.yaml is missing; the filesystem backend runs the dev stack");
        }
        const config = loadStackFile(dev);
        return {
            name,
            description: "the dev stack: a PVC (here a directory on the work disk), distribution 3.x",
            // The harness gives every registry its own claim directory.
            config: (_root, overrides = {}) => ({ ...config, ...overrides }),
            extra: { replicas: 1 },
            stop: async () => undefined,
        };
    }
    if (name === "s3-swift") {
        const swift = await startSwift({ containers: ["bench"] });
        const base = awsStackOn({ endpoint: swift.s3Endpoint, region: swift.region, bucket: "bench", accessKey: swift.accessKey, secretKey: swift.secretKey });
        return {
            name,
            description: "the aws stack's S3 storage on OpenStack Swift's s3api (Debian's swift, one process per server), distribution 3.x",
            config: (root, overrides = {}) => ({ ...base, s3RootDirectory: root, ...overrides }),
            extra: S3_EXTRA,
            stop: () => swift.stop(),
        };
    }
    if (!cephInstalled()) {
        throw new Error("Ceph is not installed (tests/e2e/debs/ceph.txt)");
    }
    const ceph = await startCeph({ memstoreBytes: opts.memoryBytes });
    const region = "us-east-1";
    try {
        await createBucket(ceph.rgwUrl, region, "bench", ceph.adminAccessKey, ceph.adminSecretKey);
    } catch (e) {
        await ceph.stop();
        throw e;
    }
    // RGW refuses server-side encryption over plain HTTP and has no SSE-S3 keys here (no Vault):
    // with the stack's `s3Encrypt: true` it answers 400 InvalidRequest to every upload.
    const base = { ...awsStackOn({ endpoint: ceph.rgwUrl, region, bucket: "bench", accessKey: ceph.adminAccessKey, secretKey: ceph.adminSecretKey }), s3Encrypt: false };
    return {
        name,
        description: "the aws stack's S3 storage on Ceph RGW (one mon, one memstore OSD: RAM, not disk; `s3Encrypt` off, RGW has no SSE-S3 keys here), distribution 3.x",
        config: (root, overrides = {}) => ({ ...base, s3RootDirectory: root, ...overrides }),
        extra: S3_EXTRA,
        stop: () => ceph.stop(),
    };
}
