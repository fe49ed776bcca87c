// The `dev` stack's whole life under the real engine: the README's deploy commands with the real
// Pulumi CLI (up through the Automation API, program inline), against a real API server; the
// registry pod the controller-manager makes from the program's Deployment, run for real by the
// stand-in kubelet from the API server's objects; the login script and skopeo through the load
// balancer's address with nothing but the stack outputs; updates, destroy and adoption.
import * as assert from "assert";
import * as k8s from "@kubernetes/client-node";
import * as fs from "fs";
import * as path from "path";

import { buildImage, compareImage, MiB, OciImage, pull, pullAndCompare, RegistryAccess } from "../harness/oci";
import { request } from "../harness/http";
import { listeners, waitFor, workDir } from "../harness/procs";
import { ROOT } from "../support/program";
import { Workstation, workstation } from "../harness/workstation";
import { loopbackTwin } from "./pod-network";
import type { OpRequest, OpResult } from "./op";
import { EngineProject } from "./stack";
import { namespaceGone, useEngine } from "./suite";
import type { TestCluster } from "./test-cluster";

const STACK = "dev";
const SCRIPT = path.join(ROOT, "scripts", "registry-login.sh");

interface Outputs {
    readonly registryHost: string;
    readonly registryUrl: string;
    readonly caCertificate: string;
    readonly username: string;
    readonly password: string;
    readonly passwords: Record<string, string>;
    readonly dockerConfigJson: string;
    readonly namespace: string;
    readonly deploymentName: string;
    readonly loadBalancerAddress: string;
}

/** The command lines of each `sh` block of a README section, comments dropped. */
function readmeBlocks(heading: string): string[][] {
    const readme = fs.readFileSync(path.join(ROOT, "README.md"), "utf8");
    const start = readme.indexOf(`\n${heading}\n`);
    assert.ok(start >= 0, `README has a section ${heading}`);
    const end = readme.indexOf("\n## ", start + heading.length + 2);
    const section = readme.slice(start, end < 0 ? undefined : end);
    return [...section.matchAll(/```sh\n([\s\S]*?)```/g)].map((m) =>
        m[1]
            .split("\n")
            .map((l) => l.replace(/\s+#.*$/, "").trim())
            .filter((l) => l !== ""),
    );
}

describe("the dev stack under the real engine (Pulumi CLI, kube-apiserver, the registry pod run from the API server's objects)", function () {
    let cluster: TestCluster;
    let project: EngineProject;
    let core: k8s.CoreV1Api;
    let apps: k8s.AppsV1Api;
    let image: OciImage;
    let outputs: Outputs;
    let certDir: string;
    // `pulumi login` is one of the README's deploy commands, run by the first test.
    const engine = useEngine({ login: false });
    /** Records a directory the tests write (certificates, workstations, images, pulls), deleted at the end. */
    const mark = (dir: string): string => engine.mark(dir);
    const pullInto = async (ref: string, a: RegistryAccess): Promise<Awaited<ReturnType<typeof pull>>> => {
        const r = await pull(ref, a);
        mark(r.dir);
        return r;
    };

    const access = (user: string, password: string): RegistryAccess => ({ certDir, creds: { username: user, password } });
    const registryPods = async (): Promise<k8s.V1Pod[]> =>
        (await core.listNamespacedPod("registry", undefined, undefined, undefined, undefined, "app.kubernetes.io/name=registry")).body.items;
    /**
     * The stack outputs, once the registry answers through the load balancer. `pulumi up` ends when
     * the new pod is available; the controller-manager updates the Service's endpoints a moment
     * later, and until then the load balancer may still pick the pod that was replaced (as a
     * cloud load balancer's health checks lag too).
     */
    const readOutputs = async (): Promise<Outputs> => {
        const o = (await project.outputs(STACK)) as unknown as Outputs;
        certDir = mark(workDir("engine-certs"));
        fs.writeFileSync(path.join(certDir, "ca.crt"), o.caCertificate);
        let answered = 0;
        await waitFor(
            `${o.registryUrl}/v2/ through the load balancer`,
            async () => {
                const r = await request(`${o.registryUrl}/v2/`, { ca: o.caCertificate, timeoutMs: 2000 }).catch(() => undefined);
                answered = r?.status === 401 ? answered + 1 : 0;
                return answered >= 3;
            },
            60_000,
            250,
        );
        return o;
    };
    /** The workstation of the login script's tests, with the CLI and the project's state. */
    const ciBox = (): Workstation => {
        const ws = workstation(path.dirname(project.env.pulumiCommand.command));
        mark(path.dirname(ws.home));
        Object.assign(ws.env, {
            PULUMI_HOME: project.env.pulumiHome,
            PULUMI_BACKEND_URL: project.backendUrl,
            PULUMI_CONFIG_PASSPHRASE: project.envVars.PULUMI_CONFIG_PASSPHRASE,
            PULUMI_SKIP_UPDATE_CHECK: "true",
        });
        return ws;
    };

    /**
     * Runs README command lines in the project's directory: `pulumi up`/`preview`/`refresh`/`destroy`
     * through the Automation API (the language host cannot be built here), anything else as written.
     */
    const runReadme = async (lines: readonly string[]): Promise<OpResult[]> => {
        const results: OpResult[] = [];
        for (const line of lines) {
            const op = /^pulumi (up|preview|refresh|destroy)$/.exec(line)?.[1] as OpRequest["op"] | undefined;
            if (op !== undefined) {
                results.push(await project.opOk(op, STACK));
            } else {
                const r = await project.sh(line);
                assert.strictEqual(r.code, 0, `${line}: ${r.stderr}`);
            }
        }
        return results;
    };

    before(() => {
        ({ cluster, project, core, apps } = engine);
        image = buildImage([4096, 17 * MiB]);
        mark(image.dir);
    });

    it("the README's deploy commands, as written (`pulumi up` through the Automation API)", async () => {
        const [commands] = readmeBlocks("## Deploy");
        assert.deepStrictEqual(
            commands.map((c) => c.split(" ").slice(0, 2).join(" ")),
            ["npm ci", "pulumi login", "pulumi stack", "pulumi up"],
        );
        // `npm ci` is how this test run began.
        const results = await runReadme(commands.slice(1));
        assert.ok(fs.existsSync(path.join(project.home, ".pulumi", "stacks", "registry", `${STACK}.json`)), "the stack is in ~/.pulumi");
        const up = results[results.length - 1];
        assert.ok((up.changes?.create ?? 0) >= 25, `up created ${JSON.stringify(up.changes)}`);
        assert.match(up.stdout, /warning: using pulumi-resource-tls from \$PATH/, "the tls stand-in is named as such");
    });

    it("every object is in the API server, the namespace enforces the restricted Pod Security Standard, and it does refuse a privileged pod", async () => {
        const ns = (await core.readNamespace("registry")).body;
        assert.strictEqual(ns.metadata?.labels?.["pod-security.kubernetes.io/enforce"], "restricted");
        const dep = (await apps.readNamespacedDeployment("registry", "registry")).body;
        assert.strictEqual(dep.status?.availableReplicas, 1);
        const svc = (await core.readNamespacedService("registry", "registry")).body;
        assert.strictEqual(svc.spec?.type, "LoadBalancer");
        assert.match(svc.status?.loadBalancer?.ingress?.[0]?.ip ?? "", /^127\.0\.0\.\d+$/);
        const pvc = (await core.readNamespacedPersistentVolumeClaim("registry-data", "registry")).body;
        assert.strictEqual(pvc.status?.phase, "Bound");
        await assert.rejects(
            core.createNamespacedPod("registry", {
                metadata: { name: "privileged" },
                spec: { containers: [{ name: "c", image: "busybox", securityContext: { privileged: true } }] },
            }),
            (e: { body?: { message?: string } }) => /violates PodSecurity "restricted:latest"/.test(e.body?.message ?? ""),
        );
    });

    it("the registry pod runs the real registry and its gate from the API server's objects, Ready by their own readiness probes", async () => {
        const pods = await registryPods();
        assert.strictEqual(pods.length, 1);
        const pod = pods[0];
        assert.strictEqual(pod.status?.conditions?.find((c) => c.type === "Ready")?.status, "True");
        assert.deepStrictEqual(
            pod.status?.containerStatuses?.map((c) => [c.name, c.ready]),
            [
                ["registry", true],
                ["gate", true],
            ],
        );
        const running = cluster.kubelet.containers().filter((c) => c.pod === pod.metadata?.name);
        assert.deepStrictEqual(
            running.map((c) => [c.container, c.real && c.proc?.running]),
            [
                ["registry", true],
                ["gate", true],
            ],
        );
        assert.strictEqual(running[0].ip, pod.status?.podIP);
        // The registry's API on the pod's socket only; the pod's HTTPS port is the gate's.
        const twin = loopbackTwin(running[0].ip);
        const log = fs.readFileSync(running[0].logFile ?? "", "utf8");
        assert.match(log, /listening on \/run\/registry\/registry\.sock/);
        assert.match(log, new RegExp(`debug server listening ${twin.replace(/\./g, "\\.")}:5001`));
        const v2 = await request(`https://${twin}:5000/v2/`, { insecure: true });
        assert.strictEqual(v2.status, 401);
        assert.strictEqual(v2.headers.server, "nginx");
    });

    it("`pulumi stack output --json --show-secrets` gives CI the address, CA and credentials; secrets stay secret without --show-secrets", async () => {
        outputs = await readOutputs();
        const lb = (await core.readNamespacedService("registry", "registry")).body.status?.loadBalancer?.ingress?.[0]?.ip;
        assert.strictEqual(outputs.registryHost, lb);
        assert.strictEqual(outputs.registryUrl, `https://${lb}`);
        assert.deepStrictEqual(Object.keys(outputs.passwords).sort(), ["admin", "ci", "puller"]);
        assert.strictEqual(outputs.password, outputs.passwords.admin);
        const plain = JSON.parse(await project.cliOk(["stack", "output", "--json", "--stack", STACK])) as Record<string, unknown>;
        for (const k of ["password", "passwords", "dockerConfigJson", "pullPassword", "pullDockerConfigJson"]) {
            assert.strictEqual(plain[k], "[secret]", `${k} is a secret`);
        }
        assert.strictEqual(plain.pullUsername, "puller");
    });

    it("scripts/registry-login.sh with the real CLI, then skopeo pushes and pulls through the load balancer with only those files", async () => {
        const ws = ciBox();
        const login = await ws.exec(SCRIPT, ["--stack", STACK, "--cwd", project.dir, "--user", "ci", "--client", "skopeo"]);
        assert.strictEqual(login.code, 0, login.stderr);
        const ref = `docker://${outputs.registryHost}/team/app:v1`;
        const pushed = await ws.exec("skopeo", ["copy", "-q", "--preserve-digests", `oci:${image.dir}:${image.tag}`, ref]);
        assert.strictEqual(pushed.code, 0, pushed.stderr);
        const out = mark(workDir("engine-pull"));
        const pulled = await ws.exec("skopeo", ["copy", "-q", "--preserve-digests", ref, `oci:${out}:pulled`]);
        assert.strictEqual(pulled.code, 0, pulled.stderr);
        assert.deepStrictEqual(compareImage(image, out), []);
    });

    it("a wrong password, an unknown CA and no credentials are refused", async () => {
        const ref = `${outputs.registryHost}/team/app:v1`;
        const wrong = await pullInto(ref, access("ci", `${outputs.passwords.ci}x`));
        assert.notStrictEqual(wrong.result.code, 0);
        assert.match(wrong.result.stderr, /unauthorized|authentication required/i);
        const anonymous = await pullInto(ref, { certDir });
        assert.notStrictEqual(anonymous.result.code, 0);
        assert.match(anonymous.result.stderr, /unauthorized|authentication required/i);
        const otherCa = mark(workDir("engine-other-ca"));
        fs.writeFileSync(path.join(otherCa, "ca.crt"), fs.readFileSync("/etc/ssl/certs/ca-certificates.crt"));
        const untrusted = await pullInto(ref, { certDir: otherCa, creds: { username: "ci", password: outputs.passwords.ci } });
        assert.notStrictEqual(untrusted.result.code, 0);
        assert.match(untrusted.result.stderr, /x509|certificate signed by unknown authority/);
    });

    it("roles through the load balancer: the pull-only user pulls and cannot write; the Service's endpoints are the gate's port, and the registry process serves its API on its socket only", async () => {
        const ref = `${outputs.registryHost}/team/app:v1`;
        assert.deepStrictEqual(await pullAndCompare(image, ref, access("puller", outputs.passwords.puller)), []);
        const pullOnly = { ca: outputs.caCertificate, auth: { username: "puller", password: outputs.passwords.puller } };
        for (const method of ["POST", "PUT", "PATCH", "DELETE"]) {
            assert.strictEqual((await request(`${outputs.registryUrl}/v2/team/app/blobs/uploads/`, { ...pullOnly, method })).status, 401, method);
        }
        const discovery = cluster.controlPlane.kc.makeApiClient(k8s.DiscoveryV1Api);
        const slices = await discovery.listNamespacedEndpointSlice(
            "registry",
            undefined,
            undefined,
            undefined,
            undefined,
            "kubernetes.io/service-name=registry",
        );
        assert.deepStrictEqual(
            slices.body.items.flatMap((sl) => (sl.ports ?? []).map((p) => [p.name, p.port])),
            [["https", 5000]],
        );
        const [pod] = await registryPods();
        const registry = cluster.kubelet.containers().find((c) => c.pod === pod.metadata?.name && c.container === "registry");
        assert.deepStrictEqual(listeners(registry?.proc?.pid ?? -1), { tcp: [5001], unix: ["/run/registry/registry.sock"] });
    });

    it("`pulumi preview --expect-no-changes` is clean right after up, and after a refresh", async () => {
        await project.opOk("preview", STACK, { expectNoChanges: true });
        await project.opOk("refresh", STACK);
        await project.opOk("preview", STACK, { expectNoChanges: true });
    });

    it("a new user and a rotated password roll the pods: the new credentials work, the old password is refused, the old pod is gone", async () => {
        const before = (await registryPods()).map((p) => p.metadata?.name);
        await project.setConfig(STACK, "registry:users", ["admin", "ci", "deploy"]);
        await project.setConfig(STACK, "registry:passwordRotation", ["ci=2"]);
        await project.opOk("up", STACK);
        const previous = outputs;
        outputs = await readOutputs();
        assert.deepStrictEqual(Object.keys(outputs.passwords).sort(), ["admin", "ci", "deploy", "puller"]);
        assert.notStrictEqual(outputs.passwords.ci, previous.passwords.ci, "ci has a new password");
        assert.strictEqual(outputs.passwords.admin, previous.passwords.admin, "admin keeps its password");
        // The old pod serves on through its preStop pause while endpoints drop it, then goes.
        await waitFor("the old pod to go", async () => (await registryPods()).length === 1, 60_000, 500);
        const now = await registryPods();
        assert.strictEqual(now.length, 1, `pods: ${now.map((p) => p.metadata?.name).join(", ")}`);
        assert.ok(!before.includes(now[0].metadata?.name), "the pod was replaced");
        for (const old of before) {
            assert.ok(!cluster.kubelet.containers().some((c) => c.pod === old), `${old} no longer runs`);
        }
        const ref = `${outputs.registryHost}/team/app:v1`;
        assert.deepStrictEqual(await pullAndCompare(image, ref, access("deploy", outputs.passwords.deploy)), []);
        const stale = await pullInto(ref, access("ci", previous.passwords.ci));
        assert.match(stale.result.stderr, /unauthorized|authentication required/i);
        assert.strictEqual((await pullInto(ref, access("ci", outputs.passwords.ci))).result.code, 0);
    });

    it("the README's Teardown: `pulumi destroy` keeps exactly the namespace and the claim with the images; everything else goes", async () => {
        assert.deepStrictEqual(readmeBlocks("## Teardown")[0], ["pulumi destroy"]);
        await runReadme(readmeBlocks("## Teardown")[0]);
        const state = JSON.parse(await project.cliOk(["stack", "export", "--stack", STACK])) as { deployment: { resources?: unknown[] } };
        assert.strictEqual((state.deployment.resources ?? []).length, 0, "Pulumi forgot every resource");
        assert.strictEqual((await core.readNamespace("registry")).body.status?.phase, "Active");
        assert.strictEqual((await core.readNamespacedPersistentVolumeClaim("registry-data", "registry")).body.status?.phase, "Bound");
        const left = await Promise.all([
            core.listNamespacedSecret("registry"),
            core.listNamespacedConfigMap("registry"),
            core.listNamespacedService("registry"),
            apps.listNamespacedDeployment("registry"),
        ]);
        assert.deepStrictEqual(
            left.flatMap((l) => l.body.items.map((o: k8s.KubernetesObject) => o.metadata?.name)).filter((n) => n !== "kube-root-ca.crt"),
            [],
            "no Secret, ConfigMap (but the cluster's own CA bundle), Service or Deployment of the stack remains",
        );
        await waitFor("the registry pod to go", async () => (await registryPods()).length === 0, 60_000, 500);
        await assert.rejects(core.readNamespace("registry-node"), (e: { statusCode?: number }) => e.statusCode === 404);
    });

    it("the README's Teardown: `pulumi up` again takes over the kept namespace and claim (server-side apply), and the image pushed before still pulls", async () => {
        assert.deepStrictEqual(readmeBlocks("## Teardown")[1], ["pulumi up"]);
        const [up] = await runReadme(readmeBlocks("## Teardown")[1]);
        assert.ok((up.changes?.create ?? 0) >= 25);
        outputs = await readOutputs();
        assert.deepStrictEqual(await pullAndCompare(image, `${outputs.registryHost}/team/app:v1`, access("admin", outputs.passwords.admin)), []);
    });

    it("the README's Teardown: with deleteStorageOnDestroy, `pulumi destroy` removes the namespace and the claim, and the provisioner the volume", async () => {
        const pvName = (await core.readNamespacedPersistentVolumeClaim("registry-data", "registry")).body.spec?.volumeName ?? "";
        const volumeDir = (await core.readPersistentVolume(pvName)).body.spec?.hostPath?.path ?? "";
        assert.ok(fs.existsSync(volumeDir));
        const block = readmeBlocks("## Teardown")[2];
        assert.deepStrictEqual(block, ["pulumi config set deleteStorageOnDestroy true", "pulumi up", "pulumi destroy"]);
        await runReadme(block);
        await namespaceGone(core, "registry", 120_000);
        await waitFor("the volume's directory to go", async () => !fs.existsSync(volumeDir), 60_000, 500);
    });
});
