import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";

import { buildHtpasswd, htpasswdHash } from "./htpasswd";

export interface RegistryAuthArgs {
    /** htpasswd user names, at least one; the first is the primary user (no default). */
    readonly users: readonly string[];
    /** Length of each generated password. Default 32. */
    readonly passwordLength?: number;
    /** Rotation token per user: a new token replaces that user's password. Default none. */
    readonly rotation?: Readonly<Record<string, string>>;
    /** bcrypt cost of the htpasswd hashes (config.ts refuses one too low for the password length). Default 10. */
    readonly bcryptCost?: number;
}

/** One htpasswd user and its generated credentials. */
export interface RegistryUser {
    readonly name: string;
    /** The password (secret). */
    readonly password: pulumi.Output<string>;
    /** Its bcrypt hash at the configured cost, as it appears in htpasswd (secret). */
    readonly bcryptHash: pulumi.Output<string>;
}

/**
 * Users with generated passwords, the htpasswd file of their bcrypt hashes, and the
 * `http.secret` every replica must share (it signs upload state, so a push may hop replicas).
 */
export class RegistryAuth extends pulumi.ComponentResource {
    /** Every user with its password and hash. */
    public readonly users: RegistryUser[];
    /** The htpasswd file (secret). */
    public readonly htpasswd: pulumi.Output<string>;
    /** The registry's `http.secret` (secret). */
    public readonly httpSecret: pulumi.Output<string>;
    /** user → password (secret). */
    public readonly passwords: pulumi.Output<Record<string, string>>;

    constructor(name: string, args: RegistryAuthArgs, opts?: pulumi.ComponentResourceOptions) {
        super("registry:security:RegistryAuth", name, {}, opts);
        if (args.users.length === 0) {
            throw new Error("RegistryAuth needs at least one user");
        }
        // Letters and digits only: the password goes into `docker login`, URLs and YAML unquoted.
        const length = args.passwordLength ?? 32;
        const cost = args.bcryptCost ?? 10;
        this.users = args.users.map((user) => {
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
            return { name: user, password: pulumi.secret(pw.result), bcryptHash: pulumi.secret(hash) };
        });
        this.htpasswd = pulumi.secret(pulumi.all(this.users.map((u) => u.bcryptHash)).apply((hashes) => buildHtpasswd(hashes.map((hash, i) => ({ user: args.users[i], hash })))));
        const httpSecret = new random.RandomPassword(`${name}-http-secret`, { length: 64, special: false }, { parent: this });
        this.httpSecret = pulumi.secret(httpSecret.result);
        this.passwords = pulumi.secret(
            pulumi.all(this.users.map((u) => u.password)).apply((pws) => Object.fromEntries(pws.map((pw, i) => [args.users[i], pw]))),
        );
        this.registerOutputs({ htpasswd: this.htpasswd, passwords: this.passwords });
    }
}
