import type { RegistryLine } from "../../config";

/** Ports inside the pod. */
export const REGISTRY_PORT = 5000;
export const DEBUG_PORT = 5001;

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
export const HTPASSWD_PATH = `${AUTH_DIR}/htpasswd`;
