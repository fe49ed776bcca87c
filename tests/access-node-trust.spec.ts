// Access under Pulumi mocks: the node trust DaemonSet that installs the registry's CA for
// containerd and Docker on every node.
import * as assert from "assert";
import * as TOML from "smol-toml";

import { containerdHostsToml, parseToleration, reachableHosts } from "../components/access";
import { hostWithPort } from "../components/registry";
import { makePki } from "./support/pki";
import { loadStackFile, one, ofType, ProgramRun, runProgram, stackFiles } from "./support/program";
import { VARIANTS } from "./support/variants";
import { configMapOf, DS, dsNamed, run } from "./support/access-fixtures";

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
