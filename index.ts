// A private Docker registry on Kubernetes: read the stack config, wire the components, export
// what clients and CI need. Everything else lives in config.ts and components/.
import * as pulumi from "@pulumi/pulumi";

import {
    GarbageCollector,
    PullThroughCache,
    RedisCache,
    Registry,
    RegistryAuth,
    RegistryNamespace,
    RegistryService,
    RegistryAutoscaler,
    RegistryMonitoring,
    RegistryTls,
    createAccess,
    createDns,
    createStorage,
    dataLivesInNamespace,
    gcMode,
    dockerConfigJson as dockerConfigJsonFor,
    pullUserOf,
    registryUsers,
    registryHost as hostOf,
    reachableHosts,
    registryLabels,
    reserveServiceAddress,
    serviceAnnotations,
    registryScheduling,
} from "./components";
import { loadConfig } from "./config";

const cfg = loadConfig();
const name = cfg.registryName;
const { labels, selector } = registryLabels(name);
const retainData = !cfg.deleteStorageOnDestroy;
const ops = cfg.operations;
// The annotations given, and those that ask AWS for the load balancer configured.
const annotations = serviceAnnotations(cfg.service);

const ns = new RegistryNamespace(name, {
    name: cfg.namespace,
    create: cfg.createNamespace,
    retainOnDelete: retainData && dataLivesInNamespace(cfg.storage),
});

// A DNS provider may reserve the load balancer's address before the Service exists.
const address = reserveServiceAddress(name, cfg.dns);

const service = new RegistryService(name, {
    namespace: ns.name,
    namespaceName: cfg.namespace,
    serviceName: name,
    selector,
    labels,
    type: cfg.service.type,
    port: cfg.service.port,
    nodePort: cfg.service.nodePort,
    annotations: { ...annotations, ...address.annotations },
    loadBalancerSourceRanges: cfg.service.loadBalancerSourceRanges,
    loadBalancerIP: address.ip,
});

// The pull-through cache instance, beside the registry (its Service exists before the certificate, which names it).
const mirrorName = `${name}-mirror`;
const mirrorLabels = registryLabels(mirrorName);
const mirrorService =
    ops.proxy === undefined
        ? undefined
        : new RegistryService(mirrorName, {
              namespace: ns.name,
              namespaceName: cfg.namespace,
              serviceName: mirrorName,
              selector: mirrorLabels.selector,
              labels: mirrorLabels.labels,
              type: cfg.service.type,
              port: cfg.service.port,
              annotations,
              loadBalancerSourceRanges: cfg.service.loadBalancerSourceRanges,
          });

const dns = createDns(name, cfg.dns, {
    loadBalancerHostname: service.loadBalancerHostname,
    loadBalancerIp: service.loadBalancerIp,
    serviceAnnotations: annotations,
    reservedIp: address.ip,
});
// Published DNS names first: the first public name is the one images are tagged with.
const publicNames = dns.names.apply((names) => [...new Set([...names, ...cfg.hostnames])]);

// The certificate names every way in: public names, in-cluster names and the load balancer.
const tls = new RegistryTls(name, {
    config: cfg.tls,
    dnsNames: pulumi
        .all([publicNames, service.loadBalancerHostname, mirrorService?.loadBalancerHostname ?? ""])
        .apply(([names, lb, mirrorLb]) => [
            ...new Set([...names, ...service.clusterDnsNames, ...(mirrorService?.clusterDnsNames ?? []), ...[lb, mirrorLb].filter((h) => h !== "")]),
        ]),
    ipAddresses: pulumi
        .all([service.loadBalancerIp, mirrorService?.loadBalancerIp ?? ""])
        .apply((ips) => [...new Set([...cfg.ipAddresses, ...ips.filter((ip) => ip !== "")])]),
    rotation: ops.tlsRotation,
});

// Push users and pull-only users; the gate in each registry pod enforces the difference.
const auth = new RegistryAuth(name, {
    ...registryUsers(cfg.users, cfg.pullUsers, cfg.access),
    passwordLength: cfg.passwordLength,
    rotation: ops.passwordRotation,
    bcryptCost: cfg.htpasswdBcryptCost,
});

const storage = createStorage(name, cfg.storage, {
    namespace: ns.name,
    namespaceName: cfg.namespace,
    registryName: name,
    serviceAccountName: name,
    labels,
    retainData,
});

const redis =
    ops.cache.kind === "redis"
        ? new RedisCache(`${name}-cache`, { config: ops.cache, namespace: ns.name, registryName: name, line: cfg.image.line, labels })
        : undefined;

const registry = new Registry(name, {
    registryName: name,
    namespace: ns.name,
    labels,
    selector,
    image: cfg.image,
    gateImage: cfg.gateImage,
    replicas: cfg.replicas,
    storage: storage.storage,
    tls,
    htpasswd: auth.htpasswd,
    httpSecret: auth.httpSecret,
    authRealm: cfg.authRealm,
    deleteEnabled: cfg.storageDeleteEnabled,
    resources: cfg.resources,
    log: cfg.log,
    blobDescriptorCache: ops.cache.kind,
    foreignLayers: cfg.foreignLayers,
    extraConfig: redis === undefined ? undefined : { redis: redis.section },
    extraEnv: redis?.env,
    scheduling: registryScheduling({ ...ops, maxReplicas: ops.autoscaling?.maxReplicas ?? cfg.replicas }, selector),
    autoscaled: ops.autoscaling !== undefined,
});

if (ops.autoscaling !== undefined) {
    new RegistryAutoscaler(name, { namespace: ns.name, deploymentName: registry.deploymentName, labels, ...ops.autoscaling });
}
if (ops.gc !== undefined) {
    new GarbageCollector(`${name}-gc`, {
        config: ops.gc,
        namespace: ns.name,
        registryName: name,
        labels,
        podSpec: registry.podSpec,
        configFile: registry.configFile,
        mode: gcMode(storage.storage.shareable),
    });
}
if (ops.serviceMonitor || ops.alertRules) {
    new RegistryMonitoring(`${name}-monitoring`, {
        namespace: ns.name,
        namespaceName: cfg.namespace,
        registryName: name,
        labels,
        selector,
        serviceMonitor: ops.serviceMonitor,
        alertRules: ops.alertRules,
        selectionLabels: ops.metricsLabels,
    });
}
const mirror =
    ops.proxy === undefined
        ? undefined
        : new PullThroughCache(mirrorName, {
              config: ops.proxy,
              registryName: mirrorName,
              namespace: ns.name,
              ...mirrorLabels,
              image: cfg.image,
              gateImage: cfg.gateImage,
              tls,
              htpasswd: auth.htpasswd,
              httpSecret: auth.httpSecret,
              authRealm: cfg.authRealm,
              log: cfg.log,
          });

const primary = auth.users[0];
const puller = pullUserOf(auth.users, cfg.access);

/** `host[:port]` to tag images with. */
export const registryHost = pulumi
    .all([publicNames, service.loadBalancerAddress])
    .apply(([hostnames, lb]) => hostOf({ hostnames, loadBalancerAddress: lb, clusterFqdn: service.clusterDnsNames[3], port: service.port }));

// Nodes, pods, CI and ingresses: node CA trust, the localhost proxy, pull Secrets, the Ingress.
createAccess(name, cfg.access, {
    registryName: name,
    namespace: ns.name,
    namespaceName: cfg.namespace,
    labels,
    hostnames: cfg.hostnames,
    hosts: pulumi
        .all([registryHost, publicNames, service.loadBalancerAddress])
        .apply(([host, names, lb]) => [
            ...new Set([
                host,
                ...reachableHosts({ publicNames: names, clusterDnsNames: service.clusterDnsNames, loadBalancerAddress: lb, port: service.port }),
            ]),
        ]),
    serviceName: name,
    servicePort: service.port,
    serviceFqdn: service.clusterDnsNames[3],
    caCertificatePem: tls.caCertificatePem,
    certificatePem: tls.certificatePem,
    privateKeyPem: tls.privateKeyPem,
    users: auth.users,
    registryDeployment: registry.deployment,
});

export const registryUrl = pulumi.interpolate`https://${registryHost}`;
export const caCertificate = tls.caCertificatePem;
export const username = primary.name;
export const password = primary.password;
/** Every user's password (secret). */
export const passwords = auth.passwords;
/** `~/.docker/config.json` / `kubernetes.io/dockerconfigjson` content for the primary user (secret). */
export const dockerConfigJson = pulumi.secret(pulumi.all([registryHost, primary.password]).apply(([host, pw]) => dockerConfigJsonFor(host, primary.name, pw)));
/** The pull-only user (`pullUser`), its password (secret) and its `dockerconfigjson` (secret): for whatever only pulls. */
export const pullUsername = puller.name;
export const pullPassword = puller.password;
export const pullDockerConfigJson = pulumi.secret(
    pulumi.all([registryHost, puller.password]).apply(([host, pw]) => dockerConfigJsonFor(host, puller.name, pw)),
);
export const namespace = ns.name;
export const serviceName = service.name;
export const loadBalancerAddress = service.loadBalancerAddress;
export const deploymentName = registry.deploymentName;
/** Where the images are stored, e.g. `s3://<bucket>/registry` ("" when the backend has no such address). */
export const storageLocation = pulumi.output(storage.storage.location ?? "");
/** `host[:port]` of the pull-through cache ("" without one). */
export const mirrorHost =
    mirrorService === undefined
        ? pulumi.output("")
        : mirrorService.loadBalancerAddress.apply((lb) =>
              hostOf({ hostnames: [], loadBalancerAddress: lb, clusterFqdn: mirrorService.clusterDnsNames[3], port: mirrorService.port }),
          );
export const mirrorDeploymentName = mirror?.deploymentName ?? pulumi.output("");
