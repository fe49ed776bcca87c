// Real keys, X.509 certificates, CSRs, passwords and bcrypt hashes, computed the way the providers
// behind @pulumi/tls and @pulumi/random compute them in Go (terraform-provider-tls,
// terraform-provider-random): the same PEM encodings, OpenSSH encodings and fingerprints, X.509
// extensions, serial numbers, character rules and bcrypt cost.
//
// Two users: the Pulumi mocks (crypto-mocks.ts) and the stand-in provider plugins the real engine
// runs (tests/engine/providers/). Each computation lives here once.
//
// keys.ts: tls.PrivateKey; certificates.ts: tls.SelfSignedCert, CertRequest, LocallySignedCert;
// passwords.ts: random.RandomPassword.
export { ECDSA_CURVES, generatePrivateKey, KEY_ALGORITHMS, keyAlgorithmOf, pem } from "./keys";
export type { EcdsaCurve, KeyAlgorithm, KeyMaterial, KeyOptions } from "./keys";
export { ALLOWED_USES, createCertRequest, createLocallySignedCert, createSelfSignedCert, subjectName } from "./certificates";
export type { CertificateOptions, IssuedCertificate, Subject } from "./certificates";
export { bcryptHash, DEFAULT_SPECIAL, randomString } from "./passwords";
export type { RandomStringParams } from "./passwords";
