import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";

import type { ImageConfig } from "./config";
import type { ForeignLayersConfig } from "./foreign-layers";
import type { RegistryStorage } from "../storage/types";
import { buildRegistryConfig, renderRegistryConfig } from "./config-file";
import { GATE_AUTH_CACHE_DEFAULT_SECONDS, gateConf, gateContainer, GATE_VOLUMES } from "./gate";
import {
    DEBUG_PORT,
    PRE_STOP_SECONDS,
    PULL_HTPASSWD,
    PUSH_HTPASSWD,
    REGISTRY_BINARY,
    REGISTRY_PORT,
    SOCKET_DIR,
    TERMINATION_GRACE_SECONDS,
    configDir,
    configPath,
} from "./layout";
import { restrictedContainerSecurityContext } from "../cluster";

export interface RegistryArgs {
    /** Name of the Deployment and ServiceAccount (no default). */
    readonly registryName: string;
    /** Namespace to run in (no default). */
    readonly namespace: pulumi.Input<string>;
    /** Labels of every object (no default). */
    readonly labels: Record<string, string>;
    /** Pod labels the Deployment and Service select on (no default). */
    readonly selector: Record<string, string>;
    /** The registry image and its distribution line (no default). */
    readonly image: ImageConfig;
    /** The gate's nginx image (no default). */
    readonly gateImage: string;
    /** Seconds the gate remembers a passed check (`gateAuthCacheSeconds`). Default GATE_AUTH_CACHE_DEFAULT_SECONDS; 0: none. */
    readonly gateAuthCacheSeconds?: number;
    /** Number of pods. Default 1. */
    readonly replicas?: number;
    /** Where images are stored (no default). */
    readonly storage: RegistryStorage;
    /** Server certificate and key (no default). */
    readonly tls: { readonly certificatePem: pulumi.Input<string>; readonly privateKeyPem: pulumi.Input<string> };
    /** The gate's htpasswd files: who may read (every user) and who may write (push users) (no default). */
    readonly htpasswd: { readonly pull: pulumi.Input<string>; readonly push: pulumi.Input<string> };
    /** The `http.secret` shared by all replicas (no default). */
    readonly httpSecret: pulumi.Input<string>;
    /** Basic auth realm. Default "registry". */
    readonly authRealm?: string;
    /** Allow deletes through the API. Default true. */
    readonly deleteEnabled?: boolean;
    /** Container resources. Default 100m/128Mi requests, 512Mi memory limit. */
    readonly resources?: { readonly cpuRequest: string; readonly memoryRequest: string; readonly cpuLimit?: string; readonly memoryLimit?: string };
    /** Logging. Default info, json, access log on. */
    readonly log?: { readonly level: string; readonly formatter: string; readonly accessLog: boolean };
    /** storage.cache.blobdescriptor. Default "inmemory". */
    readonly blobDescriptorCache?: "inmemory" | "redis";
    /** URLs pushed layers may carry (foreign layers). Default: none, such pushes are refused. */
    readonly foreignLayers?: ForeignLayersConfig;
    /** Extra top-level config.yml sections (`redis`, `proxy`), never with secrets. Default none. */
    readonly extraConfig?: pulumi.Input<Record<string, unknown>>;
    /** Extra container env (secrets only as `secretKeyRef`). Default none. */
    readonly extraEnv?: k8s.types.input.core.v1.EnvVar[];
    /** Pod affinity and topology spread constraints. Default none. */
    readonly scheduling?: {
        readonly affinity?: k8s.types.input.core.v1.Affinity;
        readonly topologySpreadConstraints?: k8s.types.input.core.v1.TopologySpreadConstraint[];
    };
    /** An autoscaler owns `spec.replicas`; the program sets it only on create. Default false. */
    readonly autoscaled?: boolean;
}

/**
 * Several pods with their own in-memory blob descriptor caches do not see each other's deletes:
 * a blob or manifest deleted through one pod is still answered by the others until they restart
 * (the OCI conformance run shows it, docs/conformance.md). The warning, or undefined.
 */
export function staleCacheWarning(a: {
    readonly replicas: number;
    readonly autoscaled: boolean;
    readonly blobDescriptorCache: "inmemory" | "redis";
    readonly deleteEnabled: boolean;
}): string | undefined {
    if ((a.replicas > 1 || a.autoscaled) && a.blobDescriptorCache === "inmemory" && a.deleteEnabled) {
        return "several registry pods with `blobDescriptorCache` `inmemory` and `storageDeleteEnabled`: a blob or manifest deleted through one pod is still served by the others until they restart; use `blobDescriptorCache: redis` (one cache for all pods) or `storageDeleteEnabled: false`";
    }
    return undefined;
}

/** `repository:tag[@digest]`. */
export function imageReference(image: ImageConfig): string {
    return `${image.repository}:${image.tag}${image.digest === undefined ? "" : `@${image.digest}`}`;
}

/**
 * The registry itself: its config.yml and the gate's nginx.conf (ConfigMaps), Secrets for TLS,
 * the htpasswd files and `http.secret`, a ServiceAccount, the Deployment (each pod the registry
 * and its gate, components/registry/gate.ts) and, with several replicas, a PodDisruptionBudget.
 * ConfigMaps and Secrets are auto-named, so any change to them rolls the pods.
 */
export class Registry extends pulumi.ComponentResource {
    /** Deployment name. */
    public readonly deploymentName: pulumi.Output<string>;
    /** The rendered config.yml. */
    public readonly configYaml: pulumi.Output<string>;
    /** The Deployment, for resources that must wait for it. */
    public readonly deployment: k8s.apps.v1.Deployment;
    /** The pod spec, resolved, for Jobs that must run like the registry (garbage collection). */
    public readonly podSpec: pulumi.Output<pulumi.Unwrap<k8s.types.input.core.v1.PodSpec>>;
    /** Where the image's line reads config.yml, for those Jobs. */
    public readonly configFile: string;

    constructor(name: string, args: RegistryArgs, opts?: pulumi.ComponentResourceOptions) {
        super("registry:registry:Registry", name, {}, opts);
        const replicas = args.replicas ?? 1;
        const storage = args.storage;
        if (!storage.supportedLines.includes(args.image.line)) {
            throw new Error(`the storage driver needs distribution ${storage.supportedLines.join(" or ")}.x; the image is ${args.image.tag}`);
        }
        if (replicas > 1 && !storage.shareable) {
            throw new Error("replicas > 1 needs storage several pods can share");
        }
        const stale = staleCacheWarning({
            replicas,
            autoscaled: args.autoscaled === true,
            blobDescriptorCache: args.blobDescriptorCache ?? "inmemory",
            deleteEnabled: args.deleteEnabled ?? true,
        });
        if (stale !== undefined) {
            // Fire-and-forget: the engine tracks the log RPC itself; nothing here depends on it.
            void pulumi.log.warn(stale, this);
        }
        const log = args.log ?? { level: "info", formatter: "json", accessLog: true };
        const resources = args.resources ?? { cpuRequest: "100m", memoryRequest: "128Mi", memoryLimit: "512Mi" };
        const meta = { namespace: args.namespace, labels: args.labels };

        this.configYaml = buildRegistryConfig({
            driver: storage.driver,
            redirectDisable: storage.redirectDisable,
            deleteEnabled: args.deleteEnabled ?? true,
            log,
            blobDescriptorCache: args.blobDescriptorCache,
            foreignLayers: args.foreignLayers,
            extra: args.extraConfig,
        }).apply(renderRegistryConfig);
        const configMap = new k8s.core.v1.ConfigMap(`${name}-config`, { metadata: meta, data: { "config.yml": this.configYaml } }, { parent: this });
        const gateConfigMap = new k8s.core.v1.ConfigMap(
            `${name}-gate`,
            {
                metadata: meta,
                data: {
                    "nginx.conf": gateConf({
                        listen: String(REGISTRY_PORT),
                        realm: args.authRealm ?? "registry",
                        accessLog: log.accessLog,
                        authCacheSeconds: args.gateAuthCacheSeconds ?? GATE_AUTH_CACHE_DEFAULT_SECONDS,
                    }),
                },
            },
            { parent: this },
        );
        const tlsSecret = new k8s.core.v1.Secret(
            `${name}-tls`,
            {
                metadata: meta,
                type: "kubernetes.io/tls",
                stringData: { "tls.crt": args.tls.certificatePem, "tls.key": pulumi.secret(args.tls.privateKeyPem) },
            },
            { parent: this },
        );
        const authSecret = new k8s.core.v1.Secret(
            `${name}-auth`,
            {
                metadata: meta,
                type: "Opaque",
                stringData: {
                    [PULL_HTPASSWD]: pulumi.secret(args.htpasswd.pull),
                    [PUSH_HTPASSWD]: pulumi.secret(args.htpasswd.push),
                    "http-secret": pulumi.secret(args.httpSecret),
                },
            },
            { parent: this },
        );
        const serviceAccount = new k8s.core.v1.ServiceAccount(
            `${name}-sa`,
            {
                metadata: { ...meta, name: args.registryName, annotations: storage.serviceAccountAnnotations },
                // The registry never talks to the Kubernetes API.
                automountServiceAccountToken: false,
            },
            { parent: this },
        );

        const container: k8s.types.input.core.v1.Container = {
            name: "registry",
            image: imageReference(args.image),
            imagePullPolicy: "IfNotPresent",
            command: [REGISTRY_BINARY],
            args: ["serve", configPath(args.image.line)],
            // The API is on the socket (for the gate only); the debug server is the one TCP port.
            ports: [{ name: "metrics", containerPort: DEBUG_PORT, protocol: "TCP" }],
            env: [
                { name: "REGISTRY_HTTP_SECRET", valueFrom: { secretKeyRef: { name: authSecret.metadata.name, key: "http-secret" } } },
                // 3.x exports OpenTelemetry traces to localhost:4318 unless told otherwise.
                { name: "OTEL_TRACES_EXPORTER", value: "none" },
                ...storage.env,
                ...(args.extraEnv ?? []),
            ],
            volumeMounts: [
                { name: "config", mountPath: configDir(args.image.line), readOnly: true },
                { name: GATE_VOLUMES.sockets, mountPath: SOCKET_DIR },
                { name: "tmp", mountPath: "/tmp" },
                ...storage.volumeMounts,
            ],
            // Ready only while the storage driver answers (health.storagedriver).
            readinessProbe: { httpGet: { path: "/debug/health", port: "metrics", scheme: "HTTP" }, periodSeconds: 10, timeoutSeconds: 5, failureThreshold: 3 },
            // A deleted pod leaves the endpoints of load balancers and kube-proxy a moment later
            // (they learn it asynchronously), while the registry stops accepting connections at
            // SIGTERM: without a pause, connections routed to it in between are refused
            // mid-rollout. The grace period includes the pause.
            lifecycle: { preStop: { sleep: { seconds: PRE_STOP_SECONDS } } },
            // The process answers, whatever its storage does (a storage outage must not restart it).
            livenessProbe: {
                httpGet: { path: "/metrics", port: "metrics", scheme: "HTTP" },
                initialDelaySeconds: 5,
                periodSeconds: 20,
                timeoutSeconds: 5,
                failureThreshold: 6,
            },
            resources: {
                requests: { cpu: resources.cpuRequest, memory: resources.memoryRequest },
                limits: {
                    ...(resources.cpuLimit === undefined ? {} : { cpu: resources.cpuLimit }),
                    ...(resources.memoryLimit === undefined ? {} : { memory: resources.memoryLimit }),
                },
            },
            securityContext: restrictedContainerSecurityContext(),
        };

        const podSpec: k8s.types.input.core.v1.PodSpec = {
            serviceAccountName: serviceAccount.metadata.name,
            automountServiceAccountToken: false,
            // Service links would inject REGISTRY_SERVICE_HOST/REGISTRY_PORT..., which the
            // registry reads as config overrides (REGISTRY_* env) and chokes on.
            enableServiceLinks: false,
            terminationGracePeriodSeconds: TERMINATION_GRACE_SECONDS,
            securityContext: {
                runAsNonRoot: true,
                runAsUser: 1000,
                runAsGroup: 1000,
                fsGroup: 1000,
                fsGroupChangePolicy: "OnRootMismatch",
                seccompProfile: { type: "RuntimeDefault" },
            },
            ...args.scheduling,
            containers: [container, gateContainer({ image: args.gateImage, preStopSeconds: PRE_STOP_SECONDS })],
            volumes: [
                { name: "config", configMap: { name: configMap.metadata.name, items: [{ key: "config.yml", path: "config.yml" }] } },
                { name: GATE_VOLUMES.config, configMap: { name: gateConfigMap.metadata.name, items: [{ key: "nginx.conf", path: "nginx.conf" }] } },
                { name: GATE_VOLUMES.tls, secret: { secretName: tlsSecret.metadata.name, defaultMode: 0o440 } },
                {
                    name: GATE_VOLUMES.auth,
                    secret: {
                        secretName: authSecret.metadata.name,
                        items: [PULL_HTPASSWD, PUSH_HTPASSWD].map((f) => ({ key: f, path: f })),
                        defaultMode: 0o440,
                    },
                },
                // The registry's socket: shared by the two containers, by nothing else.
                { name: GATE_VOLUMES.sockets, emptyDir: { sizeLimit: "1Mi" } },
                { name: GATE_VOLUMES.tmp, emptyDir: { sizeLimit: "64Mi" } },
                // The gate's remembered checks, keyed by credentials: in memory, never on the node's disk.
                { name: GATE_VOLUMES.authCache, emptyDir: { medium: "Memory", sizeLimit: "16Mi" } },
                { name: "tmp", emptyDir: { sizeLimit: "1Gi" } },
                ...storage.volumes,
            ],
        };
        this.podSpec = pulumi.output(podSpec);
        this.configFile = configPath(args.image.line);

        this.deployment = new k8s.apps.v1.Deployment(
            `${name}-deployment`,
            {
                metadata: { ...meta, name: args.registryName },
                spec: {
                    replicas,
                    revisionHistoryLimit: 5,
                    selector: { matchLabels: args.selector },
                    // A volume only one pod can mount deadlocks a rolling update; shared storage
                    // rolls with no loss of capacity.
                    strategy: storage.shareable ? { type: "RollingUpdate", rollingUpdate: { maxUnavailable: 0, maxSurge: 1 } } : { type: "Recreate" },
                    template: {
                        metadata: {
                            labels: args.labels,
                            annotations: {
                                "prometheus.io/scrape": "true",
                                "prometheus.io/port": String(DEBUG_PORT),
                                "prometheus.io/path": "/metrics",
                                // `kubectl logs` and `exec` mean the registry unless told `-c gate`.
                                "kubectl.kubernetes.io/default-container": "registry",
                            },
                        },
                        spec: podSpec,
                    },
                },
            },
            // With an autoscaler, a `pulumi up` must not reset the replica count it chose.
            { parent: this, dependsOn: storage.dependsOn, ignoreChanges: args.autoscaled === true ? ["spec.replicas"] : undefined },
        );
        this.deploymentName = this.deployment.metadata.name;

        if (replicas > 1) {
            new k8s.policy.v1.PodDisruptionBudget(
                `${name}-pdb`,
                { metadata: meta, spec: { maxUnavailable: 1, selector: { matchLabels: args.selector } } },
                { parent: this },
            );
        }
        this.registerOutputs({ deploymentName: this.deploymentName });
    }
}
