// STAND-IN for the `tls` provider plugin (pulumi-resource-tls), for tests under the real engine.
//
// Why: the real plugin (github.com/pulumi/pulumi-tls/provider/v5, a bridge over
// hashicorp/terraform-provider-tls) cannot be built on the test machines: neither Go module is
// served by the module proxy there. This plugin implements, on @pulumi/pulumi/provider, exactly the
// resource types and inputs the program uses, registered under the version @pulumi/tls asks for,
// with real keys and certificates (tests/support/crypto/). It follows the real provider where the
// engine can tell the difference: input defaults, which input changes replace and which update in
// place, early renewal, ids, outputs and their secrecy. It is not the real provider; tests that pass
// against it say nothing about the real plugin's binary.
//
// Rules, from terraform-provider-tls internal/provider (resource_private_key.go,
// resource_self_signed_cert.go, resource_cert_request.go, resource_locally_signed_cert.go,
// common_cert.go, common_key.go, util.go), as pulumi-tls 5.x bridges them:
// - every input forces a replacement, except `earlyRenewalHours` and `maxPathLength` on the
//   certificates (updated in place) and the PEM inputs, which replace only when the old value is a
//   PEM (requireReplaceIfStateContainsPEMString);
// - a certificate whose validityEndTime minus earlyRenewalHours has passed is replaced
//   (modifyPlanIfCertificateReadyForRenewal: ready_for_renewal goes into RequiresReplace); reading
//   it marks readyForRenewal (modifyStateIfCertificateReadyForRenewal);
// - ids: PrivateKey and CertRequest the hex SHA-1 of the trimmed DER (hashForState), certificates
//   their serial number in decimal;
// - create-before-delete (no deleteBeforeReplace).
import * as crypto from "crypto";
import * as net from "net";

import {
    ALLOWED_USES,
    createCertRequest,
    createLocallySignedCert,
    createSelfSignedCert,
    ECDSA_CURVES,
    EcdsaCurve,
    generatePrivateKey,
    KEY_ALGORITHMS,
    KeyAlgorithm,
    keyAlgorithmOf,
    Subject,
} from "../../support/crypto";
import { ChangeRule, InputSpec, Kind, makeProvider, Props, ResourceImpl, ResourceSpec, sdkPluginVersion, serve } from "./common";

// ---- Ids and times ---------------------------------------------------------------------------

/** UTF-8 encodings of the white space Go's strings.TrimSpace removes, besides ASCII's. */
const UNICODE_SPACES = [
    0x85, 0xa0, 0x1680, 0x2000, 0x2001, 0x2002, 0x2003, 0x2004, 0x2005, 0x2006, 0x2007, 0x2008, 0x2009, 0x200a, 0x2028, 0x2029, 0x202f, 0x205f, 0x3000,
].map((cp) => Buffer.from(String.fromCodePoint(cp), "utf8"));
const ASCII_SPACES = new Set([0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x20]);

function trimSpace(b: Buffer): Buffer {
    let start = 0;
    let end = b.length;
    const spaceAt = (i: number, fromEnd: boolean): number => {
        const byte = fromEnd ? b[i - 1] : b[i];
        if (ASCII_SPACES.has(byte)) {
            return 1;
        }
        const enc = UNICODE_SPACES.find((e) =>
            fromEnd ? i - e.length >= start && b.subarray(i - e.length, i).equals(e) : i + e.length <= end && b.subarray(i, i + e.length).equals(e),
        );
        return enc?.length ?? 0;
    };
    for (let n = spaceAt(start, false); start < end && n > 0; n = spaceAt(start, false)) {
        start += n;
    }
    for (let n = spaceAt(end, true); end > start && n > 0; n = spaceAt(end, true)) {
        end -= n;
    }
    return b.subarray(start, end);
}

/** The provider's hashForState: hex SHA-1 of the value with surrounding white space trimmed. */
export function hashForState(value: Buffer): string {
    const trimmed = trimSpace(value);
    return trimmed.length === 0 ? "" : crypto.createHash("sha1").update(trimmed).digest("hex");
}

/** RFC 3339 as Go's time.MarshalText writes a UTC time: fraction without trailing zeros. */
function rfc3339(d: Date): string {
    return d.toISOString().replace(/\.(\d*?)0*Z$/, (_m, frac: string) => (frac === "" ? "Z" : `.${frac}Z`));
}

/** Milliseconds since the epoch of an RFC 3339 time (Go may write nanoseconds). */
function parseRfc3339(s: string): number {
    return Date.parse(s.replace(/(\.\d{3})\d+/, "$1"));
}

// ---- Early renewal ---------------------------------------------------------------------------

/** Whether the certificate is within earlyRenewalHours of its end (or past it), at `now`. */
export function readyForRenewalAt(validityEndTime: unknown, earlyRenewalHours: unknown, now: number = Date.now()): boolean {
    if (typeof validityEndTime !== "string" || typeof earlyRenewalHours !== "number") {
        return false;
    }
    return parseRfc3339(validityEndTime) - earlyRenewalHours * 3600_000 - now <= 0;
}

/** readyForRenewal as planned at create and update (attribute_plan_modifier_bool.ReadyForRenewal). */
function plannedReadyForRenewal(inputs: Props): boolean {
    const validity = Number(inputs.validityPeriodHours);
    return validity === 0 || Number(inputs.earlyRenewalHours ?? 0) >= validity;
}

const certificateBehaviour = {
    extraReplaces(olds: Props, news: Props): string[] {
        // The plan keeps validity_end_time from the state; early_renewal_hours is the new value.
        return readyForRenewalAt(olds.validityEndTime, news.earlyRenewalHours ?? 0) ? ["readyForRenewal"] : [];
    },
    update(state: Props): Props {
        return { ...state, readyForRenewal: plannedReadyForRenewal(state) };
    },
    read(state: Props): Props {
        return readyForRenewalAt(state.validityEndTime, state.earlyRenewalHours ?? 0) ? { ...state, readyForRenewal: true } : state;
    },
};

// ---- Schemas ---------------------------------------------------------------------------------

/** requireReplaceIfStateContainsPEMString: a changed PEM input replaces only if the old value is a PEM. */
const PEM = /^-----BEGIN [A-Za-z ]+-----\n[\s\S]+\n-----END [A-Za-z ]+-----\n?$/;
const replaceIfOldIsPem: ChangeRule = (oldValue) => (typeof oldValue === "string" && PEM.test(oldValue) ? "replace" : "update");

const WRITE_ONLY = "write-only inputs (Terraform 1.11 ephemeral values) are not implemented; use the plain input";

const SUBJECT_FIELDS: Record<string, Kind> = {
    commonName: "string",
    country: "string",
    emailAddress: "string",
    locality: "string",
    organization: "string",
    organizationalUnit: "string",
    postalCode: "string",
    province: "string",
    serialNumber: "string",
    streetAddresses: "stringList",
};

const sanInputs: Record<string, InputSpec> = {
    dnsNames: { kind: "stringList", onChange: "replace" },
    ipAddresses: { kind: "stringList", onChange: "replace" },
    uris: { kind: "stringList", onChange: "replace" },
    subject: { kind: "object", fields: SUBJECT_FIELDS, onChange: "replace" },
};

const certificateInputs: Record<string, InputSpec> = {
    validityPeriodHours: { kind: "integer", required: true, min: 0, onChange: "replace" },
    allowedUses: { kind: "stringList", required: true, oneOf: ALLOWED_USES, onChange: "replace" },
    earlyRenewalHours: { kind: "integer", default: 0, min: 0, onChange: "update" },
    isCaCertificate: { kind: "boolean", default: false, onChange: "replace" },
    maxPathLength: { kind: "integer", default: -1, min: -1, onChange: "update" },
    setSubjectKeyId: { kind: "boolean", default: false, onChange: "replace" },
};

/** List elements the provider's validators refuse (LengthAtLeast(1) on IPs and URIs). */
function emptyElements(values: Props, skip: ReadonlySet<string>) {
    return ["ipAddresses", "uris"]
        .filter((k) => !skip.has(k) && Array.isArray(values[k]) && (values[k] as unknown[]).some((e) => e === ""))
        .map((k) => ({ property: k, reason: `\`${k}\` must not contain empty strings` }));
}

const privateKeySpec: ResourceSpec = {
    token: "tls:index/privateKey:PrivateKey",
    inputs: {
        algorithm: { kind: "string", required: true, oneOf: KEY_ALGORITHMS, onChange: "replace" },
        ecdsaCurve: { kind: "string", default: "P224", oneOf: ECDSA_CURVES, onChange: "replace" },
        rsaBits: { kind: "integer", default: 2048, onChange: "replace" },
    },
    secretOutputs: ["privateKeyPem", "privateKeyPemPkcs8", "privateKeyOpenssh"],
};

const selfSignedCertSpec: ResourceSpec = {
    token: "tls:index/selfSignedCert:SelfSignedCert",
    inputs: {
        privateKeyPem: { kind: "string", required: true, sensitive: true, onChange: replaceIfOldIsPem },
        privateKeyPemWo: { kind: "string", sensitive: true, onChange: "replace", notImplemented: WRITE_ONLY },
        privateKeyPemWoVersion: { kind: "integer", onChange: "replace", notImplemented: WRITE_ONLY },
        ...sanInputs,
        ...certificateInputs,
        setAuthorityKeyId: { kind: "boolean", default: false, onChange: "replace" },
    },
    secretOutputs: ["privateKeyPem"],
    validate: emptyElements,
};

const certRequestSpec: ResourceSpec = {
    token: "tls:index/certRequest:CertRequest",
    inputs: {
        privateKeyPem: { kind: "string", required: true, sensitive: true, onChange: replaceIfOldIsPem },
        privateKeyPemWo: { kind: "string", sensitive: true, onChange: "replace", notImplemented: WRITE_ONLY },
        privateKeyPemWoVersion: { kind: "integer", onChange: "replace", notImplemented: WRITE_ONLY },
        ...sanInputs,
    },
    secretOutputs: ["privateKeyPem"],
    validate: emptyElements,
};

const locallySignedCertSpec: ResourceSpec = {
    token: "tls:index/locallySignedCert:LocallySignedCert",
    inputs: {
        certRequestPem: { kind: "string", required: true, onChange: replaceIfOldIsPem },
        caPrivateKeyPem: { kind: "string", required: true, sensitive: true, onChange: replaceIfOldIsPem },
        caPrivateKeyPemWo: { kind: "string", sensitive: true, onChange: "replace", notImplemented: WRITE_ONLY },
        caPrivateKeyPemWoVersion: { kind: "integer", onChange: "replace", notImplemented: WRITE_ONLY },
        caCertPem: { kind: "string", required: true, onChange: replaceIfOldIsPem },
        ...certificateInputs,
    },
    secretOutputs: ["caPrivateKeyPem"],
};

// ---- Resources -------------------------------------------------------------------------------

const strings = (v: unknown): string[] => (Array.isArray(v) ? v.map(String) : []);

function certificateOptions(inputs: Props) {
    return {
        validityPeriodHours: Number(inputs.validityPeriodHours),
        allowedUses: strings(inputs.allowedUses),
        isCaCertificate: inputs.isCaCertificate === true,
        maxPathLength: Number(inputs.maxPathLength ?? -1),
        setSubjectKeyId: inputs.setSubjectKeyId === true,
    };
}

/** Go's net.ParseIP accepts what node's isIP does (no zones, no CIDR). */
function checkIps(ips: readonly string[]): void {
    const bad = ips.find((ip) => net.isIP(ip) === 0);
    if (bad !== undefined) {
        throw new Error(`Invalid IP address: Failed to parse ${JSON.stringify(bad)}`);
    }
}

function certificateOutputs(inputs: Props, cert: { certPem: string; serialNumber: bigint; notBefore: Date; notAfter: Date }) {
    return {
        id: cert.serialNumber.toString(10),
        outs: {
            ...inputs,
            id: cert.serialNumber.toString(10),
            certPem: cert.certPem,
            validityStartTime: rfc3339(cert.notBefore),
            validityEndTime: rfc3339(cert.notAfter),
            readyForRenewal: plannedReadyForRenewal(inputs),
        },
    };
}

export const privateKey: ResourceImpl = {
    spec: privateKeySpec,
    async create(inputs) {
        const { publicKeyDer, ...key } = generatePrivateKey(inputs.algorithm as KeyAlgorithm, {
            rsaBits: Number(inputs.rsaBits),
            ecdsaCurve: inputs.ecdsaCurve as EcdsaCurve,
        });
        const id = hashForState(publicKeyDer);
        return { id, outs: { ...inputs, id, ...key } };
    },
};

export const selfSignedCert: ResourceImpl = {
    spec: selfSignedCertSpec,
    async create(inputs) {
        const ipAddresses = strings(inputs.ipAddresses);
        checkIps(ipAddresses);
        const cert = await createSelfSignedCert({
            ...certificateOptions(inputs),
            privateKeyPem: String(inputs.privateKeyPem),
            subject: inputs.subject as Subject | undefined,
            dnsNames: strings(inputs.dnsNames),
            ipAddresses,
            uris: strings(inputs.uris),
            setAuthorityKeyId: inputs.setAuthorityKeyId === true,
        });
        const { id, outs } = certificateOutputs(inputs, cert);
        return { id, outs: { ...outs, keyAlgorithm: keyAlgorithmOf(String(inputs.privateKeyPem)) } };
    },
    ...certificateBehaviour,
};

export const certRequest: ResourceImpl = {
    spec: certRequestSpec,
    async create(inputs) {
        const ipAddresses = strings(inputs.ipAddresses);
        checkIps(ipAddresses);
        const csr = await createCertRequest({
            privateKeyPem: String(inputs.privateKeyPem),
            subject: inputs.subject as Subject | undefined,
            dnsNames: strings(inputs.dnsNames),
            ipAddresses,
            uris: strings(inputs.uris),
        });
        const id = hashForState(csr.der);
        return { id, outs: { ...inputs, id, certRequestPem: csr.certRequestPem, keyAlgorithm: keyAlgorithmOf(String(inputs.privateKeyPem)) } };
    },
};

export const locallySignedCert: ResourceImpl = {
    spec: locallySignedCertSpec,
    async create(inputs) {
        const cert = await createLocallySignedCert({
            ...certificateOptions(inputs),
            certRequestPem: String(inputs.certRequestPem),
            caPrivateKeyPem: String(inputs.caPrivateKeyPem),
            caCertPem: String(inputs.caCertPem),
        });
        const { id, outs } = certificateOutputs(inputs, cert);
        return { id, outs: { ...outs, caKeyAlgorithm: keyAlgorithmOf(String(inputs.caPrivateKeyPem)) } };
    },
    ...certificateBehaviour,
};

/** The stand-in tls provider, at the version @pulumi/tls requests. */
export const tlsProvider = makeProvider("tls", sdkPluginVersion("@pulumi/tls"), [privateKey, selfSignedCert, certRequest, locallySignedCert]);

if (require.main === module) {
    serve(tlsProvider);
}
