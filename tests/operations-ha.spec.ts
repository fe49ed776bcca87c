// Day-2 operations: HA scheduling and autoscaling of the registry Deployment, under mocks.
import * as assert from "assert";

import { registryPod, secretValue } from "./support/pod";
import { ofType, one } from "./support/program";
import { deployment, run } from "./support/operations-fixtures";

describe("operations: high availability", () => {
    it("several replicas: hard anti-affinity over nodes, zone spread, rolling update that keeps capacity, PDB", async () => {
        const r = await run("haAutoscaled");
        const spec = deployment(r).inputs.spec;
        const selector = spec.selector.matchLabels;
        assert.deepStrictEqual(spec.template.spec.affinity, {
            podAntiAffinity: {
                requiredDuringSchedulingIgnoredDuringExecution: [{ labelSelector: { matchLabels: selector }, topologyKey: "kubernetes.io/hostname" }],
            },
        });
        assert.deepStrictEqual(spec.template.spec.topologySpreadConstraints, [
            { maxSkew: 1, topologyKey: "topology.kubernetes.io/zone", whenUnsatisfiable: "ScheduleAnyway", labelSelector: { matchLabels: selector } },
        ]);
        assert.deepStrictEqual(spec.strategy, { type: "RollingUpdate", rollingUpdate: { maxUnavailable: 0, maxSurge: 1 } });
        const pdb = one(r, "kubernetes:policy/v1:PodDisruptionBudget");
        assert.deepStrictEqual(pdb.inputs.spec, { maxUnavailable: 1, selector: { matchLabels: selector } });
    });

    it("the autoscaler scales the registry Deployment on CPU from replicas up, and `pulumi up` leaves its count alone", async () => {
        const r = await run("haAutoscaled");
        const hpa = one(r, "kubernetes:autoscaling/v2:HorizontalPodAutoscaler");
        assert.deepStrictEqual(hpa.inputs.spec.scaleTargetRef, { apiVersion: "apps/v1", kind: "Deployment", name: "registry" });
        assert.strictEqual(hpa.inputs.spec.minReplicas, 2);
        assert.strictEqual(hpa.inputs.spec.maxReplicas, 6);
        assert.deepStrictEqual(hpa.inputs.spec.metrics, [
            { type: "Resource", resource: { name: "cpu", target: { type: "Utilization", averageUtilization: 75 } } },
        ]);
        assert.deepStrictEqual(deployment(r).options.ignoreChanges, ["spec.replicas"]);
    });

    it("soft anti-affinity is preferred, not required; a single pod gets no scheduling constraints and no autoscaler", async () => {
        const rwx = await run("rwx-soft", { storageAccessMode: "ReadWriteMany", replicas: 2, topologySpreadZones: false });
        const affinity = deployment(rwx).inputs.spec.template.spec.affinity;
        assert.strictEqual(affinity.podAntiAffinity.preferredDuringSchedulingIgnoredDuringExecution[0].weight, 100);
        assert.strictEqual(affinity.podAntiAffinity.requiredDuringSchedulingIgnoredDuringExecution, undefined);
        assert.strictEqual(deployment(rwx).inputs.spec.template.spec.topologySpreadConstraints, undefined);
        const single = await run("defaults", {});
        const spec = deployment(single).inputs.spec.template.spec;
        assert.strictEqual(spec.affinity, undefined);
        assert.strictEqual(spec.topologySpreadConstraints, undefined);
        assert.deepStrictEqual(ofType(single, "kubernetes:autoscaling/v2:HorizontalPodAutoscaler"), []);
        assert.deepStrictEqual(deployment(single).options.ignoreChanges, []);
    });

    it("every replica gets the same http.secret from one Secret", async () => {
        const pod = registryPod(await run("haAutoscaled"));
        const env = (pod.container.env as Record<string, any>[]).find((e) => e.name === "REGISTRY_HTTP_SECRET");
        const secret = pod.secrets.get(env?.valueFrom.secretKeyRef.name);
        assert.ok(secret !== undefined);
        assert.strictEqual((secretValue(secret, "http-secret") ?? "").length, 64);
    });
});
