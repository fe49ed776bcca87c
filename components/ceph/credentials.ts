// The registry's RGW credentials as a Pulumi dynamic resource: an RGW user (created if missing),
// a subuser `<uid>:<name>` with full access, and one generated key of the kind the storage
// driver speaks (Swift, or an S3 key pair), through the Admin Ops API.
import * as pulumi from "@pulumi/pulumi";

import { RgwAdmin, RgwUser } from "./admin-ops";

/** The key kinds: Swift (`/auth/1.0`) or S3. */
export type RgwKeyType = "swift" | "s3";

/** Inputs of an RgwCredentials resource, as the provider sees them (plain values). */
export interface RgwCredentialsInputs {
    /** Admin Ops URL as `pulumi up` reaches it. */
    readonly adminUrl: string;
    readonly adminAccessKey: string;
    readonly adminSecretKey: string;
    /** PEM CA for RGW's TLS ("" for the system roots). */
    readonly caBundle: string;
    readonly uid: string;
    readonly displayName: string;
    /** Subuser name without the `<uid>:` prefix. */
    readonly subuser: string;
    readonly keyType: RgwKeyType;
    /** Changing it generates a new key (rotation). */
    readonly generation: number;
    /** On delete, also delete the user and its data when this resource created the user. */
    readonly purgeUserOnDelete: boolean;
}

/** Outputs: the inputs plus the key. */
export interface RgwCredentialsOutputs extends RgwCredentialsInputs {
    /** `<uid>:<subuser>`: the Swift username, and the owner of the keys. */
    readonly fullSubuser: string;
    /** The S3 access key id (s3), or `<uid>:<subuser>` (swift). */
    readonly accessKey: string;
    /** The Swift key or the S3 secret key ("" after a refresh found it gone). */
    readonly secretKey: string;
    /** Whether this resource created the RGW user (only then may delete remove it). */
    readonly userCreated: boolean;
}

/** The subuser's current key of `keyType` in an Admin Ops user document, if any. */
export function findKeys(user: RgwUser | undefined, fullSubuser: string, keyType: RgwKeyType): { accessKey: string; secretKey: string }[] {
    if (user === undefined) {
        return [];
    }
    if (keyType === "swift") {
        return user.swift_keys.filter((k) => k.user === fullSubuser).map((k) => ({ accessKey: fullSubuser, secretKey: k.secret_key }));
    }
    return user.keys.filter((k) => k.user === fullSubuser).map((k) => ({ accessKey: k.access_key, secretKey: k.secret_key }));
}

/** Whether the key the stack holds is live in RGW, for this subuser. */
export function keyIsLive(user: RgwUser | undefined, state: Pick<RgwCredentialsOutputs, "fullSubuser" | "keyType" | "accessKey" | "secretKey">): boolean {
    if (state.secretKey === "") {
        return false;
    }
    const hasSubuser = user?.subusers.some((s) => s.id === state.fullSubuser) ?? false;
    return hasSubuser && findKeys(user, state.fullSubuser, state.keyType).some((k) => k.accessKey === state.accessKey && k.secretKey === state.secretKey);
}

/** Input changes that need a new resource (a different subuser); others are updates. */
const REPLACE_ON = ["uid", "subuser", "keyType"] as const;
const UPDATE_ON = ["adminUrl", "adminAccessKey", "adminSecretKey", "caBundle", "displayName", "generation", "purgeUserOnDelete"] as const;

/** Property names whose change replaces or updates, given old outputs and new inputs (pure). */
export function diffInputs(olds: RgwCredentialsInputs, news: RgwCredentialsInputs): { replaces: string[]; updates: string[] } {
    return {
        replaces: REPLACE_ON.filter((k) => olds[k] !== news[k]),
        updates: UPDATE_ON.filter((k) => olds[k] !== news[k]),
    };
}

function admin(i: RgwCredentialsInputs): RgwAdmin {
    return new RgwAdmin({ url: i.adminUrl, accessKey: i.adminAccessKey, secretKey: i.adminSecretKey, caBundle: i.caBundle });
}

/** Only the declared inputs (the engine adds `__provider`). */
function inputsOf(p: RgwCredentialsInputs): RgwCredentialsInputs {
    return {
        adminUrl: p.adminUrl,
        adminAccessKey: p.adminAccessKey,
        adminSecretKey: p.adminSecretKey,
        caBundle: p.caBundle ?? "",
        uid: p.uid,
        displayName: p.displayName,
        subuser: p.subuser,
        keyType: p.keyType,
        generation: p.generation,
        purgeUserOnDelete: p.purgeUserOnDelete,
    };
}

/**
 * Brings RGW to the wanted state and returns the outputs: the user exists, the subuser exists
 * with full access, and it has exactly one key of `keyType` that the stack knows. A new key is
 * generated on create, on a generation change, and when the key the stack holds is gone or was
 * changed outside the stack (the stack owns it: a key nobody recorded is replaced).
 */
export async function reconcile(news: RgwCredentialsInputs, olds?: RgwCredentialsOutputs): Promise<RgwCredentialsOutputs> {
    const rgw = admin(news);
    const fullSubuser = `${news.uid}:${news.subuser}`;
    let user = await rgw.getUser(news.uid);
    let userCreated = olds?.userCreated ?? false;
    if (user === undefined) {
        await rgw.createUser(news.uid, news.displayName);
        userCreated = true;
    }
    let fresh = false;
    if (!(user?.subusers.some((s) => s.id === fullSubuser) ?? false)) {
        await rgw.createSubuser(news.uid, fullSubuser, news.keyType);
        fresh = true;
        user = await rgw.getUser(news.uid);
    }
    const rotate = olds !== undefined && olds.generation !== news.generation;
    let keys = findKeys(user, fullSubuser, news.keyType);
    let mine = fresh && keys.length === 1 ? keys[0] : undefined;
    if (mine === undefined && !rotate && olds !== undefined && keyIsLive(user, { ...olds, fullSubuser })) {
        mine = { accessKey: olds.accessKey, secretKey: olds.secretKey };
    }
    if (mine === undefined) {
        const before = new Set(keys.map((k) => `${k.accessKey}\n${k.secretKey}`));
        await rgw.generateKey(news.uid, fullSubuser, news.keyType);
        user = await rgw.getUser(news.uid);
        keys = findKeys(user, fullSubuser, news.keyType);
        mine = keys.find((k) => !before.has(`${k.accessKey}\n${k.secretKey}`));
        if (mine === undefined) {
            throw new Error(`RGW did not return a new ${news.keyType} key for subuser ${fullSubuser}`);
        }
    }
    if (news.keyType === "s3") {
        // Exactly one S3 key per subuser: older ones (a rotation's predecessor, strays) go.
        for (const k of keys.filter((x) => x.accessKey !== mine?.accessKey)) {
            await rgw.deleteS3Key(news.uid, k.accessKey);
        }
    }
    return { ...news, fullSubuser, accessKey: mine.accessKey, secretKey: mine.secretKey, userCreated };
}

/**
 * The dynamic provider. create/update reconcile; diff also asks RGW whether the key the stack
 * holds still works, so a deleted or changed key is repaired by the next `pulumi up`; read
 * (refresh) reports a missing key as ""; delete removes the subuser and its keys, and the user
 * with its data only when the stack created it and opted in.
 */
export const rgwCredentialsProvider: pulumi.dynamic.ResourceProvider = {
    async check(_olds: RgwCredentialsInputs, news: RgwCredentialsInputs) {
        return { inputs: news };
    },

    async create(inputs: RgwCredentialsInputs) {
        const outs = await reconcile(inputsOf(inputs));
        return { id: outs.fullSubuser, outs };
    },

    async read(id: string, props: RgwCredentialsOutputs) {
        const user = await admin(props).getUser(props.uid);
        const live = keyIsLive(user, props);
        return { id, props: { ...props, secretKey: live ? props.secretKey : "" } };
    },

    async diff(_id: string, olds: RgwCredentialsOutputs, news: RgwCredentialsInputs) {
        const { replaces, updates } = diffInputs(inputsOf(olds), inputsOf(news));
        if (replaces.length > 0) {
            return { changes: true, replaces, deleteBeforeReplace: false };
        }
        // Drift: ask RGW (with the new admin keys) whether the recorded key still works.
        const user = await admin(inputsOf(news)).getUser(news.uid);
        if (!keyIsLive(user, olds)) {
            updates.push("secretKey");
        }
        return { changes: updates.length > 0, replaces: [] };
    },

    async update(_id: string, olds: RgwCredentialsOutputs, news: RgwCredentialsInputs) {
        return { outs: await reconcile(inputsOf(news), olds) };
    },

    async delete(_id: string, props: RgwCredentialsOutputs) {
        const rgw = admin(props);
        await rgw.deleteSubuser(props.uid, props.fullSubuser);
        if (props.userCreated && props.purgeUserOnDelete) {
            await rgw.deleteUser(props.uid, true);
        }
    },
};

/** Inputs of the RgwCredentials resource. */
export interface RgwCredentialsArgs {
    /** Admin Ops URL as `pulumi up` reaches it (no default). */
    readonly adminUrl: pulumi.Input<string>;
    /** Admin S3 access key (secret; no default). */
    readonly adminAccessKey: pulumi.Input<string>;
    /** Admin S3 secret key (secret; no default). */
    readonly adminSecretKey: pulumi.Input<string>;
    /** PEM CA for RGW's TLS. Default "" (system roots). */
    readonly caBundle?: pulumi.Input<string>;
    /** RGW user id (no default). */
    readonly uid: pulumi.Input<string>;
    /** Display name of a user created here. Default: the uid. */
    readonly displayName?: pulumi.Input<string>;
    /** Subuser name without the uid (no default). */
    readonly subuser: pulumi.Input<string>;
    /** Key kind (no default). */
    readonly keyType: RgwKeyType;
    /** Rotation counter. Default 1. */
    readonly generation?: pulumi.Input<number>;
    /** Delete the user and its data on delete, if created here. Default false. */
    readonly purgeUserOnDelete?: pulumi.Input<boolean>;
}

/** An RGW subuser with one generated key; `secretKey` (and the admin keys) are secrets. */
export class RgwCredentials extends pulumi.dynamic.Resource {
    /** `<uid>:<subuser>` (the Swift username). */
    public declare readonly fullSubuser: pulumi.Output<string>;
    /** S3 access key id, or `<uid>:<subuser>` for Swift. */
    public declare readonly accessKey: pulumi.Output<string>;
    /** The generated key (secret). */
    public declare readonly secretKey: pulumi.Output<string>;
    public declare readonly userCreated: pulumi.Output<boolean>;

    constructor(name: string, args: RgwCredentialsArgs, opts?: pulumi.CustomResourceOptions) {
        super(
            rgwCredentialsProvider,
            name,
            {
                adminUrl: args.adminUrl,
                adminAccessKey: pulumi.secret(args.adminAccessKey),
                adminSecretKey: pulumi.secret(args.adminSecretKey),
                caBundle: args.caBundle ?? "",
                uid: args.uid,
                displayName: args.displayName ?? args.uid,
                subuser: args.subuser,
                keyType: args.keyType,
                generation: args.generation ?? 1,
                purgeUserOnDelete: args.purgeUserOnDelete ?? false,
                fullSubuser: undefined,
                accessKey: undefined,
                secretKey: undefined,
                userCreated: undefined,
            },
            { ...opts, additionalSecretOutputs: ["secretKey", "adminAccessKey", "adminSecretKey"] },
            "ceph",
            "RgwCredentials",
        );
    }
}
