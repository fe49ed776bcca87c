// The one place that reads and validates the stack configuration.
//
// Each area declares its keys and parses them next to its components (components/<area>/config.ts,
// one file per storage backend); this file assembles CONFIG_KEYS from those declarations, calls
// each area's parser in turn with the one Reader, and applies the rules that span areas
// (components/config/rules.ts). Pulumi.yaml declares the same keys, with the same type, default and
// description (a unit test keeps them identical). `parseConfig` is a pure function from raw config
// strings to a typed object; it throws a ConfigError listing every problem before any resource
// exists.
import * as pulumi from "@pulumi/pulumi";
import * as runtimeConfig from "@pulumi/pulumi/runtime/config";
import { version as sdkVersion } from "@pulumi/pulumi/version";

import { ACCESS_KEYS, AccessConfig, parseAccess } from "./components/access/config";
import { CLUSTER_KEYS, parseClusterNames, parseService, ServiceConfig } from "./components/cluster/config";
import { ConfigError, ConfigKeySpec, RawConfig, Reader } from "./components/config/reader";
import { checkReplicas, derivedNameProblems, refuseUnusedKeys } from "./components/config/rules";
import { DNS_KEYS, DnsConfig, parseDns } from "./components/dns/config";
import { OPERATIONS_KEYS, OperationsConfig, parseOperations } from "./components/operations/config";
import { REGISTRY_KEYS, ImageConfig, LogConfig, parseImage, parseLog, parseReplicas, parseResources, ResourcesConfig } from "./components/registry/config";
import { ForeignLayersConfig, parseForeignLayers } from "./components/registry/foreign-layers";
import { parseGateAuthCache, parseGateImage } from "./components/registry/gate";
import { parseSecurity, SECURITY_KEYS, TlsConfig } from "./components/security/config";
import { parseHtpasswdCost } from "./components/security/htpasswd";
import { parseStorage, STORAGE_AREA_KEYS, StorageConfig, storageLineNeed, storageTraits } from "./components/storage/config";

export { ConfigError } from "./components/config/reader";
export type { ConfigKeySpec, ConfigKeyType, RawConfig } from "./components/config/reader";
export { DERIVED_NAMES, derivedNameProblems } from "./components/config/rules";
export type { DerivedName } from "./components/config/rules";
export * from "./components/access/config";
export * from "./components/cluster/config";
export * from "./components/dns/config";
export * from "./components/operations/config";
export * from "./components/registry/config";
export * from "./components/security/config";
export * from "./components/storage/config";
export type { ForeignLayersConfig } from "./components/registry/foreign-layers";
export type { CephStorageConfig } from "./components/storage/ceph/config";
export type { GcePersistentDiskStorageConfig } from "./components/storage/gce-disk-config";
export type { GcsStorageConfig } from "./components/storage/gcs-config";
export type { EmptyDirStorageConfig, FilesystemStorageConfig } from "./components/storage/local-config";
export type { S3Identity, S3StorageConfig } from "./components/storage/s3-config";

/** Every key the program reads, with its Pulumi.yaml declaration, area by area. */
export const CONFIG_KEYS = {
    ...CLUSTER_KEYS,
    ...REGISTRY_KEYS,
    ...SECURITY_KEYS,
    ...STORAGE_AREA_KEYS,
    ...DNS_KEYS,
    ...ACCESS_KEYS,
    ...OPERATIONS_KEYS,
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
    /** Seconds the gate remembers a passed check; 0: none. */
    readonly gateAuthCacheSeconds: number;
    readonly passwordLength: number;
    /** bcrypt cost of the htpasswd hashes. */
    readonly htpasswdBcryptCost: number;
    readonly authRealm: string;
    readonly service: ServiceConfig;
    readonly resources: ResourcesConfig;
    readonly log: LogConfig;
    /** How nodes, pods and ingresses reach the registry. */
    readonly access: AccessConfig;
    /** Which URLs pushed layers may carry (none by default). */
    readonly foreignLayers: ForeignLayersConfig;
    readonly operations: OperationsConfig;
}

/**
 * Validates raw stack config and returns the typed configuration.
 * `isSecret` tells whether a key was stored encrypted (secret keys must be).
 * Throws ConfigError naming every bad key; never creates resources.
 */
export function parseConfig(raw: RawConfig, isSecret: (key: ConfigKey) => boolean = () => false): RegistryConfig {
    const r = new Reader<ConfigKey>(raw, CONFIG_KEYS, isSecret);
    for (const key of Object.keys(raw)) {
        if (!(key in CONFIG_KEYS)) {
            r.problem(`unknown config key \`${key}\`; known keys: ${Object.keys(CONFIG_KEYS).join(", ")}`);
        }
    }
    // The areas in the order their problems are reported; later areas take what they need from earlier ones.
    const { registryName, namespace, registryNameValid } = parseClusterNames(r);
    const storage = parseStorage(r);
    const image = parseImage(r, storageLineNeed(storage));
    const replicas = parseReplicas(r);
    checkReplicas(r, replicas, storage);
    const security = parseSecurity(r);
    const { users, pullUsers, tls } = security;
    const service = parseService(r);
    const access = parseAccess(r, { namespace, users, pullUsers, hostnames: security.hostnames, tlsMode: tls.mode });
    const htpasswdBcryptCost = parseHtpasswdCost(r, security.passwordLength);
    const dns = parseDns(r, { serviceType: r.string("serviceType"), awsLoadBalancerType: r.string("awsLoadBalancerType") });
    refuseUnusedKeys(r, storage, dns);

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
        hostnames: security.hostnames,
        ipAddresses: security.ipAddresses,
        tls,
        users,
        pullUsers,
        gateImage: parseGateImage(r, htpasswdBcryptCost),
        gateAuthCacheSeconds: parseGateAuthCache(r),
        passwordLength: security.passwordLength,
        htpasswdBcryptCost,
        authRealm: security.authRealm,
        service,
        resources: parseResources(r),
        log: parseLog(r),
        access,
        foreignLayers: parseForeignLayers(r),
        operations: parseOperations(r, {
            storageKind: storage.kind,
            shareable: storageTraits(storage).shareable,
            replicas,
            users: [...users, ...pullUsers, ...access.extraPullUsers],
            tlsMode: tls.mode,
        }),
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
