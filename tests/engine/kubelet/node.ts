// The stand-in kubelet's Node: registered with its status and Lease, both renewed by the
// heartbeat as a kubelet renews them.
import * as k8s from "@kubernetes/client-node";

import * as tools from "../tools.json";

const NODE_LEASE_NAMESPACE = "kube-node-lease";
const LEASE_SECONDS = 40;
export const HEARTBEAT_MS = 10_000;

/** Creates the Node with its status and its Lease. */
export async function registerNode(kc: k8s.KubeConfig, nodeName: string, logPort: number): Promise<void> {
    const core = kc.makeApiClient(k8s.CoreV1Api);
    const now = new Date();
    const node: k8s.V1Node = {
        metadata: {
            name: nodeName,
            labels: {
                "kubernetes.io/hostname": nodeName,
                "kubernetes.io/os": "linux",
                "kubernetes.io/arch": "amd64",
                "topology.kubernetes.io/zone": "e2e-a",
            },
        },
    };
    await core.createNode(node);
    await core.patchNodeStatus(nodeName, { status: nodeStatus(now, logPort) }, undefined, undefined, "e2e-kubelet", undefined, undefined, {
        headers: { "Content-Type": k8s.PatchUtils.PATCH_FORMAT_STRATEGIC_MERGE_PATCH },
    });
    const coordination = kc.makeApiClient(k8s.CoordinationV1Api);
    await coordination.createNamespacedLease(NODE_LEASE_NAMESPACE, {
        metadata: { name: nodeName, namespace: NODE_LEASE_NAMESPACE },
        spec: { holderIdentity: nodeName, leaseDurationSeconds: LEASE_SECONDS, renewTime: microTime(now) as unknown as Date },
    });
}

function nodeStatus(now: Date, logPort: number): k8s.V1NodeStatus {
    const cond = (type: string, status: string, reason: string): k8s.V1NodeCondition => ({
        type,
        status,
        reason,
        message: reason,
        lastHeartbeatTime: now,
        lastTransitionTime: now,
    });
    const resources = { cpu: "4", memory: "16Gi", pods: "110", "ephemeral-storage": "100Gi" };
    return {
        capacity: resources,
        allocatable: resources,
        // Only the IP: the API server reaches a kubelet by the first address type it prefers
        // that the node has (Hostname first), and the node's name resolves nowhere.
        addresses: [{ type: "InternalIP", address: "127.0.0.1" }],
        daemonEndpoints: { kubeletEndpoint: { Port: logPort } },
        conditions: [
            cond("Ready", "True", "KubeletReady"),
            cond("MemoryPressure", "False", "KubeletHasSufficientMemory"),
            cond("DiskPressure", "False", "KubeletHasNoDiskPressure"),
            cond("PIDPressure", "False", "KubeletHasSufficientPID"),
        ],
        nodeInfo: {
            architecture: "amd64",
            bootID: "e2e",
            containerRuntimeVersion: "e2e://stand-in",
            kernelVersion: "",
            kubeProxyVersion: "",
            kubeletVersion: tools.kubernetes.version,
            machineID: "e2e",
            operatingSystem: "linux",
            osImage: "e2e stand-in kubelet",
            systemUUID: "e2e",
        },
    };
}

/** Renews the Lease and the Node's conditions, as of `now`. */
export async function renewNode(kc: k8s.KubeConfig, nodeName: string, logPort: number, now: Date): Promise<void> {
    const coordination = kc.makeApiClient(k8s.CoordinationV1Api);
    await coordination.patchNamespacedLease(
        nodeName,
        NODE_LEASE_NAMESPACE,
        { spec: { renewTime: microTime(now) } },
        undefined,
        undefined,
        "e2e-kubelet",
        undefined,
        undefined,
        { headers: { "Content-Type": k8s.PatchUtils.PATCH_FORMAT_JSON_MERGE_PATCH } },
    );
    const core = kc.makeApiClient(k8s.CoreV1Api);
    await core.patchNodeStatus(
        nodeName,
        { status: { conditions: nodeStatus(now, logPort).conditions } },
        undefined,
        undefined,
        "e2e-kubelet",
        undefined,
        undefined,
        {
            headers: { "Content-Type": k8s.PatchUtils.PATCH_FORMAT_STRATEGIC_MERGE_PATCH },
        },
    );
}

/** RFC 3339 with microseconds, the form Lease's MicroTime fields take. */
function microTime(d: Date): string {
    return d.toISOString().replace(/\.(\d{3})Z$/, ".$1000Z");
}
