// The one part of the kubelet API the stand-in serves: container logs, for `kubectl logs`.
import * as fs from "fs";
import * as https from "https";

import { makePki } from "../../support/pki";

/**
 * The kubelet API's container logs (`GET /containerLogs/<ns>/<pod>/<container>?tailLines=N`),
 * which the API server calls for `kubectl logs`; on 127.0.0.1, with a certificate of its own
 * (the API server does not verify kubelets unless told to) and no authentication of the
 * caller, which a real kubelet has. Nothing else of the kubelet API is served. `logFileOf` names
 * a container's log file; undefined: no such container.
 */
export async function serveContainerLogs(
    nodeName: string,
    logFileOf: (namespace: string, pod: string, container: string) => string | undefined,
): Promise<{ server: https.Server; port: number }> {
    const pki = await makePki([nodeName], ["127.0.0.1"]);
    const server = https.createServer({ cert: pki.certPem, key: pki.keyPem }, (req, res) => {
        const url = new URL(req.url ?? "/", "https://kubelet");
        const m = /^\/containerLogs\/([^/]+)\/([^/]+)\/([^/]+)$/.exec(url.pathname);
        const logFile = m === null ? undefined : logFileOf(m[1], m[2], m[3]);
        if (req.method !== "GET" || logFile === undefined || !fs.existsSync(logFile)) {
            res.writeHead(404).end();
            return;
        }
        let lines = fs.readFileSync(logFile, "utf8").split("\n");
        const tail = Number(url.searchParams.get("tailLines") ?? "-1");
        if (tail >= 0) {
            lines = lines.slice(-(tail + 1));
        }
        res.writeHead(200, { "Content-Type": "text/plain" }).end(lines.join("\n"));
    });
    await new Promise<void>((resolve, reject) => {
        server.once("error", reject);
        server.listen(0, "127.0.0.1", () => resolve());
    });
    const addr = server.address();
    return { server, port: typeof addr === "object" && addr !== null ? addr.port : 0 };
}
