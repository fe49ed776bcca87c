// The first `pulumi up` must not wait on itself.
//
// The Kubernetes provider reports some objects created only once they are "ready": a Service
// once it has ready endpoints (pods it selects), a Deployment once its pods are available. If a
// workload's pods depend (through inputs or dependsOn, transitively) on a Service that selects
// them, and that Service is awaited the default way, the update deadlocks until the provider's
// 10-minute timeout. These tests take the dependency graph the program registers (the engine's
// view: every resource's dependency URNs) and refuse any such cycle, for every stack and variant.
import * as assert from "assert";

import { RecordedResource } from "./support/mocks";
import { ProgramRun, runProgram } from "./support/program";
import { allConfigs } from "./support/variants";

const WORKLOAD_KINDS = new Set(["Deployment", "StatefulSet", "DaemonSet", "Job", "CronJob"]);

/** `type::name`, the part of a URN that identifies a resource whatever its parent chain. */
export function urnKey(urn: string): string {
    const parts = urn.split("::");
    const name = parts[parts.length - 1];
    const type = parts[parts.length - 2].split("$").pop() ?? "";
    return `${type}::${name}`;
}

/** Every resource `r` depends on, directly or through others. */
export function transitiveDependencies(run: ProgramRun, r: RecordedResource): Set<string> {
    const byKey = new Map(run.resources.map((x) => [urnKey(x.urn), x]));
    const seen = new Set<string>();
    const stack = [...r.options.dependencies.map(urnKey)];
    while (stack.length > 0) {
        const k = stack.pop() as string;
        if (seen.has(k)) {
            continue;
        }
        seen.add(k);
        stack.push(...(byKey.get(k)?.options.dependencies.map(urnKey) ?? []));
    }
    return seen;
}

function kindOf(r: RecordedResource): string {
    return r.type.split(":").pop() ?? "";
}

function podLabels(w: RecordedResource): Record<string, string> {
    const spec = w.inputs.spec ?? {};
    const template = kindOf(w) === "CronJob" ? spec.jobTemplate?.spec?.template : spec.template;
    return template?.metadata?.labels ?? {};
}

function selects(selector: Record<string, string>, labels: Record<string, string>): boolean {
    const entries = Object.entries(selector);
    return entries.length > 0 && entries.every(([k, v]) => labels[k] === v);
}

/** Whether the provider waits for the Service's endpoints (its default) before reporting it created. */
function awaitsEndpoints(svc: RecordedResource): boolean {
    const annotations: Record<string, string> = svc.inputs.metadata?.annotations ?? {};
    return annotations["pulumi.com/waitFor"] === undefined && annotations["pulumi.com/skipAwait"] !== "true";
}

/** Pairs (Service, workload) where the workload's pods wait for a Service that waits for them. */
export function awaitCycles(run: ProgramRun): string[] {
    const services = run.resources.filter((r) => r.type === "kubernetes:core/v1:Service");
    const workloads = run.resources.filter((r) => r.type.startsWith("kubernetes:") && WORKLOAD_KINDS.has(kindOf(r)));
    const cycles: string[] = [];
    for (const w of workloads) {
        const deps = transitiveDependencies(run, w);
        for (const s of services) {
            const sameNamespace = (s.state.metadata?.namespace ?? "") === (w.state.metadata?.namespace ?? "");
            if (sameNamespace && awaitsEndpoints(s) && selects(s.inputs.spec?.selector ?? {}, podLabels(w)) && deps.has(urnKey(s.urn))) {
                cycles.push(`${w.name} waits for Service ${s.name}, which waits for ${w.name}'s pods`);
            }
        }
    }
    return cycles;
}

describe("await order of the first `pulumi up`", () => {
    for (const [label, config] of allConfigs()) {
        it(`${label}: no workload waits for a Service that waits for its pods`, async () => {
            const run = await runProgram(config);
            assert.strictEqual(run.error, undefined, String(run.error));
            // The check must have something to look at: the registry's Deployment depends on its
            // Service (the load balancer address is in the certificate), so this is not vacuous.
            const deployment = run.resources.find((r) => r.type === "kubernetes:apps/v1:Deployment" && r.name.endsWith("-deployment"));
            assert.ok(deployment !== undefined, "no registry Deployment");
            const service = run.resources.find((r) => r.type === "kubernetes:core/v1:Service" && r.name.endsWith("-service"));
            assert.ok(service !== undefined, "no registry Service");
            assert.ok(transitiveDependencies(run, deployment).has(urnKey(service.urn)), "the Deployment no longer depends on the Service");
            assert.deepStrictEqual(awaitCycles(run), []);
        });
    }

    it("the registry Service is awaited for its address, not for pods", async () => {
        for (const [type, expected] of [
            ["LoadBalancer", "jsonpath={.status.loadBalancer.ingress}"],
            ["ClusterIP", "jsonpath={.spec.clusterIP}"],
            ["NodePort", "jsonpath={.spec.clusterIP}"],
        ] as const) {
            const run = await runProgram({ serviceType: type });
            const svc = run.resources.find((r) => r.type === "kubernetes:core/v1:Service" && r.name.endsWith("-service"));
            assert.strictEqual(svc?.inputs.metadata.annotations["pulumi.com/waitFor"], expected, type);
        }
    });

    it("the check finds the cycle when the Service is awaited the default way", async () => {
        // The same program, with the annotation taken off the recorded Service: the cycle the
        // annotation prevents must be reported.
        const run = await runProgram({});
        const resources = run.resources.map((r) => {
            if (r.type !== "kubernetes:core/v1:Service") {
                return r;
            }
            const inputs = JSON.parse(JSON.stringify(r.inputs));
            delete inputs.metadata.annotations["pulumi.com/waitFor"];
            return { ...r, inputs };
        });
        const cycles = awaitCycles({ ...run, resources });
        assert.strictEqual(cycles.length, 1, cycles.join("\n"));
        assert.match(cycles[0], /registry-deployment waits for Service registry-service/);
    });
});
