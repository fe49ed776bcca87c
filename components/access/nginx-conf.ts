// The localhost proxy's nginx.conf, built with the shared renderer (components/cluster/nginx.ts).
import { renderNginx } from "../cluster/nginx";

export { NginxDirective, QuotedArg, renderNginx } from "../cluster/nginx";

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
 * `localhost` without TLS), TLS to the registry verified against its CA. Only `GET` and `HEAD`
 * pass (403 for anything else): nodes only pull, and the hostPort is reachable from the node's
 * network, where a push user's password would travel in clear. Host and X-Forwarded-Proto are
 * passed so the registry's `Location` URLs point back at `http://localhost:<port>`; blobs stream
 * (no buffering). Connections to the registry are kept
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
                                // GET (and so HEAD) only; `deny all` answers anything else with 403.
                                { name: "limit_except", args: ["GET"], block: [{ name: "deny", args: ["all"] }] },
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
