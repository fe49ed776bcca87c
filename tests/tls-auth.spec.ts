import * as assert from "assert";
import * as bcrypt from "bcryptjs";
import { X509Certificate, createPrivateKey } from "crypto";

import { secretValue } from "./support/pod";
import { one, ProgramRun, runProgram } from "./support/program";
import { VARIANTS } from "./support/variants";

/** subjectAltName as node prints it, split into entries. */
function sans(cert: X509Certificate): string[] {
    return (cert.subjectAltName ?? "").split(", ").filter(Boolean);
}

describe("generated TLS and htpasswd (real keys, certificates and bcrypt under mocks)", () => {
    let r: ProgramRun;
    let ca: X509Certificate;
    let server: X509Certificate;
    before(async () => {
        r = await runProgram({ ...VARIANTS.severalUsers, ipAddresses: ["10.1.2.3"], tlsValidityHours: 2000, tlsEarlyRenewalHours: 100 });
        assert.strictEqual(r.error, undefined);
        ca = new X509Certificate(String(r.outputs.caCertificate));
        server = new X509Certificate(secretValue(one(r, "kubernetes:core/v1:Secret", "registry-tls"), "tls.crt") ?? "");
    });

    it("the CA is a CA that signs certificates, valid for the configured time", () => {
        assert.strictEqual(ca.ca, true);
        assert.ok(ca.verify(ca.publicKey), "the CA is not self-signed");
        const hours = (Date.parse(ca.validTo) - Date.parse(ca.validFrom)) / 3600_000;
        assert.strictEqual(hours, 87600);
    });

    it("the server certificate verifies against the CA and is not a CA", () => {
        assert.ok(server.checkIssued(ca));
        assert.ok(server.verify(ca.publicKey), "signature does not verify with the CA key");
        assert.strictEqual(server.ca, false);
        assert.deepStrictEqual(server.keyUsage, ["1.3.6.1.5.5.7.3.1"]);
        const hours = (Date.parse(server.validTo) - Date.parse(server.validFrom)) / 3600_000;
        assert.strictEqual(hours, 2000);
        assert.strictEqual(one(r, "tls:index/locallySignedCert:LocallySignedCert").inputs.earlyRenewalHours, 100);
    });

    it("covers the public names, the in-cluster names, the load balancer and configured IPs", () => {
        assert.deepStrictEqual(sans(server).sort(), [
            "DNS:registry",
            "DNS:registry.example.com",
            "DNS:registry.internal",
            "DNS:registry.registry",
            "DNS:registry.registry.svc",
            "DNS:registry.registry.svc.cluster.local",
            "IP Address:10.1.2.3",
            "IP Address:203.0.113.10",
        ]);
        assert.strictEqual(server.checkHost("registry.example.com"), "registry.example.com");
        assert.strictEqual(server.checkHost("evil.example.com"), undefined);
        assert.match(server.subject, /CN=registry\.example\.com/);
    });

    it("the Secret's key belongs to the certificate", () => {
        const key = createPrivateKey(secretValue(one(r, "kubernetes:core/v1:Secret", "registry-tls"), "tls.key") ?? "");
        assert.ok(server.checkPrivateKey(key));
    });

    it("each htpasswd line verifies against that user's password with bcrypt, and not another's", () => {
        const htpasswd = secretValue(one(r, "kubernetes:core/v1:Secret", "registry-auth"), "pull.htpasswd") ?? "";
        const passwords = r.outputs.passwords as Record<string, string>;
        const lines = htpasswd.trim().split("\n");
        // Three push users, two pull-only users and pullUser.
        assert.strictEqual(lines.length, 6);
        for (const line of lines) {
            const [user, hash] = line.split(":");
            // Go's prefix, at the default htpasswdBcryptCost.
            assert.match(hash, /^\$2a\$05\$/);
            assert.ok(bcrypt.compareSync(passwords[user], hash), `${user}'s password does not match its hash`);
            const other = Object.keys(passwords).find((u) => u !== user) ?? "";
            assert.ok(!bcrypt.compareSync(passwords[other], hash), `${other}'s password matches ${user}'s hash`);
        }
        for (const pw of Object.values(passwords)) {
            assert.match(pw, /^[A-Za-z0-9]{32}$/);
        }
    });
});
