import * as fs from "fs";
import * as path from "path";
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import * as TOML from "smol-toml";

import { hostWithPort } from "../registry/endpoints";
import type { Toleration } from "./config";

/** Where containerd (config_path) and Docker look for per-registry CAs on a node. */
export const CONTAINERD_CERTS_DIR = "/etc/containerd/certs.d";
export const DOCKER_CERTS_DIR = "/etc/docker/certs.d";
/** Where the DaemonSet's container sees them, and its ConfigMap. */
const MOUNT = { containerd: "/host/containerd/certs.d", docker: "/host/docker/certs.d", source: "/etc/registry-trust" } as const;

/** The shell script the DaemonSet runs (busybox sh); also run for real by the unit tests. */
export const NODE_TRUST_SCRIPT = fs.readFileSync(path.join(__dirname, "node-trust.sh"), "utf8");

/** Every `host[:port]` the registry is reached by: public names, in-cluster names, the load balancer. */
export function reachableHosts(args: {
    publicNames: readonly string[];
    clusterDnsNames: readonly string[];
    loadBalancerAddress: string;
    port: number;
}): string[] {
    const names = [...args.publicNames, ...args.clusterDnsNames, ...(args.loadBalancerAddress === "" ? [] : [args.loadBalancerAddress])];
    return [...new Set(names.map((n) => hostWithPort(n, args.port)))];
}

/**
 * containerd's `certs.d/<host>/hosts.toml` for the registry at `host` (a `host[:port]`): the
 * registry itself is the server (no mirror), verified with the CA installed next to the file.
 * Nodes only pull: containerd uses the host to pull and resolve, never to push.
 */
export function containerdHostsToml(host: string, certsDir = CONTAINERD_CERTS_DIR): string {
    return TOML.stringify({
        server: `https://${host}`,
        ca: `${certsDir}/${host}/ca.crt`,
        capabilities: ["pull", "resolve"],
    });
}

/** The files of the DaemonSet's ConfigMap: the script, the CA, the host list and one hosts.toml per host. */
export function nodeTrustFiles(hosts: readonly string[], caPem: string): Record<string, string> {
    return {
        "node-trust.sh": NODE_TRUST_SCRIPT,
        "ca.crt": caPem,
        hosts: hosts.map((h) => `${h}\n`).join(""),
        ...Object.fromEntries(hosts.map((h, i) => [`host-${i}.toml`, containerdHostsToml(h)])),
    };
}

/** Kubernetes tolerations from the parsed config. */
export function tolerationsSpec(tolerations: readonly Toleration[]): k8s.types.input.core.v1.Toleration[] {
    return tolerations.map((t) => ({ ...t }));
}

export interface NodeTrustArgs {
    /** Namespace of the DaemonSet; must allow hostPath (Pod Security `privileged`) (no default). */
    readonly namespace: pulumi.Input<string>;
    /** Every `host[:port]` to trust the CA for (no default). */
    readonly hosts: pulumi.Input<string[]>;
    /** PEM CA certificate to install (no default). */
    readonly caCertificatePem: pulumi.Input<string>;
    /** Names the owner in the marker file of each directory it writes, e.g. `registry/registry` (no default). */
    readonly owner: string;
    /** Pinned image with a POSIX shell, cp, cmp (no default). */
    readonly image: string;
    /** Instance label value (no default). */
    readonly instance: string;
    /** Pod tolerations. Default: none. */
    readonly tolerations?: readonly Toleration[];
    /** Seconds between re-syncs. Default 60. */
    readonly intervalSeconds?: number;
}

/**
 * A DaemonSet that writes the registry's CA into each node's containerd `certs.d` (with a
 * `hosts.toml`) and Docker `certs.d`, for every name the registry is reached by, and keeps it in
 * sync. Runs as root (the directories are root's) with no capabilities, no privilege escalation,
 * a read-only root filesystem and only those two host directories mounted.
 */
export class NodeTrust extends pulumi.ComponentResource {
    /** The DaemonSet's name. */
    public readonly daemonSetName: pulumi.Output<string>;

    constructor(name: string, args: NodeTrustArgs, opts?: pulumi.ComponentResourceOptions) {
        super("registry:access:NodeTrust", name, {}, opts);
        const labels = { "app.kubernetes.io/name": "registry-node-trust", "app.kubernetes.io/instance": args.instance };
        const meta = { namespace: args.namespace, labels: { ...labels, "app.kubernetes.io/managed-by": "pulumi" } };
        // Auto-named: a new CA (or host list) makes a new ConfigMap, which rolls the DaemonSet;
        // the script's loop also picks up in-place updates and repairs removed files.
        const configMap = new k8s.core.v1.ConfigMap(
            `${name}-node-trust`,
            { metadata: meta, data: pulumi.all([args.hosts, args.caCertificatePem]).apply(([hosts, ca]) => nodeTrustFiles(hosts, ca)) },
            { parent: this },
        );
        const ds = new k8s.apps.v1.DaemonSet(
            `${name}-node-trust`,
            {
                metadata: meta,
                spec: {
                    selector: { matchLabels: labels },
                    updateStrategy: { type: "RollingUpdate", rollingUpdate: { maxUnavailable: "25%" } },
                    template: {
                        metadata: { labels },
                        spec: {
                            automountServiceAccountToken: false,
                            enableServiceLinks: false,
                            nodeSelector: { "kubernetes.io/os": "linux" },
                            tolerations: tolerationsSpec(args.tolerations ?? []),
                            terminationGracePeriodSeconds: 5,
                            containers: [
                                {
                                    name: "node-trust",
                                    image: args.image,
                                    imagePullPolicy: "IfNotPresent",
                                    command: ["/bin/sh", `${MOUNT.source}/node-trust.sh`],
                                    env: [
                                        { name: "SOURCE_DIR", value: MOUNT.source },
                                        { name: "CONTAINERD_CERTS_DIR", value: MOUNT.containerd },
                                        { name: "DOCKER_CERTS_DIR", value: MOUNT.docker },
                                        { name: "OWNER", value: args.owner },
                                        { name: "INTERVAL", value: String(args.intervalSeconds ?? 60) },
                                    ],
                                    volumeMounts: [
                                        { name: "source", mountPath: MOUNT.source, readOnly: true },
                                        { name: "containerd-certs", mountPath: MOUNT.containerd },
                                        { name: "docker-certs", mountPath: MOUNT.docker },
                                    ],
                                    resources: { requests: { cpu: "5m", memory: "8Mi" }, limits: { memory: "32Mi" } },
                                    // Root only because the host directories belong to root; no
                                    // capability is needed to write files one owns.
                                    securityContext: {
                                        runAsUser: 0,
                                        runAsGroup: 0,
                                        runAsNonRoot: false,
                                        privileged: false,
                                        allowPrivilegeEscalation: false,
                                        readOnlyRootFilesystem: true,
                                        capabilities: { drop: ["ALL"] },
                                        seccompProfile: { type: "RuntimeDefault" },
                                    },
                                },
                            ],
                            volumes: [
                                { name: "source", configMap: { name: configMap.metadata.name, defaultMode: 0o444 } },
                                { name: "containerd-certs", hostPath: { path: CONTAINERD_CERTS_DIR, type: "DirectoryOrCreate" } },
                                { name: "docker-certs", hostPath: { path: DOCKER_CERTS_DIR, type: "DirectoryOrCreate" } },
                            ],
                        },
                    },
                },
            },
            { parent: this },
        );
        this.daemonSetName = ds.metadata.name;
        this.registerOutputs({ daemonSetName: this.daemonSetName });
    }
}
