// Key pairs as tls.PrivateKey makes them: the PEM encodings Go writes, OpenSSH encodings and
// fingerprints (golang.org/x/crypto/ssh).
import * as crypto from "crypto";

export type KeyAlgorithm = "RSA" | "ECDSA" | "ED25519";
export const KEY_ALGORITHMS: readonly KeyAlgorithm[] = ["RSA", "ECDSA", "ED25519"];
export type EcdsaCurve = "P224" | "P256" | "P384" | "P521";
export const ECDSA_CURVES: readonly EcdsaCurve[] = ["P224", "P256", "P384", "P521"];

/** OpenSSL's names for the curves, as node reports them in asymmetricKeyDetails. */
const OPENSSL_CURVES: Record<EcdsaCurve, string> = { P224: "secp224r1", P256: "prime256v1", P384: "secp384r1", P521: "secp521r1" };
/** Field size in bytes, for the uncompressed point. */
const FIELD_BYTES: Record<EcdsaCurve, number> = { P224: 28, P256: 32, P384: 48, P521: 66 };

export function curveOf(key: crypto.KeyObject): EcdsaCurve {
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
export function ecPoint(publicKey: crypto.KeyObject): Buffer {
    const spki = publicKey.export({ type: "spki", format: "der" });
    return spki.subarray(spki.length - (1 + 2 * FIELD_BYTES[curveOf(publicKey)]));
}

export function ed25519Raw(publicKey: crypto.KeyObject): Buffer {
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
