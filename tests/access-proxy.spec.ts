// Access under Pulumi mocks: the ways in besides the Service, namely the localhost proxy
// DaemonSet (and the nginx renderer it uses) and the Ingress.
import * as assert from "assert";

import { localProxyConf, renderNginx } from "../components/access";
import { registryPod, secretValue } from "./support/pod";
import { loadStackFile, one, ofType, ProgramRun, stackFiles } from "./support/program";
import { VARIANTS } from "./support/variants";
import { configMapOf, DS, dsNamed, run, selects } from "./support/access-fixtures";

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
