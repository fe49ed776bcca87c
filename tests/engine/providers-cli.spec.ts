// The stand-in tls and random provider plugins (tests/engine/providers/) under the real Pulumi CLI
// through the Automation API, with an inline program: preview, up, the secrets in the state,
// refresh, a replacement, destroy.
import { LocalWorkspace, Stack, UpResult } from "@pulumi/pulumi/automation";
import * as random from "@pulumi/random";
import * as tls from "@pulumi/tls";
import * as assert from "assert";
import * as bcrypt from "bcryptjs";
import * as crypto from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";

import { Props } from "./providers/common";
import { installStandInProviders } from "./providers";
import { engineEnv, pulumiCliAvailable, pulumiCliPath } from "./workspace";
import { CERT_REQUEST, LOCALLY_SIGNED, PASSWORD, PRIVATE_KEY, SELF_SIGNED } from "./provider-calls";

describe("stand-in tls and random providers under the real Pulumi CLI (Automation API)", function () {
    let dir: string;
    let stack: Stack;
    let keeper = "first";
    let first: UpResult;
    let backendDir: string;

    /** A resource in the checkpoint file. */
    interface StoredResource {
        readonly urn: string;
        readonly type: string;
        readonly inputs?: Props;
        readonly outputs?: Props;
    }

    /** The tiny stack: a CA, a server key, CSR and CA-signed certificate, a password with a keeper. */
    const program = async (): Promise<Record<string, unknown>> => {
        const caKey = new tls.PrivateKey("ca-key", { algorithm: "ECDSA", ecdsaCurve: "P256" });
        const ca = new tls.SelfSignedCert("ca", {
            privateKeyPem: caKey.privateKeyPem,
            isCaCertificate: true,
            setSubjectKeyId: true,
            validityPeriodHours: 48,
            allowedUses: ["cert_signing", "crl_signing", "digital_signature"],
            subject: { commonName: "stand-in test CA", organization: "Engine tests" },
        });
        const serverKey = new tls.PrivateKey("server-key", { algorithm: "RSA", rsaBits: 2048 });
        const csr = new tls.CertRequest("server-csr", {
            privateKeyPem: serverKey.privateKeyPem,
            dnsNames: ["registry.example", "registry.registry.svc"],
            ipAddresses: ["10.1.2.3"],
            subject: { commonName: "registry.example", organization: "Engine tests" },
        });
        const cert = new tls.LocallySignedCert("server-cert", {
            certRequestPem: csr.certRequestPem,
            caPrivateKeyPem: caKey.privateKeyPem,
            caCertPem: ca.certPem,
            validityPeriodHours: 24,
            earlyRenewalHours: 2,
            setSubjectKeyId: true,
            allowedUses: ["digital_signature", "key_encipherment", "server_auth"],
        });
        const password = new random.RandomPassword("password", { length: 32, special: false, minNumeric: 2, keepers: { rotation: keeper } });
        // Exported as the resources give them: the secrecy seen outside is the providers' and the SDK's.
        return {
            caCertPem: ca.certPem,
            certPem: cert.certPem,
            certId: cert.id,
            readyForRenewal: cert.readyForRenewal,
            serverKeyPem: serverKey.privateKeyPem,
            serverKeyFingerprint: serverKey.publicKeyFingerprintSha256,
            password: password.result,
            bcryptHash: password.bcryptHash,
            passwordId: password.id,
        };
    };

    const output = (r: UpResult, key: string): string => String(r.outputs[key]?.value);

    before(async function () {
        assert.ok(pulumiCliAvailable(), `no Pulumi CLI at ${pulumiCliPath()}: build it with \`bash scripts/install.d/engine.sh\``);
        dir = fs.mkdtempSync(path.join(os.tmpdir(), "standins-engine-"));
        const plugins = path.join(dir, "plugins");
        installStandInProviders(plugins);
        const env = await engineEnv(dir, { pathPrepend: [plugins] });
        backendDir = env.backendDir;
        const projectDir = path.join(dir, "project");
        fs.mkdirSync(projectDir);
        stack = await LocalWorkspace.createOrSelectStack(
            { stackName: "standins", projectName: "standins", program },
            env.workspaceOptions({ name: "standins", runtime: "nodejs" }, projectDir),
        );
    });

    after(() => {
        // Everything the CLI wrote (state, PULUMI_HOME, project) is under `dir`; the CLI stops
        // the plugins it started at the end of each operation.
        if (dir !== undefined) {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });

    it("preview of the new stack plans the creates, with keys and certificates still unknown", async () => {
        const preview = await stack.preview();
        assert.deepStrictEqual(preview.changeSummary, { create: 7 });
    });

    it("up creates the 6 resources with real material: a chain that verifies, the SANs, a password matching its bcrypt hash", async () => {
        const start = Date.now();
        first = await stack.up();
        console.log(`      up of the tiny stack (6 resources, 2 stand-in plugins): ${Date.now() - start} ms`);
        assert.deepStrictEqual(first.summary.resourceChanges, { create: 7 });
        const ca = new crypto.X509Certificate(output(first, "caCertPem"));
        const leaf = new crypto.X509Certificate(output(first, "certPem"));
        assert.ok(ca.ca && leaf.verify(ca.publicKey) && leaf.checkIssued(ca));
        assert.strictEqual(leaf.subjectAltName, "DNS:registry.example, DNS:registry.registry.svc, IP Address:10.1.2.3");
        assert.strictEqual(leaf.checkHost("registry.example"), "registry.example");
        assert.ok(leaf.checkPrivateKey(crypto.createPrivateKey(output(first, "serverKeyPem"))));
        assert.strictEqual(output(first, "certId"), BigInt(`0x${leaf.serialNumber}`).toString(10));
        assert.strictEqual(first.outputs.readyForRenewal?.value, false);
        assert.match(output(first, "serverKeyFingerprint"), /^SHA256:/);
        assert.match(output(first, "password"), /^[A-Za-z0-9]{32}$/);
        assert.ok(bcrypt.compareSync(output(first, "password"), output(first, "bcryptHash")));
        assert.strictEqual(output(first, "passwordId"), "none");
    });

    it("keeps the private keys, the password and its hash secret: in the outputs and, encrypted, in the state", async () => {
        const secret = (k: string): boolean | undefined => first.outputs[k]?.secret;
        assert.deepStrictEqual(["serverKeyPem", "password", "bcryptHash", "caCertPem", "certPem"].map(secret), [true, true, true, false, false]);
        // The state at rest (the file backend's checkpoint): secrets are ciphertext there.
        const checkpoint = fs.readFileSync(path.join(backendDir, ".pulumi", "stacks", "standins", "standins.json"), "utf8");
        const resources = (JSON.parse(checkpoint) as { checkpoint: { latest: { resources: StoredResource[] } } }).checkpoint.latest.resources;
        const encrypted = (v: unknown): boolean => typeof v === "object" && v !== null && "ciphertext" in v;
        const of = (type: string, name: string): StoredResource => {
            const r = resources.find((x) => x.type === type && x.urn.endsWith(`::${name}`));
            assert.ok(r !== undefined, `${type} ${name} not in the state`);
            return r;
        };
        assert.ok(encrypted(of(PASSWORD, "password").outputs?.result));
        assert.ok(encrypted(of(PASSWORD, "password").outputs?.bcryptHash));
        assert.ok(encrypted(of(PRIVATE_KEY, "server-key").outputs?.privateKeyPem));
        // Inputs too: a key passed from one resource to another is stored encrypted in both.
        assert.ok(encrypted(of(SELF_SIGNED, "ca").inputs?.privateKeyPem), "the CA's key input is stored in plain text");
        assert.ok(encrypted(of(CERT_REQUEST, "server-csr").inputs?.privateKeyPem));
        assert.ok(encrypted(of(LOCALLY_SIGNED, "server-cert").inputs?.caPrivateKeyPem));
        assert.ok(!checkpoint.includes(output(first, "password")), "the password appears in the state in plain text");
        assert.ok(!checkpoint.includes("PRIVATE KEY"), "a private key appears in the state in plain text");
    });

    it("preview --expect-no-changes is clean right after up, and after a refresh", async () => {
        const preview = await stack.preview({ expectNoChanges: true });
        assert.deepStrictEqual(preview.changeSummary, { same: 7 });
        const refresh = await stack.refresh();
        assert.deepStrictEqual(refresh.summary.resourceChanges, { same: 7 });
        await stack.preview({ expectNoChanges: true });
    });

    it("a changed keeper replaces the password (a new value), and nothing else", async () => {
        keeper = "second";
        const second = await stack.up();
        assert.deepStrictEqual(second.summary.resourceChanges, { replace: 1, same: 6 });
        assert.notStrictEqual(output(second, "password"), output(first, "password"));
        assert.ok(bcrypt.compareSync(output(second, "password"), output(second, "bcryptHash")));
        assert.strictEqual(output(second, "certPem"), output(first, "certPem"));
        await stack.preview({ expectNoChanges: true });
    });

    it("destroy removes every resource", async () => {
        const destroyed = await stack.destroy();
        assert.deepStrictEqual(destroyed.summary.resourceChanges, { delete: 7 });
        const deployment = (await stack.exportStack()).deployment as { resources?: unknown[] };
        assert.deepStrictEqual(deployment.resources ?? [], []);
    });
});
