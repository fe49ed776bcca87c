import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";

import { dockerConfigJsonForHosts } from "../registry/endpoints";

export interface PullSecretsArgs {
    /** Namespaces that get the Secret; they must exist (no default). */
    readonly namespaces: readonly string[];
    /** Name of the Secret in each namespace, the name pods list in `imagePullSecrets` (no default). */
    readonly secretName: string;
    /** Every `host[:port]` pods may name the registry by; the first is `registryHost` (no default). */
    readonly hosts: pulumi.Input<string[]>;
    /** The pull user (no default). */
    readonly username: string;
    /** Its password (secret) (no default). */
    readonly password: pulumi.Input<string>;
    /** Set the Secret as the default ServiceAccount's `imagePullSecrets`. Default false. */
    readonly patchDefaultServiceAccount?: boolean;
    /** Labels of the Secrets. Default none. */
    readonly labels?: Record<string, string>;
}

/**
 * `kubernetes.io/dockerconfigjson` Secrets for the pull user in each listed namespace, and
 * optionally the default ServiceAccount of each patched to use it, so pods there pull from the
 * registry with no `imagePullSecrets` of their own.
 */
export class PullSecrets extends pulumi.ComponentResource {
    /** The Secret name in every namespace. */
    public readonly secretName: string;

    constructor(name: string, args: PullSecretsArgs, opts?: pulumi.ComponentResourceOptions) {
        super("registry:access:PullSecrets", name, {}, opts);
        const content = pulumi.secret(pulumi.all([args.hosts, args.password]).apply(([hosts, pw]) => dockerConfigJsonForHosts(hosts, args.username, pw)));
        for (const ns of args.namespaces) {
            // A fixed name: workloads refer to it in `imagePullSecrets`, so it must not change.
            const secret = new k8s.core.v1.Secret(
                `${name}-pull-${ns}`,
                {
                    metadata: { name: args.secretName, namespace: ns, labels: args.labels },
                    type: "kubernetes.io/dockerconfigjson",
                    stringData: { ".dockerconfigjson": content },
                },
                { parent: this },
            );
            if (args.patchDefaultServiceAccount === true) {
                // Server-side apply of one field. `imagePullSecrets` is an atomic list, so this
                // sets the whole list (documented in docs/access.md).
                new k8s.core.v1.ServiceAccountPatch(
                    `${name}-pull-sa-${ns}`,
                    {
                        metadata: { name: "default", namespace: ns },
                        imagePullSecrets: [{ name: secret.metadata.name }],
                    },
                    { parent: this },
                );
            }
        }
        this.secretName = args.secretName;
        this.registerOutputs({});
    }
}
