import * as fs from "fs";
import * as path from "path";
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";

import type { GcConfig } from "./config";
import { restrictedContainerSecurityContext } from "../cluster";

type PodSpec = pulumi.Unwrap<k8s.types.input.core.v1.PodSpec>;

/** The maintenance procedure the CronJob runs (see the comment at its top). */
export const GC_SCRIPT = fs.readFileSync(path.join(__dirname, "gc.sh"), "utf8");

/** The env var (and value) that puts the registry in read-only maintenance mode. */
export const READONLY_ENV = { name: "REGISTRY_STORAGE_MAINTENANCE_READONLY", value: '{"enabled":true}' } as const;

/**
 * How the registry is taken out of write service during GC: `readonly` keeps pulls working and
 * needs storage several pods share (the GC Job runs beside the registry pods); `scale` stops the
 * registry, so a ReadWriteOnce volume is free for the GC Job.
 */
export type GcMode = "readonly" | "scale";

export function gcMode(storageShareable: boolean): GcMode {
    return storageShareable ? "readonly" : "scale";
}

/** `registry garbage-collect` arguments (flags before the config path, as both lines parse them). */
export function gcArgs(configFile: string, cfg: Pick<GcConfig, "deleteUntagged" | "dryRun">): string[] {
    return ["garbage-collect", ...(cfg.deleteUntagged ? ["--delete-untagged=true"] : []), ...(cfg.dryRun ? ["--dry-run=true"] : []), configFile];
}

/**
 * The GC Job: the registry's own pod spec (same image, config, storage volumes, credentials and
 * service account) running `garbage-collect` once. No probes or ports; no anti-affinity, which
 * could keep it off every node that runs a registry pod.
 */
export function gcJobManifest(args: {
    registryName: string;
    labels: Record<string, string>;
    podSpec: PodSpec;
    configFile: string;
    gc: Pick<GcConfig, "deleteUntagged" | "dryRun">;
    deadlineSeconds: number;
}): Record<string, unknown> {
    const { affinity: _affinity, topologySpreadConstraints: _spread, containers, ...spec } = args.podSpec;
    const registry = containers.find((c) => c.name === "registry");
    if (registry === undefined) {
        throw new Error("the registry pod spec has no `registry` container");
    }
    const { ports: _ports, readinessProbe: _r, livenessProbe: _l, startupProbe: _s, args: _args, ...container } = registry;
    // Not the registry's selector labels: the Service, PDB and Deployment must never count it.
    const labels = { ...args.labels, "app.kubernetes.io/name": "registry-gc", "app.kubernetes.io/component": "garbage-collect" };
    return {
        apiVersion: "batch/v1",
        kind: "Job",
        metadata: { generateName: `${args.registryName}-gc-`, labels },
        spec: {
            backoffLimit: 0,
            activeDeadlineSeconds: args.deadlineSeconds,
            ttlSecondsAfterFinished: 7 * 24 * 3600,
            template: {
                metadata: { labels },
                spec: { ...spec, restartPolicy: "Never", containers: [{ ...container, name: "garbage-collect", args: gcArgs(args.configFile, args.gc) }] },
            },
        },
    };
}

/** What the CronJob's service account may do: drive the Deployment, run and read the GC Job. */
export const GC_RBAC_RULES: k8s.types.input.rbac.v1.PolicyRule[] = [
    { apiGroups: ["apps"], resources: ["deployments"], verbs: ["get", "list", "watch", "patch", "update"] },
    { apiGroups: ["apps"], resources: ["deployments/scale"], verbs: ["get", "patch", "update"] },
    { apiGroups: ["apps"], resources: ["replicasets"], verbs: ["get", "list", "watch"] },
    { apiGroups: [""], resources: ["pods"], verbs: ["get", "list", "watch"] },
    { apiGroups: [""], resources: ["pods/log"], verbs: ["get"] },
    { apiGroups: ["batch"], resources: ["jobs"], verbs: ["create", "get", "list", "watch"] },
];

export interface GarbageCollectorArgs {
    /** Schedule and flags (no default). */
    readonly config: GcConfig;
    /** Namespace (no default). */
    readonly namespace: pulumi.Input<string>;
    /** Name of the registry Deployment (no default). */
    readonly registryName: string;
    /** Labels of the objects (no default). */
    readonly labels: Record<string, string>;
    /** The registry's pod spec (no default). */
    readonly podSpec: pulumi.Output<PodSpec>;
    /** Where the registry image reads config.yml (no default). */
    readonly configFile: string;
    /** readonly or scale (no default: from whether the storage is shared). */
    readonly mode: GcMode;
    /** Longest the GC Job may run, in seconds. Default 3600. */
    readonly timeoutSeconds?: number;
}

/**
 * A CronJob that garbage-collects the registry under maintenance: its pod (kubectl, a
 * namespaced Role) runs gc.sh, which takes the registry out of write service, runs the GC Job
 * and restores it, restarting every registry pod.
 */
export class GarbageCollector extends pulumi.ComponentResource {
    /** The CronJob's name. */
    public readonly cronJobName: pulumi.Output<string>;
    /** The GC Job manifest the CronJob creates (JSON). */
    public readonly jobManifest: pulumi.Output<string>;

    constructor(name: string, args: GarbageCollectorArgs, opts?: pulumi.ComponentResourceOptions) {
        super("registry:operations:GarbageCollector", name, {}, opts);
        const timeout = args.timeoutSeconds ?? 3600;
        const meta = { namespace: args.namespace, labels: args.labels };
        this.jobManifest = args.podSpec.apply((podSpec) =>
            JSON.stringify(
                gcJobManifest({
                    registryName: args.registryName,
                    labels: args.labels,
                    podSpec,
                    configFile: args.configFile,
                    gc: args.config,
                    deadlineSeconds: timeout,
                }),
                null,
                2,
            ),
        );
        const scripts = new k8s.core.v1.ConfigMap(
            `${name}-script`,
            { metadata: meta, data: { "gc.sh": GC_SCRIPT, "job.json": this.jobManifest } },
            { parent: this },
        );
        const sa = new k8s.core.v1.ServiceAccount(`${name}-sa`, { metadata: meta }, { parent: this });
        const role = new k8s.rbac.v1.Role(`${name}-role`, { metadata: meta, rules: GC_RBAC_RULES }, { parent: this });
        new k8s.rbac.v1.RoleBinding(
            `${name}-binding`,
            {
                metadata: meta,
                roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: role.metadata.name },
                subjects: [{ kind: "ServiceAccount", name: sa.metadata.name, namespace: args.namespace }],
            },
            { parent: this },
        );
        const cron = new k8s.batch.v1.CronJob(
            `${name}-cronjob`,
            {
                metadata: meta,
                spec: {
                    schedule: args.config.schedule,
                    // Two procedures at once would restore each other's maintenance mode.
                    concurrencyPolicy: "Forbid",
                    startingDeadlineSeconds: 3600,
                    successfulJobsHistoryLimit: 3,
                    failedJobsHistoryLimit: 3,
                    jobTemplate: {
                        metadata: { labels: args.labels },
                        spec: {
                            backoffLimit: 0,
                            // Room for the GC Job plus two rollouts.
                            activeDeadlineSeconds: timeout * 3,
                            template: {
                                metadata: {
                                    labels: { ...args.labels, "app.kubernetes.io/name": "registry-gc", "app.kubernetes.io/component": "gc-procedure" },
                                },
                                spec: {
                                    serviceAccountName: sa.metadata.name,
                                    restartPolicy: "Never",
                                    enableServiceLinks: false,
                                    securityContext: { runAsNonRoot: true, runAsUser: 1000, runAsGroup: 1000, seccompProfile: { type: "RuntimeDefault" } },
                                    containers: [
                                        {
                                            name: "gc",
                                            image: args.config.kubectlImage,
                                            imagePullPolicy: "IfNotPresent",
                                            command: ["/bin/sh", "/etc/registry-gc/gc.sh"],
                                            env: [
                                                { name: "NAMESPACE", valueFrom: { fieldRef: { fieldPath: "metadata.namespace" } } },
                                                { name: "DEPLOYMENT", value: args.registryName },
                                                { name: "MODE", value: args.mode },
                                                { name: "JOB_MANIFEST", value: "/etc/registry-gc/job.json" },
                                                { name: "TIMEOUT", value: `${timeout}s` },
                                                { name: "HOME", value: "/tmp" },
                                            ],
                                            resources: { requests: { cpu: "10m", memory: "32Mi" }, limits: { memory: "128Mi" } },
                                            securityContext: restrictedContainerSecurityContext(),
                                            volumeMounts: [
                                                { name: "script", mountPath: "/etc/registry-gc", readOnly: true },
                                                { name: "tmp", mountPath: "/tmp" },
                                            ],
                                        },
                                    ],
                                    volumes: [
                                        { name: "script", configMap: { name: scripts.metadata.name } },
                                        { name: "tmp", emptyDir: { sizeLimit: "64Mi" } },
                                    ],
                                },
                            },
                        },
                    },
                },
            },
            { parent: this },
        );
        this.cronJobName = cron.metadata.name;
        this.registerOutputs({ cronJobName: this.cronJobName });
    }
}
