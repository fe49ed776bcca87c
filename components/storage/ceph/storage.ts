import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";

import { CEPH_STORAGE, CephStorageConfig } from "./config";
import { TERMINATION_GRACE_SECONDS } from "../../registry/layout";
import type { RegistryStorage, StorageBackend, StorageContext } from "../types";
import { RgwBucket } from "./bucket";
import { generationSubuser, RgwCredentials, RgwKeyType } from "./credentials";
import { RgwGateway } from "./gateway";

/** Where the RGW CA bundle is mounted in the registry container. */
export const RGW_CA_DIR = "/etc/ceph-rgw-ca";

/**
 * The S3 driver's root in the bucket: where the Swift driver keeps its objects (it always puts
 * them under `<prefix>/files`), so `cephSwift` and `cephS3` read the same images from one bucket
 * and a stack can switch between them. (The 3.x S3 driver reads the Swift driver's segmented
 * blobs; 2.8's stats them as empty.)
 */
export const S3_ROOT_DIRECTORY = "/files";

/**
 * The default RGW user and bucket name of a registry: `<registryName>-<stack>`, lowercased, with
 * anything but a-z, 0-9 and '-' replaced, at most 63 characters. Two stacks (or two registries
 * in one stack) never share a bucket: "each Swift container can be used by one user only".
 */
export function rgwName(registryName: string, stack: string): string {
    const s = `${registryName}-${stack}`
        .toLowerCase()
        .replace(/[^a-z0-9-]+/g, "-")
        .replace(/-+/g, "-")
        .slice(0, 63)
        .replace(/^-+|-+$/g, "");
    return s.length >= 3 ? s : `${s}-registry`;
}

export interface CephStorageArgs extends StorageContext {
    /** The `ceph*` keys, parsed (no default). */
    readonly config: CephStorageConfig;
    /** Stack name, for default user and bucket names. Default: the current stack. */
    readonly stack?: string;
}

/**
 * Images in Ceph RGW, over Swift (`cephSwift`, distribution 2.8) or S3 (`cephS3`). `pulumi up`
 * provisions, through the Admin Ops API: the RGW user (if missing), a subuser with a generated
 * key (RgwCredentials), and the bucket, created with that key so the registry's user owns it
 * (RgwBucket). The key reaches the registry only through a Kubernetes Secret and `secretKeyRef`.
 * Optionally a selector-less Service + EndpointSlice for gateways outside the cluster, and a CA
 * bundle for RGW behind self-signed TLS.
 */
export class CephStorage extends pulumi.ComponentResource implements StorageBackend {
    public readonly storage: RegistryStorage;
    /** The URL the registry reaches RGW at. */
    public readonly rgwUrl: string;
    /** The RGW user, the subuser of the key generation (`<uid>:<name>`) and the bucket. */
    public readonly user: string;
    public readonly subuser: string;
    public readonly bucketName: string;
    public readonly credentials: RgwCredentials;
    public readonly bucket: RgwBucket;

    constructor(name: string, args: CephStorageArgs, opts?: pulumi.ComponentResourceOptions) {
        super("registry:ceph:CephStorage", name, {}, opts);
        const cfg = args.config;
        const stack = args.stack ?? pulumi.getStack();
        const keyType: RgwKeyType = cfg.kind === "cephSwift" ? "swift" : "s3";
        this.user = cfg.user ?? rgwName(args.registryName, stack);
        const subuser = generationSubuser(cfg.subuser, cfg.keyGeneration);
        this.subuser = `${this.user}:${subuser}`;
        this.bucketName = cfg.bucket ?? rgwName(args.registryName, stack);
        const meta = { namespace: args.namespace, labels: args.labels };

        let rgwUrl = cfg.rgwUrl ?? "";
        let gateway: RgwGateway | undefined;
        if (cfg.gateway !== undefined) {
            gateway = new RgwGateway(
                `${name}-gateway`,
                {
                    namespace: args.namespace,
                    namespaceName: args.namespaceName,
                    serviceName: `${args.registryName}-rgw`,
                    addresses: cfg.gateway.addresses,
                    port: cfg.gateway.port,
                    tls: cfg.gateway.tls,
                    labels: args.labels,
                },
                { parent: this },
            );
            rgwUrl = gateway.url;
        }
        this.rgwUrl = rgwUrl;

        const caBundle = cfg.caCertificate ?? "";
        this.credentials = new RgwCredentials(
            `${name}-rgw-credentials`,
            {
                adminUrl: cfg.adminUrl,
                adminAccessKey: cfg.adminAccessKey,
                adminSecretKey: cfg.adminSecretKey,
                caBundle,
                uid: this.user,
                displayName: `registry ${args.registryName} (stack ${stack})`,
                subuser,
                keyType,
                generation: cfg.keyGeneration,
                // Only a user this stack created, and only when the stack opted in to deleting images.
                purgeUserOnDelete: !args.retainData,
                // An old key outlives the old pods: they serve until their grace period ends.
                retireAfterSeconds: TERMINATION_GRACE_SECONDS,
            },
            { parent: this },
        );
        this.bucket = new RgwBucket(
            `${name}-rgw-bucket`,
            {
                adminUrl: cfg.adminUrl,
                adminAccessKey: cfg.adminAccessKey,
                adminSecretKey: cfg.adminSecretKey,
                caBundle,
                api: keyType,
                accessKey: this.credentials.accessKey,
                secretKey: this.credentials.secretKey,
                bucket: this.bucketName,
            },
            { parent: this, retainOnDelete: args.retainData },
        );

        // Auto-named: a rotated key makes a new Secret, which rolls the registry pods.
        const secret = new k8s.core.v1.Secret(
            `${name}-rgw-key`,
            {
                metadata: meta,
                type: "Opaque",
                stringData:
                    keyType === "swift"
                        ? { password: pulumi.secret(this.credentials.secretKey) }
                        : { accesskey: pulumi.secret(this.credentials.accessKey), secretkey: pulumi.secret(this.credentials.secretKey) },
            },
            { parent: this },
        );
        const fromSecret = (envName: string, key: string): k8s.types.input.core.v1.EnvVar => ({
            name: envName,
            valueFrom: { secretKeyRef: { name: secret.metadata.name, key } },
        });

        const env: k8s.types.input.core.v1.EnvVar[] =
            keyType === "swift"
                ? [fromSecret("REGISTRY_STORAGE_SWIFT_PASSWORD", "password")]
                : [fromSecret("REGISTRY_STORAGE_S3_ACCESSKEY", "accesskey"), fromSecret("REGISTRY_STORAGE_S3_SECRETKEY", "secretkey")];
        const volumes: k8s.types.input.core.v1.Volume[] = [];
        const volumeMounts: k8s.types.input.core.v1.VolumeMount[] = [];
        if (caBundle !== "") {
            const ca = new k8s.core.v1.ConfigMap(`${name}-rgw-ca`, { metadata: meta, data: { "ca.crt": caBundle } }, { parent: this });
            volumes.push({ name: "rgw-ca", configMap: { name: ca.metadata.name, items: [{ key: "ca.crt", path: "ca.crt" }] } });
            volumeMounts.push({ name: "rgw-ca", mountPath: RGW_CA_DIR, readOnly: true });
            // Go reads its trusted roots from SSL_CERT_FILE; RGW is the only TLS server the
            // registry calls, so its CA is the whole trust store.
            env.push({ name: "SSL_CERT_FILE", value: `${RGW_CA_DIR}/ca.crt` });
        }

        const driver: Record<string, Record<string, unknown>> = keyType === "swift"
            ? {
                  swift: {
                      authurl: `${rgwUrl}/auth/v1.0`,
                      authversion: 1,
                      username: this.subuser,
                      container: this.bucketName,
                      chunksize: cfg.chunkSize,
                      insecureskipverify: false,
                  },
              }
            : {
                  s3: {
                      region: cfg.s3Region,
                      regionendpoint: rgwUrl,
                      bucket: this.bucketName,
                      rootdirectory: S3_ROOT_DIRECTORY,
                      forcepathstyle: true,
                      v4auth: true,
                      secure: rgwUrl.startsWith("https:"),
                      skipverify: false,
                      chunksize: cfg.chunkSize,
                  },
              };
        this.storage = {
            driver,
            redirectDisable: !cfg.redirect,
            env,
            volumes,
            volumeMounts,
            shareable: CEPH_STORAGE.shareable(cfg),
            supportedLines: CEPH_STORAGE.lines(cfg),
            serviceAccountAnnotations: {},
            // The gateway Service too: the Swift driver authenticates at start and the registry
            // exits when it cannot reach RGW.
            dependsOn: [this.bucket, secret, ...(gateway === undefined ? [] : [gateway])],
        };
        this.registerOutputs({ rgwUrl: this.rgwUrl, user: this.user, subuser: this.subuser, bucket: this.bucketName });
    }
}
