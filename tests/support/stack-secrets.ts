// Example stack files cannot hold secrets (loadStackFile refuses `secure:` values), yet some
// stacks need one to run at all: the README tells the operator to `pulumi config set --secret`
// them. These placeholders stand in for those values when the tests run an example stack.
export const STACK_SECRETS: Readonly<Record<string, Readonly<Record<string, string>>>> = {
    ceph: {
        "registry:cephAdminAccessKey": "PLACEHOLDERADMINKEY0",
        "registry:cephAdminSecretKey": "placeholder-admin-secret-key-0000000000",
    },
};
