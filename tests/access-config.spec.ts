// Access: the access config keys' validation.
import * as assert from "assert";

import { ConfigError, parseConfig } from "../config";
import { runProgram } from "./support/program";
import { raw } from "./support/config-problems";

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
