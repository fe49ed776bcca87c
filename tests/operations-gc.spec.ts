// Day-2 operations: garbage collection under maintenance. The CronJob, Job and Role under mocks;
// gc.sh run for real by /bin/sh against a recording kubectl.
import * as assert from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";

import { GC_SCRIPT, gcArgs } from "../components/operations";
import { validateObject } from "./support/k8s-schema";
import { registryPod } from "./support/pod";
import { ofType, one, ProgramRun, ROOT } from "./support/program";
import { scratchDir } from "./support/scratch";
import { run, selects } from "./support/operations-fixtures";

describe("operations: garbage collection", () => {
    function gcObjects(r: ProgramRun) {
        const cron = one(r, "kubernetes:batch/v1:CronJob");
        const cm = one(r, "kubernetes:core/v1:ConfigMap", "registry-gc-script");
        return { cron, cm, job: JSON.parse(cm.inputs.data["job.json"]) as Record<string, any> };
    }

    it("off by default", async () => {
        assert.deepStrictEqual(ofType(await run("defaults", {}), "kubernetes:batch/v1:CronJob"), []);
    });

    it("the CronJob runs gc.sh with kubectl, never twice at once, read-only mode on shared storage", async () => {
        const { cron, cm } = gcObjects(await run("haAutoscaled"));
        assert.strictEqual(cron.inputs.spec.schedule, "0 3 * * 0");
        assert.strictEqual(cron.inputs.spec.concurrencyPolicy, "Forbid");
        const pod = cron.inputs.spec.jobTemplate.spec.template.spec;
        const c = pod.containers[0];
        assert.strictEqual(c.image, "docker.io/alpine/k8s:1.33.4");
        assert.deepStrictEqual(c.command, ["/bin/sh", "/etc/registry-gc/gc.sh"]);
        const env = Object.fromEntries((c.env as Record<string, any>[]).map((e) => [e.name, e.value ?? e.valueFrom]));
        assert.strictEqual(env.MODE, "readonly");
        assert.strictEqual(env.DEPLOYMENT, "registry");
        assert.deepStrictEqual(env.NAMESPACE, { fieldRef: { fieldPath: "metadata.namespace" } });
        assert.strictEqual(cm.inputs.data["gc.sh"], fs.readFileSync(path.join(ROOT, "components", "operations", "gc.sh"), "utf8"));
        assert.strictEqual(pod.serviceAccountName, one(await run("haAutoscaled"), "kubernetes:core/v1:ServiceAccount", "registry-gc-sa").state.metadata.name);
        assert.strictEqual(pod.automountServiceAccountToken, undefined, "kubectl needs the service account token");
    });

    it("a ReadWriteOnce volume is collected by scaling the registry to 0 (the Job could not mount it otherwise)", async () => {
        const { cron, job } = gcObjects(await run("gcOnReadWriteOnce"));
        const env = Object.fromEntries(
            (cron.inputs.spec.jobTemplate.spec.template.spec.containers[0].env as Record<string, any>[]).map((e) => [e.name, e.value]),
        );
        assert.strictEqual(env.MODE, "scale");
        assert.deepStrictEqual(job.spec.template.spec.containers[0].args, ["garbage-collect", "--dry-run=true", "/etc/distribution/config.yml"]);
    });

    it("the GC Job is the registry's own pod spec running garbage-collect: same image, config, volumes, env; no probes, no ports", async () => {
        const r = await run("haAutoscaled");
        const { job } = gcObjects(r);
        const pod = registryPod(r);
        assert.deepStrictEqual(validateObject(job), []);
        assert.strictEqual(job.spec.backoffLimit, 0);
        assert.strictEqual(job.metadata.generateName, "registry-gc-");
        const spec = job.spec.template.spec;
        assert.strictEqual(spec.restartPolicy, "Never");
        assert.deepStrictEqual(spec.volumes, pod.podSpec.volumes);
        assert.strictEqual(spec.serviceAccountName, pod.podSpec.serviceAccountName);
        assert.strictEqual(spec.affinity, undefined, "anti-affinity against registry pods could leave the Job nowhere to run");
        const c = spec.containers[0];
        assert.strictEqual(c.image, pod.container.image);
        assert.deepStrictEqual(c.command, ["/bin/registry"]);
        assert.deepStrictEqual(c.args, ["garbage-collect", "--delete-untagged=true", "/etc/distribution/config.yml"]);
        assert.deepStrictEqual(c.env, pod.container.env);
        assert.deepStrictEqual(c.volumeMounts, pod.container.volumeMounts);
        assert.deepStrictEqual(c.securityContext, pod.container.securityContext);
        for (const k of ["ports", "readinessProbe", "livenessProbe"]) {
            assert.strictEqual(c[k], undefined, k);
        }
        // Neither the Job's pods nor the procedure's count as registry pods (Service, PDB, rollout).
        const selector = pod.deployment.inputs.spec.selector.matchLabels;
        assert.ok(!selects(selector, job.spec.template.metadata.labels));
        assert.ok(!selects(selector, one(r, "kubernetes:batch/v1:CronJob").inputs.spec.jobTemplate.spec.template.metadata.labels));
    });

    it("the procedure's Role allows only what gc.sh does, in the namespace", async () => {
        const r = await run("haAutoscaled");
        const role = one(r, "kubernetes:rbac.authorization.k8s.io/v1:Role");
        const verbs = (role.inputs.rules as { resources: string[]; verbs: string[] }[]).flatMap((rule) =>
            rule.resources.flatMap((res) => rule.verbs.map((v) => `${v} ${res}`)),
        );
        for (const v of verbs) {
            assert.ok(!/^(delete|deletecollection|\*) /.test(v) && !/secrets/.test(v), `too wide: ${v}`);
        }
        assert.ok(verbs.includes("create jobs") && verbs.includes("patch deployments") && verbs.includes("patch deployments/scale"));
        const binding = one(r, "kubernetes:rbac.authorization.k8s.io/v1:RoleBinding");
        assert.strictEqual(binding.inputs.roleRef.name, role.state.metadata.name);
    });

    it("gcArgs: flags before the config path", () => {
        assert.deepStrictEqual(gcArgs("/c.yml", { deleteUntagged: false, dryRun: false }), ["garbage-collect", "/c.yml"]);
        assert.deepStrictEqual(gcArgs("/c.yml", { deleteUntagged: true, dryRun: true }), [
            "garbage-collect",
            "--delete-untagged=true",
            "--dry-run=true",
            "/c.yml",
        ]);
    });

    describe("gc.sh, run by /bin/sh against a recording kubectl", () => {
        /**
         * Runs gc.sh with a fake kubectl on PATH that records its arguments and answers `get`
         * from the given table (jsonpath → output); `jobState` is what the Job reports.
         */
        function runGc(mode: "readonly" | "scale", opts: { annotation?: string; jobState?: string } = {}): { code: number; calls: string[]; out: string } {
            const dir = scratchDir("gc-sh");
            const log = path.join(dir, "calls.log");
            const kubectl = [
                "#!/bin/sh",
                `printf '%s\\n' "$*" >> '${log}'`,
                'case "$*" in',
                `  *"get deployment registry -o jsonpath={.metadata.annotations"*) printf '%s' '${opts.annotation ?? ""}' ;;`,
                '  *"get deployment registry -o jsonpath={.spec.replicas}"*) printf 3 ;;',
                '  *"get deployment registry -o jsonpath={.spec.selector.matchLabels}"*) printf \'{"app.kubernetes.io/instance":"registry","app.kubernetes.io/name":"registry"}\' ;;',
                '  *"create -f"*) echo job.batch/registry-gc-abcde ;;',
                `  *"get job.batch/registry-gc-abcde"*) printf '%s' '${opts.jobState ?? "1/"}' ;;`,
                "  *logs*) echo 'blob eligible for deletion' ;;",
                "esac",
            ].join("\n");
            fs.writeFileSync(path.join(dir, "kubectl"), kubectl, { mode: 0o755 });
            fs.writeFileSync(path.join(dir, "gc.sh"), GC_SCRIPT);
            const res = spawnSync("/bin/sh", [path.join(dir, "gc.sh")], {
                env: {
                    PATH: `${dir}:/usr/bin:/bin`,
                    NAMESPACE: "registry",
                    DEPLOYMENT: "registry",
                    MODE: mode,
                    JOB_MANIFEST: "/etc/registry-gc/job.json",
                    TIMEOUT: "60s",
                    POLL_SECONDS: "0",
                },
                encoding: "utf8",
                timeout: 20000,
            });
            const calls = fs
                .readFileSync(log, "utf8")
                .trim()
                .split("\n")
                .map((l) => l.replace(/^--namespace registry /, ""));
            fs.rmSync(dir, { recursive: true, force: true });
            return { code: res.status ?? -1, calls, out: res.stdout + res.stderr };
        }

        it("readonly: read-only rollout, then the Job, then read-write rollout (every pod replaced)", () => {
            const { code, calls } = runGc("readonly");
            assert.strictEqual(code, 0);
            assert.deepStrictEqual(calls, [
                "get deployment registry -o jsonpath={.metadata.annotations.registry\\.day2/replicas-before-gc}",
                "get deployment registry -o jsonpath={.spec.replicas}",
                "annotate --overwrite deployment/registry registry.day2/replicas-before-gc=3",
                'set env deployment/registry REGISTRY_STORAGE_MAINTENANCE_READONLY={"enabled":true}',
                "rollout status deployment/registry --timeout=60s",
                "create -f /etc/registry-gc/job.json -o name",
                "get job.batch/registry-gc-abcde -o jsonpath={.status.succeeded}/{.status.failed}",
                "logs job.batch/registry-gc-abcde --tail=100",
                "set env deployment/registry REGISTRY_STORAGE_MAINTENANCE_READONLY-",
                "rollout status deployment/registry --timeout=60s",
                "annotate deployment/registry registry.day2/replicas-before-gc-",
            ]);
        });

        it("scale: to 0, wait for the pods to be gone, the Job, back to the recorded count", () => {
            const { code, calls } = runGc("scale");
            assert.strictEqual(code, 0);
            const i = (c: string) => calls.findIndex((x) => x.startsWith(c));
            assert.ok(
                i("scale deployment/registry --replicas=0") <
                    i("wait --for=delete pod --selector=app.kubernetes.io/instance=registry,app.kubernetes.io/name=registry"),
            );
            assert.ok(i("wait --for=delete") < i("create -f"));
            assert.ok(i("create -f") < i("scale deployment/registry --replicas=3"));
            assert.strictEqual(calls[calls.length - 1], "annotate deployment/registry registry.day2/replicas-before-gc-");
        });

        it("a failed Job still restores read-write, and the procedure fails", () => {
            const { code, calls, out } = runGc("readonly", { jobState: "/1" });
            assert.strictEqual(code, 1);
            assert.match(out, /job.batch\/registry-gc-abcde failed/);
            assert.ok(calls.includes("set env deployment/registry REGISTRY_STORAGE_MAINTENANCE_READONLY-"));
        });

        it("a run that died half-way (annotation left) restores the replica count it recorded", () => {
            const { code, calls } = runGc("scale", { annotation: "5" });
            assert.strictEqual(code, 0);
            assert.ok(!calls.some((c) => c.startsWith("annotate --overwrite")), "the recorded count must not be overwritten by 0");
            assert.ok(calls.includes("scale deployment/registry --replicas=5"));
        });
    });
});
