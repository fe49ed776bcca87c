// Finds the registry pod and the objects it references among a run's recorded resources,
// resolving references by name the way the kubelet does.
import * as YAML from "yaml";

import type { RecordedResource } from "./mocks";
import type { ProgramRun } from "./program";

/** The registry pod as the program declares it (under mocks); a PodSource for tests/harness/container.ts. */
export interface RegistryPod {
    readonly deployment: RecordedResource;
    readonly namespace: string;
    readonly podSpec: Record<string, any>;
    readonly container: Record<string, any>;
    /** ConfigMaps and Secrets in the pod's namespace, by object name. */
    readonly configMaps: Map<string, RecordedResource>;
    readonly secrets: Map<string, RecordedResource>;
    /** The ConfigMap holding config.yml, and the parsed file. */
    readonly configMap: RecordedResource;
    readonly config: Record<string, any>;
    secretData(name: string): Record<string, string> | undefined;
    configMapData(name: string): Record<string, string> | undefined;
}

function byName(run: ProgramRun, kind: string, namespace: string): Map<string, RecordedResource> {
    return new Map(
        run.resources
            .filter((r) => r.type === `kubernetes:core/v1:${kind}` && r.state.metadata?.namespace === namespace)
            .map((r) => [r.state.metadata.name as string, r]),
    );
}

/** The value of a Secret key (stringData, or base64 data). */
export function secretValue(secret: RecordedResource, key: string): string | undefined {
    const s = secret.inputs.stringData?.[key];
    if (typeof s === "string") {
        return s;
    }
    const d = secret.inputs.data?.[key];
    return typeof d === "string" ? Buffer.from(d, "base64").toString("utf8") : undefined;
}

/** The user names of an htpasswd file in a Secret, in file order. */
export function htpasswdUsers(secret: RecordedResource, key: string): string[] {
    return (secretValue(secret, key) ?? "")
        .split("\n")
        .filter(Boolean)
        .map((l) => l.split(":")[0]);
}

/** The registry Deployment (the one running the `registry` container) and what it references. */
export function registryPod(run: ProgramRun, deploymentName = "registry"): RegistryPod {
    const deployments = run.resources.filter((r) => r.type === "kubernetes:apps/v1:Deployment" && r.state.metadata?.name === deploymentName);
    if (deployments.length !== 1) {
        throw new Error(`expected one Deployment ${deploymentName}, found ${deployments.length}`);
    }
    const deployment = deployments[0];
    const namespace = deployment.state.metadata.namespace as string;
    const podSpec = deployment.inputs.spec.template.spec as Record<string, any>;
    const container = (podSpec.containers as Record<string, any>[]).find((c) => c.name === "registry");
    if (container === undefined) {
        throw new Error("the Deployment has no `registry` container");
    }
    const configMaps = byName(run, "ConfigMap", namespace);
    const secrets = byName(run, "Secret", namespace);
    const configVolume = (podSpec.volumes as Record<string, any>[]).find((v) => v.name === "config");
    const configMap = configMaps.get(configVolume?.configMap?.name);
    if (configMap === undefined) {
        throw new Error(`the config volume references ConfigMap ${String(configVolume?.configMap?.name)}, which the program does not create`);
    }
    return {
        deployment,
        namespace,
        podSpec,
        container,
        configMaps,
        secrets,
        configMap,
        config: YAML.parse(configMap.inputs.data["config.yml"]),
        secretData(name) {
            const obj = secrets.get(name);
            return obj === undefined
                ? undefined
                : Object.fromEntries(
                      [...Object.keys(obj.inputs.stringData ?? {}), ...Object.keys(obj.inputs.data ?? {})].map((k) => [k, secretValue(obj, k) ?? ""]),
                  );
        },
        configMapData(name) {
            const obj = configMaps.get(name);
            return obj === undefined ? undefined : { ...(obj.inputs.data ?? {}) };
        },
    };
}
