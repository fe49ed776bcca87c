import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";

import { DEBUG_PORT } from "../registry/layout";

/** One Prometheus alerting rule (the `rules:` entries of a rule group). */
export interface AlertRule {
    readonly alert: string;
    readonly expr: string;
    readonly for: string;
    readonly labels: Record<string, string>;
    readonly annotations: Record<string, string>;
}

/**
 * Alerts that mean someone should look: the registry is down, it answers with 5xx, its storage
 * is slow or its pods are not ready (readiness follows the storage driver's health), it
 * restarts. `job` is the scrape job when a ServiceMonitor scrapes (the metrics Service's name);
 * without one (annotation-based scraping) the registry's series are matched by pod name.
 * kube-state-metrics supplies the `kube_*` series.
 */
export function buildAlertRules(args: { namespace: string; deployment: string; job?: string }): AlertRule[] {
    const podName = `${args.deployment}-[a-z0-9]+-[a-z0-9]+`;
    const sel = args.job === undefined ? `namespace="${args.namespace}",pod=~"${podName}"` : `namespace="${args.namespace}",job="${args.job}"`;
    const dep = `namespace="${args.namespace}",deployment="${args.deployment}"`;
    const pods = `namespace="${args.namespace}",pod=~"${podName}",container="registry"`;
    const who = `${args.namespace}/${args.deployment}`;
    return [
        {
            alert: "RegistryDown",
            expr: `absent(up{${sel}} == 1)`,
            for: "5m",
            labels: { severity: "critical" },
            annotations: { summary: `No registry pod of ${who} can be scraped`, description: "Every registry target is down or missing for 5 minutes." },
        },
        {
            alert: "RegistryHigh5xxRate",
            expr: `sum(rate(registry_http_requests_total{${sel},code=~"5.."}[5m])) / sum(rate(registry_http_requests_total{${sel}}[5m])) > 0.05`,
            for: "10m",
            labels: { severity: "warning" },
            annotations: {
                summary: `${who} answers more than 5% of requests with 5xx`,
                description: "Often the storage backend: check the registry logs for storage driver errors.",
            },
        },
        {
            alert: "RegistryStorageSlow",
            expr: `histogram_quantile(0.99, sum by (le, action) (rate(registry_storage_action_seconds_bucket{${sel}}[10m]))) > 10`,
            for: "15m",
            labels: { severity: "warning" },
            annotations: {
                summary: `${who}: storage action {{ $labels.action }} takes over 10 s at p99`,
                description: "The storage backend is slow or timing out.",
            },
        },
        {
            alert: "RegistryNotReady",
            expr: `kube_deployment_status_replicas_available{${dep}} < kube_deployment_spec_replicas{${dep}}`,
            for: "10m",
            labels: { severity: "warning" },
            annotations: {
                summary: `${who} has pods that are not ready`,
                description: "Readiness follows the storage driver's health check: the storage is failing, or pods cannot start.",
            },
        },
        {
            alert: "RegistryPodRestarting",
            expr: `increase(kube_pod_container_status_restarts_total{${pods}}[1h]) > 2`,
            for: "0m",
            labels: { severity: "warning" },
            annotations: {
                summary: `Registry pod {{ $labels.pod }} restarted more than twice in an hour`,
                description: "Look at the previous container's log (kubectl logs --previous).",
            },
        },
    ];
}

export interface RegistryMonitoringArgs {
    /** Namespace (no default). */
    readonly namespace: pulumi.Input<string>;
    /** The same namespace as a string, for the rules' label matchers (no default). */
    readonly namespaceName: string;
    /** The registry Deployment's name (no default). */
    readonly registryName: string;
    /** Labels of the objects (no default). */
    readonly labels: Record<string, string>;
    /** The registry pods' selector (no default). */
    readonly selector: Record<string, string>;
    /** Create a ServiceMonitor. Default false. */
    readonly serviceMonitor?: boolean;
    /** Create a PrometheusRule. Default false. */
    readonly alertRules?: boolean;
    /**
     * Extra labels of the ServiceMonitor and PrometheusRule: a Prometheus picks them up only if
     * its selectors match (kube-prometheus-stack: `release=<release>`). Default none.
     */
    readonly selectionLabels?: Readonly<Record<string, string>>;
}

/**
 * Metrics of the registry for prometheus-operator, on top of the pods' prometheus.io/* scrape
 * annotations: a ServiceMonitor with the headless Service on the debug port it selects, and a
 * PrometheusRule with the alerts, each when asked for.
 */
export class RegistryMonitoring extends pulumi.ComponentResource {
    /** The metrics Service's name, which is also the scrape job's name. */
    public readonly serviceName: string;

    constructor(name: string, args: RegistryMonitoringArgs, opts?: pulumi.ComponentResourceOptions) {
        super("registry:operations:RegistryMonitoring", name, {}, opts);
        this.serviceName = `${args.registryName}-metrics`;
        const labels = { ...args.labels, "app.kubernetes.io/component": "metrics" };
        const meta = { namespace: args.namespace, labels };
        // The objects Prometheus selects carry its labels; the metrics Service and the
        // ServiceMonitor's selector keep the program's own, so scraping does not depend on them.
        const selectedMeta = { namespace: args.namespace, labels: { ...args.selectionLabels, ...labels } };
        if (args.serviceMonitor === true) {
            new k8s.core.v1.Service(
                `${name}-metrics`,
                {
                    metadata: { ...meta, name: this.serviceName },
                    spec: {
                        type: "ClusterIP",
                        clusterIP: "None",
                        selector: args.selector,
                        ports: [{ name: "metrics", port: DEBUG_PORT, targetPort: "metrics", protocol: "TCP" }],
                    },
                },
                { parent: this },
            );
            new k8s.apiextensions.CustomResource(
                `${name}-servicemonitor`,
                {
                    apiVersion: "monitoring.coreos.com/v1",
                    kind: "ServiceMonitor",
                    metadata: selectedMeta,
                    spec: {
                        selector: { matchLabels: labels },
                        endpoints: [{ port: "metrics", path: "/metrics", scheme: "http", interval: "30s" }],
                    },
                },
                { parent: this },
            );
        }
        if (args.alertRules === true) {
            new k8s.apiextensions.CustomResource(
                `${name}-rules`,
                {
                    apiVersion: "monitoring.coreos.com/v1",
                    kind: "PrometheusRule",
                    metadata: selectedMeta,
                    spec: {
                        groups: [
                            {
                                name: `${args.registryName}.rules`,
                                rules: buildAlertRules({
                                    namespace: args.namespaceName,
                                    deployment: args.registryName,
                                    job: args.serviceMonitor === true ? this.serviceName : undefined,
                                }),
                            },
                        ],
                    },
                },
                { parent: this },
            );
        }
        this.registerOutputs({});
    }
}
