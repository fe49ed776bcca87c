import * as pulumi from "@pulumi/pulumi";
import * as YAML from "yaml";

import { ForeignLayersConfig, foreignLayersValidation } from "./foreign-layers";
import { DEBUG_PORT, SOCKET_PATH } from "./layout";

export interface RegistryConfigFileArgs {
    /** The storage driver section from the backend. */
    readonly driver: pulumi.Input<Record<string, pulumi.Input<Record<string, unknown>>>>;
    /** storage.redirect.disable. */
    readonly redirectDisable: boolean;
    /** storage.delete.enabled. */
    readonly deleteEnabled: boolean;
    readonly log: { readonly level: string; readonly formatter: string; readonly accessLog: boolean };
    /** storage.cache.blobdescriptor. Default "inmemory". */
    readonly blobDescriptorCache?: "inmemory" | "redis";
    /** URLs pushed layers may carry (`validation`). Default: none. */
    readonly foreignLayers?: ForeignLayersConfig;
    /** Extra top-level sections (`redis`, `proxy`), without secrets. Default none. */
    readonly extra?: pulumi.Input<Record<string, unknown>>;
}

/**
 * The registry's config.yml as an object (distribution configuration reference, version 0.1).
 * Secrets are not in it: `http.secret` and storage credentials come from env `secretKeyRef`s.
 * No TLS and no `auth`: the registry serves plain HTTP on a unix socket that only the pod's gate
 * reaches (components/registry/gate.ts), which terminates TLS and decides who may do what.
 */
export function buildRegistryConfig(args: RegistryConfigFileArgs): pulumi.Output<Record<string, unknown>> {
    const validation = foreignLayersValidation(args.foreignLayers ?? { allow: [], deny: [] });
    return pulumi.all([pulumi.output(args.driver), pulumi.output(args.extra ?? {})]).apply(([driver, extra]): Record<string, unknown> => ({
        version: 0.1,
        log: {
            level: args.log.level,
            formatter: args.log.formatter,
            accesslog: { disabled: !args.log.accessLog },
            fields: { service: "registry" },
        },
        storage: {
            ...driver,
            delete: { enabled: args.deleteEnabled },
            redirect: { disable: args.redirectDisable },
            cache: { blobdescriptor: args.blobDescriptorCache ?? "inmemory" },
            maintenance: {
                uploadpurging: { enabled: true, age: "168h", interval: "24h", dryrun: false },
                readonly: { enabled: false },
            },
        },
        http: {
            addr: SOCKET_PATH,
            net: "unix",
            headers: { "X-Content-Type-Options": ["nosniff"] },
            // The debug server (health, metrics, expvar; not the registry API) is not exposed by the
            // Service; probes and Prometheus reach it.
            debug: { addr: `:${DEBUG_PORT}`, prometheus: { enabled: true, path: "/metrics" } },
            draintimeout: "25s",
        },
        // A broken backend turns the pod unready instead of answering 500s.
        health: { storagedriver: { enabled: true, interval: "10s", threshold: 3 } },
        ...(validation === undefined ? {} : { validation }),
        ...extra,
    }));
}

/** YAML text of the config, through the yaml library (never string-built). */
export function renderRegistryConfig(config: Record<string, unknown>): string {
    return YAML.stringify(config, { lineWidth: 0 });
}
