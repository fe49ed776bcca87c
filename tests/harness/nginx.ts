// A round-robin TLS proxy (Debian's nginx) in front of registry replicas: the test's stand-in for
// the Kubernetes Service. Settings a registry needs behind a proxy: no body size limit, no
// request buffering (streams uploads), the client's Host header kept.
import * as fs from "fs";
import * as path from "path";

import { Proc, startProc, waitFor, workDir } from "./procs";
import { request } from "./http";

export interface RoundRobinArgs {
    /** Port to listen on (127.0.0.1). */
    readonly port: number;
    /** Backend replica ports (HTTPS on 127.0.0.1). */
    readonly backends: readonly number[];
    /** Server certificate and key the proxy presents (the registry's own). */
    readonly certFile: string;
    readonly keyFile: string;
    /** CA that signed the backends' certificate, and the name to verify them by. */
    readonly caFile: string;
    readonly backendName: string;
}

export interface RoundRobin {
    readonly proc: Proc;
    /** Lines `METHOD URI -> upstream status` per request. */
    upstreamLog(): string[];
    stop(): Promise<void>;
    /** Stops nginx and deletes its directory (config, logs). */
    remove(): Promise<void>;
}

/** Starts nginx round-robin over `backends`; resolves once it answers. */
export async function startRoundRobin(args: RoundRobinArgs): Promise<RoundRobin> {
    const dir = workDir("nginx");
    const tmp = path.join(dir, "tmp");
    fs.mkdirSync(tmp);
    const upLog = path.join(dir, "upstream.log");
    // nginx's own syntax; each value below comes from the test, none from user input.
    const conf = [
        `worker_processes 1; pid ${dir}/nginx.pid; error_log ${dir}/error.log warn; daemon off;`,
        "events { worker_connections 512; }",
        "http {",
        `  access_log off; client_body_temp_path ${tmp}/body; proxy_temp_path ${tmp}/proxy;`,
        `  fastcgi_temp_path ${tmp}/f; uwsgi_temp_path ${tmp}/u; scgi_temp_path ${tmp}/s;`,
        "  log_format up '$request_method $uri -> $upstream_addr $status';",
        `  upstream registry { ${args.backends.map((p) => `server 127.0.0.1:${p} max_fails=0;`).join(" ")} }`,
        "  server {",
        `    listen 127.0.0.1:${args.port} ssl; ssl_certificate ${args.certFile}; ssl_certificate_key ${args.keyFile};`,
        `    client_max_body_size 0; access_log ${upLog} up;`,
        "    location / {",
        `      proxy_pass https://registry; proxy_ssl_trusted_certificate ${args.caFile}; proxy_ssl_verify on;`,
        `      proxy_ssl_name ${args.backendName}; proxy_ssl_server_name on;`,
        "      proxy_http_version 1.1; proxy_request_buffering off; proxy_buffering off; proxy_read_timeout 300;",
        "      proxy_next_upstream error timeout; proxy_set_header Host $http_host; proxy_set_header X-Forwarded-Proto https;",
        "    }",
        "  }",
        "}",
    ].join("\n");
    fs.writeFileSync(path.join(dir, "nginx.conf"), conf);
    const proc = startProc("nginx", "nginx", ["-e", path.join(dir, "error.log"), "-c", path.join(dir, "nginx.conf")], {
        env: { PATH: process.env.PATH ?? "/usr/sbin:/usr/bin:/bin" },
        logFile: path.join(dir, "stdout.log"),
    });
    const ca = fs.readFileSync(args.caFile, "utf8");
    await waitFor(`nginx on ${args.port}`, async () => (await request(`https://127.0.0.1:${args.port}/`, { ca })).status > 0, 15000, 100, proc);
    return {
        proc,
        upstreamLog: () => (fs.existsSync(upLog) ? fs.readFileSync(upLog, "utf8").split("\n").filter(Boolean) : []),
        stop: () => proc.stop(),
        async remove() {
            await proc.stop();
            fs.rmSync(dir, { recursive: true, force: true });
        },
    };
}
