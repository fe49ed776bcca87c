// The registry's Swift container / S3 bucket as a Pulumi dynamic resource, created with the
// registry's own RGW credentials (so the registry's user owns it and no other user can read it),
// deleted with everything in it through Admin Ops. The stack keeps it on `pulumi destroy`
// (`retainOnDelete`) unless it opts in to deleting images.
import * as pulumi from "@pulumi/pulumi";

import { describeRgwError, errorCode, RgwAdmin, rgwError, send, swiftAuth, urlPort } from "./admin-ops";
import type { RgwKeyType } from "./credentials";

/** Inputs of an RgwBucket resource, as the provider sees them. */
export interface RgwBucketInputs {
    /** RGW URL as `pulumi up` reaches it. */
    readonly adminUrl: string;
    readonly adminAccessKey: string;
    readonly adminSecretKey: string;
    readonly caBundle: string;
    /** The API the registry uses, and the credentials it creates the bucket with. */
    readonly api: RgwKeyType;
    readonly accessKey: string;
    readonly secretKey: string;
    readonly bucket: string;
}

/** Creates the bucket as the registry's user; an existing bucket of that user is kept as is. */
export async function createBucket(i: RgwBucketInputs): Promise<void> {
    const what = `create ${i.api === "swift" ? "Swift container" : "S3 bucket"} ${i.bucket}`;
    if (i.api === "s3") {
        // RGW answers 200 when the caller already owns the bucket, 409 when another user does.
        await new RgwAdmin({ url: i.adminUrl, accessKey: i.accessKey, secretKey: i.secretKey, caBundle: i.caBundle }).call(
            what,
            "PUT",
            `/${encodeURIComponent(i.bucket)}`,
            [],
        );
        return;
    }
    const auth = await swiftAuth(i.adminUrl, i.accessKey, i.secretKey, i.caBundle);
    if (!auth.ok) {
        throw rgwError(`${what}: Swift auth as ${i.accessKey} at ${i.adminUrl}/auth/1.0 answered ${auth.status}`, auth.status, "");
    }
    // The storage URL RGW hands out may name another host; keep its path on the URL we reach.
    const base = new URL(i.adminUrl);
    const target = new URL(`${new URL(auth.storageUrl).pathname.replace(/\/$/, "")}/${encodeURIComponent(i.bucket)}`, base);
    const res = await send(
        {
            protocol: base.protocol === "https:" ? "https:" : "http:",
            hostname: base.hostname,
            port: urlPort(base),
            method: "PUT",
            path: target.pathname,
            headers: { "X-Auth-Token": auth.token, "Content-Length": "0" },
        },
        { caBundle: i.caBundle },
    );
    if (res.status < 200 || res.status >= 300) {
        const code = errorCode(res.body);
        throw rgwError(describeRgwError(what, res.status, code, i.adminUrl), res.status, code);
    }
}

/** create makes the bucket; a changed name replaces it; delete purges it (unless the stack retains it). */
export const rgwBucketProvider: pulumi.dynamic.ResourceProvider = {
    async create(inputs: RgwBucketInputs) {
        await createBucket(inputs);
        return { id: inputs.bucket, outs: inputs };
    },

    async diff(_id: string, olds: RgwBucketInputs, news: RgwBucketInputs) {
        // Only a new name is a new bucket. Switching the API on the same name must not
        // "replace" it: the replacement's delete would purge the very bucket just adopted.
        const replaces = (["bucket"] as const).filter((k) => olds[k] !== news[k]);
        const updates = (["api", "adminUrl", "adminAccessKey", "adminSecretKey", "caBundle", "accessKey", "secretKey"] as const).filter(
            (k) => olds[k] !== news[k],
        );
        return { changes: replaces.length + updates.length > 0, replaces, deleteBeforeReplace: false };
    },

    async update(_id: string, _olds: RgwBucketInputs, news: RgwBucketInputs) {
        // New credentials (a key rotation): make sure the bucket is still there and theirs.
        await createBucket(news);
        return { outs: news };
    },

    async delete(_id: string, props: RgwBucketInputs) {
        await new RgwAdmin({ url: props.adminUrl, accessKey: props.adminAccessKey, secretKey: props.adminSecretKey, caBundle: props.caBundle }).purgeBucket(
            props.bucket,
        );
    },
};

/** Inputs of the RgwBucket resource. */
export interface RgwBucketArgs {
    /** RGW URL as `pulumi up` reaches it (no default). */
    readonly adminUrl: pulumi.Input<string>;
    /** Admin S3 keys, for deletion (secrets; no default). */
    readonly adminAccessKey: pulumi.Input<string>;
    readonly adminSecretKey: pulumi.Input<string>;
    /** PEM CA for RGW's TLS. Default "". */
    readonly caBundle?: pulumi.Input<string>;
    /** Swift or S3 (no default). */
    readonly api: RgwKeyType;
    /** The registry's credentials: S3 access key or `<uid>:<subuser>`, and the key (no default). */
    readonly accessKey: pulumi.Input<string>;
    readonly secretKey: pulumi.Input<string>;
    /** Bucket / container name (no default). */
    readonly bucket: pulumi.Input<string>;
}

/** A Swift container or S3 bucket owned by the registry's RGW user. */
export class RgwBucket extends pulumi.dynamic.Resource {
    declare public readonly bucket: pulumi.Output<string>;

    constructor(name: string, args: RgwBucketArgs, opts?: pulumi.CustomResourceOptions) {
        super(
            rgwBucketProvider,
            name,
            {
                adminUrl: args.adminUrl,
                adminAccessKey: pulumi.secret(args.adminAccessKey),
                adminSecretKey: pulumi.secret(args.adminSecretKey),
                caBundle: args.caBundle ?? "",
                api: args.api,
                accessKey: args.accessKey,
                secretKey: pulumi.secret(args.secretKey),
                bucket: args.bucket,
            },
            { ...opts, additionalSecretOutputs: ["adminAccessKey", "adminSecretKey", "secretKey"] },
            "ceph",
            "RgwBucket",
        );
    }
}
