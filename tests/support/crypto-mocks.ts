// Real computations for the @pulumi/tls and @pulumi/random resources under mocks.
//
// The real providers compute these values locally too (keys, X.509 certificates, bcrypt
// hashes), so the mocks do the same work (crypto/, shared with the stand-in provider plugins
// of tests/engine/) instead of returning placeholders: the end-to-end tests start a real
// registry with what comes out of here.
import { bcryptHash, createCertRequest, createLocallySignedCert, createSelfSignedCert, EcdsaCurve, generatePrivateKey, randomString, Subject } from "./crypto";

type Inputs = Record<string, unknown>;
type State = Record<string, unknown>;

const strings = (v: unknown): string[] => (Array.isArray(v) ? v.map(String) : []);
const flag = (v: unknown): boolean | undefined => (typeof v === "boolean" ? v : undefined);
const num = (v: unknown): number | undefined => (typeof v === "number" ? v : undefined);

/** tls_private_key: ECDSA keys in SEC1 PEM ("EC PRIVATE KEY"), RSA in PKCS#1, like the provider. */
export function mockPrivateKey(inputs: Inputs): State {
    const algorithm = inputs.algorithm ?? "RSA";
    if (algorithm !== "RSA" && algorithm !== "ECDSA" && algorithm !== "ED25519") {
        throw new Error(`mock tls.PrivateKey: unsupported algorithm ${JSON.stringify(algorithm)}`);
    }
    const { publicKeyDer: _der, ...key } = generatePrivateKey(algorithm, {
        rsaBits: num(inputs.rsaBits),
        ecdsaCurve: inputs.ecdsaCurve as EcdsaCurve | undefined,
    });
    return { ...inputs, ...key };
}

function validity(inputs: Inputs): { now: Date; state: State } {
    const now = new Date(Math.floor(Date.now() / 1000) * 1000);
    const end = new Date(now.getTime() + Number(inputs.validityPeriodHours ?? 0) * 3600_000);
    return { now, state: { validityStartTime: now.toISOString(), validityEndTime: end.toISOString(), readyForRenewal: false } };
}

function certificateOptions(inputs: Inputs, now: Date) {
    return {
        validityPeriodHours: Number(inputs.validityPeriodHours ?? 0),
        allowedUses: strings(inputs.allowedUses),
        isCaCertificate: flag(inputs.isCaCertificate),
        maxPathLength: num(inputs.maxPathLength),
        setSubjectKeyId: flag(inputs.setSubjectKeyId),
        now,
    };
}

/** tls_self_signed_cert. */
export async function mockSelfSignedCert(inputs: Inputs): Promise<State> {
    const { now, state } = validity(inputs);
    const cert = await createSelfSignedCert({
        ...certificateOptions(inputs, now),
        privateKeyPem: String(inputs.privateKeyPem),
        subject: inputs.subject as Subject | undefined,
        dnsNames: strings(inputs.dnsNames),
        ipAddresses: strings(inputs.ipAddresses),
        uris: strings(inputs.uris),
        setAuthorityKeyId: flag(inputs.setAuthorityKeyId),
    });
    return { ...inputs, ...state, certPem: cert.certPem };
}

/** tls_cert_request. */
export async function mockCertRequest(inputs: Inputs): Promise<State> {
    const csr = await createCertRequest({
        privateKeyPem: String(inputs.privateKeyPem),
        subject: inputs.subject as Subject | undefined,
        dnsNames: strings(inputs.dnsNames),
        ipAddresses: strings(inputs.ipAddresses),
        uris: strings(inputs.uris),
    });
    return { ...inputs, certRequestPem: csr.certRequestPem };
}

/** tls_locally_signed_cert: subject and SANs come from the CSR, as in the provider. */
export async function mockLocallySignedCert(inputs: Inputs): Promise<State> {
    const { now, state } = validity(inputs);
    const cert = await createLocallySignedCert({
        ...certificateOptions(inputs, now),
        certRequestPem: String(inputs.certRequestPem),
        caPrivateKeyPem: String(inputs.caPrivateKeyPem),
        caCertPem: String(inputs.caCertPem),
    });
    return { ...inputs, ...state, certPem: cert.certPem };
}

/** random_password / random_string: the provider's character rules, crypto-random. */
export function mockRandomString(inputs: Inputs, withBcrypt: boolean): State {
    const result = randomString({
        length: Number(inputs.length),
        upper: inputs.upper !== false,
        lower: inputs.lower !== false,
        numeric: (flag(inputs.numeric) ?? flag(inputs.number)) !== false,
        special: inputs.special !== false,
        minUpper: num(inputs.minUpper) ?? 0,
        minLower: num(inputs.minLower) ?? 0,
        minNumeric: num(inputs.minNumeric) ?? 0,
        minSpecial: num(inputs.minSpecial) ?? 0,
        overrideSpecial: typeof inputs.overrideSpecial === "string" ? inputs.overrideSpecial : undefined,
    });
    return withBcrypt ? { ...inputs, result, bcryptHash: bcryptHash(result) } : { ...inputs, result };
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
