// The Pulumi program under mocks, in variants of the dev stack (tests/support/variants.ts): storage,
// users, provided TLS, Service types, the 2.8 line, load balancer options, kept storage.
import * as assert from "assert";

import { htpasswdUsers, registryPod, secretValue } from "./support/pod";
import { k8sObject, one, ofType, runProgram } from "./support/program";
import { run } from "./support/program-fixtures";

describe("the Pulumi program", () => {
    describe("variants", () => {
        it("emptyDir: no PVC, nothing retained, a ClusterIP host with its port", async () => {
            const r = await run("emptyDir");
            assert.strictEqual(ofType(r, "kubernetes:core/v1:PersistentVolumeClaim").length, 0);
            assert.strictEqual(one(r, "kubernetes:core/v1:Namespace", "registry-namespace").options.retainOnDelete, false);
            const data = registryPod(r).podSpec.volumes.find((v: { name: string }) => v.name === "data");
            assert.deepStrictEqual(data, { name: "data", emptyDir: { sizeLimit: "2Gi" } });
            assert.strictEqual(r.outputs.registryHost, "registry.registry.svc.cluster.local");
            assert.strictEqual(r.outputs.loadBalancerAddress, "");
        });

        it("pvc: size and storage class, and the first hostname becomes registryHost", async () => {
            const r = await run("pvc");
            const pvc = one(r, "kubernetes:core/v1:PersistentVolumeClaim");
            assert.strictEqual(pvc.inputs.spec.storageClassName, "fast-ssd");
            assert.deepStrictEqual(pvc.inputs.spec.resources, { requests: { storage: "50Gi" } });
            assert.strictEqual(r.outputs.registryHost, "registry.example.com");
            assert.strictEqual(JSON.parse(String(r.outputs.dockerConfigJson)).auths["registry.example.com"].username, "admin");
        });

        it("ReadWriteMany with replicas: rolling update that keeps capacity, and a PDB", async () => {
            const r = await run("rwxReplicas");
            const { deployment } = registryPod(r);
            assert.strictEqual(deployment.inputs.spec.replicas, 3);
            assert.deepStrictEqual(deployment.inputs.spec.strategy, { type: "RollingUpdate", rollingUpdate: { maxUnavailable: 0, maxSurge: 1 } });
            const pdb = one(r, "kubernetes:policy/v1:PodDisruptionBudget");
            assert.deepStrictEqual(pdb.inputs.spec, { maxUnavailable: 1, selector: { matchLabels: deployment.inputs.spec.selector.matchLabels } });
        });

        it("several users: one password each; every user in the gate's pull file, push users alone in its push file", async () => {
            const r = await run("severalUsers");
            assert.deepStrictEqual(
                ofType(r, "random:index/randomPassword:RandomPassword")
                    .map((p) => p.name)
                    .sort(),
                [
                    "registry-http-secret",
                    "registry-user-admin",
                    "registry-user-ci",
                    "registry-user-deploy",
                    "registry-user-nodes",
                    "registry-user-puller",
                    "registry-user-reader",
                ],
            );
            const auth = one(r, "kubernetes:core/v1:Secret", "registry-auth");
            const users = (file: string) => htpasswdUsers(auth, file);
            assert.deepStrictEqual(users("pull.htpasswd"), ["admin", "ci", "deploy", "reader", "nodes", "puller"]);
            assert.deepStrictEqual(users("push.htpasswd"), ["admin", "ci", "deploy"]);
            for (const p of ofType(r, "random:index/randomPassword:RandomPassword")) {
                assert.strictEqual(p.inputs.special, false);
            }
        });

        it("provided TLS: no generated keys, the given certificate in the Secret", async () => {
            const { makePki } = await import("./support/pki");
            const pki = await makePki(["registry.example.com"]);
            const r = await runProgram(
                {
                    tlsMode: "provided",
                    tlsCertificate: pki.certPem,
                    tlsPrivateKey: pki.keyPem,
                    tlsCaCertificate: pki.caPem,
                    hostnames: ["registry.example.com"],
                },
                { secretKeys: ["tlsPrivateKey"] },
            );
            assert.strictEqual(r.error, undefined);
            assert.strictEqual(r.resources.filter((x) => x.type.startsWith("tls:")).length, 0);
            const tlsSecret = one(r, "kubernetes:core/v1:Secret", "registry-tls");
            assert.strictEqual(secretValue(tlsSecret, "tls.crt"), pki.certPem);
            assert.strictEqual(secretValue(tlsSecret, "tls.key"), pki.keyPem);
            assert.ok(tlsSecret.secretInputs.includes("stringData"));
            assert.strictEqual(r.outputs.caCertificate, pki.caPem);
        });

        it("ClusterIP on another port: the in-cluster name with the port", async () => {
            const r = await run("clusterIp");
            const svc = one(r, "kubernetes:core/v1:Service");
            assert.strictEqual(svc.inputs.spec.type, "ClusterIP");
            assert.strictEqual(svc.inputs.spec.ports[0].port, 5443);
            assert.strictEqual(svc.inputs.spec.ports[0].nodePort, undefined);
            assert.strictEqual(r.outputs.registryHost, "registry.registry.svc.cluster.local:5443");
            assert.strictEqual(r.outputs.registryUrl, "https://registry.registry.svc.cluster.local:5443");
        });

        it("NodePort: the fixed node port", async () => {
            const r = await run("nodePort");
            const svc = one(r, "kubernetes:core/v1:Service");
            assert.strictEqual(svc.inputs.spec.type, "NodePort");
            assert.strictEqual(svc.inputs.spec.ports[0].nodePort, 30443);
            assert.strictEqual(r.outputs.registryHost, "node.example.com");
        });

        it("2.8 line: config under /etc/docker/registry, RSA keys, image pinned by digest", async () => {
            const r = await run("rsa28");
            const { container } = registryPod(r);
            assert.strictEqual(container.image, `docker.io/library/registry:2.8.3@sha256:${"a".repeat(64)}`);
            assert.deepStrictEqual(container.args, ["serve", "/etc/docker/registry/config.yml"]);
            assert.strictEqual(container.volumeMounts.find((m: { name: string }) => m.name === "config").mountPath, "/etc/docker/registry");
            for (const k of ofType(r, "tls:index/privateKey:PrivateKey")) {
                assert.deepStrictEqual([k.inputs.algorithm, k.inputs.rsaBits], ["RSA", 2048]);
            }
        });

        it("load balancer options: annotations, source ranges, limits and logging reach their objects", async () => {
            const r = await run("lbOptions");
            const svc = one(r, "kubernetes:core/v1:Service");
            assert.deepStrictEqual(svc.inputs.metadata.annotations, {
                "service.beta.kubernetes.io/aws-load-balancer-type": "nlb",
                "example.com/team": "platform",
                "pulumi.com/waitFor": "jsonpath={.status.loadBalancer.ingress}",
            });
            assert.deepStrictEqual(svc.inputs.spec.loadBalancerSourceRanges, ["10.0.0.0/8", "203.0.113.0/24"]);
            const { container, config } = registryPod(r);
            assert.deepStrictEqual(container.resources, { requests: { cpu: "100m", memory: "128Mi" }, limits: { cpu: "2", memory: "512Mi" } });
            assert.deepStrictEqual(config.log, { level: "info", formatter: "text", accesslog: { disabled: true }, fields: { service: "registry" } });
        });

        it("a hostname load balancer (AWS) goes into the SANs and registryHost", async () => {
            const r = await runProgram({}, { loadBalancer: { hostname: "abc-123.elb.us-east-1.amazonaws.com" } });
            assert.strictEqual(r.outputs.registryHost, "abc-123.elb.us-east-1.amazonaws.com");
            assert.ok((one(r, "tls:index/certRequest:CertRequest").inputs.dnsNames as string[]).includes("abc-123.elb.us-east-1.amazonaws.com"));
        });

        it("deleteStorageOnDestroy: the PVC and namespace go with the stack", async () => {
            const r = await run("destroyable");
            assert.strictEqual(one(r, "kubernetes:core/v1:PersistentVolumeClaim").options.retainOnDelete, false);
            assert.strictEqual(one(r, "kubernetes:core/v1:Namespace", "registry-namespace").options.retainOnDelete, false);
        });

        it("storageExistingClaim: the kept claim is mounted and no PVC is created or owned", async () => {
            const r = await run("adoptKeptClaim");
            assert.strictEqual(ofType(r, "kubernetes:core/v1:PersistentVolumeClaim").length, 0);
            const data = registryPod(r).podSpec.volumes.find((v: { name: string }) => v.name === "data");
            assert.deepStrictEqual(data.persistentVolumeClaim, { claimName: "registry-data" });
        });

        it("an existing namespace is used, not created", async () => {
            const r = await run("existingNamespace");
            assert.deepStrictEqual(
                ofType(r, "kubernetes:core/v1:Namespace").map((n) => n.inputs.metadata.name),
                ["tools-node"],
                "only the node DaemonSets' namespace",
            );
            assert.strictEqual(k8sObject(r, "Deployment", "registry").inputs.metadata.namespace, "tools");
            assert.ok((one(r, "tls:index/certRequest:CertRequest").inputs.dnsNames as string[]).includes("registry.tools.svc.cluster.local"));
        });
    });
});
