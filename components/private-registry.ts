// The whole registry as one component: the typed, validated configuration in, what clients and CI
// need out. index.ts is one of its users; a platform team's own program can be another.
import * as pulumi from "@pulumi/pulumi";

import type { RegistryConfig } from "../config";
import { createAccess, pullUserOf, reachableHosts, registryUsers } from "./access";
import { RegistryNamespace, RegistryService, registryLabels, serviceAnnotations } from "./cluster";
import { createDns, reserveServiceAddress } from "./dns";
import { GarbageCollector, PullThroughCache, RedisCache, RegistryAutoscaler, RegistryMonitoring, gcMode, registryScheduling } from "./operations";
import { Registry, certificateDnsNames, certificateIpAddresses, dockerConfigJson, publicNames, registryHost } from "./registry";
import { RegistryAuth, RegistryTls } from "./security";
import { createStorage, dataLivesInNamespace } from "./storage";

export class PrivateRegistry extends pulumi.ComponentResource {
    /** `host[:port]` to tag images with. */
    public readonly registryHost: pulumi.Output<string>;
    /** `https://<registryHost>`. */
    public readonly registryUrl: pulumi.Output<string>;
    /** PEM of the CA clients must trust. */
    public readonly caCertificate: pulumi.Output<string>;
    /** The first push user, and its password (secret). */
    public readonly username: string;
    public readonly password: pulumi.Output<string>;
    /** Every user's password, by user (secret). */
    public readonly passwords: pulumi.Output<Record<string, string>>;
    /** `~/.docker/config.json` / `kubernetes.io/dockerconfigjson` content for the first push user (secret). */
    public readonly dockerConfigJson: pulumi.Output<string>;
    /** The pull-only user (`pullUser`), its password and its `dockerconfigjson` (secrets): for whatever only pulls. */
    public readonly pullUsername: string;
    public readonly pullPassword: pulumi.Output<string>;
    public readonly pullDockerConfigJson: pulumi.Output<string>;
    public readonly namespace: pulumi.Output<string>;
    public readonly serviceName: pulumi.Output<string>;
    /** IP or hostname of the load balancer ("" for ClusterIP/NodePort). */
    public readonly loadBalancerAddress: pulumi.Output<string>;
    public readonly deploymentName: pulumi.Output<string>;
    /** Where the images are stored, e.g. `s3://<bucket>/registry` ("" when the backend has no such address). */
    public readonly storageLocation: pulumi.Output<string>;
    /** `host[:port]` of the pull-through cache ("" without one). */
    public readonly mirrorHost: pulumi.Output<string>;
    public readonly mirrorDeploymentName: pulumi.Output<string>;

    /**
     * `cfg` comes from `loadConfig()` (stack config) or `parseConfig(raw)` (any key/value object):
     * validated before anything is created. The resources are named after `cfg.registryName`;
     * `name` names this component only.
     */
    constructor(name: string, cfg: RegistryConfig, opts?: pulumi.ComponentResourceOptions) {
        super("registry:index:PrivateRegistry", name, {}, withDependsOnForDescendants(opts));
        // The children kept the URNs they had when index.ts made them at the top level, so a
        // stack deployed before this component existed updates in place.
        const child: pulumi.ComponentResourceOptions = { parent: this, aliases: [{ parent: pulumi.rootStackResource }] };
        const rname = cfg.registryName;
        const { labels, selector } = registryLabels(rname);
        const retainData = !cfg.deleteStorageOnDestroy;
        const ops = cfg.operations;
        // The annotations given, and those that ask AWS for the load balancer configured.
        const annotations = serviceAnnotations(cfg.service);

        const ns = new RegistryNamespace(
            rname,
            { name: cfg.namespace, create: cfg.createNamespace, retainOnDelete: retainData && dataLivesInNamespace(cfg.storage) },
            child,
        );

        // A DNS provider may reserve the load balancer's address before the Service exists.
        const address = reserveServiceAddress(rname, cfg.dns, child);
        const serviceArgs = {
            namespace: ns.name,
            namespaceName: cfg.namespace,
            type: cfg.service.type,
            port: cfg.service.port,
            loadBalancerSourceRanges: cfg.service.loadBalancerSourceRanges,
        };
        const service = new RegistryService(
            rname,
            {
                ...serviceArgs,
                serviceName: rname,
                selector,
                labels,
                nodePort: cfg.service.nodePort,
                annotations: { ...annotations, ...address.annotations },
                loadBalancerIP: address.ip,
            },
            child,
        );

        // The pull-through cache instance, beside the registry (its Service exists before the certificate, which names it).
        const mirrorName = `${rname}-mirror`;
        const mirrorLabels = registryLabels(mirrorName);
        const mirrorService =
            ops.proxy === undefined
                ? undefined
                : new RegistryService(mirrorName, { ...serviceArgs, serviceName: mirrorName, ...mirrorLabels, annotations }, child);

        const dns = createDns(
            rname,
            cfg.dns,
            {
                loadBalancerHostname: service.loadBalancerHostname,
                loadBalancerIp: service.loadBalancerIp,
                serviceAnnotations: annotations,
                reservedIp: address.ip,
            },
            child,
        );
        const names = dns.names.apply((published) => publicNames(published, cfg.hostnames));

        // The certificate names every way in: public names, in-cluster names and the load balancers.
        const services = [service, ...(mirrorService === undefined ? [] : [mirrorService])];
        const tls = new RegistryTls(
            rname,
            {
                config: cfg.tls,
                dnsNames: pulumi.all([names, pulumi.all(services.map((s) => s.loadBalancerHostname))]).apply(([n, lbs]) =>
                    certificateDnsNames(
                        n,
                        services.flatMap((s) => s.clusterDnsNames),
                        lbs,
                    ),
                ),
                ipAddresses: pulumi.all(services.map((s) => s.loadBalancerIp)).apply((ips) => certificateIpAddresses(cfg.ipAddresses, ips)),
                rotation: ops.tlsRotation,
            },
            child,
        );

        // Push users and pull-only users; the gate in each registry pod enforces the difference.
        const auth = new RegistryAuth(
            rname,
            {
                ...registryUsers(cfg.users, cfg.pullUsers, cfg.access),
                passwordLength: cfg.passwordLength,
                rotation: ops.passwordRotation,
                bcryptCost: cfg.htpasswdBcryptCost,
            },
            child,
        );

        const storage = createStorage(
            rname,
            cfg.storage,
            { namespace: ns.name, namespaceName: cfg.namespace, registryName: rname, serviceAccountName: rname, labels, retainData },
            child,
        );

        const redis =
            ops.cache.kind === "redis"
                ? new RedisCache(`${rname}-cache`, { config: ops.cache, namespace: ns.name, registryName: rname, line: cfg.image.line, labels }, child)
                : undefined;

        const registry = new Registry(
            rname,
            {
                registryName: rname,
                namespace: ns.name,
                labels,
                selector,
                image: cfg.image,
                gateImage: cfg.gateImage,
                gateAuthCacheSeconds: cfg.gateAuthCacheSeconds,
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
            },
            child,
        );

        if (ops.autoscaling !== undefined) {
            new RegistryAutoscaler(rname, { namespace: ns.name, deploymentName: registry.deploymentName, labels, ...ops.autoscaling }, child);
        }
        if (ops.gc !== undefined) {
            new GarbageCollector(
                `${rname}-gc`,
                {
                    config: ops.gc,
                    namespace: ns.name,
                    registryName: rname,
                    labels,
                    podSpec: registry.podSpec,
                    configFile: registry.configFile,
                    mode: gcMode(storage.storage.shareable),
                },
                child,
            );
        }
        if (ops.serviceMonitor || ops.alertRules) {
            new RegistryMonitoring(
                `${rname}-monitoring`,
                {
                    namespace: ns.name,
                    namespaceName: cfg.namespace,
                    registryName: rname,
                    labels,
                    selector,
                    serviceMonitor: ops.serviceMonitor,
                    alertRules: ops.alertRules,
                    selectionLabels: ops.metricsLabels,
                },
                child,
            );
        }
        const mirror =
            ops.proxy === undefined
                ? undefined
                : new PullThroughCache(
                      mirrorName,
                      {
                          config: ops.proxy,
                          registryName: mirrorName,
                          namespace: ns.name,
                          ...mirrorLabels,
                          image: cfg.image,
                          gateImage: cfg.gateImage,
                          gateAuthCacheSeconds: cfg.gateAuthCacheSeconds,
                          tls,
                          htpasswd: auth.htpasswd,
                          httpSecret: auth.httpSecret,
                          authRealm: cfg.authRealm,
                          log: cfg.log,
                      },
                      child,
                  );

        this.registryHost = pulumi
            .all([names, service.loadBalancerAddress])
            .apply(([hostnames, lb]) => registryHost({ hostnames, loadBalancerAddress: lb, clusterFqdn: service.clusterFqdn, port: service.port }));

        // Nodes, pods, CI and ingresses: node CA trust, the localhost proxy, pull Secrets, the Ingress.
        createAccess(
            rname,
            cfg.access,
            {
                registryName: rname,
                namespace: ns.name,
                namespaceName: cfg.namespace,
                labels,
                hostnames: cfg.hostnames,
                hosts: pulumi
                    .all([this.registryHost, names, service.loadBalancerAddress])
                    .apply(([host, n, lb]) => [
                        ...new Set([
                            host,
                            ...reachableHosts({ publicNames: n, clusterDnsNames: service.clusterDnsNames, loadBalancerAddress: lb, port: service.port }),
                        ]),
                    ]),
                serviceName: rname,
                servicePort: service.port,
                serviceFqdn: service.clusterFqdn,
                caCertificatePem: tls.caCertificatePem,
                certificatePem: tls.certificatePem,
                privateKeyPem: tls.privateKeyPem,
                users: auth.users,
                registryDeployment: registry.deployment,
            },
            child,
        );

        const primary = auth.users[0];
        const puller = pullUserOf(auth.users, cfg.access);
        const configFor = (user: { name: string; password: pulumi.Output<string> }): pulumi.Output<string> =>
            pulumi.secret(pulumi.all([this.registryHost, user.password]).apply(([host, pw]) => dockerConfigJson(host, user.name, pw)));
        this.registryUrl = pulumi.interpolate`https://${this.registryHost}`;
        this.caCertificate = tls.caCertificatePem;
        this.username = primary.name;
        this.password = primary.password;
        this.passwords = auth.passwords;
        this.dockerConfigJson = configFor(primary);
        this.pullUsername = puller.name;
        this.pullPassword = puller.password;
        this.pullDockerConfigJson = configFor(puller);
        this.namespace = ns.name;
        this.serviceName = service.name;
        this.loadBalancerAddress = service.loadBalancerAddress;
        this.deploymentName = registry.deploymentName;
        this.storageLocation = pulumi.output(storage.storage.location ?? "");
        this.mirrorHost =
            mirrorService === undefined
                ? pulumi.output("")
                : mirrorService.loadBalancerAddress.apply((lb) =>
                      registryHost({ hostnames: [], loadBalancerAddress: lb, clusterFqdn: mirrorService.clusterFqdn, port: mirrorService.port }),
                  );
        this.mirrorDeploymentName = mirror?.deploymentName ?? pulumi.output("");
        this.registerOutputs({ registryHost: this.registryHost, registryUrl: this.registryUrl, deploymentName: this.deploymentName });
    }
}

/**
 * A component's `dependsOn` holds back the component alone: Pulumi does not pass it to the
 * resources inside. A transformation, which Pulumi applies to the component and every descendant,
 * adds it to each of them, so `dependsOn: [namespace]` makes the whole registry wait (e.g. for the
 * namespaces of `pullSecretNamespaces`).
 */
function withDependsOnForDescendants(opts: pulumi.ComponentResourceOptions | undefined): pulumi.ComponentResourceOptions | undefined {
    if (opts?.dependsOn === undefined) {
        return opts;
    }
    const dependsOn = opts.dependsOn;
    const wait: pulumi.ResourceTransformation = (args) => ({ props: args.props, opts: pulumi.mergeOptions(args.opts, { dependsOn }) });
    return { ...opts, transformations: [...(opts.transformations ?? []), wait] };
}
