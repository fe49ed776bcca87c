// Day-2 operations: the Redis blob descriptor cache and the pull-through cache (a mirror
// instance in proxy mode), under mocks.
import * as assert from "assert";

import { staleCacheWarning } from "../components/registry";
import { registryPod, secretValue } from "./support/pod";
import { ofType, one, runProgram } from "./support/program";
import { deployment, run, selects } from "./support/operations-fixtures";

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
