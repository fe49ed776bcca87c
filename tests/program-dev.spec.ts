// The Pulumi program under mocks, as the dev stack (Pulumi.dev.yaml) declares it: every object,
// the component tree, the pod and its gate, TLS, the Secrets. The variants are in
// tests/program-variants.spec.ts.
import * as assert from "assert";

import { gateConf } from "../components/registry/gate";
import { DEFAULT_IMAGE_TAGS } from "../config";
import { registryPod, secretValue } from "./support/pod";
import { loadStackFile, one, ofType, ProgramRun, stackFiles } from "./support/program";
import { run } from "./support/program-fixtures";

const RESTRICTED_CONTAINER = {
    allowPrivilegeEscalation: false,
    readOnlyRootFilesystem: true,
    runAsNonRoot: true,
    capabilities: { drop: ["ALL"] },
    seccompProfile: { type: "RuntimeDefault" },
};

describe("the Pulumi program", () => {
    describe("dev stack", () => {
        let dev: ProgramRun;
        before(async () => {
            dev = await run("dev", loadStackFile(stackFiles().dev), { stack: "dev" });
        });

        it("declares the registry's objects and nothing unexpected", () => {
            const k8sTypes = dev.resources.filter((r) => r.type.startsWith("kubernetes:")).map((r) => `${r.type} ${r.name}`);
            assert.deepStrictEqual(k8sTypes.sort(), [
                "kubernetes:apps/v1:DaemonSet registry-node-trust",
                "kubernetes:apps/v1:Deployment registry-deployment",
                "kubernetes:core/v1:ConfigMap registry-config",
                "kubernetes:core/v1:ConfigMap registry-gate",
                "kubernetes:core/v1:ConfigMap registry-node-trust",
                "kubernetes:core/v1:Namespace registry-namespace",
                "kubernetes:core/v1:Namespace registry-node-namespace",
                "kubernetes:core/v1:PersistentVolumeClaim registry-pvc",
                "kubernetes:core/v1:Secret registry-auth",
                "kubernetes:core/v1:Secret registry-tls",
                "kubernetes:core/v1:Service registry-service",
                "kubernetes:core/v1:ServiceAccount registry-sa",
            ]);
        });

        it("creates every child with its component as parent", () => {
            for (const r of dev.resources.filter((x) => !x.type.startsWith("registry:"))) {
                assert.match(r.options.parent, /[:$]registry:[a-z]+:[A-Za-z]+::registry$/, `${r.type} ${r.name} has parent ${r.options.parent}`);
            }
        });

        it("makes everything inside one PrivateRegistry, whose direct children keep their top-level URNs as aliases", () => {
            const top = dev.resources.filter((r) => r.options.parent === "");
            assert.deepStrictEqual(
                top.map((r) => `${r.type}::${r.name}`),
                ["registry:index:PrivateRegistry::registry"],
            );
            const children = dev.resources.filter((r) => r.options.parent === top[0].urn);
            assert.ok(children.length >= 5, `direct children: ${children.map((r) => r.type).join(", ")}`);
            for (const r of children) {
                assert.deepStrictEqual(r.options.aliases, [{ name: "", type: "", parentUrn: "", noParent: true }], `${r.type} ${r.name}`);
            }
        });

        it("enforces the restricted Pod Security Standard on the namespace it creates", () => {
            const ns = one(dev, "kubernetes:core/v1:Namespace", "registry-namespace");
            assert.strictEqual(ns.inputs.metadata.name, "registry");
            assert.strictEqual(ns.inputs.metadata.labels["pod-security.kubernetes.io/enforce"], "restricted");
        });

        it("keeps the PVC, and the namespace holding it, on destroy", () => {
            const pvc = one(dev, "kubernetes:core/v1:PersistentVolumeClaim");
            assert.strictEqual(pvc.options.retainOnDelete, true);
            assert.strictEqual(one(dev, "kubernetes:core/v1:Namespace", "registry-namespace").options.retainOnDelete, true);
            assert.deepStrictEqual(pvc.inputs.spec, { accessModes: ["ReadWriteOnce"], resources: { requests: { storage: "20Gi" } } });
            assert.strictEqual(pvc.inputs.metadata.name, "registry-data");
        });

        it("runs the pinned 3.x image with its config path passed to `registry serve`", () => {
            const { container, configMap } = registryPod(dev);
            assert.strictEqual(container.image, `docker.io/library/registry:${DEFAULT_IMAGE_TAGS[3]}`);
            assert.deepStrictEqual(container.command, ["/bin/registry"]);
            assert.deepStrictEqual(container.args, ["serve", "/etc/distribution/config.yml"]);
            const mount = container.volumeMounts.find((m: { name: string }) => m.name === "config");
            assert.deepStrictEqual(mount, { name: "config", mountPath: "/etc/distribution", readOnly: true });
            assert.ok(configMap.inputs.metadata.name === undefined, "the ConfigMap must be auto-named so a change rolls the pods");
        });

        it("passes the restricted Pod Security Standard, both containers (registry and gate)", () => {
            const { podSpec } = registryPod(dev);
            assert.deepStrictEqual(
                podSpec.containers.map((c: { name: string }) => c.name),
                ["registry", "gate"],
            );
            for (const c of podSpec.containers) {
                assert.deepStrictEqual(c.securityContext, RESTRICTED_CONTAINER, c.name);
            }
            assert.strictEqual(podSpec.securityContext.runAsNonRoot, true);
            assert.notStrictEqual(podSpec.securityContext.runAsUser, 0);
            assert.deepStrictEqual(podSpec.securityContext.seccompProfile, { type: "RuntimeDefault" });
            assert.strictEqual(podSpec.automountServiceAccountToken, false);
            for (const v of podSpec.volumes) {
                assert.ok(v.hostPath === undefined, `volume ${v.name} is a hostPath`);
            }
        });

        it("turns off service links, whose REGISTRY_* variables the registry would read as config", () => {
            assert.strictEqual(registryPod(dev).podSpec.enableServiceLinks, false);
        });

        it("probes the registry's debug server (storage-aware readiness, a live process) and the gate (through it to the registry's `/`; nginx itself)", () => {
            const { container, podSpec } = registryPod(dev);
            assert.deepStrictEqual(container.readinessProbe.httpGet, { path: "/debug/health", port: "metrics", scheme: "HTTP" });
            assert.deepStrictEqual(container.livenessProbe.httpGet, { path: "/metrics", port: "metrics", scheme: "HTTP" });
            const gate = podSpec.containers.find((c: { name: string }) => c.name === "gate");
            assert.deepStrictEqual(gate.readinessProbe.httpGet, { path: "/", port: "https", scheme: "HTTPS" });
            assert.deepStrictEqual(gate.livenessProbe.tcpSocket, { port: "https" });
            // The registry's one TCP port is the debug server's; the API's port is the gate's.
            const ports = (c: Record<string, any>) => (c.ports as { name: string; containerPort: number }[]).map((p) => [p.name, p.containerPort]);
            assert.deepStrictEqual(ports(container), [["metrics", 5001]]);
            assert.deepStrictEqual(ports(gate), [["https", 5000]]);
        });

        it("the gate: nginx with the program's nginx.conf (auto-named ConfigMap), TLS and htpasswd mounted in it alone, the socket shared with the registry and nothing else", () => {
            const { container, podSpec, configMaps } = registryPod(dev);
            const gate = podSpec.containers.find((c: { name: string }) => c.name === "gate");
            assert.strictEqual(gate.image, "docker.io/nginxinc/nginx-unprivileged:1.28.0");
            assert.deepStrictEqual(gate.command, ["nginx", "-e", "/dev/stderr", "-c", "/etc/registry/gate/nginx.conf"]);
            const volumeOf = (name: string) => podSpec.volumes.find((v: { name: string }) => v.name === name);
            const cm = configMaps.get(volumeOf("gate-config").configMap.name);
            assert.ok(cm !== undefined && cm.inputs.metadata.name === undefined, "the gate's ConfigMap must be auto-named so a change rolls the pods");
            assert.strictEqual(cm.inputs.data["nginx.conf"], gateConf({ listen: "5000", realm: "registry", accessLog: true, authCacheSeconds: 60 }));
            const mounts = (c: Record<string, any>) =>
                Object.fromEntries((c.volumeMounts as { name: string; mountPath: string }[]).map((m) => [m.name, m.mountPath]));
            assert.deepStrictEqual(mounts(gate), {
                "gate-config": "/etc/registry/gate",
                tls: "/etc/registry/tls",
                auth: "/etc/registry/auth",
                sockets: "/run/registry",
                "gate-tmp": "/tmp",
                "gate-auth-cache": "/var/cache/registry-gate",
            });
            assert.deepStrictEqual(mounts(container), { config: "/etc/distribution", sockets: "/run/registry", tmp: "/tmp", data: "/var/lib/registry" });
            assert.deepStrictEqual(volumeOf("sockets"), { name: "sockets", emptyDir: { sizeLimit: "1Mi" } });
            assert.deepStrictEqual(volumeOf("gate-auth-cache"), { name: "gate-auth-cache", emptyDir: { medium: "Memory", sizeLimit: "16Mi" } });
            // Both keep serving through the preStop pause; nginx's image stops it with SIGQUIT.
            assert.deepStrictEqual(gate.lifecycle, container.lifecycle);
        });

        it("the gate's nginx.conf: TLS on 5000, the registry upstream on its socket, reads for everyone and writes for push users, nothing else served", () => {
            const conf = gateConf({ listen: "5000", realm: "registry", accessLog: true, authCacheSeconds: 0 });
            assert.match(conf, /listen 5000 ssl;/);
            assert.match(
                conf,
                /ssl_certificate \/etc\/registry\/tls\/tls\.crt;\n\s+ssl_certificate_key \/etc\/registry\/tls\/tls\.key;\n\s+ssl_protocols TLSv1\.2 TLSv1\.3;/,
            );
            assert.match(conf, /server unix:\/run\/registry\/registry\.sock;/);
            assert.match(conf, /map \$request_method \$gate_role \{\n\s+GET pull;\n\s+HEAD pull;\n\s+default push;\n\s+\}/);
            assert.match(
                conf,
                /map \$gate_role \$gate_users \{\n\s+pull \/etc\/registry\/auth\/pull\.htpasswd;\n\s+default \/etc\/registry\/auth\/push\.htpasswd;\n\s+\}/,
            );
            // Three locations: the API with auth, `/` (GET only, sent upstream as `/`), 404 for the rest.
            const locations = [...conf.matchAll(/location ([^{]+) \{/g)].map((m) => m[1]);
            assert.deepStrictEqual(locations, ["/v2/", "= /", "/"]);
            const api = conf.slice(conf.indexOf("location /v2/"), conf.indexOf("location = /"));
            assert.match(api, /auth_basic "registry";\n\s+auth_basic_user_file \$gate_users;/);
            assert.match(api, /proxy_set_header Authorization "";/);
            assert.match(conf, /location = \/ \{\n\s+limit_except GET \{\n\s+deny all;\n\s+\}\n\s+proxy_pass http:\/\/registry\/;/);
            assert.match(conf, /location \/ \{\n\s+return 404;\n\s+\}/);
            assert.strictEqual((conf.match(/auth_basic /g) ?? []).length, 1, "one place decides");
            assert.match(
                gateConf({ listen: "5000", realm: "My registry", accessLog: false, authCacheSeconds: 0 }),
                /access_log off;[\s\S]*auth_basic "My registry";/,
            );
        });

        it("recreates the pod on update, since a ReadWriteOnce volume cannot be mounted twice", () => {
            const { deployment } = registryPod(dev);
            assert.deepStrictEqual(deployment.inputs.spec.strategy, { type: "Recreate" });
            assert.strictEqual(deployment.inputs.spec.replicas, 1);
            assert.strictEqual(ofType(dev, "kubernetes:policy/v1:PodDisruptionBudget").length, 0);
        });

        it("writes a config.yml the registry understands, with no secrets in it", () => {
            const { config, configMap } = registryPod(dev);
            assert.strictEqual(config.version, 0.1);
            assert.deepStrictEqual(config.storage.filesystem, { rootdirectory: "/var/lib/registry" });
            assert.deepStrictEqual(config.storage.delete, { enabled: true });
            // Plain HTTP on the pod's socket, no auth: the gate terminates TLS and decides.
            assert.strictEqual(config.http.tls, undefined);
            assert.deepStrictEqual([config.http.net, config.http.addr], ["unix", "/run/registry/registry.sock"]);
            assert.deepStrictEqual(config.http.debug, { addr: ":5001", prometheus: { enabled: true, path: "/metrics" } });
            assert.strictEqual(config.auth, undefined);
            assert.deepStrictEqual(config.health.storagedriver, { enabled: true, interval: "10s", threshold: 3 });
            assert.strictEqual(config.http.secret, undefined, "http.secret must come from a Secret, not the ConfigMap");
            const text: string = configMap.inputs.data["config.yml"];
            for (const pw of Object.values(dev.outputs.passwords as Record<string, string>)) {
                assert.ok(!text.includes(pw), "a password is in the ConfigMap");
            }
            assert.ok(!text.includes("PRIVATE KEY") && !text.includes("$2"), "key or hash material is in the ConfigMap");
        });

        it("mounts the files config.yml and nginx.conf name from the Secrets the program creates", () => {
            const { container, podSpec, secrets } = registryPod(dev);
            const gate = podSpec.containers.find((c: { name: string }) => c.name === "gate");
            const mountOf = (name: string, c = container) => c.volumeMounts.find((m: { name: string }) => m.name === name);
            const volumeOf = (name: string) => podSpec.volumes.find((v: { name: string }) => v.name === name);
            assert.strictEqual(mountOf("tls", gate).mountPath, "/etc/registry/tls");
            assert.strictEqual(mountOf("auth", gate).mountPath, "/etc/registry/auth");
            assert.strictEqual(mountOf("data").mountPath, "/var/lib/registry");
            const tlsSecret = secrets.get(volumeOf("tls").secret.secretName);
            assert.ok(tlsSecret !== undefined, "the tls volume's Secret is not declared");
            assert.strictEqual(tlsSecret.inputs.type, "kubernetes.io/tls");
            assert.match(secretValue(tlsSecret, "tls.crt") ?? "", /BEGIN CERTIFICATE/);
            assert.match(secretValue(tlsSecret, "tls.key") ?? "", /BEGIN EC PRIVATE KEY/);
            const authSecret = secrets.get(volumeOf("auth").secret.secretName);
            assert.ok(authSecret !== undefined, "the auth volume's Secret is not declared");
            assert.deepStrictEqual(volumeOf("auth").secret.items, [
                { key: "pull.htpasswd", path: "pull.htpasswd" },
                { key: "push.htpasswd", path: "push.htpasswd" },
            ]);
            assert.deepStrictEqual(volumeOf("data").persistentVolumeClaim, { claimName: "registry-data" });
        });

        it("gives the registry its http.secret only through a secretKeyRef", () => {
            const { container, secrets } = registryPod(dev);
            const env = container.env.find((e: { name: string }) => e.name === "REGISTRY_HTTP_SECRET");
            assert.strictEqual(env.value, undefined);
            const secret = secrets.get(env.valueFrom.secretKeyRef.name);
            assert.ok(secret !== undefined);
            assert.strictEqual((secretValue(secret, env.valueFrom.secretKeyRef.key) ?? "").length, 64);
            for (const e of container.env) {
                assert.ok(e.value === undefined || !/secret|password|key/i.test(e.name), `env ${e.name} carries a literal value`);
            }
        });

        it("stores passwords, keys, htpasswd and http.secret as Pulumi secrets", () => {
            const tlsSecret = one(dev, "kubernetes:core/v1:Secret", "registry-tls");
            assert.ok(tlsSecret.secretInputs.includes("stringData"), `tls Secret secret inputs: ${tlsSecret.secretInputs.join(",")}`);
            const authSecret = one(dev, "kubernetes:core/v1:Secret", "registry-auth");
            assert.ok(authSecret.secretInputs.includes("stringData"), `auth Secret secret inputs: ${authSecret.secretInputs.join(",")}`);
            assert.ok(one(dev, "tls:index/locallySignedCert:LocallySignedCert").secretInputs.includes("caPrivateKeyPem"));
            for (const out of ["password", "passwords", "dockerConfigJson", "pullPassword", "pullDockerConfigJson"]) {
                assert.ok(dev.secretOutputs.has(out), `output ${out} is not secret`);
            }
            for (const out of ["registryHost", "registryUrl", "caCertificate", "username", "pullUsername", "namespace", "serviceName", "loadBalancerAddress"]) {
                assert.ok(!dev.secretOutputs.has(out), `output ${out} should be plain`);
            }
        });

        it("exports what CI needs", () => {
            const o = dev.outputs;
            assert.strictEqual(o.registryHost, "203.0.113.10");
            assert.strictEqual(o.registryUrl, "https://203.0.113.10");
            assert.strictEqual(o.username, "admin");
            assert.strictEqual(o.namespace, "registry");
            assert.strictEqual(o.serviceName, "registry");
            assert.strictEqual(o.loadBalancerAddress, "203.0.113.10");
            assert.match(String(o.caCertificate), /^-----BEGIN CERTIFICATE-----/);
            assert.deepStrictEqual(Object.keys(o.passwords as object), ["admin", "ci", "puller"]);
            const docker = JSON.parse(String(o.dockerConfigJson));
            const entry = docker.auths["203.0.113.10"];
            assert.strictEqual(entry.username, "admin");
            assert.strictEqual(entry.password, o.password);
            assert.strictEqual(Buffer.from(entry.auth, "base64").toString(), `admin:${String(o.password)}`);
            // And for whatever only pulls: the pull-only user.
            assert.strictEqual(o.pullUsername, "puller");
            assert.strictEqual(o.pullPassword, (o.passwords as Record<string, string>).puller);
            const pull = JSON.parse(String(o.pullDockerConfigJson)).auths["203.0.113.10"];
            assert.deepStrictEqual([pull.username, pull.password], ["puller", o.pullPassword]);
        });

        it("exposes the registry on a LoadBalancer, port 443 to the https container port: the gate's, the pod's only one of that name", () => {
            const svc = one(dev, "kubernetes:core/v1:Service");
            assert.strictEqual(svc.inputs.spec.type, "LoadBalancer");
            assert.deepStrictEqual(svc.inputs.spec.ports, [{ name: "https", port: 443, targetPort: "https", protocol: "TCP" }]);
            assert.deepStrictEqual(svc.inputs.spec.selector, registryPod(dev).deployment.inputs.spec.selector.matchLabels);
        });
    });
});
