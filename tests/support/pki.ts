// A CA and server certificate made with the same real computations the tls mocks use, for
// tests that need "provided" TLS material.
import { mockCertRequest, mockLocallySignedCert, mockPrivateKey, mockSelfSignedCert } from "./crypto-mocks";

export interface TestPki {
    readonly caPem: string;
    readonly caKeyPem: string;
    readonly certPem: string;
    readonly keyPem: string;
}

export async function makePki(dnsNames: string[], ipAddresses: string[] = []): Promise<TestPki> {
    const caKey = mockPrivateKey({ algorithm: "ECDSA", ecdsaCurve: "P256" });
    const ca = await mockSelfSignedCert({
        privateKeyPem: caKey.privateKeyPem,
        isCaCertificate: true,
        validityPeriodHours: 48,
        allowedUses: ["cert_signing", "crl_signing"],
        subject: { commonName: "test CA" },
    });
    const key = mockPrivateKey({ algorithm: "RSA", rsaBits: 2048 });
    const csr = await mockCertRequest({ privateKeyPem: key.privateKeyPem, dnsNames, ipAddresses, subject: { commonName: dnsNames[0] ?? "test" } });
    const cert = await mockLocallySignedCert({
        certRequestPem: csr.certRequestPem,
        caPrivateKeyPem: caKey.privateKeyPem,
        caCertPem: ca.certPem,
        validityPeriodHours: 24,
        allowedUses: ["digital_signature", "key_encipherment", "server_auth"],
    });
    return { caPem: String(ca.certPem), caKeyPem: String(caKey.privateKeyPem), certPem: String(cert.certPem), keyPem: String(key.privateKeyPem) };
}
