import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";

import { buildHtpasswd, htpasswdHash } from "./htpasswd";

/** What a user may do: `push` (push, pull, delete where enabled) or `pull` (read only). */
export type UserRole = "push" | "pull";

export interface RegistryAuthArgs {
    /** Push users, at least one; the first is the primary user (no default). */
    readonly users: readonly string[];
    /** Pull-only users, none of them among `users`. Default none. */
    readonly pullUsers?: readonly string[];
    /** Length of each generated password. Default 32. */
    readonly passwordLength?: number;
    /** Rotation token per user: a new token replaces that user's password. Default none. */
    readonly rotation?: Readonly<Record<string, string>>;
    /** bcrypt cost of the htpasswd hashes (config.ts refuses one too low for the password length). Default 10. */
    readonly bcryptCost?: number;
}

/** One htpasswd user, its role and its generated credentials. */
export interface RegistryUser {
    readonly name: string;
    readonly role: UserRole;
    /** The password (secret). */
    readonly password: pulumi.Output<string>;
    /** Its bcrypt hash at the configured cost, as it appears in htpasswd (secret). */
    readonly bcryptHash: pulumi.Output<string>;
}

/** The gate's two htpasswd files: who may read (every user) and who may write (push users). */
export interface GateHtpasswd {
    readonly pull: pulumi.Output<string>;
    readonly push: pulumi.Output<string>;
}

/**
 * Users with generated passwords, the gate's htpasswd files of their bcrypt hashes, and the
 * `http.secret` every replica must share (it signs upload state, so a push may hop replicas).
 */
export class RegistryAuth extends pulumi.ComponentResource {
    /** Every user with its role, password and hash: push users first, then pull users. */
    public readonly users: RegistryUser[];
    /** The htpasswd files (secrets). */
    public readonly htpasswd: GateHtpasswd;
    /** The registry's `http.secret` (secret). */
    public readonly httpSecret: pulumi.Output<string>;
    /** user → password (secret). */
    public readonly passwords: pulumi.Output<Record<string, string>>;

    constructor(name: string, args: RegistryAuthArgs, opts?: pulumi.ComponentResourceOptions) {
        super("registry:security:RegistryAuth", name, {}, opts);
        if (args.users.length === 0) {
            throw new Error("RegistryAuth needs at least one user");
        }
        const pullUsers = args.pullUsers ?? [];
        const both = pullUsers.find((u) => args.users.includes(u));
        if (both !== undefined) {
            throw new Error(`user ${both} cannot be both a push and a pull-only user`);
        }
        const roles: [string, UserRole][] = [
            ...args.users.map((u): [string, UserRole] => [u, "push"]),
            ...pullUsers.map((u): [string, UserRole] => [u, "pull"]),
        ];
        // Letters and digits only: the password goes into `docker login`, URLs and YAML unquoted.
        const length = args.passwordLength ?? 32;
        const cost = args.bcryptCost ?? 10;
        // One naming scheme for both roles: a user moved between them keeps its password.
        this.users = roles.map(([user, role]) => {
            const token = args.rotation?.[user];
            const pw = new random.RandomPassword(
                `${name}-user-${user}`,
                // `keepers`: a changed token makes the provider generate a new password.
                { length, special: false, minNumeric: 2, minUpper: 2, minLower: 2, keepers: token === undefined ? undefined : { rotation: token } },
                { parent: this },
            );
            // The provider's own hash is cost 10; it lends its salt (kept in state) to the configured cost.
            const hash = pulumi.all([pw.result, pw.bcryptHash]).apply(([password, providerHash]) => htpasswdHash(password, providerHash, cost));
            // The provider marks these outputs secret; mocks don't, so mark them here too.
            return { name: user, role, password: pulumi.secret(pw.result), bcryptHash: pulumi.secret(hash) };
        });
        const file = (who: readonly RegistryUser[]) =>
            pulumi.secret(pulumi.all(who.map((u) => u.bcryptHash)).apply((hashes) => buildHtpasswd(hashes.map((hash, i) => ({ user: who[i].name, hash })))));
        this.htpasswd = { pull: file(this.users), push: file(this.users.filter((u) => u.role === "push")) };
        const httpSecret = new random.RandomPassword(`${name}-http-secret`, { length: 64, special: false }, { parent: this });
        this.httpSecret = pulumi.secret(httpSecret.result);
        this.passwords = pulumi.secret(
            pulumi.all(this.users.map((u) => u.password)).apply((pws) => Object.fromEntries(pws.map((pw, i) => [this.users[i].name, pw]))),
        );
        this.registerOutputs({ pullHtpasswd: this.htpasswd.pull, pushHtpasswd: this.htpasswd.push, passwords: this.passwords });
    }
}
