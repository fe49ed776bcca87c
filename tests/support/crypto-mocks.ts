// Real computations for the @pulumi/tls and @pulumi/random resources under mocks.
//
// The real providers compute these values locally too (keys, X.509 certificates, bcrypt
// hashes), so the mocks do the same work with maintained libraries instead of returning
// placeholders: the end-to-end tests start a real registry with what comes out of here.
import "reflect-metadata";

import * as x509 from "@peculiar/x509";
import * as bcrypt from "bcryptjs";
import * as crypto from "crypto";

x509.cryptoProvider.set(crypto.webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

type Inputs = Record<string, unknown>;
type State = Record<string, unknown>;

const subtle = crypto.webcrypto.subtle;

/** tls_private_key: ECDSA keys in SEC1 PEM ("EC PRIVATE KEY"), RSA in PKCS#1, like the provider. */
export function mockPrivateKey(inputs: Inputs): State {
    const algorithm = String(inputs.algorithm ?? "RSA");
    let pair: crypto.KeyPairKeyObjectResult;
    let privateKeyPem: string;
    if (algorithm === "ECDSA") {
        const curve = { P224: "P-224", P256: "P-256", P384: "P-384", P521: "P-521" }[String(inputs.ecdsaCurve ?? "P224")];
        if (curve === undefined) {
            throw new Error(`mock tls.PrivateKey: unsupported curve ${String(inputs.ecdsaCurve)}`);
        }
        pair = crypto.generateKeyPairSync("ec", { namedCurve: curve });
        privateKeyPem = pair.privateKey.export({ type: "sec1", format: "pem" }).toString();
    } else if (algorithm === "RSA") {
        pair = crypto.generateKeyPairSync("rsa", { modulusLength: Number(inputs.rsaBits ?? 2048) });
        privateKeyPem = pair.privateKey.export({ type: "pkcs1", format: "pem" }).toString();
    } else {
        throw new Error(`mock tls.PrivateKey: unsupported algorithm ${algorithm}`);
    }
    return {
        ...inputs,
        privateKeyPem,
        privateKeyPemPkcs8: pair.privateKey.export({ type: "pkcs8", format: "pem" }).toString(),
        publicKeyPem: pair.publicKey.export({ type: "spki", format: "pem" }).toString(),
        publicKeyFingerprintSha256: crypto.createHash("sha256").update(pair.publicKey.export({ type: "spki", format: "der" })).digest("base64"),
    };
}

interface WebKeys {
    readonly keys: crypto.webcrypto.CryptoKeyPair;
    readonly signingAlgorithm: crypto.webcrypto.Algorithm | crypto.webcrypto.EcdsaParams;
}

/** Imports a PEM private key for WebCrypto signing, with the algorithm the provider would use. */
async function webKeys(privateKeyPem: string): Promise<WebKeys> {
    const priv = crypto.createPrivateKey(privateKeyPem);
    const pub = crypto.createPublicKey(priv);
    let alg: crypto.webcrypto.RsaHashedImportParams | crypto.webcrypto.EcKeyImportParams;
    let signingAlgorithm: crypto.webcrypto.Algorithm | crypto.webcrypto.EcdsaParams;
    if (priv.asymmetricKeyType === "ec") {
        const curve = priv.asymmetricKeyDetails?.namedCurve;
        const namedCurve = curve === "prime256v1" ? "P-256" : curve === "secp384r1" ? "P-384" : curve === "secp521r1" ? "P-521" : undefined;
        if (namedCurve === undefined) {
            throw new Error(`mock tls: unsupported curve ${String(curve)}`);
        }
        alg = { name: "ECDSA", namedCurve };
        signingAlgorithm = { name: "ECDSA", hash: namedCurve === "P-256" ? "SHA-256" : "SHA-384" } as crypto.webcrypto.EcdsaParams;
    } else {
        alg = { name: "RSASSA-PKCS1-v1_5", hash: "SHA-256" };
        signingAlgorithm = { name: "RSASSA-PKCS1-v1_5", hash: "SHA-256" } as crypto.webcrypto.Algorithm;
    }
    const privateKey = await subtle.importKey("pkcs8", priv.export({ type: "pkcs8", format: "der" }), alg, true, ["sign"]);
    const publicKey = await subtle.importKey("spki", pub.export({ type: "spki", format: "der" }), alg, true, ["verify"]);
    return { keys: { privateKey, publicKey } as crypto.webcrypto.CryptoKeyPair, signingAlgorithm };
}

/** The provider's subject block as an X.500 name. */
function subjectName(subject: unknown): x509.JsonName {
    const s = (subject ?? {}) as Record<string, unknown>;
    const fields: [string, string][] = [
        ["commonName", "CN"],
        ["organization", "O"],
        ["organizationalUnit", "OU"],
        ["locality", "L"],
        ["province", "ST"],
        ["country", "C"],
    ];
    return fields.filter(([k]) => typeof s[k] === "string" && s[k] !== "").map(([k, attr]) => ({ [attr]: [String(s[k])] }));
}

/** allowed_uses of the tls provider to X.509 extensions. */
function usageExtensions(allowed: unknown): x509.Extension[] {
    const uses = (Array.isArray(allowed) ? allowed : []).map(String);
    const flags: Record<string, x509.KeyUsageFlags> = {
        digital_signature: x509.KeyUsageFlags.digitalSignature,
        content_commitment: x509.KeyUsageFlags.nonRepudiation,
        key_encipherment: x509.KeyUsageFlags.keyEncipherment,
        data_encipherment: x509.KeyUsageFlags.dataEncipherment,
        key_agreement: x509.KeyUsageFlags.keyAgreement,
        cert_signing: x509.KeyUsageFlags.keyCertSign,
        crl_signing: x509.KeyUsageFlags.cRLSign,
    };
    const ekus: Record<string, string> = { server_auth: x509.ExtendedKeyUsage.serverAuth, client_auth: x509.ExtendedKeyUsage.clientAuth };
    const exts: x509.Extension[] = [];
    const ku = uses.reduce((acc, u) => acc | (flags[u] ?? 0), 0);
    if (ku !== 0) {
        exts.push(new x509.KeyUsagesExtension(ku, true));
    }
    const eku = uses.map((u) => ekus[u]).filter((x): x is string => x !== undefined);
    if (eku.length > 0) {
        exts.push(new x509.ExtendedKeyUsageExtension(eku, false));
    }
    return exts;
}

function serialNumber(): string {
    const b = crypto.randomBytes(16);
    b[0] &= 0x7f;
    return b.toString("hex");
}

function validity(inputs: Inputs): { notBefore: Date; notAfter: Date; state: State } {
    const notBefore = new Date(Math.floor(Date.now() / 1000) * 1000);
    const notAfter = new Date(notBefore.getTime() + Number(inputs.validityPeriodHours ?? 0) * 3600_000);
    return {
        notBefore,
        notAfter,
        state: { validityStartTime: notBefore.toISOString(), validityEndTime: notAfter.toISOString(), readyForRenewal: false },
    };
}

/** tls_self_signed_cert. */
export async function mockSelfSignedCert(inputs: Inputs): Promise<State> {
    const { keys, signingAlgorithm } = await webKeys(String(inputs.privateKeyPem));
    const { notBefore, notAfter, state } = validity(inputs);
    const isCa = inputs.isCaCertificate === true;
    const extensions: x509.Extension[] = [...usageExtensions(inputs.allowedUses)];
    if (isCa) {
        const pathLen = typeof inputs.maxPathLength === "number" && inputs.maxPathLength >= 0 ? inputs.maxPathLength : undefined;
        extensions.push(new x509.BasicConstraintsExtension(true, pathLen, true));
    }
    if (inputs.setSubjectKeyId === true) {
        extensions.push(await x509.SubjectKeyIdentifierExtension.create(keys.publicKey));
    }
    const cert = await x509.X509CertificateGenerator.createSelfSigned({
        serialNumber: serialNumber(),
        name: subjectName(inputs.subject),
        notBefore,
        notAfter,
        keys,
        signingAlgorithm,
        extensions,
    });
    return { ...inputs, ...state, certPem: `${cert.toString("pem")}\n` };
}

/** tls_cert_request. */
export async function mockCertRequest(inputs: Inputs): Promise<State> {
    const { keys, signingAlgorithm } = await webKeys(String(inputs.privateKeyPem));
    const names: x509.JsonGeneralName[] = [
        ...((inputs.dnsNames as string[] | undefined) ?? []).map((value) => ({ type: "dns" as const, value })),
        ...((inputs.ipAddresses as string[] | undefined) ?? []).map((value) => ({ type: "ip" as const, value })),
    ];
    const csr = await x509.Pkcs10CertificateRequestGenerator.create({
        name: subjectName(inputs.subject),
        keys,
        signingAlgorithm,
        extensions: names.length > 0 ? [new x509.SubjectAlternativeNameExtension(names)] : [],
    });
    return { ...inputs, certRequestPem: `${csr.toString("pem")}\n` };
}

/** tls_locally_signed_cert: subject and SANs come from the CSR, as in the provider. */
export async function mockLocallySignedCert(inputs: Inputs): Promise<State> {
    const csr = new x509.Pkcs10CertificateRequest(String(inputs.certRequestPem));
    const ca = new x509.X509Certificate(String(inputs.caCertPem));
    const { keys: caKeys, signingAlgorithm } = await webKeys(String(inputs.caPrivateKeyPem));
    const { notBefore, notAfter, state } = validity(inputs);
    const csrKey = await csr.publicKey.export();
    const extensions: x509.Extension[] = [new x509.BasicConstraintsExtension(false, undefined, true), ...usageExtensions(inputs.allowedUses)];
    // The CSR carries its SANs in an extensionRequest attribute.
    const san = csr.extensions.find((e) => e.type === "2.5.29.17");
    if (san !== undefined) {
        extensions.push(san);
    }
    if (inputs.setSubjectKeyId === true) {
        extensions.push(await x509.SubjectKeyIdentifierExtension.create(csrKey));
    }
    extensions.push(await x509.AuthorityKeyIdentifierExtension.create(caKeys.publicKey));
    const cert = await x509.X509CertificateGenerator.create({
        serialNumber: serialNumber(),
        subject: csr.subjectName,
        issuer: ca.subjectName,
        notBefore,
        notAfter,
        publicKey: csrKey,
        signingKey: caKeys.privateKey,
        signingAlgorithm,
        extensions,
    });
    return { ...inputs, ...state, certPem: `${cert.toString("pem")}\n` };
}

const CHARSETS = {
    upper: "ABCDEFGHIJKLMNOPQRSTUVWXYZ",
    lower: "abcdefghijklmnopqrstuvwxyz",
    numeric: "0123456789",
    special: "!@#$%&*()-_=+[]{}<>:?",
};

/** random_password / random_string: the provider's character rules, crypto-random. */
export function mockRandomString(inputs: Inputs, withBcrypt: boolean): State {
    const length = Number(inputs.length);
    const pick = (set: string): string => set[crypto.randomInt(set.length)];
    const sets: [keyof typeof CHARSETS, string, number][] = [
        ["upper", CHARSETS.upper, Number(inputs.minUpper ?? 0)],
        ["lower", CHARSETS.lower, Number(inputs.minLower ?? 0)],
        ["numeric", CHARSETS.numeric, Number(inputs.minNumeric ?? 0)],
        ["special", typeof inputs.overrideSpecial === "string" ? inputs.overrideSpecial : CHARSETS.special, Number(inputs.minSpecial ?? 0)],
    ];
    const enabled = sets.filter(([k]) => inputs[k] !== false);
    const chars: string[] = [];
    for (const [, set, min] of enabled) {
        for (let i = 0; i < min; i++) {
            chars.push(pick(set));
        }
    }
    const all = enabled.map(([, set]) => set).join("");
    while (chars.length < length) {
        chars.push(pick(all));
    }
    // Shuffle so the minimums are not always in front.
    for (let i = chars.length - 1; i > 0; i--) {
        const j = crypto.randomInt(i + 1);
        [chars[i], chars[j]] = [chars[j], chars[i]];
    }
    const result = chars.join("");
    return withBcrypt ? { ...inputs, result, bcryptHash: bcrypt.hashSync(result, 10) } : { ...inputs, result };
}

/** Dispatch for the crypto resources; undefined when the type is not one of them. */
export async function cryptoMock(type: string, inputs: Inputs): Promise<State | undefined> {
    switch (type) {
        case "tls:index/privateKey:PrivateKey":
            return mockPrivateKey(inputs);
        case "tls:index/selfSignedCert:SelfSignedCert":
            return mockSelfSignedCert(inputs);
        case "tls:index/certRequest:CertRequest":
            return mockCertRequest(inputs);
        case "tls:index/locallySignedCert:LocallySignedCert":
            return mockLocallySignedCert(inputs);
        case "random:index/randomPassword:RandomPassword":
            return mockRandomString(inputs, true);
        case "random:index/randomString:RandomString":
            return mockRandomString(inputs, false);
        default:
            return undefined;
    }
}
