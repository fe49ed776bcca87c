// The registry's RGW credentials as a Pulumi dynamic resource: an RGW user (created if missing),
// a subuser `<uid>:<name>` with full access, and one generated key of the kind the storage
// driver speaks (Swift, or an S3 key pair), through the Admin Ops API.
//
// A new uid, subuser, key type or key generation is a new resource, which the engine replaces
// create-before-delete: the new key exists, the Secret holding it is replaced and the registry
// pods roll onto it, and only then, at the end of `pulumi up`, is the old resource deleted. So
// the old resource's delete may find its subuser or user shared with its replacement, and it
// removes only what it alone owns.
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
    /** Changing it makes a new resource with a new key (rotation); see generationSubuser. */
    readonly generation: number;
    /** On delete, also delete the user and its data when this resource created the user. */
    readonly purgeUserOnDelete: boolean;
    /**
     * Seconds the delete waits before it removes the key: the registry pods' termination grace
     * period. A rollout is complete (and the engine moves on to delete the replaced resource) as
     * soon as the old pods are marked for deletion, but they keep serving the requests routed to
     * them until their grace period ends, with the old key.
     */
    readonly retireAfterSeconds: number;
}

/** Outputs: the inputs plus the key. */
export interface RgwCredentialsOutputs extends RgwCredentialsInputs {
    /** `<uid>:<subuser>`: the Swift username, and the owner of the keys. */
    readonly fullSubuser: string;
    /** The S3 access key id (s3), or `<uid>:<subuser>` (swift). */
    readonly accessKey: string;
    /** The Swift key or the S3 secret key ("" after a refresh found it gone). */
    readonly secretKey: string;
    /** Whether the stack created the RGW user (only then may delete remove it): see reconcile. */
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

/**
 * The subuser that holds a key generation's key: `<subuser>` for generation 1, then
 * `<subuser>-g<generation>`. RGW keeps one Swift key per subuser and a new one replaces it at
 * once, which would cut off the pods still running on the old key; with a subuser per
 * generation the old key lives until the old generation's resource is deleted, after the pods
 * moved. S3 keys follow the same rule, so both kinds rotate alike.
 */
export function generationSubuser(subuser: string, generation: number): string {
    return generation === 1 ? subuser : `${subuser}-g${generation}`;
}

/**
 * Input changes that need a new resource: another subuser, another kind of key, or a new key
 * generation (rotation), each replaced create-before-delete. Others are updates.
 */
const REPLACE_ON = ["uid", "subuser", "keyType", "generation"] as const;
const UPDATE_ON = ["adminUrl", "adminAccessKey", "adminSecretKey", "caBundle", "displayName", "purgeUserOnDelete", "retireAfterSeconds"] as const;

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
        // State written before the key existed: no wait.
        retireAfterSeconds: p.retireAfterSeconds ?? 0,
    };
}

/**
 * Brings RGW to the wanted state and returns the outputs: the user exists, the subuser exists
 * with full access, and it has exactly one key of `keyType` that the stack knows. A new key is
 * generated on create and when the key the stack holds is gone or was changed outside the stack
 * (the stack owns it: a key nobody recorded is replaced). Keys of the other kind on the same
 * subuser are left alone: they belong to a resource being replaced by this one.
 */
export async function reconcile(news: RgwCredentialsInputs, olds?: RgwCredentialsOutputs): Promise<RgwCredentialsOutputs> {
    const rgw = admin(news);
    const fullSubuser = `${news.uid}:${news.subuser}`;
    let user = await rgw.getUser(news.uid);
    // A user with the display name this stack gives is the stack's own: made by this resource, or
    // by the one it replaces (create-before-delete runs this before the old one's delete), or
    // kept by an earlier `destroy`.
    let userCreated = olds?.userCreated ?? user?.display_name === news.displayName;
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
    let keys = findKeys(user, fullSubuser, news.keyType);
    let mine = fresh && keys.length === 1 ? keys[0] : undefined;
    if (mine === undefined && olds !== undefined && keyIsLive(user, { ...olds, fullSubuser })) {
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
        // Exactly one S3 key per subuser: strays made outside the stack go. A rotation's
        // predecessor is on another subuser (generationSubuser), so it is not among them.
        for (const k of keys.filter((x) => x.accessKey !== mine?.accessKey)) {
            await rgw.deleteS3Key(news.uid, k.accessKey);
        }
    }
    return { ...news, fullSubuser, accessKey: mine.accessKey, secretKey: mine.secretKey, userCreated };
}

/** What deleting a credentials resource removes from RGW. */
export interface DeletionPlan {
    /** Its own key: the S3 pair it recorded, or the subuser's Swift key if it is still the recorded one. */
    readonly key: boolean;
    /** The subuser, once no key is left on it (none of a replacement's, none made by hand). */
    readonly subuser: boolean;
    /**
     * The user, when this resource created it, the stack opted in (`purgeUserOnDelete`), and no
     * other subuser or key is left on it. Never with its data: a bucket still owned by the user
     * (the stack's is purged before, when opted in) makes RGW refuse, and the user stays.
     */
    readonly user: boolean;
}

/**
 * What deleting `props` may remove, given the user as RGW has it now (pure). Under
 * create-before-delete replacement the old resource is deleted after its replacement was created,
 * possibly on the same subuser (another key type) or the same user (another subuser or key
 * generation): whatever the replacement holds stays.
 */
export function deletionPlan(user: RgwUser | undefined, props: RgwCredentialsOutputs): DeletionPlan {
    if (user === undefined) {
        return { key: false, subuser: false, user: false };
    }
    const own = (k: { accessKey: string; secretKey: string }) =>
        props.keyType === "s3" ? k.accessKey === props.accessKey : k.secretKey === props.secretKey && props.secretKey !== "";
    const key = findKeys(user, props.fullSubuser, props.keyType).some(own);
    const subuserKeys = [...findKeys(user, props.fullSubuser, "s3"), ...findKeys(user, props.fullSubuser, "swift")].filter((k) => !(key && own(k)));
    // A key pair of the user's own (no subuser) authenticates as the user: someone uses the user.
    const otherKeys = [...user.keys.filter((k) => k.user !== props.fullSubuser), ...user.swift_keys.filter((k) => k.user !== props.fullSubuser)];
    const subuser = user.subusers.some((s) => s.id === props.fullSubuser) && subuserKeys.length === 0;
    const otherSubusers = user.subusers.filter((s) => s.id !== props.fullSubuser || !subuser);
    return { key, subuser, user: props.userCreated && props.purgeUserOnDelete && otherSubusers.length === 0 && otherKeys.length === 0 };
}

/**
 * The dynamic provider. create/update reconcile; diff also asks RGW whether the key the stack
 * holds still works, so a deleted or changed key is repaired by the next `pulumi up`; read
 * (refresh) reports a missing key as ""; delete removes what `deletionPlan` says: its own key,
 * the subuser once it holds no key, and a user the stack created only when the stack opted in
 * and nothing else is left on it.
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
        let plan = deletionPlan(await rgw.getUser(props.uid), props);
        const wait = props.retireAfterSeconds ?? 0;
        if ((plan.key || plan.subuser || plan.user) && wait > 0) {
            // Pods that are terminating may still use the key: wait out their grace period, then
            // plan again from what RGW has then.
            await new Promise((resolve) => setTimeout(resolve, wait * 1000));
            plan = deletionPlan(await rgw.getUser(props.uid), props);
        }
        if (plan.key) {
            if (props.keyType === "s3") {
                await rgw.deleteS3Key(props.uid, props.accessKey);
            } else {
                await rgw.deleteSwiftKey(props.uid, props.fullSubuser);
            }
        }
        if (plan.subuser) {
            await rgw.deleteSubuser(props.uid, props.fullSubuser);
        }
        if (plan.user) {
            await rgw.deleteUser(props.uid, false);
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
    /** Subuser name without the uid, that of the key generation (generationSubuser; no default). */
    readonly subuser: pulumi.Input<string>;
    /** Key kind (no default). */
    readonly keyType: RgwKeyType;
    /** Rotation counter; a new value replaces the resource. Default 1. */
    readonly generation?: pulumi.Input<number>;
    /** Delete the user and its data on delete, if created here. Default false. */
    readonly purgeUserOnDelete?: pulumi.Input<boolean>;
    /** Seconds the delete waits before removing the key: the consumers' termination grace period. Default 0. */
    readonly retireAfterSeconds?: pulumi.Input<number>;
}

/** An RGW subuser with one generated key; `secretKey` (and the admin keys) are secrets. */
export class RgwCredentials extends pulumi.dynamic.Resource {
    /** `<uid>:<subuser>` (the Swift username). */
    declare public readonly fullSubuser: pulumi.Output<string>;
    /** S3 access key id, or `<uid>:<subuser>` for Swift. */
    declare public readonly accessKey: pulumi.Output<string>;
    /** The generated key (secret). */
    declare public readonly secretKey: pulumi.Output<string>;
    declare public readonly userCreated: pulumi.Output<boolean>;

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
                retireAfterSeconds: args.retireAfterSeconds ?? 0,
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
