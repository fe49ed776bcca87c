// htpasswd under the real engine (Pulumi CLI, kube-apiserver, the stand-in random provider): the
// `dev` stack's htpasswd Secret carries the configured bcrypt cost and stays byte for byte the same
// across `pulumi up` and `pulumi refresh` (so the pods do not roll), because the salt comes from
// the random provider's state; a rotated password and a new cost change exactly what they should;
// a bad cost is refused before anything exists.
import * as assert from "assert";
import * as k8s from "@kubernetes/client-node";
import * as bcrypt from "bcryptjs";

import { request } from "../harness/http";
import { waitFor } from "../harness/procs";
import { EngineProject } from "./stack";
import { useEngine } from "./suite";

const STACK = "dev";

/** What the registry pod's gate reads: the htpasswd of every user (who may read) in the Secret its `auth` volume names, and that Secret's name. */
interface Mounted {
    readonly secretName: string;
    /** user → hash, in file order. */
    readonly lines: [string, string][];
}

describe("htpasswd under the real engine: the configured bcrypt cost, stable across `pulumi up`", function () {
    let project: EngineProject;
    let core: k8s.CoreV1Api;
    let apps: k8s.AppsV1Api;

    const mounted = async (): Promise<Mounted> => {
        const dep = (await apps.readNamespacedDeployment("registry", "registry")).body;
        const secretName = dep.spec?.template.spec?.volumes?.find((v) => v.name === "auth")?.secret?.secretName ?? "";
        const secret = (await core.readNamespacedSecret(secretName, "registry")).body;
        const text = Buffer.from(secret.data?.["pull.htpasswd"] ?? "", "base64").toString("utf8");
        const lines = text
            .trim()
            .split("\n")
            .map((l): [string, string] => [l.slice(0, l.indexOf(":")), l.slice(l.indexOf(":") + 1)]);
        return { secretName, lines };
    };
    const registryPods = async (): Promise<string[]> =>
        (await core.listNamespacedPod("registry", undefined, undefined, undefined, undefined, "app.kubernetes.io/name=registry")).body.items
            .filter((p) => p.metadata?.deletionTimestamp === undefined)
            .map((p) => p.metadata?.name ?? "")
            .sort();
    const passwords = async (): Promise<Record<string, string>> => (await project.outputs(STACK)).passwords as Record<string, string>;
    /** Every user gets 200 on `/v2/` through the load balancer (after the Service's endpoints follow a new pod). */
    const everyUserLogsIn = async (): Promise<void> => {
        const o = await project.outputs(STACK);
        for (const [username, password] of Object.entries(o.passwords as Record<string, string>)) {
            let status = 0;
            await waitFor(
                `${username} logs in at ${String(o.registryUrl)}`,
                async () => {
                    status = (
                        await request(`${String(o.registryUrl)}/v2/`, { ca: String(o.caCertificate), auth: { username, password }, timeoutMs: 2000 }).catch(
                            () => ({ status: 0 }),
                        )
                    ).status;
                    return status === 200;
                },
                60_000,
                250,
            );
        }
    };
    const salt = (hash: string): string => hash.slice(7, 29);

    const engine = useEngine();
    before(async () => {
        ({ project, core, apps } = engine);
        await project.cliOk(["stack", "select", STACK, "--create"]);
    });

    const refusals: { readonly set: Record<string, string>; readonly message: string }[] = [
        { set: { "registry:htpasswdBcryptCost": "3" }, message: "`htpasswdBcryptCost` must be a whole number between 4 and 31; got 3" },
        {
            set: { "registry:passwordLength": "16" },
            message:
                "`htpasswdBcryptCost` below 10 needs `passwordLength` of at least 22 (22 letters and digits carry 131 bits, beyond guessing at any cost); got `htpasswdBcryptCost` 5 with `passwordLength` 16. Raise `passwordLength`, or set `htpasswdBcryptCost` to 10 or more",
        },
    ];
    for (const bad of refusals) {
        it(`\`pulumi up\` refuses ${Object.entries(bad.set)
            .map(([k, v]) => `${k.split(":")[1]} ${v}`)
            .join(", ")} with the program's message, and creates nothing`, async () => {
            for (const [k, v] of Object.entries(bad.set)) {
                await project.setConfig(STACK, k, v);
            }
            const r = await project.op("up", STACK);
            assert.ok(!r.ok, "up must fail");
            assert.ok(`${r.stdout}${r.stderr}${r.error ?? ""}`.includes(bad.message), `${r.stdout}${r.stderr}`.slice(-3000));
            const state = JSON.parse(await project.cliOk(["stack", "export", "--stack", STACK])) as { deployment: { resources?: { type: string }[] } };
            assert.deepStrictEqual(
                (state.deployment.resources ?? []).map((res) => res.type).filter((t) => t !== "pulumi:pulumi:Stack"),
                [],
            );
            await assert.rejects(core.readNamespace("registry"), (e: { statusCode?: number }) => e.statusCode === 404);
            for (const k of Object.keys(bad.set)) {
                await project.cliOk(["config", "rm", "--stack", STACK, k]);
            }
        });
    }

    let first: Mounted;
    let firstPods: string[];

    it("`pulumi up`: the Secret's htpasswd has one `$2a$05$` line per user (the default cost), each verifying with that user's password from the stack outputs", async () => {
        await project.opOk("up", STACK);
        first = await mounted();
        const pw = await passwords();
        assert.deepStrictEqual(
            first.lines.map(([u]) => u),
            ["admin", "ci", "puller"],
        );
        for (const [user, hash] of first.lines) {
            assert.match(hash, /^\$2a\$05\$[./A-Za-z0-9]{53}$/);
            assert.ok(bcrypt.compareSync(pw[user], hash), `${user}'s hash does not verify with the password output`);
        }
        await everyUserLogsIn();
        firstPods = await registryPods();
        assert.strictEqual(firstPods.length, 1);
    });

    it("a second `pulumi up` changes nothing: the same Secret with the same hashes, the same pod", async () => {
        const up = await project.opOk("up", STACK);
        const changed = Object.entries(up.changes ?? {}).filter(([op, n]) => op !== "same" && n > 0);
        assert.deepStrictEqual(changed, [], `up changed ${JSON.stringify(up.changes)}`);
        assert.deepStrictEqual(await mounted(), first);
        assert.deepStrictEqual(await registryPods(), firstPods);
    });

    it("`pulumi refresh`, then `pulumi preview --expect-no-changes` and `pulumi up` leave the hashes as they are", async () => {
        await project.opOk("refresh", STACK);
        await project.opOk("preview", STACK, { expectNoChanges: true });
        await project.opOk("up", STACK);
        assert.deepStrictEqual(await mounted(), first);
        assert.deepStrictEqual(await registryPods(), firstPods);
    });

    let rotated: Mounted;

    it("rotating one password gives that user a new password, salt and hash; the other line stays byte for byte; the pod rolls", async () => {
        const before = await passwords();
        await project.setConfig(STACK, "registry:passwordRotation", ["ci=2"]);
        await project.opOk("up", STACK);
        rotated = await mounted();
        const after = await passwords();
        assert.notStrictEqual(rotated.secretName, first.secretName, "a new Secret (auto-named), which rolls the pod");
        assert.deepStrictEqual(rotated.lines[0], first.lines[0], "admin's line is unchanged");
        assert.notStrictEqual(after.ci, before.ci);
        assert.notStrictEqual(salt(rotated.lines[1][1]), salt(first.lines[1][1]), "the new password brings a new salt");
        assert.ok(bcrypt.compareSync(after.ci, rotated.lines[1][1]));
        await waitFor(
            "the pod to roll",
            async () => {
                const pods = await registryPods();
                return pods.length === 1 && !firstPods.includes(pods[0]);
            },
            120_000,
            500,
        );
        await everyUserLogsIn();
    });

    it("a new cost re-hashes every line with the salt kept in state, rolls the pod once, and keeps the passwords; then nothing changes", async () => {
        const before = await passwords();
        const podsBefore = await registryPods();
        await project.setConfig(STACK, "registry:htpasswdBcryptCost", "4");
        await project.opOk("up", STACK);
        const now = await mounted();
        assert.deepStrictEqual(await passwords(), before);
        assert.deepStrictEqual(
            now.lines.map(([u]) => u),
            ["admin", "ci", "puller"],
        );
        for (const [i, [user, hash]] of now.lines.entries()) {
            assert.match(hash, /^\$2a\$04\$/);
            assert.strictEqual(salt(hash), salt(rotated.lines[i][1]), `${user}: same salt`);
            assert.ok(bcrypt.compareSync(before[user], hash));
        }
        await waitFor(
            "the pod to roll",
            async () => {
                const pods = await registryPods();
                return pods.length === 1 && !podsBefore.includes(pods[0]);
            },
            120_000,
            500,
        );
        await everyUserLogsIn();
        const rolled = await registryPods();
        await project.opOk("preview", STACK, { expectNoChanges: true });
        await project.opOk("up", STACK);
        assert.deepStrictEqual(await mounted(), now);
        assert.deepStrictEqual(await registryPods(), rolled);
    });
});
