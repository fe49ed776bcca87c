// Example stack files cannot hold secrets (loadStackFile refuses `secure:` values), yet some
// stacks need one to run at all: their comments tell the operator to `pulumi config set --secret`
// them. These placeholders stand in for those values, as secrets, when the tests run an example
// stack.

/** A config value set with `pulumi config set --secret` (what a `secure:` entry decrypts to). */
export class SecretConfig {
    constructor(readonly value: string) {}
}

export const STACK_SECRETS: Readonly<Record<string, Readonly<Record<string, SecretConfig>>>> = {
    ceph: {
        "registry:cephAdminAccessKey": new SecretConfig("PLACEHOLDERADMINKEY0"),
        "registry:cephAdminSecretKey": new SecretConfig("placeholder-admin-secret-key-0000000000"),
    },
};
