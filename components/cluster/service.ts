import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";

export interface RegistryServiceArgs {
    /** Namespace of the Service (no default). */
    readonly namespace: pulumi.Input<string>;
    /** Service name, fixed because it is part of the certificate's SANs (no default). */
    readonly serviceName: string;
    /** Namespace name as a plain string, for the in-cluster DNS names (no default). */
    readonly namespaceName: string;
    /** Pod labels the Service selects (no default). */
    readonly selector: Record<string, string>;
    /** Labels of the Service object. Default: the selector. */
    readonly labels?: Record<string, string>;
    /** Service type. Default LoadBalancer. */
    readonly type?: "LoadBalancer" | "ClusterIP" | "NodePort";
    /** Port the Service exposes. Default 443. */
    readonly port?: number;
    /** Named container port traffic goes to. Default "https". */
    readonly targetPort?: string;
    /** Fixed node port. Default: allocated by Kubernetes. */
    readonly nodePort?: number;
    /** Service annotations (load balancer settings). Default none. */
    readonly annotations?: Record<string, pulumi.Input<string>>;
    /** CIDRs allowed through the load balancer. Default: everyone. */
    readonly loadBalancerSourceRanges?: readonly string[];
    /** Static load balancer IP (`spec.loadBalancerIP`). Default: none. */
    readonly loadBalancerIP?: pulumi.Input<string>;
}

/** The in-cluster DNS names of a Service, shortest first. */
export function serviceDnsNames(serviceName: string, namespace: string): string[] {
    return [serviceName, `${serviceName}.${namespace}`, `${serviceName}.${namespace}.svc`, serviceFqdn(serviceName, namespace)];
}

/** The Service's fully qualified in-cluster name. */
export function serviceFqdn(serviceName: string, namespace: string): string {
    return `${serviceName}.${namespace}.svc.cluster.local`;
}

/**
 * What the Kubernetes provider waits for before it reports the Service created.
 *
 * By default it waits until the Service has ready endpoints, i.e. until registry pods run. But
 * the registry's pods depend on the Service (its load balancer address is in the certificate the
 * pods mount), so the default would wait for pods that cannot exist yet, and the first
 * `pulumi up` would hang for 10 minutes and fail ("Service does not target any Pods"). The
 * Service is ready for what depends on it once it has an address: the load balancer's ingress,
 * or the cluster IP. (`pulumi.com/waitFor` takes precedence over the default await logic since
 * @pulumi/kubernetes 4.18.4.)
 */
export function serviceAwaitAnnotation(type: "LoadBalancer" | "ClusterIP" | "NodePort"): Record<string, string> {
    return { "pulumi.com/waitFor": type === "LoadBalancer" ? "jsonpath={.status.loadBalancer.ingress}" : "jsonpath={.spec.clusterIP}" };
}

/**
 * The registry's Service. It exists before the certificate, so the load balancer's address
 * can be put in the certificate's SANs.
 */
export class RegistryService extends pulumi.ComponentResource {
    /** Service name. */
    public readonly name: pulumi.Output<string>;
    /** In-cluster DNS names (`<svc>`, `<svc>.<ns>`, `<svc>.<ns>.svc`, `<svc>.<ns>.svc.cluster.local`). */
    public readonly clusterDnsNames: string[];
    /** The fully qualified in-cluster name, `<svc>.<ns>.svc.cluster.local`. */
    public readonly clusterFqdn: string;
    /** The load balancer's IP, or "" (none, or the cloud gives a hostname). */
    public readonly loadBalancerIp: pulumi.Output<string>;
    /** The load balancer's hostname (AWS), or "". */
    public readonly loadBalancerHostname: pulumi.Output<string>;
    /** IP or hostname of the load balancer, or "" for ClusterIP/NodePort. */
    public readonly loadBalancerAddress: pulumi.Output<string>;
    /** The port clients connect to. */
    public readonly port: number;
    /** The Service object, for resources that depend on it. */
    public readonly service: k8s.core.v1.Service;

    constructor(name: string, args: RegistryServiceArgs, opts?: pulumi.ComponentResourceOptions) {
        super("registry:cluster:RegistryService", name, {}, opts);
        const type = args.type ?? "LoadBalancer";
        this.port = args.port ?? 443;
        this.service = new k8s.core.v1.Service(
            `${name}-service`,
            {
                metadata: {
                    name: args.serviceName,
                    namespace: args.namespace,
                    labels: args.labels ?? args.selector,
                    annotations: { ...serviceAwaitAnnotation(type), ...args.annotations },
                },
                spec: {
                    type,
                    selector: args.selector,
                    ports: [
                        {
                            name: "https",
                            port: this.port,
                            targetPort: args.targetPort ?? "https",
                            protocol: "TCP",
                            nodePort: type === "ClusterIP" ? undefined : args.nodePort,
                        },
                    ],
                    loadBalancerSourceRanges:
                        type === "LoadBalancer" && (args.loadBalancerSourceRanges?.length ?? 0) > 0 ? [...(args.loadBalancerSourceRanges ?? [])] : undefined,
                    loadBalancerIP: type === "LoadBalancer" ? args.loadBalancerIP : undefined,
                },
            },
            { parent: this },
        );
        this.name = this.service.metadata.name;
        this.clusterDnsNames = serviceDnsNames(args.serviceName, args.namespaceName);
        this.clusterFqdn = serviceFqdn(args.serviceName, args.namespaceName);
        const ingress = this.service.status.apply((s) => s?.loadBalancer?.ingress?.[0]);
        this.loadBalancerIp = ingress.apply((i) => i?.ip ?? "");
        this.loadBalancerHostname = ingress.apply((i) => i?.hostname ?? "");
        this.loadBalancerAddress = ingress.apply((i) => i?.ip ?? i?.hostname ?? "");
        this.registerOutputs({ name: this.name, loadBalancerAddress: this.loadBalancerAddress });
    }
}
