// What the simulated Google Cloud answers: the names and computed outputs the real provider
// would fill in (auto-names, project, emails, self links), and a service-account key that is a
// real RSA key in Google's key-file format, so the e2e tests can authenticate with it.
import * as crypto from "crypto";

import type { CloudMocks } from "./cloud-mocks";

/** The project the simulated provider is configured with (`gcp:project`). */
export const MOCK_GCP_PROJECT = "registry-test-project";
/** Its number, which appears in the GCS service agent's email. */
export const MOCK_GCP_PROJECT_NUMBER = "123456789012";
/** Token endpoint written into key files, as in Google's. */
export const GOOGLE_TOKEN_URI = "https://oauth2.googleapis.com/token";

/** The provider's auto-name: `<resource name>-<7 hex>`; a hash keeps tests stable. */
function autoName(name: string): string {
    return `${name}-${crypto.createHash("sha256").update(name).digest("hex").slice(0, 7)}`;
}

/** A service-account key file (JSON) and its public key, as `gcp.serviceaccount.Key` returns them (base64). */
export function mockServiceAccountKey(serviceAccountId: string): Record<string, string> {
    const email = serviceAccountId.split("/").pop() ?? serviceAccountId;
    const { privateKey, publicKey } = crypto.generateKeyPairSync("rsa", { modulusLength: 2048 });
    const keyId = crypto.randomBytes(20).toString("hex");
    const keyFile = {
        type: "service_account",
        project_id: MOCK_GCP_PROJECT,
        private_key_id: keyId,
        private_key: privateKey.export({ type: "pkcs8", format: "pem" }).toString(),
        client_email: email,
        client_id: "100000000000000000001",
        auth_uri: "https://accounts.google.com/o/oauth2/auth",
        token_uri: GOOGLE_TOKEN_URI,
        auth_provider_x509_cert_url: "https://www.googleapis.com/oauth2/v1/certs",
        client_x509_cert_url: `https://www.googleapis.com/robot/v1/metadata/x509/${encodeURIComponent(email)}`,
        universe_domain: "googleapis.com",
    };
    return {
        id: `projects/${MOCK_GCP_PROJECT}/serviceAccounts/${email}/keys/${keyId}`,
        name: `projects/${MOCK_GCP_PROJECT}/serviceAccounts/${email}/keys/${keyId}`,
        privateKey: Buffer.from(JSON.stringify(keyFile, null, 2)).toString("base64"),
        // Google returns an X.509 certificate here; the SPKI public key carries the same key.
        publicKey: Buffer.from(publicKey.export({ type: "spki", format: "pem" }).toString()).toString("base64"),
        privateKeyType: "TYPE_GOOGLE_CREDENTIALS_FILE",
        keyAlgorithm: "KEY_ALG_RSA_2048",
    };
}

export const gcpMocks: CloudMocks = {
    calls: {
        // The zone `example-com` serves `example.com.` (tests with other zones pass their own).
        "gcp:dns/getManagedZone:getManagedZone": (inputs) => ({
            id: `projects/${MOCK_GCP_PROJECT}/managedZones/${inputs.name}`,
            name: inputs.name,
            project: MOCK_GCP_PROJECT,
            dnsName: `${String(inputs.name).replace(/-/g, ".")}.`,
            description: "",
            managedZoneId: "1234567890",
            nameServers: ["ns-cloud-a1.googledomains.com."],
            visibility: "public",
        }),
        "gcp:storage/getProjectServiceAccount:getProjectServiceAccount": () => {
            const email = `service-${MOCK_GCP_PROJECT_NUMBER}@gs-project-accounts.iam.gserviceaccount.com`;
            return { id: email, emailAddress: email, member: `serviceAccount:${email}`, project: MOCK_GCP_PROJECT };
        },
    },
    resourceState(type, name, inputs) {
        const project = inputs.project ?? MOCK_GCP_PROJECT;
        switch (type) {
            case "gcp:compute/disk:Disk": {
                const diskName = inputs.name ?? autoName(name);
                const zone = inputs.zone ?? "us-central1-a";
                const id = `projects/${project}/zones/${zone}/disks/${diskName}`;
                return { id, name: diskName, project, zone, selfLink: `https://www.googleapis.com/compute/v1/${id}` };
            }
            case "gcp:compute/resourcePolicy:ResourcePolicy": {
                const policyName = inputs.name ?? autoName(name);
                return { id: `projects/${project}/regions/${inputs.region}/resourcePolicies/${policyName}`, name: policyName, project };
            }
            case "gcp:compute/address:Address": {
                const addressName = inputs.name ?? autoName(name);
                const region = inputs.region ?? "us-central1";
                return {
                    id: `projects/${project}/regions/${region}/addresses/${addressName}`,
                    name: addressName,
                    project,
                    region,
                    address: inputs.address ?? "203.0.113.80",
                };
            }
            case "gcp:storage/bucket:Bucket": {
                const bucketName = inputs.name ?? autoName(name);
                return {
                    id: bucketName,
                    name: bucketName,
                    project,
                    url: `gs://${bucketName}`,
                    selfLink: `https://www.googleapis.com/storage/v1/b/${bucketName}`,
                };
            }
            case "gcp:serviceaccount/account:Account": {
                const email = `${inputs.accountId}@${project}.iam.gserviceaccount.com`;
                const id = `projects/${project}/serviceAccounts/${email}`;
                return { id, name: id, email, project, member: `serviceAccount:${email}`, uniqueId: "100000000000000000001" };
            }
            case "gcp:serviceaccount/key:Key":
                return mockServiceAccountKey(String(inputs.serviceAccountId));
            default:
                return undefined;
        }
    },
};
