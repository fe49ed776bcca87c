// The stand-in tls and random provider plugins (tests/engine/providers/): their check and diff
// decisions against the real providers' rules, called directly; then the plugins under the real
// Pulumi CLI through the Automation API, with an inline program.
import * as grpc from "@grpc/grpc-js";
import { LocalWorkspace, Stack, UpResult } from "@pulumi/pulumi/automation";
import * as provider from "@pulumi/pulumi/provider";
import { ResourceProviderClient } from "@pulumi/pulumi/proto/provider_grpc_pb";
import * as random from "@pulumi/random";
import * as tls from "@pulumi/tls";
import * as assert from "assert";
import * as bcrypt from "bcryptjs";
import { spawn } from "child_process";
import * as crypto from "crypto";
import * as fs from "fs";
import { Empty } from "google-protobuf/google/protobuf/empty_pb";
import * as os from "os";
import * as path from "path";

import { Props, reveal, secretOf } from "./providers/common";
import { installStandInProviders } from "./providers";
import { randomProvider } from "./providers/random";
import { hashForState, tlsProvider } from "./providers/tls";
import { engineEnv, pulumiCliAvailable, pulumiCliPath } from "./workspace";

import { unknownValue } from "@pulumi/pulumi/runtime/rpc";

const PRIVATE_KEY = "tls:index/privateKey:PrivateKey";
const SELF_SIGNED = "tls:index/selfSignedCert:SelfSignedCert";
const CERT_REQUEST = "tls:index/certRequest:CertRequest";
const LOCALLY_SIGNED = "tls:index/locallySignedCert:LocallySignedCert";
const PASSWORD = "random:index/randomPassword:RandomPassword";

const urn = (type: string, name = "r"): string => `urn:pulumi:test::standins::${type}::${name}`;

/** The provider for a token's package. */
const providerFor = (type: string): provider.Provider => (type.startsWith("tls:") ? tlsProvider : randomProvider);

async function check(type: string, news: Props): Promise<{ inputs: Props; failures: provider.CheckFailure[] }> {
    const result = await providerFor(type).check?.(urn(type), {}, news);
    return { inputs: (result?.inputs ?? {}) as Props, failures: [...(result?.failures ?? [])] };
}

/** check, then create: the state the engine would store. */
async function create(type: string, news: Props): Promise<{ id: string; state: Props; inputs: Props }> {
    const { inputs, failures } = await check(type, news);
    assert.deepStrictEqual(failures, []);
    const result = await providerFor(type).create?.(urn(type), inputs);
    assert.ok(result !== undefined);
    return { id: result.id, state: result.outs as Props, inputs };
}

/** diff of an old state against new inputs, after check as the engine runs it. */
async function diff(type: string, state: Props, news: Props): Promise<provider.DiffResult> {
    const { inputs, failures } = await check(type, news);
    assert.deepStrictEqual(failures, []);
    const result = await providerFor(type).diff?.("id", urn(type), state, inputs);
    assert.ok(result !== undefined);
    return result;
}

const isSecret = (v: unknown): boolean => reveal({ v }).secret.has("v");
const plain = (v: unknown): unknown => reveal({ v }).values.v;

const NO_CHANGES: provider.DiffResult = { changes: false, replaces: [], deleteBeforeReplace: false };
const replaces = (...props: string[]): provider.DiffResult => ({ changes: true, replaces: props, deleteBeforeReplace: false });
const UPDATE: provider.DiffResult = { changes: true, replaces: [], deleteBeforeReplace: false };

describe("stand-in tls and random providers", function () {
    describe("registered as the versions the npm packages request", () => {
        it("tls 5.6.1 and random 4.21.2", () => {
            assert.strictEqual(tlsProvider.version, "5.6.1");
            assert.strictEqual(randomProvider.version, "4.21.2");
        });

        it("refuses a resource type they do not implement, naming the ones they do", async () => {
            await assert.rejects(
                async () => tlsProvider.check?.(urn("tls:index/getPublicKey:Whatever"), {}, {}),
                /the stand-in tls provider implements only tls:index\/privateKey:PrivateKey, .*; not tls:index\/getPublicKey:Whatever/,
            );
        });
    });

    describe("tls.PrivateKey", () => {
        it("check applies the provider's defaults: ecdsaCurve P224, rsaBits 2048", async () => {
            assert.deepStrictEqual((await check(PRIVATE_KEY, { algorithm: "RSA" })).inputs, { algorithm: "RSA", ecdsaCurve: "P224", rsaBits: 2048 });
        });

        it("check refuses a missing or unknown algorithm, an unknown curve and an unknown input, naming each", async () => {
            const { failures } = await check(PRIVATE_KEY, { ecdsaCurve: "P999", colour: "blue" });
            assert.deepStrictEqual(
                failures.map((f) => f.property),
                ["ecdsaCurve", "colour", "algorithm"],
            );
            assert.match(failures[0].reason, /`ecdsaCurve` must be one of P224, P256, P384, P521; got "P999"/);
            assert.match(failures[1].reason, /has no input `colour`/);
            assert.match((await check(PRIVATE_KEY, { algorithm: "DSA" })).failures[0].reason, /`algorithm` must be one of RSA, ECDSA, ED25519/);
        });

        it("create: the id is the hex SHA-1 of the public key's DER; private keys are secret; OpenSSH encodings and fingerprints", async () => {
            const { id, state } = await create(PRIVATE_KEY, { algorithm: "ECDSA", ecdsaCurve: "P256" });
            const der = crypto.createPublicKey(String(state.publicKeyPem)).export({ type: "spki", format: "der" });
            assert.strictEqual(id, crypto.createHash("sha1").update(der).digest("hex"));
            assert.strictEqual(state.id, id);
            for (const k of ["privateKeyPem", "privateKeyPemPkcs8", "privateKeyOpenssh"]) {
                assert.ok(isSecret(state[k]), `${k} is not secret`);
            }
            assert.match(String(plain(state.privateKeyPem)), /^-----BEGIN EC PRIVATE KEY-----\n/);
            assert.match(String(plain(state.privateKeyOpenssh)), /^-----BEGIN OPENSSH PRIVATE KEY-----\n/);
            assert.match(String(state.publicKeyOpenssh), /^ecdsa-sha2-nistp256 [A-Za-z0-9+/=]+\n$/);
            assert.match(String(state.publicKeyFingerprintSha256), /^SHA256:[A-Za-z0-9+/]{43}$/);
            assert.match(String(state.publicKeyFingerprintMd5), /^([0-9a-f]{2}:){15}[0-9a-f]{2}$/);
            assert.strictEqual(state.rsaBits, 2048, "the provider stores the rsaBits default even for ECDSA");
        });

        it("P224 keys have no OpenSSH encodings, as golang.org/x/crypto/ssh has none", async () => {
            const { state } = await create(PRIVATE_KEY, { algorithm: "ECDSA" });
            assert.strictEqual(state.ecdsaCurve, "P224");
            assert.deepStrictEqual([plain(state.privateKeyOpenssh), state.publicKeyOpenssh, state.publicKeyFingerprintSha256], ["", "", ""]);
        });

        it("diff: the old outputs against the same inputs, with or without the defaults spelled out, is no change", async () => {
            const { state } = await create(PRIVATE_KEY, { algorithm: "RSA" });
            assert.deepStrictEqual(await diff(PRIVATE_KEY, state, { algorithm: "RSA" }), NO_CHANGES);
            assert.deepStrictEqual(await diff(PRIVATE_KEY, state, { algorithm: "RSA", rsaBits: 2048, ecdsaCurve: "P224" }), NO_CHANGES);
            // A state written without the defaults (older providers) compares equal too.
            const { ecdsaCurve: _c, rsaBits: _b, ...bare } = state;
            assert.deepStrictEqual(await diff(PRIVATE_KEY, bare, { algorithm: "RSA" }), NO_CHANGES);
        });

        it("diff: every input forces a replacement", async () => {
            const { state } = await create(PRIVATE_KEY, { algorithm: "RSA" });
            assert.deepStrictEqual(await diff(PRIVATE_KEY, state, { algorithm: "RSA", rsaBits: 3072 }), replaces("rsaBits"));
            assert.deepStrictEqual(await diff(PRIVATE_KEY, state, { algorithm: "ECDSA" }), replaces("algorithm"));
            assert.deepStrictEqual(await diff(PRIVATE_KEY, state, { algorithm: "RSA", ecdsaCurve: "P256" }), replaces("ecdsaCurve"));
        });
    });

    describe("tls certificates", () => {
        let caKey: Props;
        let ca: { id: string; state: Props; inputs: Props };
        let serverKey: Props;
        let csr: { id: string; state: Props };
        let certInputs: Props;
        let cert: { id: string; state: Props };
        const caArgs = (): Props => ({
            privateKeyPem: caKey.privateKeyPem,
            isCaCertificate: true,
            maxPathLength: 0,
            setSubjectKeyId: true,
            validityPeriodHours: 100,
            allowedUses: ["cert_signing", "crl_signing", "digital_signature"],
            subject: { commonName: "test CA", organization: "Org" },
        });

        before(async () => {
            caKey = (await create(PRIVATE_KEY, { algorithm: "ECDSA", ecdsaCurve: "P256" })).state;
            ca = await create(SELF_SIGNED, caArgs());
            serverKey = (await create(PRIVATE_KEY, { algorithm: "RSA" })).state;
            csr = await create(CERT_REQUEST, {
                privateKeyPem: serverKey.privateKeyPem,
                dnsNames: ["registry.example"],
                ipAddresses: ["10.1.2.3"],
                subject: { commonName: "registry.example" },
            });
            certInputs = {
                certRequestPem: csr.state.certRequestPem,
                caPrivateKeyPem: caKey.privateKeyPem,
                caCertPem: ca.state.certPem,
                validityPeriodHours: 24,
                earlyRenewalHours: 2,
                setSubjectKeyId: true,
                allowedUses: ["digital_signature", "key_encipherment", "server_auth"],
            };
            cert = await create(LOCALLY_SIGNED, certInputs);
        });

        it("check applies the defaults and keeps private keys secret, even one that arrives in plain text", async () => {
            const { inputs } = await check(SELF_SIGNED, { ...caArgs(), privateKeyPem: plain(caKey.privateKeyPem) });
            assert.ok(isSecret(inputs.privateKeyPem));
            assert.deepStrictEqual(
                [inputs.earlyRenewalHours, inputs.maxPathLength, inputs.setAuthorityKeyId],
                [0, 0, false],
                "earlyRenewalHours and setAuthorityKeyId default, maxPathLength as given",
            );
            const csrInputs = (await check(LOCALLY_SIGNED, certInputs)).inputs;
            assert.deepStrictEqual([csrInputs.isCaCertificate, csrInputs.maxPathLength, isSecret(csrInputs.caPrivateKeyPem)], [false, -1, true]);
        });

        it("check refuses an unknown key usage, a negative validity, an empty IP and the write-only inputs it does not implement", async () => {
            const { failures } = await check(SELF_SIGNED, {
                ...caArgs(),
                allowedUses: ["server_auth", "world_domination"],
                validityPeriodHours: -1,
                ipAddresses: [""],
                privateKeyPemWo: "x",
            });
            const reasons = Object.fromEntries(failures.map((f) => [f.property, f.reason]));
            assert.match(reasons.allowedUses, /`allowedUses` must be one of .*server_auth.*; got "world_domination"/);
            assert.match(reasons.validityPeriodHours, /`validityPeriodHours` must be at least 0, got -1/);
            assert.match(reasons.ipAddresses, /`ipAddresses` must not contain empty strings/);
            assert.match(reasons.privateKeyPemWo, /`privateKeyPemWo` is not implemented by the stand-in tls provider: write-only inputs/);
        });

        it("check lets unknown values (previews) through", async () => {
            const { failures, inputs } = await check(LOCALLY_SIGNED, { ...certInputs, certRequestPem: unknownValue, caCertPem: unknownValue });
            assert.deepStrictEqual(failures, []);
            assert.strictEqual(inputs.certRequestPem, unknownValue);
        });

        it("create: a CA-signed certificate with the CSR's subject and SANs; ids are the serial numbers in decimal", async () => {
            const caCert = new crypto.X509Certificate(String(ca.state.certPem));
            const leaf = new crypto.X509Certificate(String(cert.state.certPem));
            assert.ok(caCert.ca);
            assert.ok(leaf.verify(caCert.publicKey));
            assert.ok(leaf.checkIssued(caCert));
            assert.ok(!leaf.ca);
            assert.strictEqual(leaf.subjectAltName, "DNS:registry.example, IP Address:10.1.2.3");
            assert.ok(leaf.checkPrivateKey(crypto.createPrivateKey(String(plain(serverKey.privateKeyPem)))));
            assert.strictEqual(ca.id, BigInt(`0x${caCert.serialNumber}`).toString(10));
            assert.strictEqual(cert.id, BigInt(`0x${leaf.serialNumber}`).toString(10));
            assert.strictEqual(Date.parse(String(cert.state.validityEndTime)) - Date.parse(String(cert.state.validityStartTime)), 24 * 3600_000);
            assert.deepStrictEqual([cert.state.readyForRenewal, cert.state.caKeyAlgorithm, ca.state.keyAlgorithm], [false, "ECDSA", "ECDSA"]);
            assert.ok(isSecret(cert.state.caPrivateKeyPem) && isSecret(ca.state.privateKeyPem));
        });

        it("create: maxPathLength 0 writes no path length, as the provider never sets Go's MaxPathLenZero", () => {
            const caCert = new crypto.X509Certificate(String(ca.state.certPem));
            // node shows basic constraints only through the text form; the CA has no pathlen.
            assert.ok(!/pathlen/i.test(caCert.toString()));
        });

        it("create: a CertRequest's id is the hex SHA-1 of its DER", () => {
            const der = Buffer.from(
                String(csr.state.certRequestPem)
                    .replace(/-----[A-Z ]+-----/g, "")
                    .replace(/\s+/g, ""),
                "base64",
            );
            assert.strictEqual(csr.id, hashForState(der));
            assert.strictEqual(csr.id, crypto.createHash("sha1").update(der).digest("hex"));
        });

        it("create refuses what the provider refuses: a path length on a non-CA, a CA without a subject", async () => {
            const p = tlsProvider;
            const leaf = await check(LOCALLY_SIGNED, { ...certInputs, maxPathLength: 2 });
            await assert.rejects(async () => p.create?.(urn(LOCALLY_SIGNED), leaf.inputs), /x509: only CAs are allowed to specify MaxPathLen/);
            const noSubject = await check(SELF_SIGNED, { ...caArgs(), subject: undefined });
            await assert.rejects(async () => p.create?.(urn(SELF_SIGNED), noSubject.inputs), /Must contain at least one Distinguished Name/);
        });

        it("diff: old outputs against the same inputs is no change (computed outputs and defaults ignored)", async () => {
            assert.deepStrictEqual(await diff(SELF_SIGNED, ca.state, caArgs()), NO_CHANGES);
            assert.deepStrictEqual(await diff(LOCALLY_SIGNED, cert.state, certInputs), NO_CHANGES);
            assert.deepStrictEqual(await diff(LOCALLY_SIGNED, cert.state, { ...certInputs, isCaCertificate: false, maxPathLength: -1 }), NO_CHANGES);
        });

        it("diff: validity, key usages, subject, the key and the CA force a replacement", async () => {
            assert.deepStrictEqual(await diff(SELF_SIGNED, ca.state, { ...caArgs(), validityPeriodHours: 200 }), replaces("validityPeriodHours"));
            assert.deepStrictEqual(await diff(SELF_SIGNED, ca.state, { ...caArgs(), allowedUses: ["cert_signing"] }), replaces("allowedUses"));
            assert.deepStrictEqual(await diff(SELF_SIGNED, ca.state, { ...caArgs(), subject: { commonName: "other CA" } }), replaces("subject"));
            assert.deepStrictEqual(await diff(SELF_SIGNED, ca.state, { ...caArgs(), privateKeyPem: serverKey.privateKeyPem }), replaces("privateKeyPem"));
            assert.deepStrictEqual(
                await diff(LOCALLY_SIGNED, cert.state, { ...certInputs, caCertPem: `${String(ca.state.certPem)}\n` }),
                replaces("caCertPem"),
            );
            assert.deepStrictEqual(await diff(LOCALLY_SIGNED, cert.state, { ...certInputs, setSubjectKeyId: false }), replaces("setSubjectKeyId"));
        });

        it("diff: an unknown new value (preview) of a replacing input replaces", async () => {
            assert.deepStrictEqual(await diff(LOCALLY_SIGNED, cert.state, { ...certInputs, certRequestPem: unknownValue }), replaces("certRequestPem"));
        });

        it("diff: a PEM input replaces only when the old value is a PEM (an old state's hash updates in place)", async () => {
            const hashed = { ...ca.state, privateKeyPem: secretOf("3b3f5d7d1c4e0b2a9f8e7d6c5b4a39281706f5e4") };
            assert.deepStrictEqual(await diff(SELF_SIGNED, hashed, caArgs()), UPDATE);
        });

        it("diff: earlyRenewalHours and maxPathLength update in place", async () => {
            assert.deepStrictEqual(await diff(LOCALLY_SIGNED, cert.state, { ...certInputs, earlyRenewalHours: 3 }), UPDATE);
            assert.deepStrictEqual(await diff(SELF_SIGNED, ca.state, { ...caArgs(), maxPathLength: 1 }), UPDATE);
        });

        it("diff: ready for renewal (validityEndTime - earlyRenewalHours passed) replaces, readyForRenewal named", async () => {
            const soon = new Date(Date.now() + 3600_000).toISOString();
            const past = new Date(Date.now() - 1000).toISOString();
            assert.deepStrictEqual(await diff(LOCALLY_SIGNED, { ...cert.state, validityEndTime: soon }, certInputs), replaces("readyForRenewal"));
            // Expired: replaced even with no early renewal, and with an in-place change alongside.
            assert.deepStrictEqual(
                await diff(LOCALLY_SIGNED, { ...cert.state, validityEndTime: past }, { ...certInputs, earlyRenewalHours: 0 }),
                replaces("readyForRenewal"),
            );
            // Raising earlyRenewalHours past the remaining time makes it ready now.
            assert.deepStrictEqual(await diff(LOCALLY_SIGNED, cert.state, { ...certInputs, earlyRenewalHours: 30 }), replaces("readyForRenewal"));
            assert.deepStrictEqual(await diff(SELF_SIGNED, { ...ca.state, validityEndTime: past }, caArgs()), replaces("readyForRenewal"));
        });

        it("read returns the state as is, marking readyForRenewal once in the renewal window; secrets stay secret", async () => {
            const read = async (state: Props): Promise<Props> => ((await tlsProvider.read?.(cert.id, urn(LOCALLY_SIGNED), state))?.props ?? {}) as Props;
            assert.deepStrictEqual(await read(cert.state), cert.state);
            const soon = { ...cert.state, validityEndTime: new Date(Date.now() + 3600_000).toISOString() };
            const marked = await read(soon);
            assert.ok(isSecret(marked.caPrivateKeyPem));
            assert.deepStrictEqual(marked, { ...soon, readyForRenewal: true });
        });

        it("update (earlyRenewalHours) keeps the certificate and recomputes the planned readyForRenewal", async () => {
            const { inputs } = await check(LOCALLY_SIGNED, { ...certInputs, earlyRenewalHours: 24 });
            const outs = ((await tlsProvider.update?.(cert.id, urn(LOCALLY_SIGNED), cert.state, inputs))?.outs ?? {}) as Props;
            assert.deepStrictEqual(
                [outs.certPem, outs.validityEndTime, outs.earlyRenewalHours, outs.readyForRenewal],
                [cert.state.certPem, cert.state.validityEndTime, 24, true],
            );
            assert.ok(isSecret(outs.caPrivateKeyPem));
        });
    });

    describe("random.RandomPassword", () => {
        const args = { length: 32, special: false, minNumeric: 2, minUpper: 2, minLower: 2 };

        it("check applies the provider's defaults; number and numeric follow each other", async () => {
            assert.deepStrictEqual((await check(PASSWORD, { length: 8 })).inputs, {
                length: 8,
                special: true,
                upper: true,
                lower: true,
                number: true,
                numeric: true,
                minUpper: 0,
                minLower: 0,
                minNumeric: 0,
                minSpecial: 0,
            });
            const { inputs } = await check(PASSWORD, { length: 8, numeric: false });
            assert.deepStrictEqual([inputs.number, inputs.numeric], [false, false]);
        });

        it("check refuses a length below the minimums' sum or below 1, and number/numeric that disagree", async () => {
            const reasons = async (news: Props): Promise<string[]> => (await check(PASSWORD, news)).failures.map((f) => `${f.property}: ${f.reason}`);
            assert.deepStrictEqual(await reasons({ length: 3, minUpper: 2, minLower: 2 }), [
                "length: `length` must be at least minUpper + minLower + minNumeric + minSpecial (4), got 3",
            ]);
            assert.deepStrictEqual(await reasons({ length: 0 }), ["length: `length` must be at least 1, got 0"]);
            assert.deepStrictEqual(await reasons({ length: 8, number: true, numeric: false }), [
                "numeric: `number` and `numeric` are both set, with different values; `number` is deprecated, use `numeric`",
            ]);
        });

        it("create: id none; result follows the rules; bcryptHash is bcrypt cost 10 ($2a$) of it; both secret", async () => {
            const { id, state } = await create(PASSWORD, args);
            assert.strictEqual(id, "none");
            assert.ok(isSecret(state.result) && isSecret(state.bcryptHash));
            const result = String(plain(state.result));
            assert.match(result, /^[A-Za-z0-9]{32}$/);
            assert.ok((result.match(/[0-9]/g) ?? []).length >= 2 && (result.match(/[A-Z]/g) ?? []).length >= 2 && (result.match(/[a-z]/g) ?? []).length >= 2);
            assert.match(String(plain(state.bcryptHash)), /^\$2a\$10\$/);
            assert.ok(bcrypt.compareSync(result, String(plain(state.bcryptHash))));
        });

        it("create: secret keepers stay secret in the outputs", async () => {
            const { state } = await create(PASSWORD, { ...args, keepers: secretOf({ rotation: "1" }) });
            assert.ok(isSecret(state.keepers));
        });

        it("diff: old outputs against the same inputs, defaults spelled out or not, is no change", async () => {
            const { state } = await create(PASSWORD, { ...args, keepers: { rotation: "1" } });
            assert.deepStrictEqual(await diff(PASSWORD, state, { ...args, keepers: { rotation: "1" } }), NO_CHANGES);
            assert.deepStrictEqual(await diff(PASSWORD, state, { ...args, keepers: { rotation: "1" }, upper: true, numeric: true, minSpecial: 0 }), NO_CHANGES);
        });

        it("diff: keepers changed, added or removed replace; so does every other input", async () => {
            const { state } = await create(PASSWORD, { ...args, keepers: { rotation: "1" } });
            assert.deepStrictEqual(await diff(PASSWORD, state, { ...args, keepers: { rotation: "2" } }), replaces("keepers"));
            assert.deepStrictEqual(await diff(PASSWORD, state, args), replaces("keepers"));
            assert.deepStrictEqual(await diff(PASSWORD, (await create(PASSWORD, args)).state, { ...args, keepers: { rotation: "1" } }), replaces("keepers"));
            assert.deepStrictEqual(await diff(PASSWORD, state, { ...args, keepers: { rotation: "1" }, length: 40 }), replaces("length"));
            assert.deepStrictEqual(await diff(PASSWORD, state, { ...args, keepers: { rotation: "1" }, special: true }), replaces("special"));
            assert.deepStrictEqual(await diff(PASSWORD, state, { ...args, keepers: { rotation: "1" }, number: false }), replaces("number", "numeric"));
        });

        it('diff: overrideSpecial from "" to unset updates in place; any other change replaces', async () => {
            const { state } = await create(PASSWORD, { ...args, overrideSpecial: "" });
            assert.deepStrictEqual(await diff(PASSWORD, state, args), UPDATE);
            assert.deepStrictEqual(await diff(PASSWORD, state, { ...args, overrideSpecial: "!" }), replaces("overrideSpecial"));
            const outs = ((await randomProvider.update?.("none", urn(PASSWORD), state, (await check(PASSWORD, args)).inputs))?.outs ?? {}) as Props;
            assert.ok(!("overrideSpecial" in outs));
            assert.deepStrictEqual(plain(outs.result), plain(state.result));
        });
    });

    describe("plugin executables", () => {
        it("installStandInProviders writes wrappers that start the plugins on 127.0.0.1, reporting their versions", async () => {
            const dir = fs.mkdtempSync(path.join(os.tmpdir(), "standin-bin-"));
            try {
                installStandInProviders(dir);
                for (const [name, version] of [
                    ["pulumi-resource-tls", "5.6.1"],
                    ["pulumi-resource-random", "4.21.2"],
                ]) {
                    const file = path.join(dir, name);
                    assert.ok((fs.statSync(file).mode & 0o111) !== 0, `${name} is not executable`);
                    assert.strictEqual(await pluginVersion(file), version);
                }
            } finally {
                fs.rmSync(dir, { recursive: true, force: true });
            }
        });
    });
});

/** Starts a plugin as the engine does, asks its version over gRPC, and stops it. */
async function pluginVersion(file: string): Promise<string> {
    const child = spawn(file, [], { stdio: ["ignore", "pipe", "pipe"] });
    let stderr = "";
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    try {
        const port = await new Promise<string>((resolve, reject) => {
            let out = "";
            child.stdout.on("data", (d: Buffer) => {
                out += d.toString();
                const line = /^(\d+)\n/.exec(out);
                if (line !== null) {
                    resolve(line[1]);
                }
            });
            child.on("exit", (code) => reject(new Error(`${file} exited with ${String(code)} before printing its port: ${stderr}`)));
        });
        const client = new ResourceProviderClient(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
        try {
            return await new Promise<string>((resolve, reject) =>
                client.getPluginInfo(new Empty(), (err, info) => (err !== null ? reject(err) : resolve(info.getVersion()))),
            );
        } finally {
            client.close();
        }
    } finally {
        child.kill("SIGTERM");
    }
}

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
