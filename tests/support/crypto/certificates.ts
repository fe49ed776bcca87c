// X.509 certificates and CSRs as tls.SelfSignedCert, tls.CertRequest and tls.LocallySignedCert make
// them: Go's x509 extensions, subject order, serial numbers and signature algorithms.
import "reflect-metadata";

import * as x509 from "@peculiar/x509";
import * as crypto from "crypto";

import { curveOf, ecPoint, ed25519Raw } from "./keys";

x509.cryptoProvider.set(crypto.webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

const subtle = crypto.webcrypto.subtle;

// ---- Certificates ----------------------------------------------------------------------------

interface Signer {
    readonly keys: crypto.webcrypto.CryptoKeyPair;
    readonly signingAlgorithm: crypto.webcrypto.Algorithm | crypto.webcrypto.EcdsaParams;
}

/** A PEM private key imported for WebCrypto, with the signature algorithm Go's x509 picks for it. */
async function signer(privateKeyPem: string): Promise<Signer> {
    const priv = crypto.createPrivateKey(privateKeyPem);
    const pub = crypto.createPublicKey(priv);
    let alg: crypto.webcrypto.RsaHashedImportParams | crypto.webcrypto.EcKeyImportParams | crypto.webcrypto.Algorithm;
    let signingAlgorithm: crypto.webcrypto.Algorithm | crypto.webcrypto.EcdsaParams;
    switch (priv.asymmetricKeyType) {
        case "rsa":
            alg = { name: "RSASSA-PKCS1-v1_5", hash: "SHA-256" };
            signingAlgorithm = alg;
            break;
        case "ec": {
            const curve = curveOf(priv);
            if (curve === "P224") {
                throw new Error("signing with an ECDSA P-224 key is not implemented here (WebCrypto has no P-224); use P256, P384 or P521");
            }
            alg = { name: "ECDSA", namedCurve: `P-${curve.slice(1)}` };
            signingAlgorithm = { name: "ECDSA", hash: { P256: "SHA-256", P384: "SHA-384", P521: "SHA-512" }[curve] };
            break;
        }
        case "ed25519":
            alg = { name: "Ed25519" };
            signingAlgorithm = alg;
            break;
        default:
            throw new Error(`unsupported private key type ${String(priv.asymmetricKeyType)}`);
    }
    const privateKey = await subtle.importKey("pkcs8", priv.export({ type: "pkcs8", format: "der" }), alg, true, ["sign"]);
    const publicKey = await subtle.importKey("spki", pub.export({ type: "spki", format: "der" }), alg, true, ["verify"]);
    return { keys: { privateKey, publicKey }, signingAlgorithm };
}

/** Subject key identifier as Go's provider computes it: SHA-1 of the public key's encoded bits. */
function subjectKeyId(publicKey: crypto.KeyObject): Buffer {
    let bits: Buffer;
    switch (publicKey.asymmetricKeyType) {
        case "rsa":
            bits = publicKey.export({ type: "pkcs1", format: "der" });
            break;
        case "ec":
            bits = ecPoint(publicKey);
            break;
        case "ed25519":
            // The provider asn1-marshals the raw key, which makes it an OCTET STRING.
            bits = Buffer.concat([Buffer.from([0x04, 0x20]), ed25519Raw(publicKey)]);
            break;
        default:
            throw new Error(`unsupported key type ${String(publicKey.asymmetricKeyType)}`);
    }
    return crypto.createHash("sha1").update(bits).digest();
}

/** The certificate subject block of the tls resources. */
export interface Subject {
    readonly commonName?: string;
    readonly organization?: string;
    readonly organizationalUnit?: string;
    readonly streetAddresses?: readonly string[];
    readonly locality?: string;
    readonly province?: string;
    readonly country?: string;
    readonly postalCode?: string;
    readonly serialNumber?: string;
    readonly emailAddress?: string;
}

/** The subject as an X.500 name, in the order Go's pkix.Name writes it. */
export function subjectName(subject: Subject | undefined): x509.JsonName {
    const s = subject ?? {};
    const one = (attr: string, v: string | undefined): x509.JsonName => (v === undefined || v === "" ? [] : [{ [attr]: [v] }]);
    return [
        ...one("C", s.country),
        ...one("ST", s.province),
        ...one("L", s.locality),
        ...(s.streetAddresses ?? []).flatMap((a) => one("2.5.4.9", a)),
        ...one("2.5.4.17", s.postalCode),
        ...one("O", s.organization),
        ...one("OU", s.organizationalUnit),
        ...one("CN", s.commonName),
        ...one("2.5.4.5", s.serialNumber),
        ...one("E", s.emailAddress),
    ];
}

/** allowed_uses values that are key usages. */
const KEY_USAGES: Record<string, x509.KeyUsageFlags> = {
    digital_signature: x509.KeyUsageFlags.digitalSignature,
    content_commitment: x509.KeyUsageFlags.nonRepudiation,
    key_encipherment: x509.KeyUsageFlags.keyEncipherment,
    data_encipherment: x509.KeyUsageFlags.dataEncipherment,
    key_agreement: x509.KeyUsageFlags.keyAgreement,
    cert_signing: x509.KeyUsageFlags.keyCertSign,
    crl_signing: x509.KeyUsageFlags.cRLSign,
    encipher_only: x509.KeyUsageFlags.encipherOnly,
    decipher_only: x509.KeyUsageFlags.decipherOnly,
};

/** allowed_uses values that are extended key usages, with their OIDs. */
const EXTENDED_KEY_USAGES: Record<string, string> = {
    any_extended: "2.5.29.37.0",
    server_auth: "1.3.6.1.5.5.7.3.1",
    client_auth: "1.3.6.1.5.5.7.3.2",
    code_signing: "1.3.6.1.5.5.7.3.3",
    email_protection: "1.3.6.1.5.5.7.3.4",
    ipsec_end_system: "1.3.6.1.5.5.7.3.5",
    ipsec_tunnel: "1.3.6.1.5.5.7.3.6",
    ipsec_user: "1.3.6.1.5.5.7.3.7",
    timestamping: "1.3.6.1.5.5.7.3.8",
    ocsp_signing: "1.3.6.1.5.5.7.3.9",
    microsoft_server_gated_crypto: "1.3.6.1.4.1.311.10.3.3",
    netscape_server_gated_crypto: "2.16.840.1.113730.4.1",
    microsoft_commercial_code_signing: "1.3.6.1.4.1.311.2.1.22",
    microsoft_kernel_code_signing: "1.3.6.1.4.1.311.61.1.1",
};

/** Every value `allowedUses` accepts. */
export const ALLOWED_USES: readonly string[] = [...Object.keys(KEY_USAGES), ...Object.keys(EXTENDED_KEY_USAGES)].sort();

/** Inputs common to both kinds of certificate. */
export interface CertificateOptions {
    readonly validityPeriodHours: number;
    readonly allowedUses: readonly string[];
    /** Default false. */
    readonly isCaCertificate?: boolean;
    /**
     * Default -1. As in the provider, which never sets Go's MaxPathLenZero, 0 means "no
     * constraint" just like -1: only a positive value is written into the certificate.
     */
    readonly maxPathLength?: number;
    /** Default false. */
    readonly setSubjectKeyId?: boolean;
    /** NotBefore. Default now. */
    readonly now?: Date;
}

/** A signed certificate. */
export interface IssuedCertificate {
    /** PEM with a trailing newline. */
    readonly certPem: string;
    readonly serialNumber: bigint;
    readonly notBefore: Date;
    readonly notAfter: Date;
}

/** A random positive serial below 2^127, minimally DER-encoded (hex). */
function newSerial(): { hex: string; value: bigint } {
    let value = 0n;
    while (value === 0n) {
        const b = crypto.randomBytes(16);
        b[0] &= 0x7f;
        value = BigInt(`0x${b.toString("hex")}`);
    }
    let hex = value.toString(16);
    if (hex.length % 2 === 1) {
        hex = `0${hex}`;
    }
    return { hex: parseInt(hex[0], 16) >= 8 ? `00${hex}` : hex, value };
}

function validity(options: CertificateOptions): { notBefore: Date; notAfter: Date } {
    const notBefore = options.now ?? new Date();
    return { notBefore, notAfter: new Date(notBefore.getTime() + options.validityPeriodHours * 3600_000) };
}

/** Key usage, extended key usage and basic constraints, as the provider's createCertificate sets them. */
function usageAndConstraints(options: CertificateOptions): x509.Extension[] {
    const exts: x509.Extension[] = [];
    const ku = options.allowedUses.reduce((acc, u) => acc | (KEY_USAGES[u] ?? 0), 0);
    if (ku !== 0) {
        exts.push(new x509.KeyUsagesExtension(ku, true));
    }
    const eku = options.allowedUses.map((u) => EXTENDED_KEY_USAGES[u]).filter((o): o is string => o !== undefined);
    if (eku.length > 0) {
        exts.push(new x509.ExtendedKeyUsageExtension(eku, false));
    }
    const isCa = options.isCaCertificate === true;
    const maxPathLength = options.maxPathLength ?? -1;
    if (!isCa && maxPathLength > 0) {
        throw new Error("x509: only CAs are allowed to specify MaxPathLen");
    }
    exts.push(new x509.BasicConstraintsExtension(isCa, isCa && maxPathLength > 0 ? maxPathLength : undefined, true));
    return exts;
}

/** The SAN extension for DNS names, IP addresses and URIs (critical when the subject is empty, as in Go). */
function sanExtension(dnsNames: readonly string[], ipAddresses: readonly string[], uris: readonly string[], emptySubject: boolean): x509.Extension[] {
    const names: x509.JsonGeneralName[] = [
        ...dnsNames.map((value) => ({ type: "dns" as const, value })),
        ...ipAddresses.map((value) => ({ type: "ip" as const, value })),
        ...uris.map((value) => ({ type: "url" as const, value })),
    ];
    return names.length === 0 ? [] : [new x509.SubjectAlternativeNameExtension(names, emptySubject)];
}

/** tls.SelfSignedCert. */
export async function createSelfSignedCert(
    options: CertificateOptions & {
        readonly privateKeyPem: string;
        readonly subject?: Subject;
        readonly dnsNames?: readonly string[];
        readonly ipAddresses?: readonly string[];
        readonly uris?: readonly string[];
        /** Default false. */
        readonly setAuthorityKeyId?: boolean;
    },
): Promise<IssuedCertificate> {
    const { keys, signingAlgorithm } = await signer(options.privateKeyPem);
    const name = subjectName(options.subject);
    if (options.isCaCertificate === true && name.length === 0) {
        throw new Error("Invalid Certificate Subject: Must contain at least one Distinguished Name when creating Certificate Authority (CA)");
    }
    const extensions = [
        ...usageAndConstraints(options),
        ...sanExtension(options.dnsNames ?? [], options.ipAddresses ?? [], options.uris ?? [], name.length === 0),
    ];
    const publicKey = crypto.createPublicKey(options.privateKeyPem);
    const ski = options.isCaCertificate === true || options.setSubjectKeyId === true ? subjectKeyId(publicKey) : undefined;
    if (ski !== undefined) {
        extensions.push(new x509.SubjectKeyIdentifierExtension(ski.toString("hex")));
    }
    if (options.setAuthorityKeyId === true) {
        // For a self-signed certificate the authority is itself: its own subject key id.
        if (ski === undefined) {
            throw new Error("Invalid Certificate Authority: Could not determine Authority Key Identifier");
        }
        extensions.push(new x509.AuthorityKeyIdentifierExtension(ski.toString("hex")));
    }
    const { notBefore, notAfter } = validity(options);
    const serial = newSerial();
    const cert = await x509.X509CertificateGenerator.createSelfSigned({
        serialNumber: serial.hex,
        name,
        notBefore,
        notAfter,
        keys,
        signingAlgorithm,
        extensions,
    });
    return { certPem: `${cert.toString("pem")}\n`, serialNumber: serial.value, notBefore, notAfter };
}

/** tls.CertRequest. */
export async function createCertRequest(options: {
    readonly privateKeyPem: string;
    readonly subject?: Subject;
    readonly dnsNames?: readonly string[];
    readonly ipAddresses?: readonly string[];
    readonly uris?: readonly string[];
}): Promise<{ readonly certRequestPem: string; readonly der: Buffer }> {
    const { keys, signingAlgorithm } = await signer(options.privateKeyPem);
    const name = subjectName(options.subject);
    const csr = await x509.Pkcs10CertificateRequestGenerator.create({
        name,
        keys,
        signingAlgorithm,
        extensions: sanExtension(options.dnsNames ?? [], options.ipAddresses ?? [], options.uris ?? [], name.length === 0),
    });
    return { certRequestPem: `${csr.toString("pem")}\n`, der: Buffer.from(csr.rawData) };
}

/** tls.LocallySignedCert: subject and DNS/IP/URI SANs come from the CSR, as in the provider. */
export async function createLocallySignedCert(
    options: CertificateOptions & { readonly certRequestPem: string; readonly caPrivateKeyPem: string; readonly caCertPem: string },
): Promise<IssuedCertificate> {
    const csr = new x509.Pkcs10CertificateRequest(options.certRequestPem);
    if (!(await csr.verify())) {
        throw new Error("Failed to parse certificate request PEM: the request's signature does not verify");
    }
    const ca = new x509.X509Certificate(options.caCertPem);
    const { keys: caKeys, signingAlgorithm } = await signer(options.caPrivateKeyPem);
    const csrKey = crypto.createPublicKey({ key: Buffer.from(csr.publicKey.rawData), format: "der", type: "spki" });
    const extensions = usageAndConstraints(options);
    const san = csr.extensions.find((e) => e.type === "2.5.29.17");
    if (san !== undefined) {
        const requested = new x509.SubjectAlternativeNameExtension(san.rawData);
        const names = requested.names.toJSON();
        const pick = (type: string): string[] => names.filter((n) => n.type === type).map((n) => n.value);
        extensions.push(...sanExtension(pick("dns"), pick("ip"), pick("url"), csr.subjectName.toJSON().length === 0));
    }
    if (options.isCaCertificate === true || options.setSubjectKeyId === true) {
        extensions.push(new x509.SubjectKeyIdentifierExtension(subjectKeyId(csrKey).toString("hex")));
    }
    // Go's x509 takes the authority key id from the issuer's subject key id, when it has one.
    const caSki = ca.getExtension(x509.SubjectKeyIdentifierExtension);
    if (caSki !== null && ca.subject !== csr.subject) {
        extensions.push(new x509.AuthorityKeyIdentifierExtension(caSki.keyId));
    }
    const { notBefore, notAfter } = validity(options);
    const serial = newSerial();
    const cert = await x509.X509CertificateGenerator.create({
        serialNumber: serial.hex,
        subject: csr.subjectName,
        issuer: ca.subjectName,
        notBefore,
        notAfter,
        publicKey: await csr.publicKey.export(),
        signingKey: caKeys.privateKey,
        signingAlgorithm,
        extensions,
    });
    return { certPem: `${cert.toString("pem")}\n`, serialNumber: serial.value, notBefore, notAfter };
}
