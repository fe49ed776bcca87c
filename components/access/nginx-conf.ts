// nginx configuration as values: directives are data, rendered by one function that refuses any
// argument nginx would parse differently (quotes, braces, semicolons, whitespace, comments); the
// empty string is written as `""`, which nginx reads as an empty argument.

/** One nginx directive: `name args...;` or `name args... { block }`. */
export interface NginxDirective {
    readonly name: string;
    readonly args?: readonly (string | number)[];
    readonly block?: readonly NginxDirective[];
}

const SAFE_ARG = /^[A-Za-z0-9_.:/$@*=,+\-[\]]+$/;

/** Renders directives as nginx.conf text; throws on an argument that is not a single safe token. */
export function renderNginx(directives: readonly NginxDirective[], indent = ""): string {
    return directives
        .map((d) => {
            if (!/^[a-z_][a-z0-9_]*$/.test(d.name)) {
                throw new Error(`nginx directive name ${JSON.stringify(d.name)} is not valid`);
            }
            const args = (d.args ?? []).map((a) => {
                const s = String(a);
                if (s === "") {
                    return '""';
                }
                if (!SAFE_ARG.test(s)) {
                    throw new Error(`nginx argument ${JSON.stringify(s)} of ${d.name} is not a single safe token`);
                }
                return s;
            });
            const head = [d.name, ...args].join(" ");
            if (d.block === undefined) {
                return `${indent}${head};\n`;
            }
            return `${indent}${head} {\n${renderNginx(d.block, `${indent}    `)}${indent}}\n`;
        })
        .join("");
}

export interface LocalProxyConfArgs {
    /** `port` or `address:port` to listen on (plain HTTP: clients reach it as localhost). */
    readonly listen: string;
    /** Address of the registry Service (a DNS name in the cluster). */
    readonly upstreamHost: string;
    readonly upstreamPort: number;
    /** Name to verify the registry's certificate by (and send as SNI). */
    readonly upstreamName: string;
    /** PEM file of the CA that signed the registry's certificate. */
    readonly caFile: string;
    /** Writable directory for the pid file and temp files. */
    readonly tmpDir: string;
}

/**
 * The localhost proxy's nginx.conf: plain HTTP on the node's hostPort (container runtimes accept
 * `localhost` without TLS), TLS to the registry verified against its CA. Uploads stream (no body
 * size limit, no buffering). Host and X-Forwarded-Proto are passed so the registry's upload
 * `Location` URLs point back at `http://localhost:<port>`. Connections to the registry are kept
 * alive and reused: without that nginx opens one (TCP and a TLS handshake) per request, and a
 * pull or push is tens of requests.
 */
export function localProxyConf(a: LocalProxyConfArgs): string {
    const t = a.tmpDir;
    return renderNginx([
        { name: "worker_processes", args: [1] },
        { name: "pid", args: [`${t}/nginx.pid`] },
        { name: "error_log", args: ["/dev/stderr", "warn"] },
        { name: "daemon", args: ["off"] },
        { name: "events", block: [{ name: "worker_connections", args: [1024] }] },
        {
            name: "http",
            block: [
                { name: "access_log", args: ["off"] },
                { name: "server_tokens", args: ["off"] },
                { name: "client_body_temp_path", args: [`${t}/client_body`] },
                { name: "proxy_temp_path", args: [`${t}/proxy`] },
                { name: "fastcgi_temp_path", args: [`${t}/fastcgi`] },
                { name: "uwsgi_temp_path", args: [`${t}/uwsgi`] },
                { name: "scgi_temp_path", args: [`${t}/scgi`] },
                {
                    name: "upstream",
                    args: ["registry"],
                    block: [
                        { name: "server", args: [`${a.upstreamHost}:${a.upstreamPort}`] },
                        { name: "keepalive", args: [16] },
                    ],
                },
                {
                    name: "server",
                    block: [
                        { name: "listen", args: [a.listen] },
                        { name: "client_max_body_size", args: [0] },
                        {
                            name: "location",
                            args: ["/"],
                            block: [
                                { name: "proxy_pass", args: ["https://registry"] },
                                { name: "proxy_ssl_trusted_certificate", args: [a.caFile] },
                                { name: "proxy_ssl_verify", args: ["on"] },
                                { name: "proxy_ssl_verify_depth", args: [2] },
                                { name: "proxy_ssl_name", args: [a.upstreamName] },
                                { name: "proxy_ssl_server_name", args: ["on"] },
                                // HTTP/1.1 without `Connection: close`: what upstream keepalive needs.
                                { name: "proxy_http_version", args: ["1.1"] },
                                { name: "proxy_set_header", args: ["Connection", ""] },
                                { name: "proxy_request_buffering", args: ["off"] },
                                { name: "proxy_buffering", args: ["off"] },
                                { name: "proxy_read_timeout", args: ["900s"] },
                                { name: "proxy_send_timeout", args: ["900s"] },
                                { name: "proxy_set_header", args: ["Host", "$http_host"] },
                                { name: "proxy_set_header", args: ["X-Forwarded-Proto", "http"] },
                                { name: "proxy_set_header", args: ["X-Forwarded-For", "$proxy_add_x_forwarded_for"] },
                            ],
                        },
                    ],
                },
            ],
        },
    ]);
}
