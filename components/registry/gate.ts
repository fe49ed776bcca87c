// The gate: an nginx sidecar in every registry pod, the one place that decides who may do what.
//
// distribution has no authorization: with htpasswd, every user it knows may push, overwrite and
// delete. The gate terminates TLS with the registry's certificate, checks each request's Basic
// credentials against bcrypt htpasswd files (at `htpasswdBcryptCost`, through the image's
// crypt(3)), and picks the file by method: `GET` and `HEAD` are checked against everyone (push and
// pull users), every other method against the push users only, so a pull-only user's write fails
// authentication (401) before anything reaches the registry. The registry itself runs without
// auth or TLS, listening only on a unix socket in an emptyDir the two containers share: the
// Service, an Ingress, the probes and every other pod arrive at the gate's port, and there is no
// other way in.
//
// A push is tens of requests, each with the same credentials. With `gateAuthCacheSeconds` above 0
// the gate remembers a passed check: `/v2/` asks an internal `auth_request` location, which
// proxies the check (credentials, role) to the gate's own port, where `auth_basic` runs against the
// role's file, and caches the 200 for that many seconds keyed by role and credentials. Failures
// are never cached. So a push pays one bcrypt check per role, not one per request.
import type * as k8s from "@pulumi/kubernetes";

import type { Reader } from "../config/reader";
import { imageTagOf, pinnedImage } from "../config/validators";
import { NginxDirective, renderNginx } from "../cluster/nginx";
import { restrictedContainerSecurityContext } from "../cluster/security-context";
import {
    AUTH_DIR,
    GATE_AUTH_CACHE_DIR,
    GATE_CONF_DIR,
    GATE_CONF_PATH,
    PULL_HTPASSWD,
    PUSH_HTPASSWD,
    REGISTRY_PORT,
    SOCKET_DIR,
    SOCKET_PATH,
    TLS_CERT_PATH,
    TLS_DIR,
    TLS_KEY_PATH,
} from "./layout";

/** The methods pull-only users may use: reads. Anything else needs a push user. */
export const READ_METHODS = ["GET", "HEAD"] as const;

/** Where the gate writes its pid and temp files (an emptyDir: the root filesystem is read-only). */
export const GATE_TMP_DIR = "/tmp";

/**
 * musl's crypt(3) computes bcrypt only up to cost 11 (it refuses a higher cost, so every login
 * would fail) and knows `$2a$`, `$2x$`, `$2y$` but not `$2b$`; glibc's libxcrypt takes 4-31 and all
 * four. The program writes `$2a$`, so only the cost matters.
 */
export const MUSL_MAX_BCRYPT_COST = 11;

/** Pod volumes the gate mounts, by name. */
export const GATE_VOLUMES = {
    config: "gate-config",
    tmp: "gate-tmp",
    authCache: "gate-auth-cache",
    tls: "tls",
    auth: "auth",
    sockets: "sockets",
} as const;

/** `gateAuthCacheSeconds` when not set. */
export const GATE_AUTH_CACHE_DEFAULT_SECONDS = 60;

/** The longest `gateAuthCacheSeconds`: an hour. */
export const GATE_AUTH_CACHE_MAX_SECONDS = 3600;

/** The role whose htpasswd file a method is checked against. */
type Role = "pull" | "push";
const ROLE_FILES: Readonly<Record<Role, string>> = { pull: `${AUTH_DIR}/${PULL_HTPASSWD}`, push: `${AUTH_DIR}/${PUSH_HTPASSWD}` };

/** The internal location `/v2/` asks, and the per-role checks it proxies to on the gate's own port. */
const AUTH_REQUEST_PATH = "/_gate/auth";
const CHECK_PATH = "/_gate/check/";

export interface GateConfArgs {
    /** `port` or `address:port` the gate listens on with TLS. */
    readonly listen: string;
    /** Basic auth realm. */
    readonly realm: string;
    /** Write an access log line per request, naming the user. */
    readonly accessLog: boolean;
    /** Seconds a passed check is remembered (`gateAuthCacheSeconds`); 0: `auth_basic` on every request. */
    readonly authCacheSeconds: number;
}

/**
 * The gate's nginx.conf. `/v2/` (the registry API, authenticated, the file of allowed users chosen
 * by method), `= /` (the registry's liveness answer, for the gate's readiness probe; `GET`/`HEAD`
 * only, and always sent upstream as `/`, so no path that nginx normalises to `/` reaches the
 * registry as something else), 404 for everything else; with the cache, also the internal
 * `auth_request` location and the two checks it proxies to, which answer only the pod's own
 * loopback and never reach the registry.
 */
export function gateConf(a: GateConfArgs): string {
    const t = GATE_TMP_DIR;
    const cached = a.authCacheSeconds > 0;
    const realm = { quoted: a.realm };
    // With the cache, `/v2/` asks the internal location; without, it checks itself.
    const authenticate: NginxDirective[] = cached
        ? [{ name: "auth_request", args: [AUTH_REQUEST_PATH] }]
        : [
              { name: "auth_basic", args: [realm] },
              { name: "auth_basic_user_file", args: ["$gate_users"] },
          ];
    const authLocations: NginxDirective[] = cached
        ? [
              {
                  name: "location",
                  args: ["=", AUTH_REQUEST_PATH],
                  block: [
                      { name: "internal" },
                      // An address, not a name: no resolver needed; `$server_port` is the port the client came in on.
                      { name: "proxy_pass", args: [`https://127.0.0.1:$server_port${CHECK_PATH}$gate_role`] },
                      // The client's request line and headers, without its body: nginx would still
                      // hold its Content-Length against this location's limit (1m by default).
                      { name: "client_max_body_size", args: [0] },
                      { name: "proxy_pass_request_body", args: ["off"] },
                      { name: "proxy_set_header", args: ["Content-Length", ""] },
                      { name: "proxy_cache", args: ["gate_auth"] },
                      { name: "proxy_cache_key", args: ["$gate_role:$http_authorization"] },
                      { name: "proxy_cache_valid", args: [200, `${a.authCacheSeconds}s`] },
                      // Parallel first requests with the same credentials wait for one check.
                      { name: "proxy_cache_lock", args: ["on"] },
                  ],
              },
              ...(["pull", "push"] as const).map((role): NginxDirective => ({
                  name: "location",
                  args: ["=", `${CHECK_PATH}${role}`],
                  block: [
                      { name: "allow", args: ["127.0.0.1"] },
                      { name: "deny", args: ["all"] },
                      { name: "auth_basic", args: [realm] },
                      { name: "auth_basic_user_file", args: [ROLE_FILES[role]] },
                      // A 200 from the content phase, after the access checks (a `return` would skip them).
                      { name: "empty_gif" },
                  ],
              })),
          ]
        : [];
    // One upstream connection pool over the socket, HTTP/1.1 without `Connection: close`.
    const upstream: NginxDirective[] = [
        { name: "proxy_http_version", args: ["1.1"] },
        { name: "proxy_set_header", args: ["Connection", ""] },
    ];
    return renderNginx([
        // Workers do the bcrypt checks; a fixed count, since `auto` would follow the node's CPUs
        // past the container's memory limit.
        { name: "worker_processes", args: [2] },
        { name: "pid", args: [`${t}/nginx.pid`] },
        { name: "error_log", args: ["/dev/stderr", "warn"] },
        { name: "daemon", args: ["off"] },
        { name: "events", block: [{ name: "worker_connections", args: [1024] }] },
        {
            name: "http",
            block: [
                { name: "access_log", args: a.accessLog ? ["/dev/stdout", "combined"] : ["off"] },
                { name: "server_tokens", args: ["off"] },
                { name: "client_body_temp_path", args: [`${t}/client_body`] },
                { name: "proxy_temp_path", args: [`${t}/proxy`] },
                { name: "fastcgi_temp_path", args: [`${t}/fastcgi`] },
                { name: "uwsgi_temp_path", args: [`${t}/uwsgi`] },
                { name: "scgi_temp_path", args: [`${t}/scgi`] },
                // Who may use a method: reads, everyone; anything else, push users only. In an
                // `auth_request` subrequest, `$request_method` is still the client's request's.
                {
                    name: "map",
                    args: ["$request_method", "$gate_role"],
                    entries: [...READ_METHODS.map((m): [string, string] => [m, "pull"]), ["default", "push"]],
                },
                {
                    name: "map",
                    args: ["$gate_role", "$gate_users"],
                    entries: [
                        ["pull", ROLE_FILES.pull],
                        ["default", ROLE_FILES.push],
                    ],
                },
                ...(cached
                    ? [
                          {
                              name: "proxy_cache_path",
                              args: [
                                  GATE_AUTH_CACHE_DIR,
                                  "levels=1",
                                  "keys_zone=gate_auth:1m",
                                  "max_size=8m",
                                  `inactive=${a.authCacheSeconds}s`,
                                  "use_temp_path=off",
                              ],
                          },
                      ]
                    : []),
                // The registry writes absolute `Location` URLs with this scheme: https, unless a
                // proxy in front (the localhost proxy speaks plain HTTP to its clients) says otherwise.
                {
                    name: "map",
                    args: ["$http_x_forwarded_proto", "$gate_forwarded_proto"],
                    entries: [
                        ["", "https"],
                        ["default", "$http_x_forwarded_proto"],
                    ],
                },
                // Clients look for this header on the 401 of `/v2/`, which the gate answers itself.
                {
                    name: "map",
                    args: ["$upstream_http_docker_distribution_api_version", "$gate_api_version"],
                    entries: [
                        ["", "registry/2.0"],
                        ["default", ""],
                    ],
                },
                {
                    name: "upstream",
                    args: ["registry"],
                    block: [
                        { name: "server", args: [`unix:${SOCKET_PATH}`] },
                        { name: "keepalive", args: [32] },
                    ],
                },
                {
                    name: "server",
                    block: [
                        { name: "listen", args: [a.listen, "ssl"] },
                        { name: "ssl_certificate", args: [TLS_CERT_PATH] },
                        { name: "ssl_certificate_key", args: [TLS_KEY_PATH] },
                        { name: "ssl_protocols", args: ["TLSv1.2", "TLSv1.3"] },
                        {
                            name: "location",
                            args: ["/v2/"],
                            block: [
                                ...authenticate,
                                { name: "add_header", args: ["Docker-Distribution-Api-Version", "$gate_api_version", "always"] },
                                { name: "proxy_pass", args: ["http://registry"] },
                                ...upstream,
                                { name: "proxy_set_header", args: ["Host", "$http_host"] },
                                { name: "proxy_set_header", args: ["X-Forwarded-Proto", "$gate_forwarded_proto"] },
                                { name: "proxy_set_header", args: ["X-Forwarded-For", "$proxy_add_x_forwarded_for"] },
                                { name: "proxy_set_header", args: ["X-Real-IP", "$remote_addr"] },
                                // The registry needs no credentials; it never sees them.
                                { name: "proxy_set_header", args: ["Authorization", ""] },
                                // Layers stream both ways, in 64 KiB reads, never to temp files.
                                { name: "client_max_body_size", args: [0] },
                                { name: "client_body_buffer_size", args: ["64k"] },
                                { name: "proxy_request_buffering", args: ["off"] },
                                { name: "proxy_buffering", args: ["off"] },
                                { name: "proxy_buffer_size", args: ["64k"] },
                                { name: "proxy_buffers", args: [8, "64k"] },
                                { name: "proxy_read_timeout", args: ["900s"] },
                                { name: "proxy_send_timeout", args: ["900s"] },
                            ],
                        },
                        {
                            name: "location",
                            args: ["=", "/"],
                            block: [
                                { name: "limit_except", args: ["GET"], block: [{ name: "deny", args: ["all"] }] },
                                { name: "proxy_pass", args: ["http://registry/"] },
                                ...upstream,
                            ],
                        },
                        ...authLocations,
                        { name: "location", args: ["/"], block: [{ name: "return", args: [404] }] },
                    ],
                },
            ],
        },
    ]);
}

/** Reads `gateAuthCacheSeconds`. */
export function parseGateAuthCache(r: Reader<"gateAuthCacheSeconds">): number {
    return r.integer("gateAuthCacheSeconds", 0, GATE_AUTH_CACHE_MAX_SECONDS);
}

/**
 * Reads `gateImage` (a pinned image) and refuses a musl-based (Alpine) one with a bcrypt cost its
 * crypt(3) cannot compute. `cost` is the parsed `htpasswdBcryptCost`.
 */
export function parseGateImage(r: Reader<"gateImage">, cost: number): string {
    const image = pinnedImage(r, "gateImage");
    const tag = imageTagOf(image) ?? "";
    if (/alpine/i.test(tag) && cost > MUSL_MAX_BCRYPT_COST) {
        r.problem(
            `\`htpasswdBcryptCost\` ${cost} cannot be checked by an Alpine \`gateImage\` (\`${image}\`): musl's crypt(3) computes bcrypt only up to cost ${MUSL_MAX_BCRYPT_COST}. ` +
                `Use a Debian-based image such as \`docker.io/nginxinc/nginx-unprivileged:1.28.0\`, or a cost of ${MUSL_MAX_BCRYPT_COST} or less`,
        );
    }
    return image;
}

export interface GateContainerArgs {
    /** Pinned nginx image (no default). */
    readonly image: string;
    /** Seconds of the preStop pause, the same as the registry's (no default). */
    readonly preStopSeconds: number;
}

/**
 * The gate's container. It runs as the pod's user, the registry's: the socket is the registry's
 * (mode 0755 under the default umask), and connecting to a unix socket needs write permission on it.
 */
export function gateContainer(a: GateContainerArgs): k8s.types.input.core.v1.Container {
    return {
        name: "gate",
        image: a.image,
        imagePullPolicy: "IfNotPresent",
        // -e: the image's built-in error log path is on the read-only root.
        command: ["nginx", "-e", "/dev/stderr", "-c", GATE_CONF_PATH],
        ports: [{ name: "https", containerPort: REGISTRY_PORT, protocol: "TCP" }],
        // Through the gate to the registry's own `/`: ready when both answer (503 while the
        // registry's storage health check fails, like the registry's own readiness).
        readinessProbe: { httpGet: { path: "/", port: "https", scheme: "HTTPS" }, periodSeconds: 10, timeoutSeconds: 5, failureThreshold: 3 },
        // nginx itself: a registry that does not answer must not restart the gate.
        livenessProbe: { tcpSocket: { port: "https" }, initialDelaySeconds: 5, periodSeconds: 20, timeoutSeconds: 5, failureThreshold: 6 },
        // Keeps serving through the same pause as the registry while endpoints drop the pod; the
        // images stop nginx with SIGQUIT (STOPSIGNAL), which finishes the requests in flight.
        lifecycle: { preStop: { sleep: { seconds: a.preStopSeconds } } },
        resources: { requests: { cpu: "50m", memory: "32Mi" }, limits: { memory: "128Mi" } },
        volumeMounts: [
            { name: GATE_VOLUMES.config, mountPath: GATE_CONF_DIR, readOnly: true },
            { name: GATE_VOLUMES.tls, mountPath: TLS_DIR, readOnly: true },
            { name: GATE_VOLUMES.auth, mountPath: AUTH_DIR, readOnly: true },
            { name: GATE_VOLUMES.sockets, mountPath: SOCKET_DIR },
            { name: GATE_VOLUMES.tmp, mountPath: GATE_TMP_DIR },
            { name: GATE_VOLUMES.authCache, mountPath: GATE_AUTH_CACHE_DIR },
        ],
        securityContext: restrictedContainerSecurityContext(),
    };
}
