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
    const bracketed = host.includes(":") ? `[${host}]` : host;
    return args.port === 443 ? bracketed : `${bracketed}:${args.port}`;
}

/** A `~/.docker/config.json` / `kubernetes.io/dockerconfigjson` document for one user. */
export function dockerConfigJson(host: string, username: string, password: string): string {
    const auth = Buffer.from(`${username}:${password}`).toString("base64");
    return JSON.stringify({ auths: { [host]: { username, password, auth } } });
}
