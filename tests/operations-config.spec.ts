// Day-2 operations: the operations config keys' validation and defaults.
import * as assert from "assert";

import { ConfigError, parseConfig } from "../config";
import { runProgram } from "./support/program";
import { problemsOf, raw } from "./support/config-problems";

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
