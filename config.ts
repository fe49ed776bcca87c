// The one place that reads and validates the stack configuration.
//
// Every key the program reads is declared in CONFIG_KEYS below, with the same type, default and
// description as in Pulumi.yaml (a unit test keeps the two identical). `parseConfig` is a pure
// function from raw config strings to a typed object; it throws a ConfigError listing every
// problem before any resource exists.
import { X509Certificate, createPrivateKey } from "crypto";
import { isIP } from "net";
import * as pulumi from "@pulumi/pulumi";
import * as runtimeConfig from "@pulumi/pulumi/runtime/config";
import { version as sdkVersion } from "@pulumi/pulumi/version";

import { AccessConfig, LABEL_VALUE, parseAccess, QUALIFIED_NAME } from "./components/access/config";
import { ForeignLayersConfig, parseForeignLayers } from "./components/registry/foreign-layers";
import { parseGateImage } from "./components/registry/gate";
import { BCRYPT_MAX_COST, BCRYPT_MIN_COST, FULL_BCRYPT_COST, MIN_LENGTH_BELOW_FULL_COST, parseHtpasswdCost } from "./components/security/htpasswd";

/** The kinds of value a Pulumi.yaml `config:` declaration can have. */
export type ConfigKeyType = "string" | "integer" | "boolean" | "array";

/**
 * A declared config key. Every key has a default: the Pulumi CLI treats a declared key without
 * one as required, and hands the program every declared default as if the stack had set it.
 */
export interface ConfigKeySpec {
    readonly type: ConfigKeyType;
    readonly description: string;
    readonly default: string | number | boolean | readonly string[];
    /**
     * The value must be set with `pulumi config set --secret`; the program refuses a plain one.
     * Pulumi.yaml cannot say so (the CLI refuses `secret: true` beside a default), so the program
     * checks it.
     */
    readonly secret?: boolean;
}

/** Every key the program reads, with its Pulumi.yaml declaration. */
export const CONFIG_KEYS = {
    registryName: { type: "string", default: "registry", description: "Name of the registry's Kubernetes objects (Deployment, Service, ServiceAccount) and of its labels: a DNS label starting with a letter, at most 52 characters, fewer where a name derived from it has a tighter limit (the error names it)." },
    namespace: { type: "string", default: "registry", description: "Kubernetes namespace the registry runs in." },
    createNamespace: { type: "boolean", default: true, description: "Create the namespace (false: it must already exist)." },
    imageRepository: { type: "string", default: "docker.io/library/registry", description: "Registry image repository (CNCF distribution)." },
    imageTag: { type: "string", default: "", description: "Registry image tag, an exact version (3.x, or 2.8.x for Swift). Empty: 3.1.2, or 2.8.3 when the storage needs the 2.x line." },
    imageDigest: { type: "string", default: "", description: "Optional image digest (sha256:...) pinned after the tag." },
    gateImage: { type: "string", default: "docker.io/nginxinc/nginx-unprivileged:1.28.0", description: "Image of the gate, the nginx sidecar in every registry pod that terminates TLS and checks each request's user and role; the registry is reachable only through it (pinned tag or digest; Debian-based: musl's bcrypt stops at cost 11)." },
    replicas: { type: "integer", default: 1, description: "Registry pods. More than 1 needs storage several pods can share." },
    storageKind: { type: "string", default: "filesystem", description: "Image storage: filesystem (a PVC), emptyDir (lost when the pod goes), gcePersistentDisk (a GCE disk made by the program), gcs (a GCS bucket), s3 (an S3 bucket), cephSwift or cephS3 (Ceph RGW)." },
    storageSize: { type: "string", default: "10Gi", description: "Size of the PVC (filesystem) or emptyDir size limit." },
    storageClass: { type: "string", default: "", description: "StorageClass of the PVC. Empty: the cluster's default class." },
    storageAccessMode: { type: "string", default: "ReadWriteOnce", description: "PVC access mode: ReadWriteOnce, or ReadWriteMany (lets several replicas share it)." },
    storageExistingClaim: { type: "string", default: "", description: "Use this existing PVC (e.g. one kept by an earlier `pulumi destroy`) instead of creating one; storageSize/storageClass are then ignored." },
    deleteStorageOnDestroy: { type: "boolean", default: false, description: "Let `pulumi destroy` delete the stored images (PVC, bucket, disk). Off: they are kept." },
    storageDeleteEnabled: { type: "boolean", default: true, description: "Allow deleting manifests and blobs through the registry API (storage.delete.enabled)." },
    hostnames: { type: "array", default: [], description: "Public DNS names of the registry; the first is the name images are tagged with. All go into the certificate." },
    ipAddresses: { type: "array", default: [], description: "Extra IP addresses for the certificate's SANs." },
    tlsMode: { type: "string", default: "generate", description: "generate: a CA and server certificate made by the program; provided: tlsCertificate/tlsPrivateKey/tlsCaCertificate." },
    tlsKeyAlgorithm: { type: "string", default: "ECDSA", description: "Key algorithm of generated keys: ECDSA (P-256) or RSA (2048 bits)." },
    tlsValidityHours: { type: "integer", default: 8760, description: "Validity of the generated server certificate, in hours." },
    tlsEarlyRenewalHours: { type: "integer", default: 720, description: "Re-issue the server certificate on `pulumi up` this many hours before it expires." },
    tlsCaValidityHours: { type: "integer", default: 87600, description: "Validity of the generated CA certificate, in hours." },
    tlsCertificate: { type: "string", default: "", description: "PEM server certificate (chain) when tlsMode is provided." },
    tlsPrivateKey: { type: "string", default: "", secret: true, description: "PEM private key of tlsCertificate when tlsMode is provided (set with --secret)." },
    tlsCaCertificate: { type: "string", default: "", description: "PEM CA certificate that signed tlsCertificate (published as the caCertificate output)." },
    users: { type: "array", default: ["admin"], description: "Push users: push, pull and delete (with storageDeleteEnabled); each gets a generated password. The first is the `username` output." },
    pullUsers: { type: "array", default: [], description: "Pull-only users: GET and HEAD on the registry API, nothing else; each gets a generated password. pullUser is one of them, added when not listed." },
    passwordLength: { type: "integer", default: 32, description: "Length of generated passwords (letters and digits)." },
    htpasswdBcryptCost: { type: "integer", default: 5, description: `bcrypt cost (${BCRYPT_MIN_COST}-${BCRYPT_MAX_COST}) of the htpasswd hashes. The gate checks the hash on every request that carries credentials, and each step doubles that check. Below ${FULL_BCRYPT_COST} needs passwordLength ${MIN_LENGTH_BELOW_FULL_COST} or more.` },
    authRealm: { type: "string", default: "registry", description: "Basic auth realm." },
    serviceType: { type: "string", default: "LoadBalancer", description: "Service type: LoadBalancer, ClusterIP or NodePort." },
    servicePort: { type: "integer", default: 443, description: "Port the Service exposes (HTTPS)." },
    nodePort: { type: "integer", default: 0, description: "Fixed nodePort for NodePort/LoadBalancer Services (30000-32767). 0: allocated by Kubernetes." },
    serviceAnnotations: { type: "array", default: [], description: "Service annotations as key=value strings (e.g. load balancer settings)." },
    loadBalancerSourceRanges: { type: "array", default: [], description: "CIDRs allowed to reach the LoadBalancer. Empty: everyone." },
    cpuRequest: { type: "string", default: "100m", description: "CPU request of the registry container." },
    memoryRequest: { type: "string", default: "128Mi", description: "Memory request of the registry container." },
    cpuLimit: { type: "string", default: "", description: "CPU limit. Empty: none (a CPU limit throttles pushes)." },
    memoryLimit: { type: "string", default: "512Mi", description: "Memory limit of the registry container." },
    logLevel: { type: "string", default: "info", description: "Registry log level: error, warn, info or debug." },
    logFormatter: { type: "string", default: "json", description: "Registry log format: json, text or logstash." },
    accessLog: { type: "boolean", default: true, description: "Write an access log line per request." },
    foreignLayerUrlsAllow: { type: "array", default: [], description: "Accept pushed layers that carry `urls` (foreign, non-distributable layers, which clients download from that URL instead of the registry) when every URL matches one of these RE2 patterns, each starting with `^` (validation.manifests.urls.allow). Empty: refuse them, distribution's default: in an air-gapped cluster nodes could not reach the URL." },
    foreignLayerUrlsDeny: { type: "array", default: [], description: "RE2 patterns of layer URLs to refuse even when foreignLayerUrlsAllow matches (validation.manifests.urls.deny)." },
    dnsProvider: { type: "string", default: "none", description: "DNS record for the registry: none (use hostnames/the load balancer address as they are), cloudDns (an A record in a Cloud DNS zone) or route53 (an alias to the load balancer)." },
    // --- GCP: GCE persistent disk, GCS bucket and Cloud DNS
    gceDiskZone: { type: "string", default: "", description: "Zone of the GCE persistent disk, the GKE nodes' zone (e.g. europe-west1-b); required when storageKind is gcePersistentDisk." },
    gceDiskType: { type: "string", default: "pd-balanced", description: "GCE persistent disk type: pd-balanced, pd-ssd or pd-standard (storageSize is its size, whole Gi)." },
    gceDiskSnapshotStartTime: { type: "string", default: "", description: "Daily snapshot schedule of the disk: start time in UTC, HH:00 (e.g. 03:00). Empty: no snapshot schedule." },
    gceDiskSnapshotRetentionDays: { type: "integer", default: 14, description: "Days the scheduled snapshots of the disk are kept." },
    gceExistingDisk: { type: "string", default: "", description: "Use this existing GCE disk in gceDiskZone (e.g. one kept by an earlier `pulumi destroy`, named by the storageLocation output) instead of creating one; the stack never deletes or replaces it." },
    gcsBucketName: { type: "string", default: "", description: "Name of the GCS bucket (storageKind gcs). Empty: a unique name derived from the registry name." },
    gcsExistingBucket: { type: "string", default: "", description: "Use this existing GCS bucket (e.g. one kept by an earlier `pulumi destroy`, named by the storageLocation output) instead of creating one; the registry's account is granted access to it, and the stack never deletes it." },
    gcsLocation: { type: "string", default: "US", description: "Location of the GCS bucket: a multi-region (US, EU, ASIA) or a region (e.g. europe-west1)." },
    gcsVersioning: { type: "boolean", default: false, description: "Keep noncurrent versions of overwritten or deleted objects in the bucket (object versioning)." },
    gcsNoncurrentVersionDays: { type: "integer", default: 30, description: "With gcsVersioning, delete noncurrent object versions after this many days (lifecycle rule). 0: keep them." },
    gcsKmsKeyName: { type: "string", default: "", description: "CMEK: KMS key (projects/P/locations/L/keyRings/R/cryptoKeys/K) the bucket encrypts with; the project's GCS service agent is granted it. Empty: Google-managed keys." },
    gcpWorkloadIdentity: { type: "boolean", default: true, description: "Reach GCS through GKE Workload Identity (the registry's ServiceAccount acts as a Google service account). Off: a service-account key in a Secret." },
    cloudDnsManagedZone: { type: "string", default: "", description: "Cloud DNS managed zone (its name, e.g. example-com) for the registry's A record; required when dnsProvider is cloudDns." },
    cloudDnsRecordName: { type: "string", default: "registry", description: "Label(s) of the A record inside the zone: the registry is <cloudDnsRecordName>.<zone DNS name>." },
    cloudDnsTtl: { type: "integer", default: 300, description: "TTL of the Cloud DNS record, in seconds." },
    cloudDnsStaticIp: { type: "boolean", default: false, description: "Reserve a regional static IP (compute Address) for the load balancer, so the name keeps its address when the Service is re-created." },
    gcpRegion: { type: "string", default: "", description: "Region of the reserved static IP (the GKE cluster's region). Empty: the provider's gcp:region." },
    // --- Access: node CA trust, localhost proxy, pull secrets, ingress
    nodeTrust: { type: "string", default: "auto", description: "Install the registry's CA on every node for containerd (`certs.d/<host>/hosts.toml` + `ca.crt`) and Docker, with a DaemonSet: auto (when the CA is generated), true or false." },
    nodeTrustImage: { type: "string", default: "docker.io/library/busybox:1.37.0", description: "Image of the node trust DaemonSet (a shell and cp/cmp; pinned tag or digest)." },
    nodeTolerations: { type: "array", default: ["*"], description: "Tolerations of the node DaemonSets, as taints: key[=value][:Effect]; * tolerates every taint." },
    localProxy: { type: "boolean", default: false, description: "Run a proxy on every node's hostPort so `localhost:<localProxyPort>/<image>` works where nodes cannot be changed (speaks TLS to the registry)." },
    localProxyPort: { type: "integer", default: 5000, description: "hostPort of the localhost proxy on each node." },
    localProxyImage: { type: "string", default: "docker.io/nginxinc/nginx-unprivileged:1.28.0-alpine", description: "Image of the localhost proxy (nginx, running unprivileged)." },
    pullSecretNamespaces: { type: "array", default: [], description: "Namespaces that get a kubernetes.io/dockerconfigjson Secret `<registryName>-pull` for pullUser (pull-only)." },
    pullSecretPatchServiceAccount: { type: "boolean", default: false, description: "Set the pull Secret as imagePullSecrets of the default ServiceAccount in each of pullSecretNamespaces (replaces that list)." },
    pullUser: { type: "string", default: "puller", description: "The pull-only user whose credentials the program hands out: the pull Secrets and the pullDockerConfigJson output. Added to pullUsers when not listed; never one of users." },
    ingressEnabled: { type: "boolean", default: false, description: "Expose the registry through an Ingress for the hostnames (besides the Service)." },
    ingressClassName: { type: "string", default: "nginx", description: "IngressClass of the Ingress." },
    ingressTls: { type: "string", default: "reencrypt", description: "How the Ingress reaches the registry: reencrypt (terminates TLS with the registry's certificate, verifies the registry with its CA) or passthrough (ingress-nginx with `--enable-ssl-passthrough`)." },
    ingressAnnotations: { type: "array", default: [], description: "Extra Ingress annotations as key=value strings (for controllers other than ingress-nginx)." },
    mirrorImages: { type: "array", default: [], description: "Upstream images (fully qualified, with a tag) a Job copies into the registry as `<registryHost>/<upstream name>:<tag>` after it is ready; re-run when the list changes." },
    mirrorImage: { type: "string", default: "quay.io/skopeo/stable:v1.16.1", description: "Image of the mirroring Job (skopeo; pinned tag or digest)." },
    // --- AWS: S3 storage and Route53
    s3Bucket: { type: "string", default: "", description: "S3 bucket of the images. With s3CreateBucket: the name to create (empty: generated from registryName); without: an existing bucket (required)." },
    s3CreateBucket: { type: "boolean", default: true, description: "Create the bucket (encrypted, public access blocked, ACLs off, TLS-only policy). False: use the existing s3Bucket as it is." },
    s3Region: { type: "string", default: "", description: "AWS region of the bucket, also given to the registry. Empty: the provider's aws:region." },
    s3RootDirectory: { type: "string", default: "/registry", description: "Key prefix of everything the registry stores in the bucket (storage.s3.rootdirectory); the identity is scoped to it. Empty: the whole bucket." },
    s3Encryption: { type: "string", default: "SSE-S3", description: "Bucket default encryption: SSE-S3 (S3-managed keys) or SSE-KMS (s3KmsKeyArn, or a key the program creates), bucket key on." },
    s3KmsKeyArn: { type: "string", default: "", description: "With SSE-KMS: ARN of an existing KMS key. Empty: the program creates a key (rotation on), kept on destroy like the bucket." },
    s3Encrypt: { type: "boolean", default: true, description: "The registry asks S3 to encrypt every object it writes (storage.s3.encrypt, with keyid for SSE-KMS). Off only for S3-compatible stores without server-side encryption." },
    s3Versioning: { type: "boolean", default: false, description: "Enable bucket versioning (deleted or overwritten objects stay recoverable as noncurrent versions)." },
    s3NoncurrentVersionDays: { type: "integer", default: 30, description: "With s3Versioning: delete noncurrent object versions after this many days (lifecycle rule)." },
    s3AbortIncompleteMultipartDays: { type: "integer", default: 7, description: "Lifecycle rule: abort multipart uploads still incomplete after this many days (their parts cost storage)." },
    s3ChunkSize: { type: "integer", default: 10485760, description: "Multipart part size in bytes (storage.s3.chunksize), at least 5242880 (5 MiB). A layer can have 10,000 parts: 10 MiB allows layers up to 97.7 GiB." },
    s3RedirectDisable: { type: "boolean", default: true, description: "Serve blobs through the registry (true) instead of redirecting clients to presigned S3 URLs (false: less registry traffic, but clients must reach S3)." },
    s3RegionEndpoint: { type: "string", default: "", description: "S3-compatible endpoint URL (MinIO, Ceph RGW), storage.s3.regionendpoint. Empty: AWS. Needs s3CreateBucket false and the accessKey identity." },
    s3ForcePathStyle: { type: "boolean", default: false, description: "Path-style bucket URLs (endpoint/bucket/key), as most S3-compatible stores need." },
    s3Secure: { type: "boolean", default: true, description: "Reach S3 over HTTPS. False only for a plain-HTTP s3RegionEndpoint." },
    s3Identity: { type: "string", default: "auto", description: "How the registry authenticates to S3: irsa (IAM role for its ServiceAccount), iamUser (a created IAM user's key in a Secret), accessKey (s3AccessKeyId/s3SecretAccessKey in a Secret), or auto: irsa with eksOidcProviderArn, accessKey with s3RegionEndpoint, else iamUser." },
    eksOidcProviderArn: { type: "string", default: "", description: "ARN of the EKS cluster's IAM OIDC provider (arn:aws:iam::<account>:oidc-provider/oidc.eks.<region>.amazonaws.com/id/<id>), for IRSA." },
    s3AccessKeyId: { type: "string", default: "", description: "accessKey identity: the access key id the registry uses." },
    s3SecretAccessKey: { type: "string", default: "", secret: true, description: "accessKey identity: the secret access key (set with --secret)." },
    route53ZoneId: { type: "string", default: "", description: "Route53 hosted zone id (Z...) of the registry's record. Set this or route53ZoneName when dnsProvider is route53." },
    route53ZoneName: { type: "string", default: "", description: "Route53 hosted zone name (example.com), looked up when route53ZoneId is empty." },
    route53PrivateZone: { type: "boolean", default: false, description: "With route53ZoneName: look up a private hosted zone of that name." },
    route53RecordName: { type: "string", default: "registry", description: "Label(s) of the record inside the zone: the registry is <route53RecordName>.<zone>, the name images are tagged with." },
    route53EvaluateTargetHealth: { type: "boolean", default: true, description: "Route53 evaluates the load balancer's health for the alias." },
    route53DualStack: { type: "boolean", default: false, description: "Also an AAAA alias (needs awsLoadBalancerType nlb, which is then made dual-stack)." },
    awsLoadBalancerType: { type: "string", default: "none", description: "Service annotations for AWS: none (as given in serviceAnnotations), classic (a classic ELB from the in-tree provider) or nlb (NLB via the AWS Load Balancer Controller, IP targets). With the AWS Load Balancer Controller 2.5+ installed, every LoadBalancer Service gets an NLB." },
    awsLoadBalancerInternal: { type: "boolean", default: false, description: "With awsLoadBalancerType: an internal load balancer (VPC only) instead of an internet-facing one." },
    // --- Operations: HA, blob cache, garbage collection, pull-through cache, metrics, rotation
    podAntiAffinity: { type: "string", default: "soft", description: "Keep registry pods on different nodes: soft (preferred), hard (required) or none." },
    topologySpreadZones: { type: "boolean", default: true, description: "Spread registry pods evenly over zones (topology.kubernetes.io/zone), best effort, when there are several." },
    autoscalingMaxReplicas: { type: "integer", default: 0, description: "Add a HorizontalPodAutoscaler from `replicas` up to this many pods. 0: no autoscaler." },
    autoscalingCpuPercent: { type: "integer", default: 75, description: "Average CPU use, in percent of the request, the autoscaler aims for." },
    blobDescriptorCache: { type: "string", default: "inmemory", description: "Blob descriptor cache: inmemory (per pod) or redis (shared by all replicas)." },
    redisAddress: { type: "string", default: "", description: "host:port of an external Redis for the redis cache. Empty: the program runs a Redis in the namespace." },
    redisPassword: { type: "string", default: "", secret: true, description: "Password of the external Redis (set with --secret). The in-cluster Redis gets a generated one." },
    redisImage: { type: "string", default: "docker.io/library/redis:7.4.2-alpine", description: "Image of the in-cluster Redis." },
    gcSchedule: { type: "string", default: "", description: "Cron schedule of the garbage collection job (e.g. `0 3 * * 0`). Empty: no garbage collection." },
    gcDeleteUntagged: { type: "boolean", default: false, description: "Garbage collection also deletes manifests no tag points to (`--delete-untagged`)." },
    gcDryRun: { type: "boolean", default: false, description: "Garbage collection only reports what it would delete (`--dry-run`); the registry still goes through maintenance." },
    gcKubectlImage: { type: "string", default: "docker.io/alpine/k8s:1.33.4", description: "Image with kubectl and a POSIX shell that runs the garbage collection procedure." },
    proxyRemoteUrl: { type: "string", default: "", description: "Run a second, pull-through cache registry (`<registryName>-mirror`) of this upstream, e.g. https://registry-1.docker.io. Empty: none." },
    proxyUsername: { type: "string", default: "", description: "User name for the upstream of the pull-through cache. Empty: anonymous." },
    proxyPassword: { type: "string", default: "", secret: true, description: "Password or token for the upstream of the pull-through cache (set with --secret)." },
    proxyTtl: { type: "string", default: "168h", description: "How long the pull-through cache keeps a blob it fetched (a Go duration such as 168h)." },
    proxyCacheSize: { type: "string", default: "20Gi", description: "Size limit of the pull-through cache's emptyDir (the cache refills from upstream)." },
    metricsServiceMonitor: { type: "boolean", default: false, description: "Create a prometheus-operator ServiceMonitor for the metrics port (needs its CRDs)." },
    metricsAlertRules: { type: "boolean", default: false, description: "Create a prometheus-operator PrometheusRule with alerts on 5xx rate, storage health, restarts (needs its CRDs)." },
    metricsLabels: { type: "array", default: [], description: "Labels (key=value) of the ServiceMonitor and PrometheusRule, for a Prometheus that selects them by label (kube-prometheus-stack by default: release=<its Helm release>)." },
    passwordRotation: { type: "array", default: [], description: "`user=token` entries: changing a user's token gives that user a new password on the next `pulumi up` (pods roll)." },
    tlsRotation: { type: "string", default: "", description: "Change this value to re-issue the server key and certificate on the next `pulumi up` (same CA; pods roll)." },
    // --- Ceph: RGW credentials via Admin Ops, Swift or S3 storage (issue 6)
    cephRgwUrl: { type: "string", default: "", description: "URL the registry reaches Ceph RGW at (http(s)://host:port), for storageKind cephSwift/cephS3. Empty with cephGatewayAddresses: the gateway Service's in-cluster URL." },
    cephAdminUrl: { type: "string", default: "", description: "URL `pulumi up` reaches the RGW Admin Ops API at, to provision the registry's user, key and bucket. Empty: cephRgwUrl." },
    cephAdminAccessKey: { type: "string", default: "", secret: true, description: "S3 access key of an RGW user with the caps `users=*` and `buckets=*` (set with --secret)." },
    cephAdminSecretKey: { type: "string", default: "", secret: true, description: "S3 secret key of that RGW admin user (set with --secret)." },
    cephUser: { type: "string", default: "", description: "RGW user (uid) that owns the registry's bucket; created if missing. Empty: `<registryName>-<stack>`." },
    cephSubuser: { type: "string", default: "registry", description: "Subuser the registry authenticates as (`<uid>:<subuser>`; `<uid>:<subuser>-g<N>` when cephKeyGeneration N is not 1), with full access and a generated key." },
    cephBucket: { type: "string", default: "", description: "Swift container / S3 bucket of this registry, one per registry. Empty: `<registryName>-<stack>`." },
    cephKeyGeneration: { type: "integer", default: 1, description: "Change (e.g. increment) to rotate the registry's RGW key on the next `pulumi up`: a new subuser and key; the old ones are deleted once the pods run on the new." },
    cephChunkSize: { type: "integer", default: 10485760, description: "Upload chunk size in bytes (Swift segments / S3 multipart parts), at least 5 MiB." },
    cephS3Region: { type: "string", default: "us-east-1", description: "Region the S3 driver signs requests with (cephS3); a default RGW accepts us-east-1." },
    cephRedirect: { type: "boolean", default: false, description: "Send clients to RGW for blob downloads (storage.redirect). Off: the registry serves blobs, as clients usually cannot reach RGW." },
    cephGatewayAddresses: { type: "array", default: [], description: "IP addresses of RGW gateways outside the cluster: a selector-less Service with an EndpointSlice lists them and the registry uses that Service." },
    cephGatewayPort: { type: "integer", default: 7480, description: "Port of the RGW gateways in cephGatewayAddresses." },
    cephGatewayTls: { type: "boolean", default: false, description: "The gateways in cephGatewayAddresses speak HTTPS (their certificate must cover `<registryName>-rgw.<namespace>.svc`)." },
    cephCaCertificate: { type: "string", default: "", description: "PEM CA bundle of RGW's TLS certificate (self-signed RGW): trusted by the registry (SSL_CERT_FILE) and by `pulumi up`." },
} as const satisfies Record<string, ConfigKeySpec>;

export type ConfigKey = keyof typeof CONFIG_KEYS;

/** The declared default of a key. */
export function defaultOf(key: ConfigKey): ConfigKeySpec["default"] {
    const spec: ConfigKeySpec = CONFIG_KEYS[key];
    return spec.default;
}

/**
 * The string the Pulumi CLI hands the program for a declared default the stack does not set:
 * scalars as Go's `%v` prints them, lists as JSON (pkg/workspace `createConfigValue`).
 */
export function cliDefaultString(key: ConfigKey): string {
    const d = defaultOf(key);
    return typeof d === "object" ? JSON.stringify(d) : String(d);
}

/** Raw stack config: key (without the project prefix) to the string Pulumi stores. */
export type RawConfig = Readonly<Partial<Record<string, string>>>;

export const STORAGE_KINDS = ["filesystem", "emptyDir", "gcePersistentDisk", "gcs", "s3", "cephSwift", "cephS3"] as const;
export type StorageKind = (typeof STORAGE_KINDS)[number];
export const ACCESS_MODES = ["ReadWriteOnce", "ReadWriteMany"] as const;
export const SERVICE_TYPES = ["LoadBalancer", "ClusterIP", "NodePort"] as const;
export const LOG_LEVELS = ["error", "warn", "info", "debug"] as const;
export const LOG_FORMATTERS = ["json", "text", "logstash"] as const;
export const KEY_ALGORITHMS = ["ECDSA", "RSA"] as const;

/** The exact image tags the program deploys by default, one per distribution line. */
export const DEFAULT_IMAGE_TAGS = { 3: "3.1.2", 2: "2.8.3" } as const;
export type RegistryLine = 2 | 3;

/** A PersistentVolumeClaim on the cluster's storage (`filesystem`). */
export interface FilesystemStorageConfig {
    readonly kind: "filesystem";
    readonly size: string;
    readonly storageClass?: string;
    readonly accessMode: (typeof ACCESS_MODES)[number];
    /** An existing claim to use; no PVC is created. */
    readonly existingClaim?: string;
}

/** Pod-local scratch storage (`emptyDir`); images die with the pod. */
export interface EmptyDirStorageConfig {
    readonly kind: "emptyDir";
    readonly sizeLimit: string;
}

export const GCE_DISK_TYPES = ["pd-balanced", "pd-ssd", "pd-standard"] as const;

/** Ceph RGW over Swift (`cephSwift`, distribution 2.8 only) or S3 (`cephS3`); credentials provisioned through Admin Ops. */
export interface CephStorageConfig {
    readonly kind: "cephSwift" | "cephS3";
    /** The registry's RGW URL; undefined when it is the gateway Service's. */
    readonly rgwUrl?: string;
    /** Admin Ops URL for `pulumi up`. */
    readonly adminUrl: string;
    readonly adminAccessKey: pulumi.Output<string>;
    readonly adminSecretKey: pulumi.Output<string>;
    /** undefined: `<registryName>-<stack>`. */
    readonly user?: string;
    readonly subuser: string;
    /** undefined: `<registryName>-<stack>`. */
    readonly bucket?: string;
    readonly keyGeneration: number;
    readonly chunkSize: number;
    readonly s3Region: string;
    readonly redirect: boolean;
    /** RGW gateways outside the cluster, behind a selector-less Service. */
    readonly gateway?: { readonly addresses: readonly string[]; readonly port: number; readonly tls: boolean };
    readonly caCertificate?: string;
}

/** A GCE persistent disk made by the program, bound to the registry through a CSI PersistentVolume. */
export interface GcePersistentDiskStorageConfig {
    readonly kind: "gcePersistentDisk";
    /** Disk size in GiB (GCE's "GB" are GiB). */
    readonly sizeGb: number;
    readonly diskType: (typeof GCE_DISK_TYPES)[number];
    readonly zone: string;
    /** Daily snapshots, when scheduled. */
    readonly snapshot?: { readonly startTime: string; readonly retentionDays: number };
    /** An existing disk in `zone` to use instead of creating one; its own size counts, not `sizeGb`. */
    readonly existingDisk?: string;
}

/** A GCS bucket, shared by any number of registry pods. */
export interface GcsStorageConfig {
    readonly kind: "gcs";
    /** Physical bucket name; undefined: auto-named by Pulumi. */
    readonly bucketName?: string;
    /** An existing bucket to use as it is instead of creating one. */
    readonly existingBucket?: string;
    readonly location: string;
    readonly versioning: boolean;
    /** Days after which noncurrent versions are deleted; 0: kept. */
    readonly noncurrentVersionDays: number;
    /** CMEK key id, or undefined for Google-managed encryption. */
    readonly kmsKeyName?: string;
    /** Workload Identity (true) or a service-account key file (false). */
    readonly workloadIdentity: boolean;
}

export type StorageConfig = FilesystemStorageConfig | EmptyDirStorageConfig | GcePersistentDiskStorageConfig | GcsStorageConfig | S3StorageConfig | CephStorageConfig;

export const DNS_PROVIDERS = ["none", "cloudDns", "route53"] as const;

/** No DNS record: clients use `hostnames` or the load balancer address. */
export interface NoDnsConfig {
    readonly provider: "none";
}

/** An A record in a Cloud DNS managed zone, at the load balancer's (optionally reserved) IP. */
export interface CloudDnsConfig {
    readonly provider: "cloudDns";
    /** Name of the managed zone. */
    readonly managedZone: string;
    /** Label(s) of the record inside the zone. */
    readonly recordName: string;
    readonly ttl: number;
    /** Reserve a regional static IP and give it to the Service. */
    readonly staticIp: boolean;
    /** Region of the static IP; undefined: the provider's. */
    readonly region?: string;
}

export type DnsConfig = NoDnsConfig | CloudDnsConfig | Route53DnsConfig;

export interface ImageConfig {
    readonly repository: string;
    readonly tag: string;
    readonly digest?: string;
    /** The distribution major version the tag names; decides config path and drivers. */
    readonly line: RegistryLine;
}

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

export interface ServiceConfig {
    readonly type: (typeof SERVICE_TYPES)[number];
    readonly port: number;
    readonly nodePort?: number;
    readonly annotations: Readonly<Record<string, string>>;
    readonly loadBalancerSourceRanges: readonly string[];
}

export const ANTI_AFFINITY_MODES = ["soft", "hard", "none"] as const;
export type AntiAffinityMode = (typeof ANTI_AFFINITY_MODES)[number];
export const BLOB_DESCRIPTOR_CACHES = ["inmemory", "redis"] as const;

/** Where the redis blob descriptor cache lives. */
export type RedisCacheConfig =
    | { readonly kind: "redis"; readonly inCluster: true; readonly image: string }
    | { readonly kind: "redis"; readonly inCluster: false; readonly address: string; readonly password?: pulumi.Output<string> };

export type BlobCacheConfig = { readonly kind: "inmemory" } | RedisCacheConfig;

/** Garbage collection under maintenance (off unless scheduled). */
export interface GcConfig {
    readonly schedule: string;
    readonly deleteUntagged: boolean;
    readonly dryRun: boolean;
    readonly kubectlImage: string;
}

/** A second registry instance in pull-through cache mode. */
export interface ProxyConfig {
    readonly remoteUrl: string;
    readonly username?: string;
    readonly password?: pulumi.Output<string>;
    readonly ttl: string;
    readonly cacheSize: string;
}

/** Day-2 operations: scheduling, autoscaling, cache, GC, pull-through, metrics, rotation. */
export interface OperationsConfig {
    readonly antiAffinity: AntiAffinityMode;
    readonly spreadZones: boolean;
    /** Absent: no HorizontalPodAutoscaler. */
    readonly autoscaling?: { readonly minReplicas: number; readonly maxReplicas: number; readonly cpuPercent: number };
    readonly cache: BlobCacheConfig;
    /** Absent: no garbage collection CronJob. */
    readonly gc?: GcConfig;
    /** Absent: no pull-through cache instance. */
    readonly proxy?: ProxyConfig;
    readonly serviceMonitor: boolean;
    readonly alertRules: boolean;
    /** Labels of the ServiceMonitor and PrometheusRule, which Prometheus selects them by. */
    readonly metricsLabels: Readonly<Record<string, string>>;
    /** user → rotation token (users without an entry have none). */
    readonly passwordRotation: Readonly<Record<string, string>>;
    /** Rotation token of the generated server key and certificate ("" = never rotated). */
    readonly tlsRotation: string;
}

/** The whole stack configuration, validated, defaults applied. */
export interface RegistryConfig {
    readonly registryName: string;
    readonly namespace: string;
    readonly createNamespace: boolean;
    readonly image: ImageConfig;
    readonly replicas: number;
    readonly storage: StorageConfig;
    readonly dns: DnsConfig;
    readonly deleteStorageOnDestroy: boolean;
    readonly storageDeleteEnabled: boolean;
    readonly hostnames: readonly string[];
    readonly ipAddresses: readonly string[];
    readonly tls: TlsConfig;
    /** Push users (push, pull, delete), as configured. */
    readonly users: readonly string[];
    /** Pull-only users, as configured (`access.extraPullUsers` adds `pullUser`). */
    readonly pullUsers: readonly string[];
    /** The gate's nginx image. */
    readonly gateImage: string;
    readonly passwordLength: number;
    /** bcrypt cost of the htpasswd hashes. */
    readonly htpasswdBcryptCost: number;
    readonly authRealm: string;
    readonly service: ServiceConfig;
    readonly resources: {
        readonly cpuRequest: string;
        readonly memoryRequest: string;
        readonly cpuLimit?: string;
        readonly memoryLimit?: string;
    };
    readonly log: {
        readonly level: (typeof LOG_LEVELS)[number];
        readonly formatter: (typeof LOG_FORMATTERS)[number];
        readonly accessLog: boolean;
    };
    /** How nodes, pods and ingresses reach the registry. */
    readonly access: AccessConfig;
    /** Which URLs pushed layers may carry (none by default). */
    readonly foreignLayers: ForeignLayersConfig;
    readonly operations: OperationsConfig;
}

/** A name the program derives from `registryName`, and the limit Kubernetes or a provider puts on it. */
export interface DerivedName {
    readonly id: "gcCronJob" | "mirrorJob" | "s3BucketPrefix";
    /** What carries the name, and the key that makes it exist. */
    readonly object: string;
    /** "name", or "name prefix" when the value is a prefix the provider completes. */
    readonly label: string;
    /** The name, up to the random characters the provider appends when it auto-names. */
    readonly name: (registryName: string) => string;
    /** How many random characters the provider appends. */
    readonly random: number;
    readonly limit: number;
    /** Whose limit it is, and why. */
    readonly why: string;
    /** Another way out than a shorter `registryName`. */
    readonly instead?: string;
    /** Whether the configuration makes the object. */
    readonly exists: (cfg: Pick<RegistryConfig, "storage" | "access" | "operations">) => boolean;
    /** The longest `registryName` the limit allows. */
    readonly maxRegistryName: number;
}

function derivedName(d: Omit<DerivedName, "maxRegistryName">): DerivedName {
    return { ...d, maxRegistryName: d.limit - d.name("").length - d.random };
}

/**
 * Every name derived from `registryName` whose limit is tighter than the 52 characters
 * `registryName` may have, so a name that would break `pulumi up` half-way is refused before
 * anything exists. tests/names.spec.ts checks each against the name the program registers.
 */
export const DERIVED_NAMES: readonly DerivedName[] = [
    derivedName({
        id: "gcCronJob",
        object: "the garbage collection CronJob (`gcSchedule`)",
        label: "name",
        name: (n) => `${n}-gc-cronjob-`,
        random: 8,
        limit: 52,
        why: "Kubernetes' limit for CronJob names: the Jobs it starts add 11 characters",
        exists: (cfg) => cfg.operations.gc !== undefined,
    }),
    derivedName({
        id: "mirrorJob",
        object: "the image mirroring Job (`mirrorImages`)",
        label: "name",
        name: (n) => `${n}-mirror-`,
        random: 8,
        limit: 63,
        why: "Kubernetes' limit for Job names: the Job's pods carry it in a label",
        exists: (cfg) => cfg.access.mirror.images.length > 0,
    }),
    derivedName({
        id: "s3BucketPrefix",
        object: "the S3 bucket's generated name (`s3Bucket` empty)",
        label: "name prefix",
        name: (n) => `${n}-`,
        random: 0,
        limit: 37,
        why: "the AWS provider's limit for `bucketPrefix`, to which it adds 26 characters",
        instead: "name the bucket in `s3Bucket`",
        exists: (cfg) => cfg.storage.kind === "s3" && cfg.storage.createBucket && cfg.storage.bucket === undefined,
    }),
];

/** The derived names of this configuration that would exceed their limits, as problems naming `registryName`. */
export function derivedNameProblems(cfg: Pick<RegistryConfig, "registryName" | "storage" | "access" | "operations">): string[] {
    return DERIVED_NAMES.filter((d) => d.exists(cfg) && d.name(cfg.registryName).length + d.random > d.limit).map((d) => {
        const fixed = d.name(cfg.registryName);
        return (
            `\`registryName\` is too long for ${d.object}: its ${d.label} \`${fixed}\`${d.random > 0 ? ` + ${d.random} random characters` : ""} ` +
            `would be ${fixed.length + d.random} characters, over ${d.limit} (${d.why}); use a \`registryName\` of at most ${d.maxRegistryName} characters` +
            (d.instead === undefined ? "" : `, or ${d.instead}`)
        );
    });
}

/** Thrown by parseConfig with every problem found, each naming its key. */
export class ConfigError extends Error {
    constructor(readonly problems: readonly string[]) {
        super(`Invalid stack configuration:\n${problems.map((p) => `  - ${p}`).join("\n")}`);
        this.name = "ConfigError";
    }
}

const DNS_NAME = /^(?=.{1,253}$)[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/;
const DNS_LABEL = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;
const QUANTITY = /^([0-9]+(\.[0-9]+)?|\.[0-9]+)(m|k|M|G|T|P|E|Ki|Mi|Gi|Ti|Pi|Ei)?$/;
const USERNAME = /^[a-z0-9][a-z0-9._-]{0,63}$/;
const ANNOTATION_KEY = /^([a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?\/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/;
const DIGEST = /^sha256:[a-f0-9]{64}$/;
const IMAGE_REPOSITORY = /^[a-z0-9]+([._-][a-z0-9]+)*(:[0-9]+)?(\/[a-z0-9]+([._-][a-z0-9]+)*)*$/;

/**
 * Collects problems while parsing, so one run reports every mistake at once.
 * Each reader returns the key's value (or its default) and records a problem when the
 * value is malformed.
 */
export class Reader {
    readonly problems: string[] = [];

    constructor(private readonly raw: RawConfig) {}

    problem(msg: string): void {
        this.problems.push(msg);
    }

    /**
     * Whether the stack sets the key to something other than its default. The CLI passes every
     * declared default as a value, so a value equal to the default is indistinguishable from an
     * unset key, and counts as unset (it is never wrong to state a default).
     */
    has(key: ConfigKey): boolean {
        const v = this.raw[key];
        if (v === undefined || v === "") {
            return false;
        }
        const d = defaultOf(key);
        if (typeof d === "object") {
            try {
                return JSON.stringify(JSON.parse(v)) !== JSON.stringify(d);
            } catch {
                return true;
            }
        }
        return v.trim() !== String(d);
    }

    string(key: ConfigKey): string {
        return this.raw[key] ?? String(defaultOf(key));
    }

    oneOf<T extends string>(key: ConfigKey, allowed: readonly T[]): T {
        const v = this.string(key);
        if ((allowed as readonly string[]).includes(v)) {
            return v as T;
        }
        this.problem(`\`${key}\` must be one of ${allowed.map((a) => `\`${a}\``).join(", ")}; got \`${v}\``);
        return allowed[0];
    }

    integer(key: ConfigKey, min: number, max: number): number {
        const raw = this.raw[key];
        const dflt = defaultOf(key) as number;
        if (raw === undefined) {
            return dflt;
        }
        if (!/^-?[0-9]+$/.test(raw.trim())) {
            this.problem(`\`${key}\` must be a whole number between ${min} and ${max}; got \`${raw}\``);
            return dflt;
        }
        const n = Number(raw);
        if (n < min || n > max) {
            this.problem(`\`${key}\` must be a whole number between ${min} and ${max}; got ${n}`);
            return dflt;
        }
        return n;
    }

    boolean(key: ConfigKey): boolean {
        const raw = this.raw[key];
        if (raw === undefined) {
            return defaultOf(key) as boolean;
        }
        if (raw !== "true" && raw !== "false") {
            this.problem(`\`${key}\` must be true or false; got \`${raw}\``);
            return defaultOf(key) as boolean;
        }
        return raw === "true";
    }

    /** Arrays arrive as JSON text (Pulumi stores structured values that way). */
    stringArray(key: ConfigKey): string[] {
        const raw = this.raw[key];
        if (raw === undefined) {
            return [...(defaultOf(key) as readonly string[])];
        }
        let parsed: unknown;
        try {
            parsed = JSON.parse(raw);
        } catch {
            parsed = undefined;
        }
        if (!Array.isArray(parsed) || !parsed.every((x) => typeof x === "string")) {
            this.problem(`\`${key}\` must be a list of strings (YAML list in the stack file); got \`${raw}\``);
            return [];
        }
        return parsed as string[];
    }

    quantity(key: ConfigKey, allowEmpty: boolean): string | undefined {
        const v = this.string(key);
        if (v === "" && allowEmpty) {
            return undefined;
        }
        if (!QUANTITY.test(v) || Number.parseFloat(v) <= 0) {
            this.problem(`\`${key}\` must be a positive Kubernetes quantity such as \`10Gi\` or \`500m\`; got \`${v}\``);
            return undefined;
        }
        return v;
    }
}

/** Parses the storage keys into the StorageConfig of the chosen kind. */
function parseStorage(r: Reader, isSecret: (key: ConfigKey) => boolean): StorageConfig {
    const kind = r.oneOf<StorageKind>("storageKind", STORAGE_KINDS);
    switch (kind) {
        case "filesystem": {
            const storageClass = r.string("storageClass");
            if (storageClass !== "" && !DNS_NAME.test(storageClass)) {
                r.problem(`\`storageClass\` must be a StorageClass name (lowercase DNS name); got \`${storageClass}\``);
            }
            const existingClaim = r.string("storageExistingClaim");
            if (existingClaim !== "" && !DNS_NAME.test(existingClaim)) {
                r.problem(`\`storageExistingClaim\` must be a PVC name (lowercase DNS name); got \`${existingClaim}\``);
            }
            return {
                kind,
                size: r.quantity("storageSize", false) ?? "10Gi",
                storageClass: storageClass === "" ? undefined : storageClass,
                accessMode: r.oneOf("storageAccessMode", ACCESS_MODES),
                existingClaim: existingClaim === "" ? undefined : existingClaim,
            };
        }
        case "emptyDir":
            if (r.has("storageExistingClaim")) {
                r.problem("`storageExistingClaim` needs `storageKind` `filesystem`");
            }
            return { kind, sizeLimit: r.quantity("storageSize", false) ?? "10Gi" };
        case "gcePersistentDisk":
            return parseGcePersistentDisk(r);
        case "gcs":
            return parseGcs(r);
        case "s3":
            return parseS3(r);
        case "cephSwift":
        case "cephS3":
            return parseCephStorage(r, kind, isSecret);
    }
}

/**
 * Whether several registry pods can share the storage. Exported because the replica
 * check runs before any backend exists; each backend's `shareable` flag must agree.
 */
export function storageIsShareable(storage: StorageConfig): boolean {
    switch (storage.kind) {
        case "filesystem":
            return storage.accessMode === "ReadWriteMany";
        case "emptyDir":
        case "gcePersistentDisk":
            return false;
        case "gcs":
        case "s3":
        case "cephSwift":
        case "cephS3":
            return true;
    }
}

/** Why a storage kind cannot serve several replicas, and what to use instead. */
function unshareableReason(storage: StorageConfig): string {
    switch (storage.kind) {
        case "filesystem":
            return `\`storageKind\` \`filesystem\` with \`storageAccessMode\` \`${storage.accessMode}\` can be mounted by one node only. Set \`replicas\` to 1, or use shared storage (\`storageAccessMode\` \`ReadWriteMany\`)`;
        case "gcePersistentDisk":
            return "`storageKind` `gcePersistentDisk` is ReadWriteOnce: one node mounts the disk, and the Deployment is recreated, not rolled. Set `replicas` to 1, or use `storageKind` `gcs`";
        default:
            return `\`storageKind\` \`${storage.kind}\` is private to each pod. Set \`replicas\` to 1, or use shared storage (\`storageAccessMode\` \`ReadWriteMany\`)`;
    }
}

/** The distribution line a storage kind needs, when it needs one. */
export function storageRequiredLine(storage: StorageConfig): RegistryLine | undefined {
    // Only the 3.x line has the gcs driver (Debian's 2.8 build has none).
    if (storage.kind === "gcs") {
        return 3;
    }
    // The 2.8 S3 driver builds its own credential chain (static, env, shared file, EC2 role) with
    // no web identity provider, so it cannot use IRSA (distribution#3275, fixed in 3.0).
    if (storage.kind === "s3" && storage.identity.kind === "irsa") {
        return 3;
    }
    // The Swift driver was removed in distribution 3.0.
    return storage.kind === "cephSwift" ? 2 : undefined;
}

/** What to do instead when a storage kind and the image's line do not match. */
function requiredLineHint(storage: StorageConfig): string {
    return storage.kind === "cephSwift"
        ? ": the Swift driver was removed in distribution 3.0. Set `imageTag` to `2.8.3` (or leave it empty), or use `storageKind` `cephS3`, which works with 3.x"
        : "";
}

// --- Ceph (issue 6)

/** Keys only the Ceph storage kinds read. */
const CEPH_KEYS = [
    "cephRgwUrl", "cephAdminUrl", "cephAdminAccessKey", "cephAdminSecretKey", "cephUser", "cephSubuser", "cephBucket", "cephKeyGeneration",
    "cephChunkSize", "cephS3Region", "cephRedirect", "cephGatewayAddresses", "cephGatewayPort", "cephGatewayTls", "cephCaCertificate",
] as const satisfies readonly ConfigKey[];

/** RGW user ids: what radosgw-admin accepts without tenants (`$`) or subuser separators (`:`). */
const RGW_UID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
/** S3 bucket names (DNS-compatible; Swift accepts them too). */
const BUCKET_NAME = /^(?!\d+\.\d+\.\d+\.\d+$)[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;
const MIN_CHUNK = 5 * 1024 * 1024;

/** `http(s)://host[:port]` without path, query or credentials, or undefined. */
function parseRgwUrl(r: Reader, key: ConfigKey): string | undefined {
    const v = r.string(key);
    let u: URL | undefined;
    try {
        u = new URL(v);
    } catch {
        u = undefined;
    }
    if (u === undefined || (u.protocol !== "http:" && u.protocol !== "https:") || (u.pathname !== "/" && u.pathname !== "") || u.search !== "" || u.username !== "" || v.endsWith("/")) {
        r.problem(`\`${key}\` must be an RGW base URL such as \`http://rgw.ceph.svc:7480\` (http or https, no path); got \`${v}\``);
        return undefined;
    }
    return v;
}

/** Parses the `ceph*` keys for `cephSwift`/`cephS3`. */
function parseCephStorage(r: Reader, kind: CephStorageConfig["kind"], isSecret: (key: ConfigKey) => boolean): CephStorageConfig {
    for (const k of ["storageExistingClaim", "storageClass"] as const) {
        if (r.has(k)) {
            r.problem(`\`${k}\` needs \`storageKind\` \`filesystem\`; \`${kind}\` keeps images in RGW`);
        }
    }
    const addresses = r.stringArray("cephGatewayAddresses");
    for (const a of addresses) {
        if (isIP(a) === 0) {
            r.problem(`\`cephGatewayAddresses\` entries must be IPv4 or IPv6 addresses (an EndpointSlice lists addresses, not names); got \`${a}\``);
        }
    }
    if (addresses.length > 0 && new Set(addresses.map((a) => isIP(a))).size > 1) {
        r.problem("`cephGatewayAddresses` mixes IPv4 and IPv6; one EndpointSlice holds one address family");
    }
    const gatewayPort = r.integer("cephGatewayPort", 1, 65535);
    const gatewayTls = r.boolean("cephGatewayTls");
    if (addresses.length === 0) {
        for (const k of ["cephGatewayPort", "cephGatewayTls"] as const) {
            if (r.has(k)) {
                r.problem(`\`${k}\` is only used with \`cephGatewayAddresses\``);
            }
        }
    }
    let rgwUrl: string | undefined;
    if (r.has("cephRgwUrl")) {
        rgwUrl = parseRgwUrl(r, "cephRgwUrl");
        if (addresses.length > 0) {
            r.problem("`cephRgwUrl` and `cephGatewayAddresses` exclude each other: with gateway addresses the registry uses the gateway Service");
        }
    } else if (addresses.length === 0) {
        r.problem(`\`cephRgwUrl\` (or \`cephGatewayAddresses\`) is required when \`storageKind\` is \`${kind}\``);
    }
    let adminUrl: string | undefined = rgwUrl;
    if (r.has("cephAdminUrl")) {
        adminUrl = parseRgwUrl(r, "cephAdminUrl");
    } else if (addresses.length > 0) {
        r.problem("`cephAdminUrl` is required with `cephGatewayAddresses`: `pulumi up` runs outside the cluster and cannot use the gateway Service's name");
    }
    for (const k of ["cephAdminAccessKey", "cephAdminSecretKey"] as const) {
        if (!r.has(k)) {
            r.problem(`\`${k}\` is required when \`storageKind\` is \`${kind}\`: \`pulumi config set --secret ${k} <value>\``);
        } else if (!isSecret(k)) {
            r.problem(`\`${k}\` must be stored as a secret: \`pulumi config set --secret ${k} <value>\``);
        }
    }
    const user = r.string("cephUser");
    if (user !== "" && !RGW_UID.test(user)) {
        r.problem(`\`cephUser\` must be 1-64 characters of letters, digits, '.', '_', '-', starting with a letter or digit; got \`${user}\``);
    }
    const subuser = r.string("cephSubuser");
    if (!RGW_UID.test(subuser)) {
        r.problem(`\`cephSubuser\` must be 1-64 characters of letters, digits, '.', '_', '-', starting with a letter or digit; got \`${subuser}\``);
    }
    const bucket = r.string("cephBucket");
    if (bucket !== "" && !BUCKET_NAME.test(bucket)) {
        r.problem(`\`cephBucket\` must be a bucket name: 3-63 characters of a-z, 0-9, '.', '-', starting and ending with a letter or digit; got \`${bucket}\``);
    }
    const chunkSize = r.integer("cephChunkSize", MIN_CHUNK, 5 * 1024 * 1024 * 1024);
    const caCertificate = r.string("cephCaCertificate");
    if (caCertificate !== "") {
        try {
            new X509Certificate(caCertificate);
        } catch {
            r.problem("`cephCaCertificate` must be a PEM certificate (-----BEGIN CERTIFICATE-----)");
        }
        const tls = addresses.length > 0 ? gatewayTls : rgwUrl?.startsWith("https:") === true;
        if (!tls) {
            r.problem("`cephCaCertificate` needs RGW over HTTPS: an `https://` `cephRgwUrl`, or `cephGatewayTls` true");
        }
    }
    return {
        kind,
        rgwUrl,
        adminUrl: adminUrl ?? "",
        adminAccessKey: pulumi.secret(r.string("cephAdminAccessKey")),
        adminSecretKey: pulumi.secret(r.string("cephAdminSecretKey")),
        user: user === "" ? undefined : user,
        subuser,
        bucket: bucket === "" ? undefined : bucket,
        keyGeneration: r.integer("cephKeyGeneration", 0, 1000000),
        chunkSize,
        s3Region: r.string("cephS3Region"),
        redirect: r.boolean("cephRedirect"),
        gateway: addresses.length > 0 ? { addresses, port: gatewayPort, tls: gatewayTls } : undefined,
        caCertificate: caCertificate === "" ? undefined : caCertificate,
    };
}

/** Refuses `ceph*` keys when the storage is not Ceph (they would be silently ignored). */
function checkUnusedCephKeys(r: Reader, storage: StorageConfig): void {
    if (storage.kind === "cephSwift" || storage.kind === "cephS3") {
        return;
    }
    for (const k of CEPH_KEYS) {
        if (r.has(k)) {
            r.problem(`\`${k}\` is only used when \`storageKind\` is \`cephSwift\` or \`cephS3\``);
        }
    }
}

const CRON_FIELD = /^[0-9A-Za-z*,/?-]+$/;
const CRON_MACROS = ["@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight", "@hourly"];
const GO_DURATION = /^([0-9]+(\.[0-9]+)?(ns|us|µs|ms|s|m|h))+$/;
const HOST_PORT = /^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*|\[[0-9a-f:]+\]|[0-9.]+):[0-9]{1,5}$/;

/**
 * Parses the day-2 operations keys. Runs after the storage, users and TLS are
 * known, because several operations depend on them.
 */
function parseOperations(
    r: Reader,
    ctx: { storage: StorageConfig; replicas: number; users: readonly string[]; tls: TlsConfig },
    isSecret: (key: ConfigKey) => boolean,
): OperationsConfig {
    const secretOrProblem = (key: ConfigKey): pulumi.Output<string> | undefined => {
        if (!r.has(key)) {
            return undefined;
        }
        if (!isSecret(key)) {
            r.problem(`\`${key}\` must be stored as a secret: \`pulumi config set --secret ${key} <value>\``);
        }
        return pulumi.secret(r.string(key));
    };
    const shareable = storageIsShareable(ctx.storage);

    const maxReplicas = r.integer("autoscalingMaxReplicas", 0, 100);
    const cpuPercent = r.integer("autoscalingCpuPercent", 1, 1000);
    let autoscaling: OperationsConfig["autoscaling"];
    if (maxReplicas > 0) {
        if (!shareable) {
            r.problem("`autoscalingMaxReplicas` needs storage that several pods can share (the autoscaler adds pods); set it to 0 or use shared storage (`storageAccessMode` `ReadWriteMany`)");
        } else if (maxReplicas <= ctx.replicas) {
            r.problem(`\`autoscalingMaxReplicas\` (${maxReplicas}) must be 0 (no autoscaler) or more than \`replicas\` (${ctx.replicas}), the autoscaler's floor`);
        }
        autoscaling = { minReplicas: ctx.replicas, maxReplicas, cpuPercent };
    }

    const cacheKind = r.oneOf("blobDescriptorCache", BLOB_DESCRIPTOR_CACHES);
    let cache: BlobCacheConfig = { kind: "inmemory" };
    const redisAddress = r.string("redisAddress");
    if (cacheKind === "redis") {
        if (redisAddress === "") {
            if (r.has("redisPassword")) {
                r.problem("`redisPassword` is for an external Redis (`redisAddress`); the in-cluster Redis gets a generated password");
            }
            const image = r.string("redisImage");
            if (!/^[a-z0-9]+([._\/:-][a-zA-Z0-9]+)*(@sha256:[a-f0-9]{64})?$/.test(image)) {
                r.problem(`\`redisImage\` must be an image reference such as \`docker.io/library/redis:7.4.2-alpine\`; got \`${image}\``);
            }
            cache = { kind: "redis", inCluster: true, image };
        } else {
            if (!HOST_PORT.test(redisAddress)) {
                r.problem(`\`redisAddress\` must be \`host:port\` such as \`redis.cache.svc:6379\`; got \`${redisAddress}\``);
            }
            cache = { kind: "redis", inCluster: false, address: redisAddress, password: secretOrProblem("redisPassword") };
        }
    } else {
        for (const k of ["redisAddress", "redisPassword"] as const) {
            if (r.has(k)) {
                r.problem(`\`${k}\` is only used when \`blobDescriptorCache\` is \`redis\``);
            }
        }
    }

    const schedule = r.string("gcSchedule").trim();
    let gc: GcConfig | undefined;
    if (schedule !== "") {
        const fields = schedule.split(/\s+/);
        if (!(CRON_MACROS.includes(schedule) || (fields.length === 5 && fields.every((f) => CRON_FIELD.test(f))))) {
            r.problem(`\`gcSchedule\` must be a cron schedule of five fields such as \`0 3 * * 0\` (or @daily, @weekly...); got \`${schedule}\``);
        }
        if (ctx.storage.kind === "emptyDir") {
            r.problem("`gcSchedule` needs storage the garbage collection Job can mount; `storageKind` `emptyDir` is private to the registry pod");
        }
        gc = { schedule, deleteUntagged: r.boolean("gcDeleteUntagged"), dryRun: r.boolean("gcDryRun"), kubectlImage: r.string("gcKubectlImage") };
    } else {
        for (const k of ["gcDeleteUntagged", "gcDryRun"] as const) {
            if (r.has(k)) {
                r.problem(`\`${k}\` is only used when \`gcSchedule\` is set`);
            }
        }
    }

    const remoteUrl = r.string("proxyRemoteUrl");
    let proxy: ProxyConfig | undefined;
    if (remoteUrl !== "") {
        let url: URL | undefined;
        try {
            url = new URL(remoteUrl);
        } catch {
            url = undefined;
        }
        if (url === undefined || !["https:", "http:"].includes(url.protocol) || url.username !== "" || url.password !== "") {
            r.problem(`\`proxyRemoteUrl\` must be an http(s) URL without credentials such as \`https://registry-1.docker.io\`; got \`${remoteUrl}\``);
        }
        const username = r.string("proxyUsername");
        const password = secretOrProblem("proxyPassword");
        if ((username === "") !== (password === undefined)) {
            r.problem("`proxyUsername` and `proxyPassword` go together: set both (authenticated upstream) or neither (anonymous)");
        }
        const ttl = r.string("proxyTtl");
        if (!GO_DURATION.test(ttl)) {
            r.problem(`\`proxyTtl\` must be a Go duration such as \`168h\` or \`30m\`; got \`${ttl}\``);
        }
        proxy = { remoteUrl, username: username === "" ? undefined : username, password, ttl, cacheSize: r.quantity("proxyCacheSize", false) ?? "20Gi" };
    } else {
        for (const k of ["proxyUsername", "proxyPassword", "proxyTtl", "proxyCacheSize"] as const) {
            if (r.has(k)) {
                r.problem(`\`${k}\` is only used when \`proxyRemoteUrl\` is set`);
            }
        }
    }

    const serviceMonitor = r.boolean("metricsServiceMonitor");
    const alertRules = r.boolean("metricsAlertRules");
    const metricsLabels: Record<string, string> = {};
    for (const entry of r.stringArray("metricsLabels")) {
        const eq = entry.indexOf("=");
        const key = eq < 0 ? entry : entry.slice(0, eq);
        if (eq < 0 || !QUALIFIED_NAME.test(key) || !LABEL_VALUE.test(entry.slice(eq + 1))) {
            r.problem(`\`metricsLabels\` entries must be \`key=value\` with a label key and a label value (at most 63 letters, digits, '-', '_', '.'); got \`${entry}\``);
        } else if (key.startsWith("app.kubernetes.io/")) {
            r.problem(`\`metricsLabels\` may not set \`${key}\`: the program sets the \`app.kubernetes.io/\` labels itself`);
        } else {
            metricsLabels[key] = entry.slice(eq + 1);
        }
    }
    if (r.has("metricsLabels") && !serviceMonitor && !alertRules) {
        r.problem("`metricsLabels` is only used when `metricsServiceMonitor` or `metricsAlertRules` is true");
    }

    const passwordRotation: Record<string, string> = {};
    for (const entry of r.stringArray("passwordRotation")) {
        const eq = entry.indexOf("=");
        const user = entry.slice(0, eq);
        if (eq <= 0 || eq === entry.length - 1) {
            r.problem(`\`passwordRotation\` entries must be \`user=token\`; got \`${entry}\``);
        } else if (!ctx.users.includes(user)) {
            r.problem(`\`passwordRotation\` names \`${user}\`, who is not a user (\`users\`, \`pullUsers\` or \`pullUser\`)`);
        } else {
            passwordRotation[user] = entry.slice(eq + 1);
        }
    }
    const tlsRotation = r.string("tlsRotation");
    if (tlsRotation !== "" && ctx.tls.mode === "provided") {
        r.problem("`tlsRotation` only applies to generated certificates (`tlsMode` `generate`); with `provided`, set the new tlsCertificate and tlsPrivateKey");
    }

    return {
        antiAffinity: r.oneOf("podAntiAffinity", ANTI_AFFINITY_MODES),
        spreadZones: r.boolean("topologySpreadZones"),
        autoscaling,
        cache,
        gc,
        proxy,
        serviceMonitor,
        alertRules,
        metricsLabels,
        passwordRotation,
        tlsRotation,
    };
}

/** Parses the DNS keys into the DnsConfig of the chosen provider. */
function parseDns(r: Reader): DnsConfig {
    const provider = r.oneOf("dnsProvider", DNS_PROVIDERS);
    switch (provider) {
        case "none":
            return { provider };
        case "cloudDns":
            return parseCloudDns(r);
        case "route53":
            return parseRoute53(r);
    }
}

// --- GCP: GCE persistent disk, GCS bucket and Cloud DNS

const GCP_ZONE = /^[a-z]+-[a-z]+[0-9]+-[a-z]$/;
const GCP_REGION = /^[a-z]+-[a-z]+[0-9]+$/;
const GCS_LOCATION = /^[A-Za-z][A-Za-z0-9-]*[A-Za-z0-9]$/;
const GCS_BUCKET = /^(?=.{3,63}$)[a-z0-9][a-z0-9._-]*[a-z0-9]$/;
const KMS_KEY = /^projects\/[^/]+\/locations\/[^/]+\/keyRings\/[^/]+\/cryptoKeys\/[^/]+$/;
const MANAGED_ZONE = /^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$/;
const GCE_DISK_NAME = /^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$/;
const GCE_DISK_KEYS = ["gceDiskZone", "gceDiskType", "gceDiskSnapshotStartTime", "gceDiskSnapshotRetentionDays", "gceExistingDisk"] as const;
const GCS_KEYS = ["gcsBucketName", "gcsExistingBucket", "gcsLocation", "gcsVersioning", "gcsNoncurrentVersionDays", "gcsKmsKeyName", "gcpWorkloadIdentity"] as const;
const CLOUD_DNS_KEYS = ["cloudDnsManagedZone", "cloudDnsRecordName", "cloudDnsTtl", "cloudDnsStaticIp", "gcpRegion"] as const;

/** The PVC keys mean nothing to the GCP backends, which make their own volume or none. */
function refuseClaimKeys(r: Reader, kind: "gcePersistentDisk" | "gcs"): void {
    for (const key of ["storageClass", "storageExistingClaim"] as const) {
        if (r.has(key)) {
            r.problem(`\`${key}\` is only used when \`storageKind\` is \`filesystem\`; \`${kind}\` does not use it`);
        }
    }
    if (r.string("storageAccessMode") !== "ReadWriteOnce") {
        r.problem(`\`storageAccessMode\` is only used when \`storageKind\` is \`filesystem\`; \`${kind}\` does not use it`);
    }
}

function parseGcePersistentDisk(r: Reader): GcePersistentDiskStorageConfig {
    refuseClaimKeys(r, "gcePersistentDisk");
    const size = r.string("storageSize");
    const m = /^([0-9]+)(Gi|Ti)$/.exec(size);
    const sizeGb = m === null ? 0 : Number(m[1]) * (m[2] === "Ti" ? 1024 : 1);
    if (sizeGb < 10 || sizeGb > 65536) {
        r.problem(`\`storageSize\` of a \`gcePersistentDisk\` must be a whole number of Gi or Ti between 10Gi and 64Ti; got \`${size}\``);
    }
    const zone = r.string("gceDiskZone");
    if (zone === "") {
        r.problem("`gceDiskZone` is required when `storageKind` is `gcePersistentDisk`: the zone of the GKE nodes, such as `europe-west1-b`");
    } else if (!GCP_ZONE.test(zone)) {
        r.problem(`\`gceDiskZone\` must be a GCE zone such as \`europe-west1-b\`; got \`${zone}\``);
    }
    const diskType = r.oneOf("gceDiskType", GCE_DISK_TYPES);
    const startTime = r.string("gceDiskSnapshotStartTime");
    const retentionDays = r.integer("gceDiskSnapshotRetentionDays", 1, 65536);
    if (startTime !== "" && !/^([01][0-9]|2[0-3]):00$/.test(startTime)) {
        r.problem(`\`gceDiskSnapshotStartTime\` must be a whole hour in UTC such as \`03:00\` (GCE starts schedules on the hour); got \`${startTime}\``);
    }
    if (startTime === "" && r.has("gceDiskSnapshotRetentionDays")) {
        r.problem("`gceDiskSnapshotRetentionDays` needs a snapshot schedule: set `gceDiskSnapshotStartTime`");
    }
    const existingDisk = r.string("gceExistingDisk");
    if (existingDisk !== "") {
        if (!GCE_DISK_NAME.test(existingDisk)) {
            r.problem(`\`gceExistingDisk\` must be a GCE disk name: 1-63 of a-z, 0-9, '-', starting with a letter and not ending with '-'; got \`${existingDisk}\``);
        }
        refuseForAdopted(r, ["gceDiskType", "storageSize"], "gceExistingDisk", "disk");
    }
    return {
        kind: "gcePersistentDisk",
        sizeGb,
        diskType,
        zone,
        snapshot: startTime === "" ? undefined : { startTime, retentionDays },
        existingDisk: existingDisk === "" ? undefined : existingDisk,
    };
}

/**
 * What an adopted disk or bucket (one the stack uses but did not create) cannot take: settings of
 * a disk or bucket the program creates, which would be silently ignored, and deletion on destroy.
 */
function refuseForAdopted(r: Reader, keys: readonly ConfigKey[], adoptKey: ConfigKey, what: "disk" | "bucket"): void {
    for (const key of keys.filter((k) => r.has(k))) {
        r.problem(`\`${key}\` configures a ${what} the program creates; with \`${adoptKey}\` the existing ${what} is used as it is: remove it`);
    }
    if (r.boolean("deleteStorageOnDestroy")) {
        r.problem(`\`deleteStorageOnDestroy\` cannot delete \`${adoptKey}\`: the stack uses that ${what} but does not own it; delete it with gcloud after \`pulumi destroy\``);
    }
}

/** Records a problem on `key` when `name` breaks the GCS bucket naming rules. */
function checkGcsBucketName(r: Reader, key: ConfigKey, name: string): void {
    if (!GCS_BUCKET.test(name) || name.startsWith("goog") || name.includes("google") || isIP(name) !== 0) {
        r.problem(`\`${key}\` must be a GCS bucket name: 3-63 of a-z, 0-9, '-', '_', '.', starting and ending with a letter or digit, without "goog"; got \`${name}\``);
    }
}

function parseGcs(r: Reader): GcsStorageConfig {
    refuseClaimKeys(r, "gcs");
    if (r.has("storageSize")) {
        r.problem("`storageSize` is not used with `storageKind` `gcs`: a bucket has no size");
    }
    const bucketName = r.string("gcsBucketName");
    if (bucketName !== "") {
        checkGcsBucketName(r, "gcsBucketName", bucketName);
    }
    const existingBucket = r.string("gcsExistingBucket");
    if (existingBucket !== "") {
        checkGcsBucketName(r, "gcsExistingBucket", existingBucket);
        if (bucketName !== "") {
            r.problem("`gcsBucketName` names a bucket the program creates; with `gcsExistingBucket` the existing bucket is used instead: set one of them");
        }
        refuseForAdopted(r, ["gcsLocation", "gcsVersioning", "gcsNoncurrentVersionDays"], "gcsExistingBucket", "bucket");
    }
    const location = r.string("gcsLocation");
    if (!GCS_LOCATION.test(location)) {
        r.problem(`\`gcsLocation\` must be a GCS location such as \`US\`, \`EU\` or \`europe-west1\`; got \`${location}\``);
    }
    const versioning = r.boolean("gcsVersioning");
    const noncurrentVersionDays = r.integer("gcsNoncurrentVersionDays", 0, 36500);
    if (!versioning && r.has("gcsNoncurrentVersionDays") && existingBucket === "") {
        r.problem("`gcsNoncurrentVersionDays` needs `gcsVersioning` true: without versioning there are no noncurrent versions");
    }
    const kmsKeyName = r.string("gcsKmsKeyName");
    if (kmsKeyName !== "" && !KMS_KEY.test(kmsKeyName)) {
        r.problem(`\`gcsKmsKeyName\` must be a KMS key id \`projects/<p>/locations/<l>/keyRings/<r>/cryptoKeys/<k>\`; got \`${kmsKeyName}\``);
    }
    return {
        kind: "gcs",
        bucketName: bucketName === "" ? undefined : bucketName,
        existingBucket: existingBucket === "" ? undefined : existingBucket,
        location,
        versioning,
        noncurrentVersionDays,
        kmsKeyName: kmsKeyName === "" ? undefined : kmsKeyName,
        workloadIdentity: r.boolean("gcpWorkloadIdentity"),
    };
}

function parseCloudDns(r: Reader): CloudDnsConfig {
    const managedZone = r.string("cloudDnsManagedZone");
    if (managedZone === "") {
        r.problem("`cloudDnsManagedZone` is required when `dnsProvider` is `cloudDns`: the managed zone's name, such as `example-com`");
    } else if (!MANAGED_ZONE.test(managedZone)) {
        r.problem(`\`cloudDnsManagedZone\` must be a managed zone's name (not its DNS name), such as \`example-com\`; got \`${managedZone}\``);
    }
    const recordName = r.string("cloudDnsRecordName");
    if (!DNS_NAME.test(recordName)) {
        r.problem(`\`cloudDnsRecordName\` must be lowercase DNS label(s) inside the zone, such as \`registry\`; got \`${recordName}\``);
    }
    const ttl = r.integer("cloudDnsTtl", 1, 86400);
    const staticIp = r.boolean("cloudDnsStaticIp");
    const region = r.string("gcpRegion");
    if (region !== "" && !GCP_REGION.test(region)) {
        r.problem(`\`gcpRegion\` must be a GCP region such as \`europe-west1\`; got \`${region}\``);
    }
    if (region !== "" && !staticIp) {
        r.problem("`gcpRegion` is only used when `cloudDnsStaticIp` is true");
    }
    if (r.string("serviceType") !== "LoadBalancer") {
        r.problem("`dnsProvider` `cloudDns` points the record at the load balancer; it needs `serviceType` `LoadBalancer`");
    }
    return { provider: "cloudDns", managedZone, recordName, ttl, staticIp, region: region === "" ? undefined : region };
}

/** GCP keys set for a storage kind or DNS provider that does not read them. */
function refuseUnusedGcpKeys(r: Reader, storage: StorageConfig, dns: DnsConfig): void {
    const unused: [readonly ConfigKey[], boolean, string][] = [
        [GCE_DISK_KEYS, storage.kind === "gcePersistentDisk", "`storageKind` is `gcePersistentDisk`"],
        [GCS_KEYS, storage.kind === "gcs", "`storageKind` is `gcs`"],
        [CLOUD_DNS_KEYS, dns.provider === "cloudDns", "`dnsProvider` is `cloudDns`"],
    ];
    for (const [keys, used, when] of unused) {
        for (const key of keys.filter((k) => !used && r.has(k))) {
            r.problem(`\`${key}\` is only used when ${when}`);
        }
    }
}

function parseImage(r: Reader, storage: StorageConfig): ImageConfig {
    const repository = r.string("imageRepository");
    if (!IMAGE_REPOSITORY.test(repository)) {
        r.problem(`\`imageRepository\` must be an image repository such as \`docker.io/library/registry\`; got \`${repository}\``);
    }
    const required = storageRequiredLine(storage);
    let tag = r.string("imageTag");
    if (tag === "") {
        tag = DEFAULT_IMAGE_TAGS[required ?? 3];
    }
    const m = /^v?([0-9]+)\.([0-9]+)(\.[0-9]+)?([-+][0-9A-Za-z.-]+)?$/.exec(tag);
    let line: RegistryLine = 3;
    if (m === null || !(m[1] === "3" || (m[1] === "2" && m[2] === "8"))) {
        r.problem(`\`imageTag\` must be an exact distribution version, \`3.x.y\` or \`2.8.x\` (it decides the config path and storage drivers); got \`${tag}\``);
    } else {
        line = m[1] === "2" ? 2 : 3;
    }
    if (required !== undefined && m !== null && line !== required) {
        const hint =
            storage.kind === "gcs"
                ? `; the 2.8 images have no gcs driver: leave \`imageTag\` empty (${DEFAULT_IMAGE_TAGS[3]}) or set a 3.x version, or use \`storageKind\` \`gcePersistentDisk\``
                : storage.kind === "s3"
                  ? `; the 2.8 S3 driver cannot use IRSA (no web identity in its credential chain): leave \`imageTag\` empty (${DEFAULT_IMAGE_TAGS[3]}) or set a 3.x version, or use \`s3Identity\` \`iamUser\``
                  : "";
        r.problem(`\`storageKind\` \`${storage.kind}\` needs the distribution ${required}.x line, but \`imageTag\` is \`${tag}\`${hint}${requiredLineHint(storage)}`);
    }
    const digest = r.string("imageDigest");
    if (digest !== "" && !DIGEST.test(digest)) {
        r.problem(`\`imageDigest\` must look like \`sha256:<64 hex digits>\`; got \`${digest}\``);
    }
    return { repository, tag, digest: digest === "" ? undefined : digest, line };
}

function parsePem(r: Reader, key: ConfigKey, value: string): X509Certificate | undefined {
    try {
        return new X509Certificate(value);
    } catch {
        r.problem(`\`${key}\` must be a PEM certificate (-----BEGIN CERTIFICATE-----)`);
        return undefined;
    }
}

function parseTls(r: Reader, hostnames: readonly string[], isSecret: (key: ConfigKey) => boolean): TlsConfig {
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
            r.problem(`\`tlsEarlyRenewalHours\` (${earlyRenewalHours}) must be less than \`tlsValidityHours\` (${validityHours}), or every \`pulumi up\` re-issues the certificate`);
        }
        const caValidityHours = r.integer("tlsCaValidityHours", 1, 876000);
        if (caValidityHours < validityHours) {
            r.problem(`\`tlsCaValidityHours\` (${caValidityHours}) must be at least \`tlsValidityHours\` (${validityHours}): a certificate cannot outlive its CA`);
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
    if (!isSecret("tlsPrivateKey")) {
        r.problem("`tlsPrivateKey` must be stored as a secret: `pulumi config set --secret tlsPrivateKey < key.pem`");
    }
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

function parseService(r: Reader): ServiceConfig {
    const type = r.oneOf("serviceType", SERVICE_TYPES);
    const port = r.integer("servicePort", 1, 65535);
    const nodePortRaw = r.integer("nodePort", 0, 65535);
    let nodePort: number | undefined;
    if (nodePortRaw !== 0) {
        if (nodePortRaw < 30000 || nodePortRaw > 32767) {
            r.problem(`\`nodePort\` must be 0 (allocated) or within 30000-32767; got ${nodePortRaw}`);
        } else if (type === "ClusterIP") {
            r.problem("`nodePort` needs `serviceType` `NodePort` or `LoadBalancer`; a ClusterIP Service has no node port");
        } else {
            nodePort = nodePortRaw;
        }
    }
    const annotations: Record<string, string> = {};
    for (const entry of r.stringArray("serviceAnnotations")) {
        const eq = entry.indexOf("=");
        const key = eq < 0 ? entry : entry.slice(0, eq);
        if (eq < 0 || !ANNOTATION_KEY.test(key)) {
            r.problem(`\`serviceAnnotations\` entries must be \`key=value\` with a valid annotation key; got \`${entry}\``);
            continue;
        }
        annotations[key] = entry.slice(eq + 1);
    }
    const loadBalancerSourceRanges = r.stringArray("loadBalancerSourceRanges");
    for (const cidr of loadBalancerSourceRanges) {
        const [ip, bits, extra] = cidr.split("/");
        const family = isIP(ip ?? "");
        const max = family === 6 ? 128 : 32;
        if (family === 0 || extra !== undefined || bits === undefined || !/^[0-9]+$/.test(bits) || Number(bits) > max) {
            r.problem(`\`loadBalancerSourceRanges\` entries must be CIDRs such as \`203.0.113.0/24\`; got \`${cidr}\``);
        }
    }
    if (loadBalancerSourceRanges.length > 0 && type !== "LoadBalancer") {
        r.problem("`loadBalancerSourceRanges` only applies when `serviceType` is `LoadBalancer`");
    }
    return { type, port, nodePort, annotations, loadBalancerSourceRanges };
}

/**
 * Validates raw stack config and returns the typed configuration.
 * `isSecret` tells whether a key was stored encrypted (secret keys must be).
 * Throws ConfigError naming every bad key; never creates resources.
 */
export function parseConfig(raw: RawConfig, isSecret: (key: ConfigKey) => boolean = () => false): RegistryConfig {
    const r = new Reader(raw);
    for (const key of Object.keys(raw)) {
        if (!(key in CONFIG_KEYS)) {
            r.problem(`unknown config key \`${key}\`; known keys: ${Object.keys(CONFIG_KEYS).join(", ")}`);
        }
    }

    const registryName = r.string("registryName");
    const registryNameValid = DNS_LABEL.test(registryName) && registryName.length <= 52;
    if (!registryNameValid) {
        r.problem(`\`registryName\` must be a lowercase DNS label of at most 52 characters (a-z, 0-9, -); got \`${registryName}\``);
    } else if (!/^[a-z]/.test(registryName)) {
        r.problem(`\`registryName\` must start with a letter: it names the registry's Services, and Kubernetes requires a Service name to start with one (RFC 1035); got \`${registryName}\``);
    }
    const namespace = r.string("namespace");
    if (!DNS_LABEL.test(namespace)) {
        r.problem(`\`namespace\` must be a lowercase DNS label (a-z, 0-9, -, at most 63 characters); got \`${namespace}\``);
    }

    const storage = parseStorage(r, isSecret);
    checkUnusedCephKeys(r, storage);
    const image = parseImage(r, storage);
    const replicas = r.integer("replicas", 1, 100);
    if (replicas > 1 && !storageIsShareable(storage)) {
        r.problem(`\`replicas\` > 1 needs storage that several pods can share; ${unshareableReason(storage)}`);
    }

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

    const users = r.stringArray("users");
    if (users.length === 0) {
        r.problem("`users` must list at least one user; the registry refuses anonymous access");
    }
    for (const u of users) {
        if (!USERNAME.test(u)) {
            r.problem(`\`users\` entries must be 1-64 characters of a-z, 0-9, '.', '_', '-' starting with a letter or digit; got \`${u}\``);
        }
    }
    const dup = users.find((u, i) => users.indexOf(u) !== i);
    if (dup !== undefined) {
        r.problem(`\`users\` lists \`${dup}\` twice`);
    }
    const pullUsers = r.stringArray("pullUsers");
    for (const u of pullUsers) {
        if (!USERNAME.test(u)) {
            r.problem(`\`pullUsers\` entries must be 1-64 characters of a-z, 0-9, '.', '_', '-' starting with a letter or digit; got \`${u}\``);
        }
    }
    const dupPull = pullUsers.find((u, i) => pullUsers.indexOf(u) !== i);
    if (dupPull !== undefined) {
        r.problem(`\`pullUsers\` lists \`${dupPull}\` twice`);
    }
    for (const u of pullUsers.filter((p) => users.includes(p))) {
        r.problem(`\`${u}\` is in both \`users\` and \`pullUsers\`; a user has one role: push (\`users\`) or pull-only (\`pullUsers\`)`);
    }
    const authRealm = r.string("authRealm");
    // The gate writes it in double quotes into nginx.conf, where `$` would start a variable.
    if (authRealm === "" || /["\\$\x00-\x1f\x7f]/.test(authRealm)) {
        r.problem("`authRealm` must be a non-empty string without quotes, backslashes, `$` or control characters");
    }

    const passwordLength = r.integer("passwordLength", 16, 128);
    const tls = parseTls(r, hostnames, isSecret);
    const service = withAwsLoadBalancer(r, parseService(r));
    const access = parseAccess(r, { namespace, users, pullUsers, hostnames, tlsMode: tls.mode });
    const htpasswdBcryptCost = parseHtpasswdCost(r, passwordLength);

    const dns = parseDns(r);
    refuseUnusedGcpKeys(r, storage, dns);
    refuseUnusedAwsKeys(r, storage, dns, isSecret);

    const config: RegistryConfig = {
        registryName,
        namespace,
        createNamespace: r.boolean("createNamespace"),
        image,
        replicas,
        storage,
        dns,
        deleteStorageOnDestroy: r.boolean("deleteStorageOnDestroy"),
        storageDeleteEnabled: r.boolean("storageDeleteEnabled"),
        hostnames,
        ipAddresses,
        tls,
        users,
        pullUsers,
        gateImage: parseGateImage(r, htpasswdBcryptCost),
        passwordLength,
        htpasswdBcryptCost,
        authRealm,
        service,
        resources: {
            cpuRequest: r.quantity("cpuRequest", false) ?? "100m",
            memoryRequest: r.quantity("memoryRequest", false) ?? "128Mi",
            cpuLimit: r.quantity("cpuLimit", true),
            memoryLimit: r.quantity("memoryLimit", true),
        },
        log: {
            level: r.oneOf("logLevel", LOG_LEVELS),
            formatter: r.oneOf("logFormatter", LOG_FORMATTERS),
            accessLog: r.boolean("accessLog"),
        },
        access,
        foreignLayers: parseForeignLayers(r),
        operations: parseOperations(r, { storage, replicas, users: [...users, ...pullUsers, ...access.extraPullUsers], tls }, isSecret),
    };
    if (registryNameValid) {
        for (const p of derivedNameProblems(config)) {
            r.problem(p);
        }
    }
    if (r.problems.length > 0) {
        throw new ConfigError(r.problems);
    }
    return config;
}

/** Reads this project's keys from the Pulumi runtime and parses them. */
export function loadConfig(): RegistryConfig {
    const prefix = `${pulumi.getProject()}:`;
    const all = pulumi.runtime.allConfig();
    const raw: Record<string, string> = {};
    for (const [k, v] of Object.entries(all)) {
        if (k.startsWith(prefix)) {
            raw[k.slice(prefix.length)] = v;
        }
    }
    return parseConfig(raw, (key) => configIsSecret(`${prefix}${key}`));
}

/**
 * The @pulumi/pulumi version `configIsSecret` was verified with. package.json pins the SDK to it
 * exactly; tests/config-secrets.spec.ts fails when the installed SDK is another, so an upgrade
 * re-verifies secret detection before it ships.
 */
export const SECRET_DETECTION_SDK_VERSION = "3.248.0";

/**
 * Whether the Pulumi CLI passed a config key (`<project>:<key>`) as a secret. The SDK has no
 * public API for it: `isConfigSecret` (runtime/config, marked internal, left out of the typings)
 * is what its Config class uses, reading the secret keys the language host passes in
 * PULUMI_CONFIG_SECRET_KEYS. Throws, rather than calling every key plain or secret, if an SDK
 * no longer has it.
 */
export function configIsSecret(fullKey: string): boolean {
    const isConfigSecret: unknown = (runtimeConfig as Record<string, unknown>).isConfigSecret;
    if (typeof isConfigSecret !== "function") {
        throw new Error(
            `@pulumi/pulumi ${sdkVersion} has no runtime isConfigSecret, which the program uses to tell secret config values from plain ones (verified with ${SECRET_DETECTION_SDK_VERSION}); see configIsSecret in config.ts`,
        );
    }
    return (isConfigSecret as (key: string) => unknown)(fullKey) === true;
}

// --- AWS: S3 storage and Route53

export const S3_ENCRYPTIONS = ["SSE-S3", "SSE-KMS"] as const;
export const S3_IDENTITIES = ["auto", "irsa", "iamUser", "accessKey"] as const;
export const AWS_LOAD_BALANCER_TYPES = ["none", "classic", "nlb"] as const;
/** S3's smallest multipart part (except the last) and its largest. */
export const S3_MIN_CHUNK_SIZE = 5 * 1024 * 1024;
export const S3_MAX_CHUNK_SIZE = 5 * 1024 * 1024 * 1024;
/** S3 allows at most this many parts per multipart upload. */
export const S3_MAX_PARTS = 10000;

/** How the registry authenticates to S3. */
export type S3Identity =
    /** IRSA: an IAM role the EKS OIDC provider lets the registry's ServiceAccount assume; no static keys. */
    | { readonly kind: "irsa"; readonly oidcProviderArn: string; /** The issuer without https://, as in the trust policy's condition keys. */ readonly oidcIssuer: string }
    /** An IAM user the program creates, with an access key stored in a Kubernetes Secret. */
    | { readonly kind: "iamUser" }
    /** A given access key (an existing IAM user's, or an S3-compatible store's), stored in a Kubernetes Secret. */
    | { readonly kind: "accessKey"; readonly accessKeyId: string; readonly secretAccessKey: pulumi.Output<string> };

/** Images in an S3 bucket (or an S3-compatible store), shared by any number of registry pods. */
export interface S3StorageConfig {
    readonly kind: "s3";
    /** The bucket's name; undefined: generated (only when the program creates the bucket). */
    readonly bucket?: string;
    readonly createBucket: boolean;
    /** undefined: the provider's region. */
    readonly region?: string;
    /** `/prefix` or "" for the whole bucket. */
    readonly rootDirectory: string;
    readonly encryption: (typeof S3_ENCRYPTIONS)[number];
    /** With SSE-KMS: the given key; undefined: the program creates one. */
    readonly kmsKeyArn?: string;
    /** storage.s3.encrypt. */
    readonly encrypt: boolean;
    readonly versioning: boolean;
    readonly noncurrentVersionDays: number;
    readonly abortIncompleteMultipartDays: number;
    readonly chunkSize: number;
    readonly redirectDisable: boolean;
    /** An S3-compatible endpoint; undefined: AWS. */
    readonly regionEndpoint?: string;
    readonly forcePathStyle: boolean;
    readonly secure: boolean;
    readonly identity: S3Identity;
}

/** An alias record `<recordName>.<zone>` in a Route53 hosted zone, pointing at the Service's load balancer. */
export interface Route53DnsConfig {
    readonly provider: "route53";
    /** The zone by id, or else by name. */
    readonly zoneId?: string;
    readonly zoneName?: string;
    readonly privateZone: boolean;
    readonly recordName: string;
    readonly evaluateTargetHealth: boolean;
    /** An AAAA alias too. */
    readonly dualStack: boolean;
}

const S3_KEYS = [
    "s3Bucket", "s3CreateBucket", "s3Region", "s3RootDirectory", "s3Encryption", "s3KmsKeyArn", "s3Encrypt", "s3Versioning", "s3NoncurrentVersionDays",
    "s3AbortIncompleteMultipartDays", "s3ChunkSize", "s3RedirectDisable", "s3RegionEndpoint", "s3ForcePathStyle", "s3Secure", "s3Identity",
    "eksOidcProviderArn", "s3AccessKeyId", "s3SecretAccessKey",
] as const;
const ROUTE53_KEYS = ["route53ZoneId", "route53ZoneName", "route53PrivateZone", "route53RecordName", "route53EvaluateTargetHealth", "route53DualStack"] as const;
// S3 bucket naming rules: 3-63 characters, lowercase letters, digits, dots and hyphens, a letter
// or digit at each end; no "..", not an IP address, not the reserved xn--/-s3alias forms.
const S3_BUCKET = /^(?=.{3,63}$)(?!xn--|sthree-)[a-z0-9]([a-z0-9.-]*[a-z0-9])?$/;
const AWS_REGION = /^[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-[0-9]+$/;
const KMS_KEY_ARN = /^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key\/[A-Za-z0-9-]+$/;
const OIDC_PROVIDER_ARN = /^arn:aws[a-z-]*:iam::[0-9]{12}:oidc-provider\/([a-z0-9.-]+(\/[A-Za-z0-9._-]+)*)$/;
const ROOT_DIRECTORY = /^(\/[A-Za-z0-9!_.*'()-]+)+$/;
const ACCESS_KEY_ID = /^[A-Za-z0-9:_.+=@-]{3,128}$/;
const ROUTE53_ZONE_ID = /^Z[A-Z0-9]{1,32}$/;

/** The key prefix in the bucket: "" (whole bucket) or `/a/b` (leading slash, no trailing one). */
function normaliseRootDirectory(r: Reader): string {
    const raw = r.string("s3RootDirectory");
    if (raw === "" || raw === "/") {
        return "";
    }
    const root = `/${raw.replace(/^\/+/, "").replace(/\/+$/, "")}`;
    if (!ROOT_DIRECTORY.test(root) || root.split("/").some((seg) => seg === "." || seg === "..")) {
        r.problem(`\`s3RootDirectory\` must be a key prefix such as \`/registry\` (letters, digits, !_.*'()- separated by /); got \`${raw}\``);
    }
    return root;
}

function parseS3Identity(r: Reader, regionEndpoint: string | undefined): S3Identity {
    const chosen = r.oneOf("s3Identity", S3_IDENTITIES);
    const oidcArn = r.string("eksOidcProviderArn");
    const kind = chosen !== "auto" ? chosen : oidcArn !== "" ? "irsa" : regionEndpoint !== undefined ? "accessKey" : "iamUser";
    if (regionEndpoint !== undefined && kind !== "accessKey") {
        r.problem(`\`s3Identity\` \`${kind}\` makes an AWS IAM identity, which an S3-compatible store (\`s3RegionEndpoint\`) does not know; use \`accessKey\` with \`s3AccessKeyId\` and \`s3SecretAccessKey\``);
    }
    if (kind !== "irsa" && oidcArn !== "") {
        r.problem(`\`eksOidcProviderArn\` is only used when \`s3Identity\` is \`irsa\` (or \`auto\`); it is \`${kind}\``);
    }
    for (const key of ["s3AccessKeyId", "s3SecretAccessKey"] as const) {
        if (kind !== "accessKey" && r.has(key)) {
            r.problem(`\`${key}\` is only used when \`s3Identity\` is \`accessKey\`; it is \`${kind}\`${kind === "irsa" ? " (IRSA needs no static keys)" : ""}`);
        }
    }
    switch (kind) {
        case "irsa": {
            const m = OIDC_PROVIDER_ARN.exec(oidcArn);
            if (oidcArn === "") {
                r.problem("`eksOidcProviderArn` is required when `s3Identity` is `irsa`: the ARN of the cluster's IAM OIDC provider (`aws eks describe-cluster` gives its issuer)");
            } else if (m === null) {
                r.problem(`\`eksOidcProviderArn\` must be an IAM OIDC provider ARN such as \`arn:aws:iam::123456789012:oidc-provider/oidc.eks.eu-west-1.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE\`; got \`${oidcArn}\``);
            }
            return { kind, oidcProviderArn: oidcArn, oidcIssuer: m?.[1] ?? "" };
        }
        case "iamUser":
            return { kind };
        case "accessKey": {
            const accessKeyId = r.string("s3AccessKeyId");
            if (accessKeyId === "") {
                r.problem("`s3AccessKeyId` is required when `s3Identity` is `accessKey`");
            } else if (!ACCESS_KEY_ID.test(accessKeyId)) {
                r.problem(`\`s3AccessKeyId\` must be an access key id (3-128 letters, digits or :_.+=@-); got \`${accessKeyId}\``);
            }
            if (!r.has("s3SecretAccessKey")) {
                r.problem("`s3SecretAccessKey` is required when `s3Identity` is `accessKey`: `pulumi config set --secret s3SecretAccessKey`");
            }
            return { kind, accessKeyId, secretAccessKey: pulumi.secret(r.string("s3SecretAccessKey")) };
        }
    }
}

function parseS3(r: Reader): S3StorageConfig {
    for (const key of ["storageClass", "storageExistingClaim", "storageSize"] as const) {
        if (r.has(key)) {
            r.problem(`\`${key}\` is not used with \`storageKind\` \`s3\`: a bucket has no size or storage class`);
        }
    }
    if (r.string("storageAccessMode") !== "ReadWriteOnce") {
        r.problem("`storageAccessMode` is not used with `storageKind` `s3`: every replica shares the bucket");
    }
    const createBucket = r.boolean("s3CreateBucket");
    const bucket = r.string("s3Bucket");
    if (bucket === "" && !createBucket) {
        r.problem("`s3Bucket` is required when `s3CreateBucket` is false: the name of the existing bucket");
    } else if (bucket !== "" && (!S3_BUCKET.test(bucket) || bucket.includes("..") || isIP(bucket) !== 0 || bucket.endsWith("-s3alias"))) {
        r.problem(`\`s3Bucket\` must be an S3 bucket name: 3-63 lowercase letters, digits, '.' or '-', starting and ending with a letter or digit; got \`${bucket}\``);
    }
    const region = r.string("s3Region");
    if (region !== "" && !AWS_REGION.test(region)) {
        r.problem(`\`s3Region\` must be an AWS region such as \`eu-west-1\`; got \`${region}\``);
    }
    const encryption = r.oneOf("s3Encryption", S3_ENCRYPTIONS);
    const kmsKeyArn = r.string("s3KmsKeyArn");
    if (kmsKeyArn !== "" && encryption !== "SSE-KMS") {
        r.problem("`s3KmsKeyArn` is only used when `s3Encryption` is `SSE-KMS`");
    } else if (kmsKeyArn !== "" && !KMS_KEY_ARN.test(kmsKeyArn)) {
        // A key ARN, not an alias: the identity's policy grants kms actions on exactly this resource.
        r.problem(`\`s3KmsKeyArn\` must be a KMS key ARN such as \`arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab\` (not an alias); got \`${kmsKeyArn}\``);
    }
    const chunkSize = r.integer("s3ChunkSize", 0, S3_MAX_CHUNK_SIZE);
    if (chunkSize < S3_MIN_CHUNK_SIZE) {
        r.problem(`\`s3ChunkSize\` must be at least ${S3_MIN_CHUNK_SIZE} (5 MiB), S3's smallest multipart part; got ${chunkSize}`);
    }
    const versioning = r.boolean("s3Versioning");
    const noncurrentVersionDays = r.integer("s3NoncurrentVersionDays", 1, 36500);
    if (!versioning && r.has("s3NoncurrentVersionDays")) {
        r.problem("`s3NoncurrentVersionDays` needs `s3Versioning` true: without versioning there are no noncurrent versions");
    }
    const endpointRaw = r.string("s3RegionEndpoint");
    const secure = r.boolean("s3Secure");
    let regionEndpoint: string | undefined;
    if (endpointRaw !== "") {
        let url: URL | undefined;
        try {
            url = new URL(endpointRaw);
        } catch {
            url = undefined;
        }
        if (url === undefined || !["http:", "https:"].includes(url.protocol) || url.pathname !== "/" || url.search !== "") {
            r.problem(`\`s3RegionEndpoint\` must be an http(s) URL without a path, such as \`https://minio.example.com:9000\`; got \`${endpointRaw}\``);
        } else if ((url.protocol === "https:") !== secure) {
            r.problem(`\`s3Secure\` is ${secure} but \`s3RegionEndpoint\` is ${url.protocol === "https:" ? "HTTPS" : "plain HTTP"}; make them agree`);
        }
        regionEndpoint = endpointRaw.replace(/\/$/, "");
        if (createBucket) {
            r.problem("`s3CreateBucket` must be false with `s3RegionEndpoint`: the program creates buckets in AWS only; create the bucket in the S3-compatible store and name it in `s3Bucket`");
        }
    } else if (!secure) {
        r.problem("`s3Secure` false is only for a plain-HTTP `s3RegionEndpoint`; AWS S3 is reached over HTTPS (the bucket policy refuses anything else)");
    }
    if (!createBucket && encryption === "SSE-KMS" && kmsKeyArn === "") {
        r.problem("`s3Encryption` `SSE-KMS` with `s3CreateBucket` false needs `s3KmsKeyArn`, the existing bucket's key (the registry writes with it and the identity may use only it)");
    }
    if (!createBucket) {
        for (const key of ["s3Versioning", "s3NoncurrentVersionDays", "s3AbortIncompleteMultipartDays"] as const) {
            if (r.has(key)) {
                r.problem(`\`${key}\` configures a bucket the program creates; with \`s3CreateBucket\` false the existing bucket is left as it is`);
            }
        }
    }
    return {
        kind: "s3",
        bucket: bucket === "" ? undefined : bucket,
        createBucket,
        region: region === "" ? undefined : region,
        rootDirectory: normaliseRootDirectory(r),
        encryption,
        kmsKeyArn: kmsKeyArn === "" ? undefined : kmsKeyArn,
        encrypt: r.boolean("s3Encrypt"),
        versioning,
        noncurrentVersionDays,
        abortIncompleteMultipartDays: r.integer("s3AbortIncompleteMultipartDays", 1, 3650),
        chunkSize,
        redirectDisable: r.boolean("s3RedirectDisable"),
        regionEndpoint,
        forcePathStyle: r.boolean("s3ForcePathStyle"),
        secure,
        identity: parseS3Identity(r, regionEndpoint),
    };
}

function parseRoute53(r: Reader): Route53DnsConfig {
    const zoneId = r.string("route53ZoneId");
    const zoneName = r.string("route53ZoneName").replace(/\.$/, "");
    if ((zoneId === "") === (zoneName === "")) {
        r.problem("`dnsProvider` `route53` needs exactly one of `route53ZoneId` (Z...) and `route53ZoneName` (example.com)");
    }
    if (zoneId !== "" && !ROUTE53_ZONE_ID.test(zoneId)) {
        r.problem(`\`route53ZoneId\` must be a hosted zone id such as \`Z0123456789ABCDEFGHIJ\`; got \`${zoneId}\``);
    }
    if (zoneName !== "" && !DNS_NAME.test(zoneName)) {
        r.problem(`\`route53ZoneName\` must be a lowercase DNS name such as \`example.com\`; got \`${zoneName}\``);
    }
    const privateZone = r.boolean("route53PrivateZone");
    if (privateZone && zoneName === "") {
        r.problem("`route53PrivateZone` is only used to look a zone up by `route53ZoneName`");
    }
    const recordName = r.string("route53RecordName");
    if (!DNS_NAME.test(recordName)) {
        r.problem(`\`route53RecordName\` must be lowercase DNS label(s) inside the zone, such as \`registry\`; got \`${recordName}\``);
    }
    const dualStack = r.boolean("route53DualStack");
    if (dualStack && r.string("awsLoadBalancerType") !== "nlb") {
        r.problem("`route53DualStack` needs `awsLoadBalancerType` `nlb`: the program makes the NLB dual-stack so the AAAA alias has an IPv6 target");
    }
    if (r.string("serviceType") !== "LoadBalancer") {
        r.problem("`dnsProvider` `route53` aliases the Service's load balancer; it needs `serviceType` `LoadBalancer`");
    }
    return {
        provider: "route53",
        zoneId: zoneId === "" ? undefined : zoneId,
        zoneName: zoneName === "" ? undefined : zoneName,
        privateZone,
        recordName,
        evaluateTargetHealth: r.boolean("route53EvaluateTargetHealth"),
        dualStack,
    };
}

/**
 * The Service annotations for the AWS load balancer kind asked for, merged into those given in
 * `serviceAnnotations` (which may not contradict them).
 */
export function awsLoadBalancerAnnotations(type: (typeof AWS_LOAD_BALANCER_TYPES)[number], internal: boolean, dualStack: boolean): Record<string, string> {
    switch (type) {
        case "none":
            return {};
        case "classic":
            // The in-tree cloud provider makes a classic ELB for a plain LoadBalancer Service. With
            // the AWS Load Balancer Controller 2.5+ installed, its webhook makes the Service an NLB
            // instead, internal unless told otherwise; both read this annotation, so the scheme
            // is the one asked for whichever makes the load balancer.
            return { "service.beta.kubernetes.io/aws-load-balancer-internal": internal ? "true" : "false" };
        case "nlb":
            // The AWS Load Balancer Controller's NLB with IP targets: traffic reaches the pods
            // directly, TLS stays end to end (the registry terminates it), no node hop.
            return {
                "service.beta.kubernetes.io/aws-load-balancer-type": "external",
                "service.beta.kubernetes.io/aws-load-balancer-nlb-target-type": "ip",
                "service.beta.kubernetes.io/aws-load-balancer-scheme": internal ? "internal" : "internet-facing",
                ...(dualStack ? { "service.beta.kubernetes.io/aws-load-balancer-ip-address-type": "dualstack" } : {}),
            };
    }
}

function withAwsLoadBalancer(r: Reader, service: ServiceConfig): ServiceConfig {
    const type = r.oneOf("awsLoadBalancerType", AWS_LOAD_BALANCER_TYPES);
    const internal = r.boolean("awsLoadBalancerInternal");
    if (type === "none") {
        if (internal) {
            r.problem("`awsLoadBalancerInternal` needs `awsLoadBalancerType` `classic` or `nlb`");
        }
        return service;
    }
    if (service.type !== "LoadBalancer") {
        r.problem(`\`awsLoadBalancerType\` \`${type}\` needs \`serviceType\` \`LoadBalancer\``);
    }
    const wanted = awsLoadBalancerAnnotations(type, internal, r.boolean("route53DualStack"));
    for (const [k, v] of Object.entries(wanted)) {
        if (k in service.annotations && service.annotations[k] !== v) {
            r.problem(`\`serviceAnnotations\` sets \`${k}=${service.annotations[k]}\`, which contradicts \`awsLoadBalancerType\` \`${type}\` (${v}); remove it`);
        }
    }
    return { ...service, annotations: { ...service.annotations, ...wanted } };
}

/** AWS keys set for a storage kind or DNS provider that does not read them; secrets not stored as secrets. */
function refuseUnusedAwsKeys(r: Reader, storage: StorageConfig, dns: DnsConfig, isSecret: (key: ConfigKey) => boolean): void {
    if (storage.kind !== "s3") {
        for (const key of S3_KEYS.filter((k) => r.has(k))) {
            r.problem(`\`${key}\` is only used when \`storageKind\` is \`s3\``);
        }
    }
    if (dns.provider !== "route53") {
        for (const key of ROUTE53_KEYS.filter((k) => r.has(k))) {
            r.problem(`\`${key}\` is only used when \`dnsProvider\` is \`route53\``);
        }
    }
    if (r.has("s3SecretAccessKey") && !isSecret("s3SecretAccessKey")) {
        r.problem("`s3SecretAccessKey` must be stored as a secret: `pulumi config set --secret s3SecretAccessKey <key>`");
    }
}
