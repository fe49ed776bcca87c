// Day-2 operations: metrics and alert rules, and logs. Scrape annotations, the ServiceMonitor and
// PrometheusRule under mocks; the alert rules checked and unit-tested by promtool (which
// tests/capabilities.spec.ts withdraws from this file). The other operations specs are
// tests/operations-*.spec.ts.
import * as assert from "assert";
import { execFileSync, spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as YAML from "yaml";

import { buildAlertRules } from "../components/operations";
import { requireCapability } from "./support/capability";
import { validateObject } from "./support/k8s-schema";
import { registryPod } from "./support/pod";
import { one, ProgramRun, runProgram } from "./support/program";
import { VARIANTS } from "./support/variants";
import { scratchDir } from "./support/scratch";
import { deployment, run, selects } from "./support/operations-fixtures";

const PROMTOOL = path.join(process.env.REGISTRY_E2E_CACHE ?? path.join(os.homedir(), ".cache", "registry-e2e"), "bin", "promtool");

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

describe("operations: logs", () => {
    it("level, JSON formatter and access log reach config.yml", async () => {
        const r = await runProgram({ logLevel: "debug", logFormatter: "json", accessLog: false });
        const log = registryPod(r).config.log;
        assert.strictEqual(log.level, "debug");
        assert.strictEqual(log.formatter, "json");
        assert.deepStrictEqual(log.accesslog, { disabled: true });
    });
});
