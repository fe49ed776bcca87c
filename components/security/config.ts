// The security area's keys: the names and addresses the certificate covers, the TLS mode, the
// push and pull-only users, their generated passwords and the bcrypt cost of their hashes.
import { X509Certificate, createPrivateKey } from "crypto";
import { isIP } from "net";
import * as pulumi from "@pulumi/pulumi";

import type { ConfigKeySpec, Reader } from "../config/reader";
import { DNS_NAME, duplicateIn, USERNAME } from "../config/validators";
import { GATE_AUTH_CACHE_DEFAULT_SECONDS, GATE_AUTH_CACHE_MAX_SECONDS } from "../registry/gate";
import { BCRYPT_MAX_COST, BCRYPT_MIN_COST, FULL_BCRYPT_COST, MIN_LENGTH_BELOW_FULL_COST } from "./htpasswd";

export const SECURITY_KEYS = {
    hostnames: {
        type: "array",
        default: [],
        description: "Public DNS names of the registry; the first is the name images are tagged with. All go into the certificate.",
    },
    ipAddresses: { type: "array", default: [], description: "Extra IP addresses for the certificate's SANs." },
    tlsMode: {
        type: "string",
        default: "generate",
        description: "generate: a CA and server certificate made by the program; provided: tlsCertificate/tlsPrivateKey/tlsCaCertificate.",
    },
    tlsKeyAlgorithm: { type: "string", default: "ECDSA", description: "Key algorithm of generated keys: ECDSA (P-256) or RSA (2048 bits)." },
    tlsValidityHours: { type: "integer", default: 8760, description: "Validity of the generated server certificate, in hours." },
    tlsEarlyRenewalHours: { type: "integer", default: 720, description: "Re-issue the server certificate on `pulumi up` this many hours before it expires." },
    tlsCaValidityHours: { type: "integer", default: 87600, description: "Validity of the generated CA certificate, in hours." },
    tlsCertificate: { type: "string", default: "", description: "PEM server certificate (chain) when tlsMode is provided." },
    tlsPrivateKey: {
        type: "string",
        default: "",
        secret: true,
        description: "PEM private key of tlsCertificate when tlsMode is provided (set with --secret).",
    },
    tlsCaCertificate: { type: "string", default: "", description: "PEM CA certificate that signed tlsCertificate (published as the caCertificate output)." },
    users: {
        type: "array",
        default: ["admin"],
        description: "Push users: push, pull and delete (with storageDeleteEnabled); each gets a generated password. The first is the `username` output.",
    },
    pullUsers: {
        type: "array",
        default: [],
        description:
            "Pull-only users: GET and HEAD on the registry API, nothing else; each gets a generated password. pullUser is one of them, added when not listed.",
    },
    passwordLength: { type: "integer", default: 32, description: "Length of generated passwords (letters and digits)." },
    htpasswdBcryptCost: {
        type: "integer",
        default: 5,
        description: `bcrypt cost (${BCRYPT_MIN_COST}-${BCRYPT_MAX_COST}) of the htpasswd hashes. The gate checks the hash on every request that carries credentials, and each step doubles that check. Below ${FULL_BCRYPT_COST} needs passwordLength ${MIN_LENGTH_BELOW_FULL_COST} or more.`,
    },
    gateAuthCacheSeconds: {
        type: "integer",
        default: GATE_AUTH_CACHE_DEFAULT_SECONDS,
        description: `Seconds the gate remembers that a user's credentials passed its check for a role (pull or push), so a push's tens of requests cost one bcrypt check, not one each (0-${GATE_AUTH_CACHE_MAX_SECONDS}; 0: check every request). The cache lives in a memory-backed emptyDir of each pod and dies with it; new credentials roll the pods.`,
    },
    authRealm: { type: "string", default: "registry", description: "Basic auth realm." },
} as const satisfies Record<string, ConfigKeySpec>;

export type SecurityKey = keyof typeof SECURITY_KEYS;

export const KEY_ALGORITHMS = ["ECDSA", "RSA"] as const;

export interface GeneratedTlsConfig {
    readonly mode: "generate";
    readonly keyAlgorithm: (typeof KEY_ALGORITHMS)[number];
    readonly validityHours: number;
    readonly earlyRenewalHours: number;
    readonly caValidityHours: number;
}

export interface ProvidedTlsConfig {
    readonly mode: "provided";
    readonly certificatePem: string;
    readonly privateKeyPem: pulumi.Output<string>;
    readonly caCertificatePem: string;
}

export type TlsConfig = GeneratedTlsConfig | ProvidedTlsConfig;

/** Names, users and TLS, validated. */
export interface SecurityConfig {
    readonly hostnames: readonly string[];
    readonly ipAddresses: readonly string[];
    /** Push users (push, pull, delete), as configured. */
    readonly users: readonly string[];
    /** Pull-only users, as configured (`access.extraPullUsers` adds `pullUser`). */
    readonly pullUsers: readonly string[];
    readonly authRealm: string;
    readonly passwordLength: number;
    readonly tls: TlsConfig;
}

/** Parses the security keys except `htpasswdBcryptCost` (parseHtpasswdCost, which needs the password length). */
export function parseSecurity(r: Reader<SecurityKey>): SecurityConfig {
    const hostnames = r.stringArray("hostnames");
    for (const h of hostnames) {
        if (!DNS_NAME.test(h)) {
            r.problem(`\`hostnames\` entries must be lowercase DNS names such as \`registry.example.com\`; got \`${h}\``);
        }
    }
    if (new Set(hostnames).size !== hostnames.length) {
        r.problem("`hostnames` lists a name twice");
    }
    const ipAddresses = r.stringArray("ipAddresses");
    for (const ip of ipAddresses) {
        if (isIP(ip) === 0) {
            r.problem(`\`ipAddresses\` entries must be IPv4 or IPv6 addresses; got \`${ip}\``);
        }
    }

    const users = parseUserList(r, "users");
    const pullUsers = parseUserList(r, "pullUsers");
    for (const u of pullUsers.filter((p) => users.includes(p))) {
        r.problem(`\`${u}\` is in both \`users\` and \`pullUsers\`; a user has one role: push (\`users\`) or pull-only (\`pullUsers\`)`);
    }
    const authRealm = r.string("authRealm");
    // The gate writes it in double quotes into nginx.conf, where `$` would start a variable.
    // eslint-disable-next-line no-control-regex -- control characters are what this check rejects
    if (authRealm === "" || /["\\$\x00-\x1f\x7f]/.test(authRealm)) {
        r.problem("`authRealm` must be a non-empty string without quotes, backslashes, `$` or control characters");
    }
    const passwordLength = r.integer("passwordLength", 16, 128);
    return { hostnames, ipAddresses, users, pullUsers, authRealm, passwordLength, tls: parseTls(r, hostnames) };
}

/** `users` or `pullUsers`: user names, each once; the registry refuses anonymous access, so `users` is never empty. */
function parseUserList(r: Reader<SecurityKey>, key: "users" | "pullUsers"): string[] {
    const list = r.stringArray(key);
    if (key === "users" && list.length === 0) {
        r.problem("`users` must list at least one user; the registry refuses anonymous access");
    }
    for (const u of list) {
        if (!USERNAME.test(u)) {
            r.problem(`\`${key}\` entries must be 1-64 characters of a-z, 0-9, '.', '_', '-' starting with a letter or digit; got \`${u}\``);
        }
    }
    const dup = duplicateIn(list);
    if (dup !== undefined) {
        r.problem(`\`${key}\` lists \`${dup}\` twice`);
    }
    return list;
}

function parsePem(r: Reader<SecurityKey>, key: SecurityKey, value: string): X509Certificate | undefined {
    try {
        return new X509Certificate(value);
    } catch {
        r.problem(`\`${key}\` must be a PEM certificate (-----BEGIN CERTIFICATE-----)`);
        return undefined;
    }
}

function parseTls(r: Reader<SecurityKey>, hostnames: readonly string[]): TlsConfig {
    const mode = r.oneOf("tlsMode", ["generate", "provided"] as const);
    if (mode === "generate") {
        for (const k of ["tlsCertificate", "tlsPrivateKey", "tlsCaCertificate"] as const) {
            if (r.has(k)) {
                r.problem(`\`${k}\` is only used when \`tlsMode\` is \`provided\`; remove it or set \`tlsMode\` to \`provided\``);
            }
        }
        const validityHours = r.integer("tlsValidityHours", 1, 876000);
        const earlyRenewalHours = r.integer("tlsEarlyRenewalHours", 0, 876000);
        if (earlyRenewalHours >= validityHours) {
            r.problem(
                `\`tlsEarlyRenewalHours\` (${earlyRenewalHours}) must be less than \`tlsValidityHours\` (${validityHours}), or every \`pulumi up\` re-issues the certificate`,
            );
        }
        const caValidityHours = r.integer("tlsCaValidityHours", 1, 876000);
        if (caValidityHours < validityHours) {
            r.problem(
                `\`tlsCaValidityHours\` (${caValidityHours}) must be at least \`tlsValidityHours\` (${validityHours}): a certificate cannot outlive its CA`,
            );
        }
        return { mode, keyAlgorithm: r.oneOf("tlsKeyAlgorithm", KEY_ALGORITHMS), validityHours, earlyRenewalHours, caValidityHours };
    }
    const missing = (["tlsCertificate", "tlsPrivateKey", "tlsCaCertificate"] as const).filter((k) => !r.has(k));
    for (const k of missing) {
        r.problem(`\`${k}\` is required when \`tlsMode\` is \`provided\``);
    }
    if (missing.length > 0) {
        return { mode, certificatePem: "", privateKeyPem: pulumi.secret(""), caCertificatePem: "" };
    }
    r.requireSecret("tlsPrivateKey", "< key.pem");
    const certificatePem = r.string("tlsCertificate");
    const keyPem = r.string("tlsPrivateKey");
    const caCertificatePem = r.string("tlsCaCertificate");
    const cert = parsePem(r, "tlsCertificate", certificatePem);
    const ca = parsePem(r, "tlsCaCertificate", caCertificatePem);
    let key;
    try {
        key = createPrivateKey(keyPem);
    } catch {
        r.problem("`tlsPrivateKey` must be a PEM private key (-----BEGIN ... PRIVATE KEY-----)");
    }
    if (cert !== undefined && key !== undefined && !cert.checkPrivateKey(key)) {
        r.problem("`tlsPrivateKey` does not belong to `tlsCertificate`");
    }
    if (cert !== undefined && ca !== undefined && !(cert.checkIssued(ca) && cert.verify(ca.publicKey))) {
        r.problem("`tlsCertificate` was not issued by `tlsCaCertificate`");
    }
    if (cert !== undefined) {
        for (const h of hostnames) {
            if (cert.checkHost(h) === undefined) {
                r.problem(`\`tlsCertificate\` does not cover \`${h}\` from \`hostnames\`; clients would refuse it`);
            }
        }
    }
    return { mode, certificatePem, privateKeyPem: pulumi.secret(keyPem), caCertificatePem };
}
