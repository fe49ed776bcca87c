// A private Docker registry on Kubernetes: read the stack config, wire the components, export
// what clients and CI need. Everything else lives in config.ts and components/.
import * as pulumi from "@pulumi/pulumi";

import {
    Registry,
    RegistryAuth,
    RegistryNamespace,
    RegistryService,
    RegistryTls,
    createAccess,
    createDns,
    createStorage,
    dataLivesInNamespace,
    dockerConfigJson as dockerConfigJsonFor,
    htpasswdUsers,
    registryHost as hostOf,
    reachableHosts,
    registryLabels,
    reserveServiceAddress,
} from "./components";
import { loadConfig } from "./config";

const cfg = loadConfig();
const name = cfg.registryName;
const { labels, selector } = registryLabels(name);
const retainData = !cfg.deleteStorageOnDestroy;

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
    annotations: { ...cfg.service.annotations, ...address.annotations },
    loadBalancerSourceRanges: cfg.service.loadBalancerSourceRanges,
    loadBalancerIP: address.ip,
});

const dns = createDns(name, cfg.dns, {
    loadBalancerHostname: service.loadBalancerHostname,
    loadBalancerIp: service.loadBalancerIp,
    serviceAnnotations: cfg.service.annotations,
    reservedIp: address.ip,
});
// Published DNS names first: the first public name is the one images are tagged with.
const publicNames = dns.names.apply((names) => [...new Set([...names, ...cfg.hostnames])]);

// The certificate names every way in: public names, in-cluster names and the load balancer.
const tls = new RegistryTls(name, {
    config: cfg.tls,
    dnsNames: pulumi
        .all([publicNames, service.loadBalancerHostname])
        .apply(([names, lb]) => [...new Set([...names, ...service.clusterDnsNames, ...(lb === "" ? [] : [lb])])]),
    ipAddresses: service.loadBalancerIp.apply((ip) => [...new Set([...cfg.ipAddresses, ...(ip === "" ? [] : [ip])])]),
});

const auth = new RegistryAuth(name, { users: htpasswdUsers(cfg.users, cfg.access), passwordLength: cfg.passwordLength });

const storage = createStorage(name, cfg.storage, {
    namespace: ns.name,
    namespaceName: cfg.namespace,
    registryName: name,
    serviceAccountName: name,
    labels,
    retainData,
});

const registry = new Registry(name, {
    registryName: name,
    namespace: ns.name,
    labels,
    selector,
    image: cfg.image,
    replicas: cfg.replicas,
    storage: storage.storage,
    tls,
    htpasswd: auth.htpasswd,
    httpSecret: auth.httpSecret,
    authRealm: cfg.authRealm,
    deleteEnabled: cfg.storageDeleteEnabled,
    resources: cfg.resources,
    log: cfg.log,
});

const primary = auth.users[0];

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
        .apply(([host, names, lb]) => [...new Set([host, ...reachableHosts({ publicNames: names, clusterDnsNames: service.clusterDnsNames, loadBalancerAddress: lb, port: service.port })])]),
    serviceName: name,
    servicePort: service.port,
    serviceFqdn: service.clusterDnsNames[3],
    caCertificatePem: tls.caCertificatePem,
    certificatePem: tls.certificatePem,
    privateKeyPem: tls.privateKeyPem,
    users: auth.users,
});

export const registryUrl = pulumi.interpolate`https://${registryHost}`;
export const caCertificate = tls.caCertificatePem;
export const username = primary.name;
export const password = primary.password;
/** Every user's password (secret). */
export const passwords = auth.passwords;
/** `~/.docker/config.json` / `kubernetes.io/dockerconfigjson` content for the primary user (secret). */
export const dockerConfigJson = pulumi.secret(pulumi.all([registryHost, primary.password]).apply(([host, pw]) => dockerConfigJsonFor(host, primary.name, pw)));
export const namespace = ns.name;
export const serviceName = service.name;
export const loadBalancerAddress = service.loadBalancerAddress;
export const deploymentName = registry.deploymentName;
/** Where the images are stored, e.g. `s3://<bucket>/registry` ("" when the backend has no such address). */
export const storageLocation = pulumi.output(storage.storage.location ?? "");
