// A private Docker registry on Kubernetes: the stack's config, validated before anything is
// created, makes one PrivateRegistry (components/private-registry.ts); its outputs are the stack's.
import { PrivateRegistry } from "./components";
import { loadConfig } from "./config";

const cfg = loadConfig();
const registry = new PrivateRegistry(cfg.registryName, cfg);

/** `host[:port]` to tag images with. */
export const registryHost = registry.registryHost;
export const registryUrl = registry.registryUrl;
export const caCertificate = registry.caCertificate;
export const username = registry.username;
export const password = registry.password;
/** Every user's password (secret). */
export const passwords = registry.passwords;
/** `~/.docker/config.json` / `kubernetes.io/dockerconfigjson` content for the first push user (secret). */
export const dockerConfigJson = registry.dockerConfigJson;
/** The pull-only user (`pullUser`), its password (secret) and its `dockerconfigjson` (secret): for whatever only pulls. */
export const pullUsername = registry.pullUsername;
export const pullPassword = registry.pullPassword;
export const pullDockerConfigJson = registry.pullDockerConfigJson;
export const namespace = registry.namespace;
export const serviceName = registry.serviceName;
export const loadBalancerAddress = registry.loadBalancerAddress;
export const deploymentName = registry.deploymentName;
/** Where the images are stored, e.g. `s3://<bucket>/registry` ("" when the backend has no such address). */
export const storageLocation = registry.storageLocation;
/** `host[:port]` of the pull-through cache ("" without one). */
export const mirrorHost = registry.mirrorHost;
export const mirrorDeploymentName = registry.mirrorDeploymentName;
