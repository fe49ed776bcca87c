import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";

import type { AntiAffinityMode } from "./config";

type Affinity = k8s.types.input.core.v1.Affinity;
type TopologySpreadConstraint = k8s.types.input.core.v1.TopologySpreadConstraint;

/** Pod anti-affinity that keeps registry pods on different nodes (none: no affinity at all). */
export function podAntiAffinity(mode: AntiAffinityMode, selector: Record<string, string>): Affinity | undefined {
    const term = { labelSelector: { matchLabels: selector }, topologyKey: "kubernetes.io/hostname" };
    switch (mode) {
        case "none":
            return undefined;
        case "soft":
            return { podAntiAffinity: { preferredDuringSchedulingIgnoredDuringExecution: [{ weight: 100, podAffinityTerm: term }] } };
        case "hard":
            // Required: with fewer nodes than replicas, the extra pods stay Pending.
            return { podAntiAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [term] } };
    }
}

/**
 * Even spread over zones, best effort: `ScheduleAnyway`, because a single-zone cluster must
 * still run every replica. Nodes without the zone label count as one zone.
 */
export function zoneSpread(selector: Record<string, string>): TopologySpreadConstraint[] {
    return [{ maxSkew: 1, topologyKey: "topology.kubernetes.io/zone", whenUnsatisfiable: "ScheduleAnyway", labelSelector: { matchLabels: selector } }];
}

/** Scheduling of the registry pods for the Registry component (nothing for a single pod). */
export function registryScheduling(
    args: { antiAffinity: AntiAffinityMode; spreadZones: boolean; maxReplicas: number },
    selector: Record<string, string>,
): { affinity?: Affinity; topologySpreadConstraints?: TopologySpreadConstraint[] } {
    if (args.maxReplicas <= 1) {
        return {};
    }
    return {
        affinity: podAntiAffinity(args.antiAffinity, selector),
        topologySpreadConstraints: args.spreadZones ? zoneSpread(selector) : undefined,
    };
}

export interface RegistryAutoscalerArgs {
    /** Namespace of the Deployment (no default). */
    readonly namespace: pulumi.Input<string>;
    /** The Deployment to scale (no default). */
    readonly deploymentName: pulumi.Input<string>;
    /** Labels of the autoscaler (no default). */
    readonly labels: Record<string, string>;
    /** Floor (no default). */
    readonly minReplicas: number;
    /** Ceiling (no default). */
    readonly maxReplicas: number;
    /** Target average CPU use, in percent of the request (no default). */
    readonly cpuPercent: number;
}

/**
 * A HorizontalPodAutoscaler (autoscaling/v2) on CPU. Scale-down is slow (5 minutes stable, one
 * pod a minute) so a burst of pushes does not see its pods removed mid-upload.
 */
export class RegistryAutoscaler extends pulumi.ComponentResource {
    /** The autoscaler's name. */
    public readonly name: pulumi.Output<string>;

    constructor(name: string, args: RegistryAutoscalerArgs, opts?: pulumi.ComponentResourceOptions) {
        super("registry:operations:RegistryAutoscaler", name, {}, opts);
        const hpa = new k8s.autoscaling.v2.HorizontalPodAutoscaler(
            `${name}-hpa`,
            {
                metadata: { namespace: args.namespace, labels: args.labels },
                spec: {
                    scaleTargetRef: { apiVersion: "apps/v1", kind: "Deployment", name: args.deploymentName },
                    minReplicas: args.minReplicas,
                    maxReplicas: args.maxReplicas,
                    metrics: [{ type: "Resource", resource: { name: "cpu", target: { type: "Utilization", averageUtilization: args.cpuPercent } } }],
                    behavior: { scaleDown: { stabilizationWindowSeconds: 300, policies: [{ type: "Pods", value: 1, periodSeconds: 60 }] } },
                },
            },
            { parent: this },
        );
        this.name = hpa.metadata.name;
        this.registerOutputs({ name: this.name });
    }
}
