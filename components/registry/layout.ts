import type { RegistryLine } from "./config";

/** Ports inside the pod: the gate's HTTPS port (the only way to the registry's API) and the registry's debug server. */
export const REGISTRY_PORT = 5000;
export const DEBUG_PORT = 5001;

/**
 * The registry's API listens on a unix socket in an emptyDir only the pod's two containers
 * mount, so nothing reaches it but the gate (no pod-local TCP port either).
 */
export const SOCKET_DIR = "/run/registry";
export const SOCKET_PATH = `${SOCKET_DIR}/registry.sock`;

/**
 * Seconds a registry pod pauses in preStop: a deleted pod leaves the endpoints of load balancers
 * and kube-proxy a moment later (they learn it asynchronously), so it keeps serving meanwhile.
 */
export const PRE_STOP_SECONDS = 5;

/**
 * A registry pod's termination grace period: the preStop pause, then `http.draintimeout` (25 s)
 * for requests in flight, with room to exit. Until it ends, a terminating pod may still use the
 * storage credentials it started with.
 */
export const TERMINATION_GRACE_SECONDS = PRE_STOP_SECONDS + 30;

/** Where each line's image reads its config file; passed explicitly to `registry serve` too. */
export function configDir(line: RegistryLine): string {
    return line === 3 ? "/etc/distribution" : "/etc/docker/registry";
}

export function configPath(line: RegistryLine): string {
    return `${configDir(line)}/config.yml`;
}

/** The registry binary inside both lines' images. */
export const REGISTRY_BINARY = "/bin/registry";
export const TLS_DIR = "/etc/registry/tls";
export const AUTH_DIR = "/etc/registry/auth";
export const TLS_CERT_PATH = `${TLS_DIR}/tls.crt`;
export const TLS_KEY_PATH = `${TLS_DIR}/tls.key`;
/** The gate's files: its nginx.conf, and the htpasswd of who may read (everyone) and who may write (push users). */
export const GATE_CONF_DIR = "/etc/registry/gate";
export const GATE_CONF_PATH = `${GATE_CONF_DIR}/nginx.conf`;
/**
 * Where the gate keeps the checks it remembers (`gateAuthCacheSeconds`): a memory-backed emptyDir
 * only the gate mounts. Its entries are keyed by the request's credentials.
 */
export const GATE_AUTH_CACHE_DIR = "/var/cache/registry-gate";
export const PULL_HTPASSWD = "pull.htpasswd";
export const PUSH_HTPASSWD = "push.htpasswd";
