import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";

import type { Toleration } from "./config";
import { localProxyConf } from "./nginx-conf";
import { tolerationsSpec } from "./node-trust";
import { restrictedContainerSecurityContext } from "../cluster";

/** Where the proxy container finds its files and writes its temp files. */
const CONF_DIR = "/etc/registry-proxy";
const TMP_DIR = "/tmp";
/** The unprivileged nginx image's user and the port it listens on inside the pod. */
const NGINX_UID = 101;
export const LOCAL_PROXY_CONTAINER_PORT = 8080;

/** The proxy pods' labels: a name of their own, so no registry Service can ever select them. */
export function localProxyLabels(instance: string): Record<string, string> {
    return { "app.kubernetes.io/name": "registry-localhost-proxy", "app.kubernetes.io/instance": instance };
}

export interface LocalhostProxyArgs {
    /** Namespace of the DaemonSet; must allow hostPort (Pod Security `privileged`) (no default). */
    readonly namespace: pulumi.Input<string>;
    /** The registry Service's in-cluster FQDN, also the name its certificate is verified by (no default). */
    readonly upstreamFqdn: string;
    /** The registry Service's port (no default). */
    readonly upstreamPort: number;
    /** PEM CA that signed the registry's certificate (no default). */
    readonly caCertificatePem: pulumi.Input<string>;
    /** hostPort on every node. Default 5000. */
    readonly hostPort?: number;
    /** Pinned nginx image that runs as uid 101 (no default). */
    readonly image: string;
    /** Instance label value (no default). */
    readonly instance: string;
    /** Pod tolerations. Default none. */
    readonly tolerations?: readonly Toleration[];
}

/**
 * Kubernetes' registry addon's localhost proxy, kept for clusters whose nodes cannot be changed: a DaemonSet
 * exposing the registry on each node's hostPort, so `localhost:<port>/<image>` works without
 * touching the runtime's trust. It speaks TLS to the registry Service and trusts only its CA.
 * Its pods have their own labels and namespace, so it can never be its own upstream.
 */
export class LocalhostProxy extends pulumi.ComponentResource {
    /** `localhost:<port>`, the registry host to use in pod images. */
    public readonly host: string;

    constructor(name: string, args: LocalhostProxyArgs, opts?: pulumi.ComponentResourceOptions) {
        super("registry:access:LocalhostProxy", name, {}, opts);
        const hostPort = args.hostPort ?? 5000;
        const labels = localProxyLabels(args.instance);
        const meta = { namespace: args.namespace, labels: { ...labels, "app.kubernetes.io/managed-by": "pulumi" } };
        const configMap = new k8s.core.v1.ConfigMap(
            `${name}-localhost-proxy`,
            {
                metadata: meta,
                data: {
                    "nginx.conf": localProxyConf({
                        listen: String(LOCAL_PROXY_CONTAINER_PORT),
                        upstreamHost: args.upstreamFqdn,
                        upstreamPort: args.upstreamPort,
                        upstreamName: args.upstreamFqdn,
                        caFile: `${CONF_DIR}/ca.crt`,
                        tmpDir: TMP_DIR,
                    }),
                    "ca.crt": args.caCertificatePem,
                },
            },
            { parent: this },
        );
        new k8s.apps.v1.DaemonSet(
            `${name}-localhost-proxy`,
            {
                metadata: meta,
                spec: {
                    selector: { matchLabels: labels },
                    updateStrategy: { type: "RollingUpdate", rollingUpdate: { maxUnavailable: 1 } },
                    template: {
                        metadata: { labels },
                        spec: {
                            automountServiceAccountToken: false,
                            enableServiceLinks: false,
                            nodeSelector: { "kubernetes.io/os": "linux" },
                            tolerations: tolerationsSpec(args.tolerations ?? []),
                            securityContext: {
                                runAsNonRoot: true,
                                runAsUser: NGINX_UID,
                                runAsGroup: NGINX_UID,
                                seccompProfile: { type: "RuntimeDefault" },
                            },
                            containers: [
                                {
                                    name: "proxy",
                                    image: args.image,
                                    imagePullPolicy: "IfNotPresent",
                                    // -e: the image's default error log path is on the read-only root.
                                    command: ["nginx", "-e", "/dev/stderr", "-c", `${CONF_DIR}/nginx.conf`],
                                    ports: [{ name: "registry", containerPort: LOCAL_PROXY_CONTAINER_PORT, hostPort, protocol: "TCP" }],
                                    readinessProbe: { tcpSocket: { port: "registry" }, periodSeconds: 10 },
                                    livenessProbe: { tcpSocket: { port: "registry" }, periodSeconds: 20, failureThreshold: 3 },
                                    resources: { requests: { cpu: "10m", memory: "16Mi" }, limits: { memory: "64Mi" } },
                                    volumeMounts: [
                                        { name: "config", mountPath: CONF_DIR, readOnly: true },
                                        { name: "tmp", mountPath: TMP_DIR },
                                    ],
                                    securityContext: restrictedContainerSecurityContext(),
                                },
                            ],
                            volumes: [
                                { name: "config", configMap: { name: configMap.metadata.name } },
                                { name: "tmp", emptyDir: { sizeLimit: "1Gi" } },
                            ],
                        },
                    },
                },
            },
            { parent: this },
        );
        this.host = `localhost:${hostPort}`;
        this.registerOutputs({});
    }
}
