/** How clients reach the registry, derived from the config and the Service. */
export interface EndpointArgs {
    /** Configured public names; the first wins. */
    readonly hostnames: readonly string[];
    /** The load balancer's IP or hostname ("" when none). */
    readonly loadBalancerAddress: string;
    /** The Service's in-cluster FQDN, the fallback when nothing else is known. */
    readonly clusterFqdn: string;
    /** The Service port. */
    readonly port: number;
}

/** `host[:port]` to tag images with: a public name, else the load balancer, else the in-cluster name. */
export function registryHost(args: EndpointArgs): string {
    const host = args.hostnames[0] ?? (args.loadBalancerAddress !== "" ? args.loadBalancerAddress : args.clusterFqdn);
    return hostWithPort(host, args.port);
}

/** `host[:port]` as clients and container runtimes name a registry (no port for 443, IPv6 in brackets). */
export function hostWithPort(host: string, port: number): string {
    const h = host.includes(":") ? `[${host}]` : host;
    return port === 443 ? h : `${h}:${port}`;
}

/** A `~/.docker/config.json` / `kubernetes.io/dockerconfigjson` document for one user. */
export function dockerConfigJson(host: string, username: string, password: string): string {
    return dockerConfigJsonForHosts([host], username, password);
}

/** The same document, one entry per name the registry is reached by. */
export function dockerConfigJsonForHosts(hosts: readonly string[], username: string, password: string): string {
    const auth = Buffer.from(`${username}:${password}`).toString("base64");
    return JSON.stringify({ auths: Object.fromEntries(hosts.map((h) => [h, { username, password, auth }])) });
}

/** The names images may be tagged with: the published DNS names first, then the configured hostnames. */
export function publicNames(published: readonly string[], hostnames: readonly string[]): string[] {
    return [...new Set([...published, ...hostnames])];
}

/** Every name the certificate covers: public names, each Service's in-cluster names, the load balancers' hostnames. */
export function certificateDnsNames(names: readonly string[], clusterNames: readonly string[], loadBalancerHostnames: readonly string[]): string[] {
    return [...new Set([...names, ...clusterNames, ...loadBalancerHostnames.filter((h) => h !== "")])];
}

/** Every IP the certificate covers: the configured ones and the load balancers' addresses. */
export function certificateIpAddresses(configured: readonly string[], loadBalancerIps: readonly string[]): string[] {
    return [...new Set([...configured, ...loadBalancerIps.filter((ip) => ip !== "")])];
}
