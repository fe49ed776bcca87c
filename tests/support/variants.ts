// Stack configurations the unit, schema and end-to-end tests run besides the repository's
// Pulumi.*.yaml files: one per storage and exposure choice the program supports.
import { loadStackFile, stackFiles, StackConfig } from "./program";

export const VARIANTS: Record<string, StackConfig> = {
    defaults: {},
    emptyDir: { storageKind: "emptyDir", storageSize: "2Gi", serviceType: "ClusterIP" },
    pvc: { storageKind: "filesystem", storageSize: "50Gi", storageClass: "fast-ssd", hostnames: ["registry.example.com"] },
    rwxReplicas: { storageKind: "filesystem", storageAccessMode: "ReadWriteMany", replicas: 3, storageClass: "nfs" },
    severalUsers: { users: ["admin", "ci", "deploy"], pullUsers: ["reader", "nodes"], hostnames: ["registry.example.com", "registry.internal"] },
    clusterIp: { serviceType: "ClusterIP", servicePort: 5443 },
    nodePort: { serviceType: "NodePort", nodePort: 30443, hostnames: ["node.example.com"] },
    rsa28: { imageTag: "2.8.3", tlsKeyAlgorithm: "RSA", imageDigest: `sha256:${"a".repeat(64)}` },
    lbOptions: {
        serviceAnnotations: ["service.beta.kubernetes.io/aws-load-balancer-type=nlb", "example.com/team=platform"],
        loadBalancerSourceRanges: ["10.0.0.0/8", "203.0.113.0/24"],
        cpuLimit: "2",
        logFormatter: "text",
        accessLog: false,
    },
    destroyable: { deleteStorageOnDestroy: true },
    existingNamespace: { createNamespace: false, namespace: "tools" },
    adoptKeptClaim: { createNamespace: false, storageExistingClaim: "registry-data" },
    // GCP: a GCS bucket through Workload Identity with several replicas, and with a key file.
    gcsWorkloadIdentity: { storageKind: "gcs", replicas: 3, gcsVersioning: true, gcsKmsKeyName: "projects/p/locations/us/keyRings/registry/cryptoKeys/images" },
    gcsKeyFile: {
        storageKind: "gcs",
        gcpWorkloadIdentity: false,
        gcsBucketName: "acme-registry-images",
        gcsLocation: "EU",
        dnsProvider: "cloudDns",
        cloudDnsManagedZone: "example-com",
    },
    gceDiskNoDns: { storageKind: "gcePersistentDisk", gceDiskZone: "us-central1-a", storageSize: "20Gi", deleteStorageOnDestroy: true },
    // Access: every way in at once, and the Ingress passing TLS through.
    accessAll: {
        hostnames: ["registry.example.com"],
        localProxy: true,
        localProxyPort: 5001,
        nodeTolerations: ["node-role.kubernetes.io/control-plane:NoSchedule", "dedicated=ci:NoExecute"],
        pullSecretNamespaces: ["apps", "ci"],
        pullSecretPatchServiceAccount: true,
        ingressEnabled: true,
        ingressAnnotations: ["example.com/owner=platform"],
        mirrorImages: ["docker.io/library/nginx:1.27.3", `registry.k8s.io/pause:3.10@sha256:${"b".repeat(64)}`],
    },
    ingressPassthrough: {
        hostnames: ["registry.example.com"],
        ingressEnabled: true,
        ingressTls: "passthrough",
        ingressClassName: "public",
        nodeTrust: "false",
    },
    // --- AWS; the aws stack itself is Pulumi.aws.yaml (IRSA, NLB, Route53 by zone name).
    // Configs with secret keys (accessKey identity) are checked in tests/aws-options.spec.ts.
    awsIamUserKms: {
        storageKind: "s3",
        imageTag: "2.8.3",
        s3Bucket: "team-registry-images",
        s3Encryption: "SSE-KMS",
        s3Identity: "iamUser",
        awsLoadBalancerType: "classic",
        awsLoadBalancerInternal: true,
        dnsProvider: "route53",
        route53ZoneId: "Z0123456789EXAMPLEZONE",
        route53EvaluateTargetHealth: false,
    },
    awsDualStackDestroyable: {
        storageKind: "s3",
        s3Versioning: true,
        eksOidcProviderArn: "arn:aws:iam::123456789012:oidc-provider/oidc.eks.eu-west-1.amazonaws.com/id/0123456789ABCDEF0123456789ABCDEF",
        awsLoadBalancerType: "nlb",
        dnsProvider: "route53",
        route53ZoneName: "example.com",
        route53RecordName: "images.ci",
        route53DualStack: true,
        deleteStorageOnDestroy: true,
    },
    // --- Operations: HA and autoscaling, the Redis cache, GC, pull-through, rotation
    haAutoscaled: {
        storageAccessMode: "ReadWriteMany",
        replicas: 2,
        autoscalingMaxReplicas: 6,
        podAntiAffinity: "hard",
        blobDescriptorCache: "redis",
        gcSchedule: "0 3 * * 0",
        gcDeleteUntagged: true,
        metricsServiceMonitor: true,
        metricsAlertRules: true,
    },
    gcOnReadWriteOnce: { gcSchedule: "@weekly", gcDryRun: true, metricsAlertRules: true },
    externalRedis28: { imageTag: "2.8.3", blobDescriptorCache: "redis", redisAddress: "redis.cache.svc:6379", podAntiAffinity: "none" },
    pullThroughCache: { proxyRemoteUrl: "https://registry-1.docker.io", proxyTtl: "72h", proxyCacheSize: "50Gi", hostnames: ["registry.example.com"] },
    rotated: { passwordRotation: ["admin=2026-11"], tlsRotation: "2026-11", users: ["admin", "ci"] },
};

/** Every repository stack file and every variant, labelled ("Pulumi.dev.yaml", "variant pvc"). */
export function allConfigs(): [string, StackConfig][] {
    return [
        ...Object.entries(stackFiles()).map(([stack, file]): [string, StackConfig] => [`Pulumi.${stack}.yaml`, loadStackFile(file)]),
        ...Object.entries(VARIANTS).map(([name, c]): [string, StackConfig] => [`variant ${name}`, c]),
    ];
}
