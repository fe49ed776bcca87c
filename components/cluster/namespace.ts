import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";

export interface RegistryNamespaceArgs {
    /** Namespace name (no default: it comes from the `namespace` config key). */
    readonly name: string;
    /** Create the namespace; false adopts an existing one by name. Default true. */
    readonly create?: boolean;
    /** Keep the namespace on `pulumi destroy`, because deleting it would delete retained data in it. Default false. */
    readonly retainOnDelete?: boolean;
    /** Labels for a created namespace. Default none. */
    readonly labels?: Record<string, string>;
}

/** The namespace the registry lives in, created with the "restricted" Pod Security Standard enforced. */
export class RegistryNamespace extends pulumi.ComponentResource {
    /** The namespace name, known once it exists. */
    public readonly name: pulumi.Output<string>;

    constructor(name: string, args: RegistryNamespaceArgs, opts?: pulumi.ComponentResourceOptions) {
        super("registry:cluster:RegistryNamespace", name, {}, opts);
        if (args.create ?? true) {
            const ns = new k8s.core.v1.Namespace(
                `${name}-namespace`,
                {
                    metadata: {
                        name: args.name,
                        labels: {
                            ...args.labels,
                            // The registry pod is written to pass "restricted"; enforcing it here
                            // keeps it that way.
                            "pod-security.kubernetes.io/enforce": "restricted",
                            "pod-security.kubernetes.io/enforce-version": "latest",
                        },
                    },
                },
                // Deleting a namespace deletes every PVC in it; when the stack keeps its data, it
                // must keep the namespace too.
                { parent: this, retainOnDelete: args.retainOnDelete ?? false },
            );
            this.name = ns.metadata.name;
        } else {
            this.name = pulumi.output(args.name);
        }
        this.registerOutputs({ name: this.name });
    }
}
