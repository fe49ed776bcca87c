// What a pod's containers are made from, read from the API server as a kubelet reads it when the
// pod starts: its Secrets and ConfigMaps, projected volumes (service account tokens among them),
// and the directories of its claims' PersistentVolumes.
import * as k8s from "@kubernetes/client-node";

import { PodSource } from "../../harness/container";

/** The pod's referenced objects, read from the API server now (a kubelet reads them at start). */
export async function podSource(kc: k8s.KubeConfig, pod: k8s.V1Pod, container: k8s.V1Container): Promise<PodSource> {
    const ns = pod.metadata?.namespace ?? "";
    const core = kc.makeApiClient(k8s.CoreV1Api);
    const secrets = new Map<string, Record<string, string> | undefined>();
    const configMaps = new Map<string, Record<string, string> | undefined>();
    const projected = new Map<string, Record<string, string>>();
    const secretNames = new Set<string>();
    const configMapNames = new Set<string>();
    for (const v of pod.spec?.volumes ?? []) {
        if (v.secret?.secretName !== undefined) {
            secretNames.add(v.secret.secretName);
        }
        if (v.configMap?.name !== undefined) {
            configMapNames.add(v.configMap.name);
        }
    }
    for (const e of container.env ?? []) {
        if (e.valueFrom?.secretKeyRef?.name !== undefined) {
            secretNames.add(e.valueFrom.secretKeyRef.name);
        }
        if (e.valueFrom?.configMapKeyRef?.name !== undefined) {
            configMapNames.add(e.valueFrom.configMapKeyRef.name);
        }
    }
    for (const name of secretNames) {
        secrets.set(name, await readOrUndefined(async () => decodeSecret((await core.readNamespacedSecret(name, ns)).body)));
    }
    for (const name of configMapNames) {
        configMaps.set(name, await readOrUndefined(async () => ({ ...((await core.readNamespacedConfigMap(name, ns)).body.data ?? {}) })));
    }
    for (const v of pod.spec?.volumes ?? []) {
        if (v.projected !== undefined) {
            projected.set(v.name, await projectedFiles(kc, pod, v.projected));
        }
    }
    return {
        namespace: ns,
        podSpec: pod.spec as PodSource["podSpec"],
        container: container as PodSource["container"],
        secretData: (name) => secrets.get(name),
        configMapData: (name) => configMaps.get(name),
        projectedFiles: (name) => projected.get(name),
    };
}

/** A projected volume's files: a bound service account token, ConfigMap keys, the namespace. */
async function projectedFiles(kc: k8s.KubeConfig, pod: k8s.V1Pod, projected: k8s.V1ProjectedVolumeSource): Promise<Record<string, string>> {
    const ns = pod.metadata?.namespace ?? "";
    const core = kc.makeApiClient(k8s.CoreV1Api);
    const files: Record<string, string> = {};
    for (const src of projected.sources ?? []) {
        if (src.serviceAccountToken !== undefined) {
            const sa = pod.spec?.serviceAccountName ?? "default";
            const req = await core.createNamespacedServiceAccountToken(sa, ns, {
                spec: {
                    audiences: src.serviceAccountToken.audience === undefined ? [] : [src.serviceAccountToken.audience],
                    expirationSeconds: src.serviceAccountToken.expirationSeconds ?? 3607,
                    boundObjectRef: { kind: "Pod", apiVersion: "v1", name: pod.metadata?.name, uid: pod.metadata?.uid },
                },
            });
            files[src.serviceAccountToken.path] = req.body.status?.token ?? "";
        } else if (src.configMap !== undefined) {
            const data = (await core.readNamespacedConfigMap(src.configMap.name ?? "", ns)).body.data ?? {};
            for (const item of src.configMap.items ?? Object.keys(data).map((key) => ({ key, path: key }))) {
                files[item.path] = data[item.key] ?? "";
            }
        } else if (src.downwardAPI !== undefined) {
            for (const item of src.downwardAPI.items ?? []) {
                const field = item.fieldRef?.fieldPath;
                if (field !== "metadata.namespace" && field !== "metadata.name") {
                    throw new Error(`projected downwardAPI field ${String(field)} is not supported by the stand-in kubelet`);
                }
                files[item.path] = field === "metadata.namespace" ? ns : (pod.metadata?.name ?? "");
            }
        } else if (src.secret !== undefined) {
            const data = decodeSecret((await core.readNamespacedSecret(src.secret.name ?? "", ns)).body);
            for (const item of src.secret.items ?? Object.keys(data).map((key) => ({ key, path: key }))) {
                files[item.path] = data[item.key] ?? "";
            }
        }
    }
    return files;
}

/** Each claim's directory: the hostPath of the PersistentVolume bound to it. */
export async function claimDirs(kc: k8s.KubeConfig, pod: k8s.V1Pod): Promise<Record<string, string>> {
    const ns = pod.metadata?.namespace ?? "";
    const core = kc.makeApiClient(k8s.CoreV1Api);
    const dirs: Record<string, string> = {};
    for (const v of pod.spec?.volumes ?? []) {
        const claim = v.persistentVolumeClaim?.claimName;
        if (claim === undefined) {
            continue;
        }
        const pvc = (await core.readNamespacedPersistentVolumeClaim(claim, ns)).body;
        const pvName = pvc.spec?.volumeName;
        if (pvName === undefined || pvc.status?.phase !== "Bound") {
            throw new Error(`claim ${ns}/${claim} is not bound`);
        }
        const hostPath = (await core.readPersistentVolume(pvName)).body.spec?.hostPath?.path;
        if (hostPath === undefined) {
            throw new Error(`PersistentVolume ${pvName} is not a hostPath volume; the stand-in kubelet mounts only those`);
        }
        dirs[claim] = hostPath;
    }
    return dirs;
}

function decodeSecret(secret: k8s.V1Secret): Record<string, string> {
    return {
        ...Object.fromEntries(Object.entries(secret.data ?? {}).map(([k, v]) => [k, Buffer.from(v, "base64").toString("utf8")])),
        ...(secret.stringData ?? {}),
    };
}

async function readOrUndefined<T>(read: () => Promise<T>): Promise<T | undefined> {
    try {
        return await read();
    } catch (err) {
        if ((err as { statusCode?: number }).statusCode === 404) {
            return undefined;
        }
        throw err;
    }
}
