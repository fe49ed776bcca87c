// Access under Pulumi mocks: the node trust and localhost proxy DaemonSets, pull
// Secrets, the Ingress, and the access config keys' validation.
import * as assert from "assert";
import * as TOML from "smol-toml";

import { ConfigError, parseConfig } from "../config";
import { containerdHostsToml, localProxyConf, parseToleration, reachableHosts, renderNginx } from "../components/access";
import { hostWithPort } from "../components/registry";
import { makePki } from "./support/pki";
import { registryPod, secretValue } from "./support/pod";
import { loadStackFile, one, ofType, cachedRun, ProgramRun, runProgram, stackFiles } from "./support/program";
import { RecordedResource } from "./support/mocks";
import { VARIANTS } from "./support/variants";
import { raw } from "./support/config-problems";

const run = cachedRun();

const DS = "kubernetes:apps/v1:DaemonSet";
const dsNamed = (r: ProgramRun, suffix: string): RecordedResource => {
    const found = ofType(r, DS).filter((d) => d.name.endsWith(suffix));
    assert.strictEqual(
        found.length,
        1,
        `DaemonSets: ${ofType(r, DS)
            .map((d) => d.name)
            .join(", ")}`,
    );
    return found[0];
};
const configMapOf = (r: ProgramRun, ds: RecordedResource, volume: string): RecordedResource => {
    const name = ds.inputs.spec.template.spec.volumes.find((v: { name: string }) => v.name === volume).configMap.name;
    return one(r, "kubernetes:core/v1:ConfigMap", ofType(r, "kubernetes:core/v1:ConfigMap").find((c) => c.state.metadata.name === name)?.name);
};

/** Whether a label selector (matchLabels) selects an object with these labels. */
const selects = (selector: Record<string, string>, labels: Record<string, string>) => Object.entries(selector).every(([k, v]) => labels[k] === v);

describe("access: node CA trust", () => {
    let dev: ProgramRun;
    before(async () => {
        dev = await run("dev", loadStackFile(stackFiles().dev), { stack: "dev" });
    });

    it("is on by default with a generated CA, in its own namespace at Pod Security `privileged`", () => {
        const ds = dsNamed(dev, "-node-trust");
        const ns = one(dev, "kubernetes:core/v1:Namespace", "registry-node-namespace");
        assert.strictEqual(ns.inputs.metadata.name, "registry-node");
        assert.strictEqual(ns.inputs.metadata.labels["pod-security.kubernetes.io/enforce"], "privileged");
        assert.strictEqual(ds.inputs.metadata.namespace, "registry-node");
        // The registry's own namespace stays restricted.
        assert.strictEqual(
            one(dev, "kubernetes:core/v1:Namespace", "registry-namespace").inputs.metadata.labels["pod-security.kubernetes.io/enforce"],
            "restricted",
        );
    });

    it("has a minimal security context: no privileged container, no capabilities, no escalation, read-only root", () => {
        const spec = dsNamed(dev, "-node-trust").inputs.spec.template.spec;
        assert.strictEqual(spec.containers.length, 1);
        assert.strictEqual(spec.initContainers, undefined);
        assert.strictEqual(spec.hostNetwork, undefined);
        assert.strictEqual(spec.hostPID, undefined);
        assert.strictEqual(spec.automountServiceAccountToken, false);
        assert.deepStrictEqual(spec.containers[0].securityContext, {
            runAsUser: 0,
            runAsGroup: 0,
            runAsNonRoot: false,
            privileged: false,
            allowPrivilegeEscalation: false,
            readOnlyRootFilesystem: true,
            capabilities: { drop: ["ALL"] },
            seccompProfile: { type: "RuntimeDefault" },
        });
    });

    it("mounts only containerd's and Docker's certs.d from the host, and the ConfigMap read-only", () => {
        const spec = dsNamed(dev, "-node-trust").inputs.spec.template.spec;
        const hostPaths = spec.volumes
            .filter((v: { hostPath?: unknown }) => v.hostPath !== undefined)
            .map((v: { hostPath: { path: string; type: string } }) => v.hostPath);
        assert.deepStrictEqual(hostPaths, [
            { path: "/etc/containerd/certs.d", type: "DirectoryOrCreate" },
            { path: "/etc/docker/certs.d", type: "DirectoryOrCreate" },
        ]);
        assert.deepStrictEqual(
            spec.containers[0].volumeMounts.map((m: { name: string; readOnly?: boolean }) => [m.name, m.readOnly === true]),
            [
                ["source", true],
                ["containerd-certs", false],
                ["docker-certs", false],
            ],
        );
        assert.deepStrictEqual(
            spec.volumes.map((v: { name: string }) => v.name),
            ["source", "containerd-certs", "docker-certs"],
        );
    });

    it("runs the script from its auto-named ConfigMap in a pinned busybox, tolerating every taint by default", () => {
        const ds = dsNamed(dev, "-node-trust");
        const c = ds.inputs.spec.template.spec.containers[0];
        assert.strictEqual(c.image, "docker.io/library/busybox:1.37.0");
        assert.deepStrictEqual(c.command, ["/bin/sh", "/etc/registry-trust/node-trust.sh"]);
        assert.deepStrictEqual(ds.inputs.spec.template.spec.tolerations, [{ operator: "Exists" }]);
        const cm = configMapOf(dev, ds, "source");
        assert.strictEqual(cm.inputs.metadata.name, undefined, "auto-named, so a new CA rolls the DaemonSet");
        assert.match(cm.inputs.data["node-trust.sh"], /^#!\/bin\/sh/);
        const owner = c.env.find((e: { name: string }) => e.name === "OWNER");
        assert.strictEqual(owner.value, "registry/registry");
    });

    it("trusts the CA for every name the registry is reached by, with a hosts.toml that parses", () => {
        const cm = configMapOf(dev, dsNamed(dev, "-node-trust"), "source");
        const hosts = (cm.inputs.data.hosts as string).split("\n").filter(Boolean);
        assert.deepStrictEqual(hosts, ["203.0.113.10", "registry", "registry.registry", "registry.registry.svc", "registry.registry.svc.cluster.local"]);
        assert.strictEqual(hosts[0], dev.outputs.registryHost);
        assert.strictEqual(cm.inputs.data["ca.crt"], dev.outputs.caCertificate);
        hosts.forEach((h, i) => {
            assert.deepStrictEqual(TOML.parse(cm.inputs.data[`host-${i}.toml`]), {
                server: `https://${h}`,
                ca: `/etc/containerd/certs.d/${h}/ca.crt`,
                // Nodes only pull.
                capabilities: ["pull", "resolve"],
            });
        });
    });

    it("host names with ports, IPv6 and odd characters come out of the TOML library quoted and parseable", () => {
        assert.strictEqual(hostWithPort("registry.example.com", 443), "registry.example.com");
        assert.strictEqual(hostWithPort("registry.example.com", 5443), "registry.example.com:5443");
        assert.strictEqual(hostWithPort("2001:db8::1", 5000), "[2001:db8::1]:5000");
        for (const h of ["[2001:db8::1]:5000", 'we"ird\\name']) {
            assert.strictEqual(TOML.parse(containerdHostsToml(h)).server, `https://${h}`);
        }
        assert.deepStrictEqual(
            reachableHosts({
                publicNames: ["a.example.com", "b.example.com"],
                clusterDnsNames: ["r", "r.ns"],
                loadBalancerAddress: "a.example.com",
                port: 443,
            }),
            ["a.example.com", "b.example.com", "r", "r.ns"],
        );
    });

    it("with provided TLS is off unless asked for; `nodeTrust: false` leaves no node namespace", async () => {
        const pki = await makePki(["registry.example.com"]);
        const provided = {
            tlsMode: "provided",
            tlsCertificate: pki.certPem,
            tlsPrivateKey: pki.keyPem,
            tlsCaCertificate: pki.caPem,
            hostnames: ["registry.example.com"],
        };
        const auto = await runProgram(provided, { secretKeys: ["tlsPrivateKey"] });
        assert.strictEqual(auto.error, undefined, String(auto.error));
        assert.strictEqual(ofType(auto, DS).length, 0);
        const on = await runProgram({ ...provided, nodeTrust: "true" }, { secretKeys: ["tlsPrivateKey"] });
        assert.strictEqual(on.error, undefined, String(on.error));
        assert.strictEqual(configMapOf(on, dsNamed(on, "-node-trust"), "source").inputs.data["ca.crt"], pki.caPem);
        const off = await run("off", { nodeTrust: "false" });
        assert.strictEqual(ofType(off, DS).length, 0);
        assert.deepStrictEqual(
            ofType(off, "kubernetes:core/v1:Namespace").map((n) => n.inputs.metadata.name),
            ["registry"],
        );
    });

    it("tolerations are parsed from taint syntax", async () => {
        const r = await run("accessAll", VARIANTS.accessAll);
        assert.deepStrictEqual(dsNamed(r, "-node-trust").inputs.spec.template.spec.tolerations, [
            { key: "node-role.kubernetes.io/control-plane", operator: "Exists", effect: "NoSchedule" },
            { key: "dedicated", operator: "Equal", value: "ci", effect: "NoExecute" },
        ]);
        assert.deepStrictEqual(parseToleration("gpu"), { key: "gpu", operator: "Exists" });
        assert.deepStrictEqual(parseToleration("gpu=true"), { key: "gpu", operator: "Equal", value: "true" });
        assert.strictEqual(parseToleration("gpu:Sometimes"), undefined);
    });
});

describe("access: localhost proxy", () => {
    let r: ProgramRun;
    before(async () => {
        r = await run("accessAll", VARIANTS.accessAll);
    });

    it("is off by default", async () => {
        const dev = await run("dev", loadStackFile(stackFiles().dev), { stack: "dev" });
        assert.strictEqual(ofType(dev, DS).filter((d) => d.name.endsWith("-localhost-proxy")).length, 0);
    });

    it("exposes the registry on each node's hostPort, as a non-root nginx with a minimal security context", () => {
        const ds = dsNamed(r, "-localhost-proxy");
        assert.strictEqual(ds.inputs.metadata.namespace, "registry-node");
        const spec = ds.inputs.spec.template.spec;
        const c = spec.containers[0];
        assert.deepStrictEqual(c.ports, [{ name: "registry", containerPort: 8080, hostPort: 5001, protocol: "TCP" }]);
        assert.strictEqual(c.image, "docker.io/nginxinc/nginx-unprivileged:1.28.0-alpine");
        assert.deepStrictEqual(c.securityContext, {
            allowPrivilegeEscalation: false,
            readOnlyRootFilesystem: true,
            runAsNonRoot: true,
            capabilities: { drop: ["ALL"] },
            seccompProfile: { type: "RuntimeDefault" },
        });
        assert.strictEqual(spec.securityContext.runAsUser, 101);
        assert.ok(
            spec.volumes.every((v: { hostPath?: unknown }) => v.hostPath === undefined),
            "no hostPath",
        );
        assert.strictEqual(spec.hostNetwork, undefined);
    });

    it("cannot select itself: distinct labels, namespace and selectors from the registry and its Service", () => {
        const ds = dsNamed(r, "-localhost-proxy");
        const proxyLabels = ds.inputs.spec.template.metadata.labels;
        const svc = one(r, "kubernetes:core/v1:Service");
        const { deployment } = registryPod(r);
        assert.ok(!selects(svc.inputs.spec.selector, proxyLabels), "the registry Service would select the proxy pods");
        assert.ok(!selects(deployment.inputs.spec.selector.matchLabels, proxyLabels), "the registry Deployment would select the proxy pods");
        assert.ok(!selects(ds.inputs.spec.selector.matchLabels, deployment.inputs.spec.template.metadata.labels), "the proxy would adopt registry pods");
        assert.ok(selects(ds.inputs.spec.selector.matchLabels, proxyLabels));
        assert.notStrictEqual(ds.inputs.metadata.namespace, svc.inputs.metadata.namespace);
        // And the check itself can fail: the registry's Service selects the registry's pods.
        assert.ok(selects(svc.inputs.spec.selector, deployment.inputs.spec.template.metadata.labels));
    });

    it("proxies to the registry Service over TLS, verifying it with the registry's CA", () => {
        const cm = configMapOf(r, dsNamed(r, "-localhost-proxy"), "config");
        assert.strictEqual(cm.inputs.data["ca.crt"], r.outputs.caCertificate);
        const conf: string = cm.inputs.data["nginx.conf"];
        assert.strictEqual(
            conf,
            localProxyConf({
                listen: "8080",
                upstreamHost: "registry.registry.svc.cluster.local",
                upstreamPort: 443,
                upstreamName: "registry.registry.svc.cluster.local",
                caFile: "/etc/registry-proxy/ca.crt",
                tmpDir: "/tmp",
            }),
        );
        assert.match(conf, /upstream registry \{\n\s+server registry\.registry\.svc\.cluster\.local:443;\n\s+keepalive 16;\n\s+\}/);
        assert.match(conf, /proxy_pass https:\/\/registry;/);
        // Reused connections to the registry: HTTP/1.1 and no `Connection: close`.
        assert.match(conf, /proxy_http_version 1\.1;\n\s+proxy_set_header Connection "";/);
        assert.match(conf, /proxy_ssl_verify on;/);
        assert.match(conf, /proxy_ssl_trusted_certificate \/etc\/registry-proxy\/ca\.crt;/);
        assert.match(conf, /client_max_body_size 0;/);
        assert.match(conf, /proxy_request_buffering off;/);
        // Nodes only pull: anything but GET and HEAD is refused.
        assert.match(conf, /location \/ \{\n\s+limit_except GET \{\n\s+deny all;\n\s+\}/);
    });

    it("the nginx renderer refuses arguments that would change the configuration's structure", () => {
        assert.throws(() => renderNginx([{ name: "proxy_pass", args: ["https://x; include /etc/passwd"] }]), /not a single safe token/);
        assert.throws(() => renderNginx([{ name: "listen", args: ["80 {"] }]), /not a single safe token/);
        assert.strictEqual(renderNginx([{ name: "events", block: [{ name: "worker_connections", args: [8] }] }]), "events {\n    worker_connections 8;\n}\n");
        assert.strictEqual(renderNginx([{ name: "proxy_set_header", args: ["Connection", ""] }]), 'proxy_set_header Connection "";\n');
        // Quoted on request, never with a quote, a backslash or a variable inside.
        assert.strictEqual(renderNginx([{ name: "auth_basic", args: [{ quoted: "My registry; {x}" }] }]), 'auth_basic "My registry; {x}";\n');
        for (const bad of ['a"b', "a\\b", "$host", "a\nb"]) {
            assert.throws(() => renderNginx([{ name: "auth_basic", args: [{ quoted: bad }] }]), /cannot be quoted safely/);
        }
        // `map` entries: safe tokens only.
        assert.strictEqual(
            renderNginx([
                {
                    name: "map",
                    args: ["$a", "$b"],
                    entries: [
                        ["", "x"],
                        ["default", "y"],
                    ],
                },
            ]),
            'map $a $b {\n    "" x;\n    default y;\n}\n',
        );
        assert.throws(() => renderNginx([{ name: "map", args: ["$a", "$b"], entries: [["x; }", "y"]] }]), /not a single safe token/);
    });
});

describe("access: pull secrets", () => {
    let r: ProgramRun;
    before(async () => {
        r = await run("accessAll", VARIANTS.accessAll);
    });

    it("a kubernetes.io/dockerconfigjson Secret per listed namespace, for the pull-only user, as a Pulumi secret, naming the localhost proxy too", () => {
        const secrets = ofType(r, "kubernetes:core/v1:Secret").filter((s) => s.inputs.type === "kubernetes.io/dockerconfigjson" && s.name.includes("-pull-"));
        assert.deepStrictEqual(
            secrets.map((s) => [s.inputs.metadata.namespace, s.inputs.metadata.name]),
            [
                ["apps", "registry-pull"],
                ["ci", "registry-pull"],
            ],
        );
        const passwords = r.outputs.passwords as Record<string, string>;
        assert.deepStrictEqual(Object.keys(passwords), ["admin", "puller"]);
        for (const s of secrets) {
            assert.ok(s.secretInputs.includes("stringData"), `${s.name} secret inputs: ${s.secretInputs.join(",")}`);
            const doc = JSON.parse(secretValue(s, ".dockerconfigjson") ?? "");
            const hosts = Object.keys(doc.auths);
            assert.strictEqual(hosts[0], r.outputs.registryHost);
            assert.deepStrictEqual(hosts, [
                "registry.example.com",
                "registry",
                "registry.registry",
                "registry.registry.svc",
                "registry.registry.svc.cluster.local",
                "203.0.113.10",
                "localhost:5001",
            ]);
            for (const h of hosts) {
                const e = doc.auths[h];
                assert.deepStrictEqual([e.username, e.password], ["puller", passwords.puller]);
                assert.strictEqual(Buffer.from(e.auth, "base64").toString(), `puller:${passwords.puller}`);
            }
        }
    });

    it("the pull user may read and not write (in the gate's pull file only), and the primary user stays the first", () => {
        const auth = one(r, "kubernetes:core/v1:Secret", "registry-auth");
        const users = (file: string) =>
            (secretValue(auth, file) ?? "")
                .split("\n")
                .filter(Boolean)
                .map((l) => l.split(":")[0]);
        assert.deepStrictEqual(users("pull.htpasswd"), ["admin", "puller"]);
        assert.deepStrictEqual(users("push.htpasswd"), ["admin"]);
        assert.strictEqual(r.outputs.username, "admin");
    });

    it("the pull Secrets carry only a pull-only credential, whichever pull user is named", async () => {
        const x = await runProgram({ users: ["admin", "ci"], pullUsers: ["nodes", "reader"], pullUser: "reader", pullSecretNamespaces: ["apps"] });
        assert.strictEqual(x.error, undefined, String(x.error));
        const pushUsers = ["admin", "ci"];
        const passwords = x.outputs.passwords as Record<string, string>;
        assert.deepStrictEqual(Object.keys(passwords), ["admin", "ci", "nodes", "reader"]);
        const secret = ofType(x, "kubernetes:core/v1:Secret").find((s) => s.inputs.type === "kubernetes.io/dockerconfigjson" && s.name.includes("-pull-"));
        assert.ok(secret !== undefined);
        assert.ok(secret.secretInputs.includes("stringData"));
        const dockerConfig = JSON.parse(secretValue(secret, ".dockerconfigjson") ?? "") as { auths: Record<string, { username: string; password: string }> };
        const entries = Object.values(dockerConfig.auths);
        assert.ok(entries.length > 0);
        for (const e of entries) {
            assert.deepStrictEqual([e.username, e.password], ["reader", passwords.reader]);
            assert.ok(!pushUsers.some((u) => passwords[u] === e.password), "a push user's password is in a pull Secret");
        }
    });

    it("patches each namespace's default ServiceAccount when asked", () => {
        const patches = ofType(r, "kubernetes:core/v1:ServiceAccountPatch");
        assert.deepStrictEqual(
            patches.map((p) => [p.inputs.metadata.namespace, p.inputs.metadata.name, p.inputs.imagePullSecrets]),
            [
                ["apps", "default", [{ name: "registry-pull" }]],
                ["ci", "default", [{ name: "registry-pull" }]],
            ],
        );
    });

    it("no pull Secret by default; the pull-only user is there all the same, for the pull-only outputs", async () => {
        const dev = await run("dev", loadStackFile(stackFiles().dev), { stack: "dev" });
        assert.strictEqual(ofType(dev, "kubernetes:core/v1:Secret").filter((s) => s.inputs.type === "kubernetes.io/dockerconfigjson").length, 0);
        assert.deepStrictEqual(Object.keys(dev.outputs.passwords as object), ["admin", "ci", "puller"]);
    });

    it("a pull user already among `pullUsers` is reused, not added twice", async () => {
        const x = await runProgram({ pullUsers: ["puller", "reader"], pullSecretNamespaces: ["apps"] });
        assert.strictEqual(x.error, undefined, String(x.error));
        assert.deepStrictEqual(Object.keys(x.outputs.passwords as object), ["admin", "puller", "reader"]);
    });
});

describe("access: ingress", () => {
    it("re-encrypt: ingress-nginx without body limit or buffering, the registry's certificate, the registry verified by its CA", async () => {
        const r = await run("accessAll", VARIANTS.accessAll);
        const ing = one(r, "kubernetes:networking.k8s.io/v1:Ingress");
        const tlsSecret = ofType(r, "kubernetes:core/v1:Secret").find((s) => s.name.endsWith("-ingress-tls"));
        assert.ok(tlsSecret !== undefined);
        const secretName = tlsSecret.state.metadata.name;
        assert.strictEqual(ing.inputs.spec.ingressClassName, "nginx");
        assert.deepStrictEqual(ing.inputs.spec.tls, [{ hosts: ["registry.example.com"], secretName }]);
        assert.deepStrictEqual(ing.inputs.spec.rules, [
            {
                host: "registry.example.com",
                http: { paths: [{ path: "/", pathType: "Prefix", backend: { service: { name: "registry", port: { number: 443 } } } }] },
            },
        ]);
        assert.deepStrictEqual(ing.inputs.metadata.annotations, {
            "nginx.ingress.kubernetes.io/backend-protocol": "HTTPS",
            "nginx.ingress.kubernetes.io/proxy-body-size": "0",
            "nginx.ingress.kubernetes.io/proxy-request-buffering": "off",
            "nginx.ingress.kubernetes.io/proxy-buffering": "off",
            "nginx.ingress.kubernetes.io/proxy-read-timeout": "900",
            "nginx.ingress.kubernetes.io/proxy-send-timeout": "900",
            "nginx.ingress.kubernetes.io/proxy-ssl-secret": `registry/${secretName}`,
            "nginx.ingress.kubernetes.io/proxy-ssl-verify": "on",
            "nginx.ingress.kubernetes.io/proxy-ssl-verify-depth": "2",
            "nginx.ingress.kubernetes.io/proxy-ssl-name": "registry.registry.svc.cluster.local",
            "nginx.ingress.kubernetes.io/proxy-ssl-server-name": "on",
            "example.com/owner": "platform",
        });
        assert.strictEqual(tlsSecret.inputs.type, "kubernetes.io/tls");
        assert.strictEqual(secretValue(tlsSecret, "ca.crt"), r.outputs.caCertificate);
        assert.match(secretValue(tlsSecret, "tls.key") ?? "", /PRIVATE KEY/);
        assert.ok(tlsSecret.secretInputs.includes("stringData"), "the key must be a Pulumi secret");
        assert.strictEqual(secretValue(tlsSecret, "tls.crt"), secretValue(one(r, "kubernetes:core/v1:Secret", "registry-tls"), "tls.crt"));
    });

    it("`pulumi up` waits for the controller's address longer than the provider's 10 minutes (cloud L7 load balancers take that long)", async () => {
        const ing = one(await run("accessAll", VARIANTS.accessAll), "kubernetes:networking.k8s.io/v1:Ingress");
        const t = ing.options.customTimeouts;
        assert.ok(t !== undefined, "no customTimeouts");
        assert.deepStrictEqual([t.create, t.update], ["1200s", "1200s"]);
    });

    it("passthrough: the controller forwards TLS, no TLS Secret; the class is configurable", async () => {
        const r = await run("ingressPassthrough", VARIANTS.ingressPassthrough);
        const ing = one(r, "kubernetes:networking.k8s.io/v1:Ingress");
        assert.strictEqual(ing.inputs.spec.ingressClassName, "public");
        assert.strictEqual(ing.inputs.spec.tls, undefined);
        assert.strictEqual(ing.inputs.metadata.annotations["nginx.ingress.kubernetes.io/ssl-passthrough"], "true");
        assert.strictEqual(ing.inputs.metadata.annotations["nginx.ingress.kubernetes.io/proxy-body-size"], "0");
        assert.strictEqual(ofType(r, "kubernetes:core/v1:Secret").filter((s) => s.name.endsWith("-ingress-tls")).length, 0);
    });
});

describe("access: image mirroring Job", () => {
    let r: ProgramRun;
    before(async () => {
        r = await run("accessAll", VARIANTS.accessAll);
    });
    const job = (x: ProgramRun) => one(x, "kubernetes:batch/v1:Job");

    it("copies each upstream image to <registry>/<upstream name>:<tag> with skopeo, from its auto-named ConfigMap", () => {
        const j = job(r);
        const spec = j.inputs.spec.template.spec;
        const c = spec.containers[0];
        assert.strictEqual(c.image, "quay.io/skopeo/stable:v1.16.1");
        const env = Object.fromEntries(c.env.map((e: { name: string; value: string }) => [e.name, e.value]));
        assert.strictEqual(env.DEST, "registry.registry.svc.cluster.local", "the Service's name, which the certificate covers (port 443 implied)");
        const cmName = spec.volumes.find((v: { name: string }) => v.name === "config").configMap.name;
        const cm = ofType(r, "kubernetes:core/v1:ConfigMap").find((x) => x.state.metadata.name === cmName);
        assert.ok(cm !== undefined);
        assert.strictEqual(cm.inputs.metadata.name, undefined, "auto-named: a new list is a new pod template");
        assert.strictEqual(
            cm.inputs.data.images,
            `docker.io/library/nginx:1.27.3 docker.io/library/nginx:1.27.3\nregistry.k8s.io/pause:3.10@sha256:${"b".repeat(64)} registry.k8s.io/pause:3.10\n`,
        );
        assert.strictEqual(cm.inputs.data["ca.crt"], r.outputs.caCertificate);
        assert.deepStrictEqual(j.options.ignoreChanges, []);
    });

    it("waits for the registry Deployment, and a changed list replaces the Job (its template is immutable)", async () => {
        const j = job(r);
        assert.ok(
            j.options.dependencies.some((d) => d.endsWith("$kubernetes:apps/v1:Deployment::registry-deployment")),
            `Job dependencies: ${j.options.dependencies.join(", ")}`,
        );
        const other = await runProgram({ ...VARIANTS.accessAll, mirrorImages: ["docker.io/library/nginx:1.27.4"] });
        assert.strictEqual(other.error, undefined, String(other.error));
        const checksum = (x: ProgramRun) => job(x).inputs.spec.template.metadata.annotations["checksum/images"];
        assert.match(checksum(r), /^[a-f0-9]{64}$/);
        assert.notStrictEqual(checksum(other), checksum(r), "a new list must change the pod template");
    });

    it("`pulumi up` waits for the Job as long as the Job may run (activeDeadlineSeconds) and five minutes more, not the provider's 10 minutes", () => {
        const j = job(r);
        const deadline = j.inputs.spec.activeDeadlineSeconds;
        assert.strictEqual(deadline, 3600);
        const t = j.options.customTimeouts;
        assert.ok(t !== undefined, "no customTimeouts");
        assert.deepStrictEqual([t.create, t.update], [`${deadline + 300}s`, `${deadline + 300}s`]);
    });

    it("pushes as the primary user through a dockerconfigjson Secret that is a Pulumi secret", () => {
        const spec = job(r).inputs.spec.template.spec;
        const secretName = spec.volumes.find((v: { name: string }) => v.name === "auth").secret.secretName;
        const secret = ofType(r, "kubernetes:core/v1:Secret").find((x) => x.state.metadata.name === secretName);
        assert.ok(secret !== undefined);
        assert.ok(secret.secretInputs.includes("stringData"));
        const doc = JSON.parse(secretValue(secret, ".dockerconfigjson") ?? "");
        assert.deepStrictEqual(Object.keys(doc.auths), ["registry.registry.svc.cluster.local"]);
        assert.deepStrictEqual(
            [doc.auths["registry.registry.svc.cluster.local"].username, doc.auths["registry.registry.svc.cluster.local"].password],
            ["admin", r.outputs.password],
        );
    });

    it("passes the restricted Pod Security Standard, and the registry Service cannot select its pod", () => {
        const j = job(r);
        const spec = j.inputs.spec.template.spec;
        assert.deepStrictEqual(spec.containers[0].securityContext, {
            allowPrivilegeEscalation: false,
            readOnlyRootFilesystem: true,
            runAsNonRoot: true,
            capabilities: { drop: ["ALL"] },
            seccompProfile: { type: "RuntimeDefault" },
        });
        assert.strictEqual(spec.securityContext.runAsNonRoot, true);
        assert.strictEqual(j.inputs.metadata.namespace, "registry");
        const svc = one(r, "kubernetes:core/v1:Service");
        assert.ok(!selects(svc.inputs.spec.selector, j.inputs.spec.template.metadata.labels), "the registry Service would send traffic to the mirror pod");
    });

    it("no Job by default", async () => {
        const dev = await run("dev", loadStackFile(stackFiles().dev), { stack: "dev" });
        assert.strictEqual(ofType(dev, "kubernetes:batch/v1:Job").length, 0);
    });
});

describe("access: config validation", () => {
    const problemsOf = (values: Record<string, unknown>): readonly string[] => {
        try {
            parseConfig(raw(values));
        } catch (e) {
            assert.ok(e instanceof ConfigError);
            return e.problems;
        }
        return [];
    };
    const BAD: [string, Record<string, unknown>, string][] = [
        ["nodeTrust not a mode", { nodeTrust: "yes" }, "`nodeTrust` must be one of `auto`, `true`, `false`; got `yes`"],
        [
            "unpinned image",
            { nodeTrustImage: "busybox" },
            "`nodeTrustImage` must be an image pinned by an exact tag or a digest, such as `docker.io/library/busybox:1.37.0`; got `busybox`",
        ],
        [
            "latest tag",
            { localProxyImage: "docker.io/nginxinc/nginx-unprivileged:latest" },
            "`localProxyImage` must be an image pinned by an exact tag or a digest, such as `docker.io/library/busybox:1.37.0`; got `docker.io/nginxinc/nginx-unprivileged:latest`",
        ],
        [
            "bad toleration",
            { nodeTolerations: ["gpu:Sometimes"] },
            "`nodeTolerations` entries must be `*` or a taint `key[=value][:Effect]` with Effect one of NoSchedule, PreferNoSchedule, NoExecute; got `gpu:Sometimes`",
        ],
        ["proxy port", { localProxyPort: 0 }, "`localProxyPort` must be a whole number between 1 and 65535; got 0"],
        ["bad pull namespace", { pullSecretNamespaces: ["Apps"] }, "`pullSecretNamespaces` entries must be namespace names (lowercase DNS labels); got `Apps`"],
        ["duplicate pull namespace", { pullSecretNamespaces: ["apps", "apps"] }, "`pullSecretNamespaces` lists `apps` twice"],
        [
            "patch without namespaces",
            { pullSecretPatchServiceAccount: true },
            "`pullSecretPatchServiceAccount` needs `pullSecretNamespaces`: it patches the default ServiceAccount of those namespaces",
        ],
        [
            "bad pull user",
            { pullUser: "Pull:er" },
            "`pullUser` must be 1-64 characters of a-z, 0-9, '.', '_', '-' starting with a letter or digit; got `Pull:er`",
        ],
        [
            "pull user who pushes",
            { users: ["admin", "puller"] },
            "`pullUser` `puller` is a push user (in `users`); the pull Secrets and `pullDockerConfigJson` carry only pull-only credentials: move `puller` from `users` to `pullUsers`, or set `pullUser` to another name",
        ],
        [
            "ingress without hostnames",
            { ingressEnabled: true },
            "`ingressEnabled` needs `hostnames`: an Ingress routes by host name, and the certificate must cover it",
        ],
        ["ingress tls mode", { ingressTls: "edge" }, "`ingressTls` must be one of `reencrypt`, `passthrough`; got `edge`"],
        ["ingress class", { ingressClassName: "Nginx" }, "`ingressClassName` must be an IngressClass name (lowercase DNS label); got `Nginx`"],
        [
            "ingress annotation",
            { ingressAnnotations: ["no-equals"] },
            "`ingressAnnotations` entries must be `key=value` with a valid annotation key; got `no-equals`",
        ],
        [
            "namespace too long for the node namespace",
            { namespace: "n".repeat(60) },
            "`namespace` must be at most 58 characters when `nodeTrust` or `localProxy` is on: the node DaemonSets run in `<namespace>-node`; got 60",
        ],
        [
            "short mirror image name",
            { mirrorImages: ["nginx:1.27"] },
            "`mirrorImages` entries must be fully qualified image references with a tag, such as `docker.io/library/nginx:1.27.3` (a digest may follow the tag); got `nginx:1.27`",
        ],
        [
            "mirror image without a tag",
            { mirrorImages: [`docker.io/library/nginx@sha256:${"c".repeat(64)}`] },
            `\`mirrorImages\` entries must be fully qualified image references with a tag, such as \`docker.io/library/nginx:1.27.3\` (a digest may follow the tag); got \`docker.io/library/nginx@sha256:${"c".repeat(64)}\``,
        ],
        ["duplicate mirror image", { mirrorImages: ["quay.io/a/b:1", "quay.io/a/b:1"] }, "`mirrorImages` lists `quay.io/a/b:1` twice"],
    ];
    for (const [name, config, problem] of BAD) {
        it(`${name}: ${problem.slice(0, 60)}...`, () => {
            assert.deepStrictEqual(problemsOf(config), [problem]);
        });
    }

    it("a bad access key stops the program before any resource exists", async () => {
        const r = await runProgram({ pullSecretNamespaces: ["Apps"] });
        assert.ok(r.error instanceof ConfigError);
        assert.strictEqual(r.resources.length, 0);
    });

    it("pinned images by digest, and a long namespace with the node DaemonSets off, are accepted", () => {
        assert.deepStrictEqual(problemsOf({ nodeTrustImage: `docker.io/library/busybox@sha256:${"a".repeat(64)}` }), []);
        assert.deepStrictEqual(problemsOf({ namespace: "n".repeat(60), nodeTrust: "false" }), []);
    });
});
