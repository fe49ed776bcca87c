// Real keys, X.509 certificates, CSRs, passwords and bcrypt hashes, computed the way the providers
// behind @pulumi/tls and @pulumi/random compute them in Go (terraform-provider-tls,
// terraform-provider-random): the same PEM encodings, OpenSSH encodings and fingerprints, X.509
// extensions, serial numbers, character rules and bcrypt cost.
//
// Two users: the Pulumi mocks (crypto-mocks.ts) and the stand-in provider plugins the real engine
// runs (tests/engine/providers/). Each computation lives here once.
import "reflect-metadata";

import * as x509 from "@peculiar/x509";
import * as bcrypt from "bcryptjs";
import * as crypto from "crypto";

x509.cryptoProvider.set(crypto.webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

const subtle = crypto.webcrypto.subtle;

export type KeyAlgorithm = "RSA" | "ECDSA" | "ED25519";
export const KEY_ALGORITHMS: readonly KeyAlgorithm[] = ["RSA", "ECDSA", "ED25519"];
export type EcdsaCurve = "P224" | "P256" | "P384" | "P521";
export const ECDSA_CURVES: readonly EcdsaCurve[] = ["P224", "P256", "P384", "P521"];

/** OpenSSL's names for the curves, as node reports them in asymmetricKeyDetails. */
const OPENSSL_CURVES: Record<EcdsaCurve, string> = { P224: "secp224r1", P256: "prime256v1", P384: "secp384r1", P521: "secp521r1" };
/** Field size in bytes, for the uncompressed point. */
const FIELD_BYTES: Record<EcdsaCurve, number> = { P224: 28, P256: 32, P384: 48, P521: 66 };

function curveOf(key: crypto.KeyObject): EcdsaCurve {
    const name = key.asymmetricKeyDetails?.namedCurve;
    const curve = ECDSA_CURVES.find((c) => OPENSSL_CURVES[c] === name);
    if (curve === undefined) {
        throw new Error(`unsupported elliptic curve ${String(name)}; supported: ${ECDSA_CURVES.join(", ")}`);
    }
    return curve;
}

// ---- PEM and the SSH wire format -------------------------------------------------------------

/** PEM as Go's encoding/pem writes it: 64-character lines and a final newline. */
export function pem(type: string, der: Buffer): string {
    const lines = der.toString("base64").match(/.{1,64}/g) ?? [];
    return `-----BEGIN ${type}-----\n${lines.join("\n")}\n-----END ${type}-----\n`;
}

function sshString(data: Buffer | string): Buffer {
    const body = typeof data === "string" ? Buffer.from(data) : data;
    const len = Buffer.alloc(4);
    len.writeUInt32BE(body.length);
    return Buffer.concat([len, body]);
}

function sshUint32(n: number): Buffer {
    const b = Buffer.alloc(4);
    b.writeUInt32BE(n);
    return b;
}

/** An SSH mpint from an unsigned big-endian magnitude (JWK base64url). */
function sshMpint(base64url: string | undefined): Buffer {
    let mag = Buffer.from(base64url ?? "", "base64url");
    let i = 0;
    while (i < mag.length && mag[i] === 0) {
        i++;
    }
    mag = mag.subarray(i);
    return sshString(mag.length > 0 && (mag[0] & 0x80) !== 0 ? Buffer.concat([Buffer.from([0]), mag]) : mag);
}

/** The public key's bits as they sit in the SubjectPublicKeyInfo's BIT STRING (the trailing bytes). */
function ecPoint(publicKey: crypto.KeyObject): Buffer {
    const spki = publicKey.export({ type: "spki", format: "der" });
    return spki.subarray(spki.length - (1 + 2 * FIELD_BYTES[curveOf(publicKey)]));
}

function ed25519Raw(publicKey: crypto.KeyObject): Buffer {
    const spki = publicKey.export({ type: "spki", format: "der" });
    return spki.subarray(spki.length - 32);
}

interface SshPublicKey {
    readonly type: string;
    readonly blob: Buffer;
}

/** The SSH wire encoding of a public key; undefined for P-224, which golang.org/x/crypto/ssh refuses. */
function sshPublicKey(publicKey: crypto.KeyObject): SshPublicKey | undefined {
    switch (publicKey.asymmetricKeyType) {
        case "rsa": {
            const jwk = publicKey.export({ format: "jwk" });
            return { type: "ssh-rsa", blob: Buffer.concat([sshString("ssh-rsa"), sshMpint(jwk.e), sshMpint(jwk.n)]) };
        }
        case "ec": {
            const curve = curveOf(publicKey);
            if (curve === "P224") {
                return undefined;
            }
            const name = `nistp${curve.slice(1)}`;
            const type = `ecdsa-sha2-${name}`;
            return { type, blob: Buffer.concat([sshString(type), sshString(name), sshString(ecPoint(publicKey))]) };
        }
        case "ed25519":
            return { type: "ssh-ed25519", blob: Buffer.concat([sshString("ssh-ed25519"), sshString(ed25519Raw(publicKey))]) };
        default:
            throw new Error(`unsupported key type ${String(publicKey.asymmetricKeyType)}`);
    }
}

/** The "openssh-key-v1" private key, unencrypted, with an empty comment (ssh.MarshalPrivateKey). */
function opensshPrivateKey(privateKey: crypto.KeyObject, pub: SshPublicKey): string {
    const jwk = privateKey.export({ format: "jwk" });
    const check = crypto.randomBytes(4);
    let keyFields: Buffer[];
    switch (privateKey.asymmetricKeyType) {
        case "rsa":
            // Go's field order: n, e, d, iqmp (JWK "qi"), p, q.
            keyFields = [sshMpint(jwk.n), sshMpint(jwk.e), sshMpint(jwk.d), sshMpint(jwk.qi), sshMpint(jwk.p), sshMpint(jwk.q)];
            break;
        case "ec": {
            const pubKey = crypto.createPublicKey(privateKey);
            keyFields = [sshString(`nistp${curveOf(privateKey).slice(1)}`), sshString(ecPoint(pubKey)), sshMpint(jwk.d)];
            break;
        }
        case "ed25519": {
            const raw = Buffer.from(jwk.x ?? "", "base64url");
            keyFields = [sshString(raw), sshString(Buffer.concat([Buffer.from(jwk.d ?? "", "base64url"), raw]))];
            break;
        }
        default:
            throw new Error(`unsupported key type ${String(privateKey.asymmetricKeyType)}`);
    }
    let block = Buffer.concat([check, check, sshString(pub.type), ...keyFields, sshString("")]);
    const padding: number[] = [];
    for (let i = 0; (block.length + i) % 8 !== 0; i++) {
        padding.push(i + 1);
    }
    block = Buffer.concat([block, Buffer.from(padding)]);
    const body = Buffer.concat([
        Buffer.from("openssh-key-v1\0"),
        sshString("none"),
        sshString("none"),
        sshString(""),
        sshUint32(1),
        sshString(pub.blob),
        sshString(block),
    ]);
    return pem("OPENSSH PRIVATE KEY", body);
}

// ---- Keys ------------------------------------------------------------------------------------

/** Everything tls.PrivateKey computes from a generated key. */
export interface KeyMaterial {
    /** RSA: PKCS#1 ("RSA PRIVATE KEY"); ECDSA: SEC 1 ("EC PRIVATE KEY"); ED25519: PKCS#8. */
    readonly privateKeyPem: string;
    readonly privateKeyPemPkcs8: string;
    /** "" for ECDSA P-224, as in the provider. */
    readonly privateKeyOpenssh: string;
    readonly publicKeyPem: string;
    /** DER SubjectPublicKeyInfo (the provider's id is the SHA-1 of it). */
    readonly publicKeyDer: Buffer;
    /** authorized_keys line with a trailing newline; "" for P-224. */
    readonly publicKeyOpenssh: string;
    /** "aa:bb:…" (ssh.FingerprintLegacyMD5); "" for P-224. */
    readonly publicKeyFingerprintMd5: string;
    /** "SHA256:…" (ssh.FingerprintSHA256); "" for P-224. */
    readonly publicKeyFingerprintSha256: string;
}

export interface KeyOptions {
    /** RSA modulus size. Default 2048. */
    readonly rsaBits?: number;
    /** ECDSA curve. Default P224 (the provider's default). */
    readonly ecdsaCurve?: EcdsaCurve;
}

/** A new key pair with the encodings tls.PrivateKey outputs. */
export function generatePrivateKey(algorithm: KeyAlgorithm, options: KeyOptions = {}): KeyMaterial {
    let pair: crypto.KeyPairKeyObjectResult;
    let privateKeyPem: string;
    switch (algorithm) {
        case "RSA": {
            const bits = options.rsaBits ?? 2048;
            // Go's crypto/rsa refuses keys under 1024 bits.
            if (!Number.isInteger(bits) || bits < 1024) {
                throw new Error(`crypto/rsa: ${bits}-bit keys are insecure; use at least 1024 bits`);
            }
            pair = crypto.generateKeyPairSync("rsa", { modulusLength: bits });
            privateKeyPem = pair.privateKey.export({ type: "pkcs1", format: "pem" }).toString();
            break;
        }
        case "ECDSA":
            pair = crypto.generateKeyPairSync("ec", { namedCurve: OPENSSL_CURVES[options.ecdsaCurve ?? "P224"] });
            privateKeyPem = pair.privateKey.export({ type: "sec1", format: "pem" }).toString();
            break;
        case "ED25519":
            pair = crypto.generateKeyPairSync("ed25519");
            privateKeyPem = pair.privateKey.export({ type: "pkcs8", format: "pem" }).toString();
            break;
    }
    const publicKeyDer = pair.publicKey.export({ type: "spki", format: "der" });
    const ssh = sshPublicKey(pair.publicKey);
    return {
        privateKeyPem,
        privateKeyPemPkcs8: pair.privateKey.export({ type: "pkcs8", format: "pem" }).toString(),
        privateKeyOpenssh: ssh === undefined ? "" : opensshPrivateKey(pair.privateKey, ssh),
        publicKeyPem: pem("PUBLIC KEY", publicKeyDer),
        publicKeyDer,
        publicKeyOpenssh: ssh === undefined ? "" : `${ssh.type} ${ssh.blob.toString("base64")}\n`,
        publicKeyFingerprintMd5: ssh === undefined ? "" : (crypto.createHash("md5").update(ssh.blob).digest("hex").match(/../g)?.join(":") ?? ""),
        publicKeyFingerprintSha256: ssh === undefined ? "" : `SHA256:${crypto.createHash("sha256").update(ssh.blob).digest("base64").replace(/=+$/, "")}`,
    };
}

/** The algorithm of a PEM private key (PKCS#1, SEC 1 or PKCS#8), as the provider names it. */
export function keyAlgorithmOf(privateKeyPem: string): KeyAlgorithm {
    const type = crypto.createPrivateKey(privateKeyPem).asymmetricKeyType;
    switch (type) {
        case "rsa":
            return "RSA";
        case "ec":
            return "ECDSA";
        case "ed25519":
            return "ED25519";
        default:
            throw new Error(`unsupported private key type ${String(type)}`);
    }
}

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

// ---- Passwords -------------------------------------------------------------------------------

/** random.RandomPassword / RandomString character rules (the provider's defaults applied by the caller). */
export interface RandomStringParams {
    readonly length: number;
    readonly upper: boolean;
    readonly lower: boolean;
    readonly numeric: boolean;
    readonly special: boolean;
    readonly minUpper: number;
    readonly minLower: number;
    readonly minNumeric: number;
    readonly minSpecial: number;
    /** Replaces the special characters when non-empty. */
    readonly overrideSpecial?: string;
}

export const DEFAULT_SPECIAL = "!@#$%&*()-_=+[]{}<>:?";

/**
 * The provider's CreateString: each minimum drawn from its class (whether or not the class is
 * enabled, as in the provider), the rest from the enabled classes, then shuffled; crypto-random.
 */
export function randomString(p: RandomStringParams): string {
    const special = p.overrideSpecial !== undefined && p.overrideSpecial !== "" ? p.overrideSpecial : DEFAULT_SPECIAL;
    const classes = { upper: "ABCDEFGHIJKLMNOPQRSTUVWXYZ", lower: "abcdefghijklmnopqrstuvwxyz", numeric: "0123456789", special };
    const draw = (set: string, n: number): string[] => {
        if (n > 0 && set.length === 0) {
            throw new Error("no characters to draw from: enable at least one of upper, lower, numeric or special");
        }
        return Array.from({ length: Math.max(0, n) }, () => set[crypto.randomInt(set.length)]);
    };
    const chars = [
        ...draw(classes.numeric, p.minNumeric),
        ...draw(classes.lower, p.minLower),
        ...draw(classes.upper, p.minUpper),
        ...draw(classes.special, p.minSpecial),
    ];
    const all = (["upper", "lower", "numeric", "special"] as const)
        .filter((k) => p[k])
        .map((k) => classes[k])
        .join("");
    chars.push(...draw(all, p.length - chars.length));
    for (let i = chars.length - 1; i > 0; i--) {
        const j = crypto.randomInt(i + 1);
        [chars[i], chars[j]] = [chars[j], chars[i]];
    }
    return chars.join("");
}

/**
 * bcrypt as the provider computes `bcryptHash`: golang.org/x/crypto/bcrypt at its default cost
 * (10), "$2a$" prefix, over the first 72 bytes.
 */
export function bcryptHash(password: string): string {
    const bytes = Buffer.from(password, "utf8");
    const input = bytes.length > 72 ? bytes.subarray(0, 72).toString("utf8") : password;
    return bcrypt.hashSync(input, bcrypt.genSaltSync(10).replace(/^\$2b\$/, "$2a$"));
}
