// The stand-in tls provider plugin (tests/engine/providers/tls.ts), called directly: its versions,
// and its check, create, diff, read and update decisions for keys and certificates against the
// real provider's rules. The random provider and the plugin executables are in
// providers-random.spec.ts; both under the real Pulumi CLI in providers-cli.spec.ts.
import * as assert from "assert";
import * as crypto from "crypto";

import { Props, secretOf } from "./providers/common";
import { randomProvider } from "./providers/random";
import { hashForState, tlsProvider } from "./providers/tls";
import {
    CERT_REQUEST,
    check,
    create,
    diff,
    isSecret,
    LOCALLY_SIGNED,
    NO_CHANGES,
    plain,
    PRIVATE_KEY,
    replaces,
    SELF_SIGNED,
    UPDATE,
    urn,
} from "./provider-calls";

import { unknownValue } from "@pulumi/pulumi/runtime/rpc";

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
});
