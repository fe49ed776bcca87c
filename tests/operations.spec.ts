// Day-2 operations: HA scheduling and autoscaling, the Redis cache, garbage collection
// under maintenance, the pull-through cache, metrics and alert rules, rotation. Resource graph and
// inputs under mocks; gc.sh run for real by /bin/sh against a recording kubectl; the alert rules
// checked and unit-tested by promtool.
import * as assert from "assert";
import { execFileSync, spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as YAML from "yaml";

import { ConfigError, parseConfig } from "../config";
import { GC_SCRIPT, buildAlertRules, gcArgs } from "../components/operations";
import { staleCacheWarning } from "../components/registry";
import { requireCapability } from "./support/capability";
import { validateObject } from "./support/k8s-schema";
import { registryPod, secretValue } from "./support/pod";
import { cachedRun, ofType, one, ProgramRun, ROOT, runProgram, RunOptions, StackConfig } from "./support/program";
import { VARIANTS } from "./support/variants";
import { problemsOf, raw } from "./support/config-problems";
import { scratchDir } from "./support/scratch";

const PROMTOOL = path.join(process.env.REGISTRY_E2E_CACHE ?? path.join(os.homedir(), ".cache", "registry-e2e"), "bin", "promtool");

const runOnce = cachedRun();
/** The run of a variant (or of `config` under that label), once per label. */
function run(name: string, config: StackConfig = VARIANTS[name], opts: RunOptions = {}): Promise<ProgramRun> {
    return runOnce(name, config, opts);
}

function deployment(r: ProgramRun, name = "registry-deployment") {
    return one(r, "kubernetes:apps/v1:Deployment", name);
}

function selects(selector: Record<string, string>, labels: Record<string, string> = {}): boolean {
    return Object.entries(selector).every(([k, v]) => labels[k] === v);
}

describe("operations: config validation", () => {
    const RWX = { storageAccessMode: "ReadWriteMany" };
    const BAD: { name: string; config: Record<string, unknown>; secret?: string[]; problem: string }[] = [
        {
            name: "autoscaler on a ReadWriteOnce volume",
            config: { autoscalingMaxReplicas: 4 },
            problem:
                "`autoscalingMaxReplicas` needs storage that several pods can share (the autoscaler adds pods); set it to 0 or use shared storage (`storageAccessMode` `ReadWriteMany`)",
        },
        {
            name: "autoscaler ceiling not above the floor",
            config: { ...RWX, replicas: 3, autoscalingMaxReplicas: 3 },
            problem: "`autoscalingMaxReplicas` (3) must be 0 (no autoscaler) or more than `replicas` (3), the autoscaler's floor",
        },
        {
            name: "unknown anti-affinity",
            config: { podAntiAffinity: "strict" },
            problem: "`podAntiAffinity` must be one of `soft`, `hard`, `none`; got `strict`",
        },
        {
            name: "unknown cache",
            config: { blobDescriptorCache: "memcached" },
            problem: "`blobDescriptorCache` must be one of `inmemory`, `redis`; got `memcached`",
        },
        {
            name: "redis address without port",
            config: { blobDescriptorCache: "redis", redisAddress: "redis.cache.svc" },
            problem: "`redisAddress` must be `host:port` such as `redis.cache.svc:6379`; got `redis.cache.svc`",
        },
        {
            name: "redis address with the inmemory cache",
            config: { redisAddress: "redis:6379" },
            problem: "`redisAddress` is only used when `blobDescriptorCache` is `redis`",
        },
        {
            name: "redis password in plain text",
            config: { blobDescriptorCache: "redis", redisAddress: "redis:6379", redisPassword: "hunter2" },
            problem: "`redisPassword` must be stored as a secret: `pulumi config set --secret redisPassword <value>`",
        },
        {
            name: "redis password for the in-cluster redis",
            config: { blobDescriptorCache: "redis", redisPassword: "hunter2" },
            secret: ["redisPassword"],
            problem: "`redisPassword` is for an external Redis (`redisAddress`); the in-cluster Redis gets a generated password",
        },
        {
            name: "GC schedule with four fields",
            config: { gcSchedule: "0 3 * *" },
            problem: "`gcSchedule` must be a cron schedule of five fields such as `0 3 * * 0` (or @daily, @weekly...); got `0 3 * *`",
        },
        {
            name: "GC on emptyDir",
            config: { storageKind: "emptyDir", gcSchedule: "@daily" },
            problem: "`gcSchedule` needs storage the garbage collection Job can mount; `storageKind` `emptyDir` is private to the registry pod",
        },
        { name: "GC flag without a schedule", config: { gcDeleteUntagged: true }, problem: "`gcDeleteUntagged` is only used when `gcSchedule` is set" },
        {
            name: "proxy URL with credentials",
            config: { proxyRemoteUrl: "https://user:pw@registry-1.docker.io" },
            problem:
                "`proxyRemoteUrl` must be an http(s) URL without credentials such as `https://registry-1.docker.io`; got `https://user:pw@registry-1.docker.io`",
        },
        {
            name: "proxy user without password",
            config: { proxyRemoteUrl: "https://registry-1.docker.io", proxyUsername: "bot" },
            problem: "`proxyUsername` and `proxyPassword` go together: set both (authenticated upstream) or neither (anonymous)",
        },
        {
            name: "proxy TTL in days",
            config: { proxyRemoteUrl: "https://registry-1.docker.io", proxyTtl: "7d" },
            problem: "`proxyTtl` must be a Go duration such as `168h` or `30m`; got `7d`",
        },
        { name: "proxy setting without proxy", config: { proxyTtl: "24h" }, problem: "`proxyTtl` is only used when `proxyRemoteUrl` is set" },
        {
            name: "rotation of an unknown user",
            config: { passwordRotation: ["root=1"] },
            problem: "`passwordRotation` names `root`, who is not a user (`users`, `pullUsers` or `pullUser`)",
        },
        {
            name: "a monitoring label without a value",
            config: { metricsServiceMonitor: true, metricsLabels: ["release"] },
            problem:
                "`metricsLabels` entries must be `key=value` with a label key and a label value (at most 63 letters, digits, '-', '_', '.'); got `release`",
        },
        {
            name: "monitoring labels without monitoring objects",
            config: { metricsLabels: ["release=kube-prometheus-stack"] },
            problem: "`metricsLabels` is only used when `metricsServiceMonitor` or `metricsAlertRules` is true",
        },
        {
            name: "a monitoring label the program sets itself",
            config: { metricsAlertRules: true, metricsLabels: ["app.kubernetes.io/name=x"] },
            problem: "`metricsLabels` may not set `app.kubernetes.io/name`: the program sets the `app.kubernetes.io/` labels itself",
        },
        {
            name: "rotation entry without token",
            config: { passwordRotation: ["admin="] },
            problem: "`passwordRotation` entries must be `user=token`; got `admin=`",
        },
    ];
    for (const bad of BAD) {
        it(`${bad.name}: one exact problem`, () => {
            assert.deepStrictEqual(problemsOf(bad.config, bad.secret), [bad.problem]);
        });
    }

    it("a bad operations key stops the program before any resource", async () => {
        const r = await runProgram({ gcSchedule: "sometimes" });
        assert.ok(r.error instanceof ConfigError);
        assert.deepStrictEqual(r.resources, []);
    });

    it("defaults: soft anti-affinity, zone spread, inmemory cache, no GC, proxy, autoscaler, ServiceMonitor or rules", () => {
        const ops = parseConfig(raw({})).operations;
        assert.deepStrictEqual(ops, {
            antiAffinity: "soft",
            spreadZones: true,
            autoscaling: undefined,
            cache: { kind: "inmemory" },
            gc: undefined,
            proxy: undefined,
            serviceMonitor: false,
            alertRules: false,
            metricsLabels: {},
            passwordRotation: {},
            tlsRotation: "",
        });
    });
});

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

describe("operations: Redis blob descriptor cache", () => {
    it("several pods on per-pod in-memory caches with deletes on are warned about; one pod, Redis or no deletes are not", () => {
        const base = { replicas: 2, autoscaled: false, blobDescriptorCache: "inmemory", deleteEnabled: true } as const;
        assert.match(
            staleCacheWarning(base) ?? "",
            /deleted through one pod is still served by the others until they restart; use `blobDescriptorCache: redis`/,
        );
        assert.ok(staleCacheWarning({ ...base, replicas: 1, autoscaled: true }) !== undefined, "an autoscaler adds pods");
        assert.strictEqual(staleCacheWarning({ ...base, replicas: 1 }), undefined);
        assert.strictEqual(staleCacheWarning({ ...base, blobDescriptorCache: "redis" }), undefined);
        assert.strictEqual(staleCacheWarning({ ...base, deleteEnabled: false }), undefined);
    });

    it("in-cluster: a Redis with a generated password; the registry gets the address in config.yml and the password by secretKeyRef", async () => {
        const r = await run("haAutoscaled");
        const pod = registryPod(r);
        assert.strictEqual(pod.config.storage.cache.blobdescriptor, "redis");
        assert.deepStrictEqual(pod.config.redis.addrs, ["registry-redis.registry.svc:6379"]);
        assert.ok(!("password" in pod.config.redis), "no password in config.yml");
        const env = (pod.container.env as Record<string, any>[]).find((e) => e.name === "REGISTRY_REDIS_PASSWORD");
        assert.ok(env?.valueFrom?.secretKeyRef !== undefined, "REGISTRY_REDIS_PASSWORD from a secretKeyRef");
        const secret = pod.secrets.get(env.valueFrom.secretKeyRef.name);
        assert.ok(secret !== undefined);
        const password = secretValue(secret, "password") ?? "";
        assert.match(password, /^[A-Za-z0-9]{40}$/);
        assert.match(secretValue(secret, "redis.conf") ?? "", new RegExp(`^requirepass ${password}$`, "m"));
        assert.ok(secret.secretInputs.includes("stringData"), "password and redis.conf are Pulumi secrets");
        assert.ok(!pod.configMap.inputs.data["config.yml"].includes(password));

        const redis = deployment(r, "registry-cache-server");
        const rspec = redis.inputs.spec.template.spec;
        assert.deepStrictEqual(rspec.containers[0].command, ["redis-server", "/etc/redis/redis.conf"]);
        assert.strictEqual(rspec.volumes[0].secret.secretName, secret.state.metadata.name);
        assert.strictEqual(rspec.containers[0].securityContext.readOnlyRootFilesystem, true);
        const svc = one(r, "kubernetes:core/v1:Service", "registry-cache-svc");
        assert.strictEqual(svc.inputs.metadata.name, "registry-redis");
        assert.ok(selects(svc.inputs.spec.selector, redis.inputs.spec.template.metadata.labels));
        assert.ok(
            !selects(pod.deployment.inputs.spec.selector.matchLabels, redis.inputs.spec.template.metadata.labels),
            "the registry's selector must not pick the Redis pod",
        );
    });

    it("external on the 2.8 line: `addr` (the redigo shape), no Redis of ours, no password env without a password", async () => {
        const r = await run("externalRedis28");
        const pod = registryPod(r);
        assert.strictEqual(pod.config.redis.addr, "redis.cache.svc:6379");
        assert.strictEqual(pod.config.redis.addrs, undefined);
        assert.strictEqual(ofType(r, "kubernetes:apps/v1:Deployment").length, 1);
        assert.ok(!(pod.container.env as Record<string, any>[]).some((e) => e.name === "REGISTRY_REDIS_PASSWORD"));
    });

    it("external with a password: a Secret the registry reads by secretKeyRef", async () => {
        const r = await runProgram(
            { blobDescriptorCache: "redis", redisAddress: "10.0.0.5:6380", redisPassword: "s3cret-redis" },
            { secretKeys: ["redisPassword"] },
        );
        assert.strictEqual(r.error, undefined, String(r.error));
        const pod = registryPod(r);
        const env = (pod.container.env as Record<string, any>[]).find((e) => e.name === "REGISTRY_REDIS_PASSWORD");
        const secret = pod.secrets.get(env?.valueFrom.secretKeyRef.name);
        assert.strictEqual(secret && secretValue(secret, "password"), "s3cret-redis");
        assert.ok(secret?.secretInputs.includes("stringData"));
    });
});

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

describe("operations: pull-through cache", () => {
    it("a second registry in proxy mode with its own Service, the upstream credentials by secretKeyRef, named in the certificate", async () => {
        const r = await runProgram(
            {
                proxyRemoteUrl: "https://registry-1.docker.io",
                proxyUsername: "bot",
                proxyPassword: "dckr_pat_x",
                proxyTtl: "72h",
                hostnames: ["registry.example.com"],
            },
            { secretKeys: ["proxyPassword"] },
        );
        assert.strictEqual(r.error, undefined, String(r.error));
        const mirror = registryPod(r, "registry-mirror");
        assert.deepStrictEqual(mirror.config.proxy, { remoteurl: "https://registry-1.docker.io", ttl: "72h" });
        assert.strictEqual(mirror.deployment.inputs.spec.replicas, 1);
        const env = Object.fromEntries((mirror.container.env as Record<string, any>[]).map((e) => [e.name, e]));
        for (const [name, key] of [
            ["REGISTRY_PROXY_USERNAME", "username"],
            ["REGISTRY_PROXY_PASSWORD", "password"],
        ]) {
            const ref = env[name]?.valueFrom?.secretKeyRef;
            assert.strictEqual(ref?.key, key, name);
            const secret = mirror.secrets.get(ref.name);
            assert.ok(secret !== undefined);
            assert.strictEqual(secretValue(secret, key), key === "username" ? "bot" : "dckr_pat_x");
        }
        assert.ok(!mirror.configMap.inputs.data["config.yml"].includes("dckr_pat_x"));
        const data = (mirror.podSpec.volumes as Record<string, any>[]).find((v) => v.name === "data");
        assert.deepStrictEqual(data?.emptyDir, { sizeLimit: "20Gi" });
        const svc = ofType(r, "kubernetes:core/v1:Service").find((s) => s.inputs.metadata.name === "registry-mirror");
        assert.ok(svc !== undefined && selects(svc.inputs.spec.selector, mirror.deployment.inputs.spec.template.metadata.labels));
        assert.ok(!selects(registryPod(r).deployment.inputs.spec.selector.matchLabels, mirror.deployment.inputs.spec.template.metadata.labels));
        const csr = one(r, "tls:index/certRequest:CertRequest");
        for (const n of ["registry-mirror.registry.svc", "registry.registry.svc", "registry.example.com"]) {
            assert.ok((csr.inputs.dnsNames as string[]).includes(n), n);
        }
        assert.strictEqual(r.outputs.mirrorHost, "203.0.113.10");
        assert.strictEqual(r.outputs.mirrorDeploymentName, "registry-mirror");
    });

    it("the 2.8 line has no proxy TTL; without a proxy there is no mirror", async () => {
        const r = await runProgram({ proxyRemoteUrl: "https://mirror.gcr.io", imageTag: "2.8.3" });
        assert.deepStrictEqual(registryPod(r, "registry-mirror").config.proxy, { remoteurl: "https://mirror.gcr.io" });
        const none = await run("defaults", {});
        assert.strictEqual(none.outputs.mirrorHost, "");
        assert.strictEqual(ofType(none, "kubernetes:apps/v1:Deployment").length, 1);
    });
});

describe("operations: metrics and alerts", () => {
    it("pods carry scrape annotations; ServiceMonitor selects a headless Service on the metrics port", async () => {
        const r = await run("haAutoscaled");
        assert.deepStrictEqual(deployment(r).inputs.spec.template.metadata.annotations, {
            "prometheus.io/scrape": "true",
            "prometheus.io/port": "5001",
            "prometheus.io/path": "/metrics",
            "kubectl.kubernetes.io/default-container": "registry",
        });
        const svc = one(r, "kubernetes:core/v1:Service", "registry-monitoring-metrics");
        assert.strictEqual(svc.inputs.spec.clusterIP, "None");
        assert.deepStrictEqual(svc.inputs.spec.ports, [{ name: "metrics", port: 5001, targetPort: "metrics", protocol: "TCP" }]);
        assert.ok(selects(svc.inputs.spec.selector, deployment(r).inputs.spec.template.metadata.labels));
        const sm = one(r, "kubernetes:monitoring.coreos.com/v1:ServiceMonitor", "registry-monitoring-servicemonitor");
        assert.strictEqual(sm.inputs.kind, "ServiceMonitor");
        assert.ok(selects(sm.inputs.spec.selector.matchLabels, svc.inputs.metadata.labels));
        assert.deepStrictEqual(sm.inputs.spec.endpoints, [{ port: "metrics", path: "/metrics", scheme: "http", interval: "30s" }]);
    });

    it("metricsLabels label the ServiceMonitor and PrometheusRule, for a Prometheus that selects by label (kube-prometheus-stack: release=<release>); the scrape selector is unchanged", async () => {
        const r = await run("metricsLabels", { ...VARIANTS.haAutoscaled, metricsLabels: ["release=kube-prometheus-stack", "team=platform"] });
        const sm = one(r, "kubernetes:monitoring.coreos.com/v1:ServiceMonitor", "registry-monitoring-servicemonitor");
        const rule = one(r, "kubernetes:monitoring.coreos.com/v1:PrometheusRule", "registry-monitoring-rules");
        for (const o of [sm, rule]) {
            assert.strictEqual(o.inputs.metadata.labels.release, "kube-prometheus-stack", o.name);
            assert.strictEqual(o.inputs.metadata.labels.team, "platform", o.name);
            assert.strictEqual(o.inputs.metadata.labels["app.kubernetes.io/instance"], "registry", o.name);
        }
        const svc = one(r, "kubernetes:core/v1:Service", "registry-monitoring-metrics");
        assert.strictEqual(sm.inputs.spec.selector.matchLabels.release, undefined);
        assert.ok(selects(sm.inputs.spec.selector.matchLabels, svc.inputs.metadata.labels));
        for (const o of [sm, rule]) {
            assert.deepStrictEqual(validateObject(o.inputs), [], o.name);
        }
    });

    it("no prometheus-operator objects unless asked for", async () => {
        assert.deepStrictEqual(
            (await run("defaults", {})).resources.filter((x) => x.type.startsWith("kubernetes:monitoring.coreos.com/")),
            [],
        );
    });

    function rulesFile(r: ProgramRun): string {
        const rule = one(r, "kubernetes:monitoring.coreos.com/v1:PrometheusRule", "registry-monitoring-rules");
        assert.strictEqual(rule.inputs.kind, "PrometheusRule");
        const dir = scratchDir("rules");
        const file = path.join(dir, "rules.yml");
        fs.writeFileSync(file, YAML.stringify(rule.inputs.spec));
        return file;
    }

    it("promtool accepts the rules, with and without a ServiceMonitor", async function () {
        // scripts/install.d/day2.sh puts it there; `npm test` always runs that first.
        requireCapability(this, "promtool", fs.existsSync(PROMTOOL), `expected at ${PROMTOOL}, installed by scripts/install.d/day2.sh`);
        for (const v of ["haAutoscaled", "gcOnReadWriteOnce"]) {
            const out = execFileSync(PROMTOOL, ["check", "rules", rulesFile(await run(v))], { encoding: "utf8" });
            assert.match(out, /SUCCESS: 5 rules found/, v);
        }
    });

    it("promtool unit tests: 5xx above 5% alerts after 10 minutes, 1% does not; a scrape target down alerts; restarts alert", async function () {
        requireCapability(this, "promtool", fs.existsSync(PROMTOOL), `expected at ${PROMTOOL}, installed by scripts/install.d/day2.sh`);
        const file = rulesFile(await run("haAutoscaled"));
        const sel = 'namespace="registry",job="registry-metrics"';
        const defs = buildAlertRules({ namespace: "registry", deployment: "registry", job: "registry-metrics" });
        /** The annotations promtool must see on the alert, templates expanded for `pod`. */
        const ann = (alert: string, pod = "") =>
            Object.fromEntries(
                Object.entries(defs.find((d) => d.alert === alert)?.annotations ?? {}).map(([k, v]) => [k, v.replace("{{ $labels.pod }}", pod)]),
            );
        const tests = {
            rule_files: [file],
            evaluation_interval: "1m",
            tests: [
                {
                    interval: "1m",
                    input_series: [
                        // 100 requests a minute, 10 of them 5xx: 10%.
                        { series: `registry_http_requests_total{${sel},code="200",handler="blob",method="get"}`, values: "0+90x30" },
                        { series: `registry_http_requests_total{${sel},code="503",handler="blob",method="get"}`, values: "0+10x30" },
                        { series: `up{${sel},pod="registry-abc-1"}`, values: "1x10 0x20" },
                        {
                            series: 'kube_pod_container_status_restarts_total{namespace="registry",pod="registry-7d9c-x2x4p",container="registry"}',
                            values: "0 0 1 2 3 4 5x25",
                        },
                    ],
                    alert_rule_test: [
                        { eval_time: "8m", alertname: "RegistryHigh5xxRate", exp_alerts: [] },
                        {
                            eval_time: "20m",
                            alertname: "RegistryHigh5xxRate",
                            exp_alerts: [{ exp_labels: { severity: "warning" }, exp_annotations: ann("RegistryHigh5xxRate") }],
                        },
                        { eval_time: "12m", alertname: "RegistryDown", exp_alerts: [] },
                        {
                            eval_time: "20m",
                            alertname: "RegistryDown",
                            exp_alerts: [{ exp_labels: { severity: "critical" }, exp_annotations: ann("RegistryDown") }],
                        },
                        {
                            eval_time: "10m",
                            alertname: "RegistryPodRestarting",
                            exp_alerts: [
                                {
                                    exp_labels: { severity: "warning", namespace: "registry", pod: "registry-7d9c-x2x4p", container: "registry" },
                                    exp_annotations: ann("RegistryPodRestarting", "registry-7d9c-x2x4p"),
                                },
                            ],
                        },
                    ],
                },
                {
                    interval: "1m",
                    input_series: [
                        { series: `registry_http_requests_total{${sel},code="200",handler="blob",method="get"}`, values: "0+99x30" },
                        { series: `registry_http_requests_total{${sel},code="500",handler="blob",method="get"}`, values: "0+1x30" },
                    ],
                    alert_rule_test: [{ eval_time: "25m", alertname: "RegistryHigh5xxRate", exp_alerts: [] }],
                },
            ],
        };
        const testFile = path.join(path.dirname(file), "tests.yml");
        fs.writeFileSync(testFile, YAML.stringify(tests));
        const res = spawnSync(PROMTOOL, ["test", "rules", testFile], { encoding: "utf8" });
        assert.strictEqual(res.status, 0, res.stdout + res.stderr);
        assert.match(res.stdout, /SUCCESS/);
    });

    it("without a ServiceMonitor the rules match the registry's pods by name instead of a job", () => {
        const rules = buildAlertRules({ namespace: "tools", deployment: "hub" });
        assert.ok(rules.find((x) => x.alert === "RegistryDown")?.expr.includes('namespace="tools",pod=~"hub-[a-z0-9]+-[a-z0-9]+"'));
        assert.ok(!rules.some((x) => x.expr.includes("job=")));
    });
});

describe("operations: rotation", () => {
    it("passwordRotation: the rotated user's password has a keeper (a new token, a new password); the others have none", async () => {
        const r = await run("rotated");
        assert.deepStrictEqual(one(r, "random:index/randomPassword:RandomPassword", "registry-user-admin").inputs.keepers, { rotation: "2026-11" });
        assert.strictEqual(one(r, "random:index/randomPassword:RandomPassword", "registry-user-ci").inputs.keepers, undefined);
    });

    it("tlsRotation: the server key is replaced on a new token (its CSR and certificate follow); the CA is not", async () => {
        const r = await run("rotated");
        const keys = ofType(r, "tls:index/privateKey:PrivateKey");
        assert.strictEqual(keys.find((k) => k.name === "registry-server-key")?.options.replacementTrigger, "2026-11");
        assert.strictEqual(keys.find((k) => k.name === "registry-ca-key")?.options.replacementTrigger, undefined);
        const plain = await run("defaults", {});
        assert.strictEqual(one(plain, "tls:index/privateKey:PrivateKey", "registry-server-key").options.replacementTrigger, undefined);
    });

    it("the Secrets and ConfigMap the pods read are auto-named and referenced by name from the pod template, so new content rolls the pods", async () => {
        const r = await run("rotated");
        const pod = registryPod(r);
        const names = new Set<string>();
        for (const v of pod.podSpec.volumes as Record<string, any>[]) {
            const ref = v.secret?.secretName ?? v.configMap?.name;
            if (ref !== undefined) {
                names.add(ref);
            }
        }
        for (const e of pod.container.env as Record<string, any>[]) {
            if (e.valueFrom?.secretKeyRef !== undefined) {
                names.add(e.valueFrom.secretKeyRef.name);
            }
        }
        assert.ok(names.size >= 3);
        for (const n of names) {
            const obj = r.resources.find((x) => x.state.metadata?.name === n);
            assert.ok(obj !== undefined, n);
            assert.strictEqual(obj.inputs.metadata.name, undefined, `${n} must be auto-named (a fixed name would update in place and not roll the pods)`);
        }
        // The rotated password is the one in htpasswd and in the outputs.
        const htpasswd =
            secretValue(pod.secrets.get((pod.podSpec.volumes as Record<string, any>[]).find((v) => v.name === "auth")?.secret.secretName)!, "pull.htpasswd") ??
            "";
        assert.deepStrictEqual(
            htpasswd
                .trim()
                .split("\n")
                .map((l) => l.split(":")[0]),
            ["admin", "ci", "puller"],
        );
        assert.ok((r.outputs.passwords as Record<string, string>).admin.length >= 32);
    });
});

describe("operations: logs", () => {
    it("level, JSON formatter and access log reach config.yml", async () => {
        const r = await runProgram({ logLevel: "debug", logFormatter: "json", accessLog: false });
        const log = registryPod(r).config.log;
        assert.strictEqual(log.level, "debug");
        assert.strictEqual(log.formatter, "json");
        assert.deepStrictEqual(log.accesslog, { disabled: true });
    });
});
