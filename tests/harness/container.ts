// Runs a pod's container the way the kubelet does, for the containers the e2e tests run for real
// (the registry binary of the image's line): volumes materialised into directories (ConfigMap and
// Secret keys or `items` with `defaultMode` and the fsGroup, emptyDirs, claims), `env` resolved
// (secretKeyRef, configMapKeyRef, fieldRef), and the binary started with the pod's command, args
// and env, each volume bind-mounted at its mountPath in a private mount namespace, as the pod's
// user, with a read-only root filesystem when the pod asks for one.
//
// The pod comes from a PodSource: the program's objects under mocks (tests/harness/harness.ts) or the
// objects a real API server holds (tests/engine/kubelet/).
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as path from "path";

import { CACHE_BIN } from "./procs";

import peers from "./peers.json";

/** A pod's spec, the container to run, and the objects it references in its namespace. */
export interface PodSource {
    readonly namespace: string;
    readonly podSpec: Record<string, any>;
    readonly container: Record<string, any>;
    /** A Secret's keys, decoded; undefined when there is no such Secret. */
    secretData(name: string): Record<string, string> | undefined;
    /** A ConfigMap's data; undefined when there is no such ConfigMap. */
    configMapData(name: string): Record<string, string> | undefined;
    /**
     * The files of a `projected` volume (service account token, CA, namespace), by path; only a
     * pod from an API server has them (the ServiceAccount admission plugin adds the volume).
     */
    projectedFiles?(volume: string): Record<string, string> | undefined;
}

/** Debian's 2.8 build; the 2.8.x images run the same line. */
export const DEBIAN_REGISTRY = "/usr/bin/docker-registry";

/** The registry binary that runs an image: the pinned `go install` build for 3.x, Debian's for 2.8. */
export function registryBinary(pod: PodSource): string {
    const image = String(pod.container.image);
    const tag = /:([^:@/]+)(@sha256:[a-f0-9]+)?$/.exec(image)?.[1] ?? "";
    if (tag.startsWith("2.8.")) {
        return DEBIAN_REGISTRY;
    }
    const pinned = peers.go.registry3;
    if (`v${tag}` !== pinned.version) {
        throw new Error(`the pod runs ${image}; the e2e tests build only ${pinned.module}@${pinned.version} (tests/harness/peers.json)`);
    }
    return path.join(CACHE_BIN, pinned.binary);
}

export interface Mount {
    readonly source: string;
    readonly target: string;
    readonly readOnly: boolean;
}

/**
 * Whether registry processes run in private mount namespaces as the pod's user (root with
 * CAP_SYS_ADMIN). REGISTRY_E2E_MOUNT_NS=0 forces the path-rewriting fallback.
 */
export const mountNamespaces = (() => {
    let ok: boolean | undefined;
    return (): boolean => {
        if (ok === undefined && process.env.REGISTRY_E2E_MOUNT_NS === "0") {
            ok = false;
        }
        if (ok === undefined) {
            try {
                execFileSync("unshare", ["--mount", "--propagation", "private", "true"], { stdio: "ignore" });
                ok = true;
            } catch {
                ok = false;
            }
        }
        return ok;
    };
})();

function writeFile(file: string, content: string, mode: number, gid: number | undefined): void {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, content, { mode });
    fs.chmodSync(file, mode);
    if (gid !== undefined && process.getuid?.() === 0) {
        fs.chownSync(file, 0, gid);
    }
}

/**
 * Materialises the pod's volumes for one replica the way the kubelet does: ConfigMap and Secret
 * keys (or `items`) as files with `defaultMode` and the fsGroup, emptyDirs fresh, PVCs shared by
 * every replica. Returns the bind mounts for the container's volumeMounts.
 */
export function materialise(pod: PodSource, root: string, claimDirs: Record<string, string>, sharedRoot: string): Mount[] {
    return containerMounts(pod.container, materialiseVolumes(pod, root, claimDirs, sharedRoot));
}

/**
 * The pod's volumes as directories (see materialise), once for all its containers: an emptyDir
 * two containers mount is one directory (the registry's socket and its gate).
 */
export function materialiseVolumes(pod: PodSource, root: string, claimDirs: Record<string, string>, sharedRoot: string): Map<string, string> {
    const fsGroup: number | undefined = pod.podSpec.securityContext?.fsGroup;
    const volumes = new Map<string, Record<string, any>>((pod.podSpec.volumes as Record<string, any>[]).map((v) => [v.name, v]));
    const volumeDirs = new Map<string, string>();
    for (const [name, v] of volumes) {
        const dir = path.join(root, "volumes", name);
        if (v.configMap !== undefined || v.secret !== undefined) {
            fs.mkdirSync(dir, { recursive: true });
            const isSecret = v.secret !== undefined;
            const ref = isSecret ? v.secret.secretName : v.configMap.name;
            const data = isSecret ? pod.secretData(ref) : pod.configMapData(ref);
            if (data === undefined) {
                throw new Error(`volume ${name} references ${isSecret ? "Secret" : "ConfigMap"} ${ref}, which does not exist`);
            }
            const items: { key: string; path: string; mode?: number }[] =
                (isSecret ? v.secret.items : v.configMap.items) ?? Object.keys(data).map((k) => ({ key: k, path: k }));
            const mode: number = (isSecret ? v.secret.defaultMode : v.configMap.defaultMode) ?? 0o644;
            for (const item of items) {
                if (!(item.key in data)) {
                    throw new Error(`volume ${name}: key ${item.key} is not in ${ref}`);
                }
                writeFile(path.join(dir, item.path), data[item.key], item.mode ?? mode, fsGroup);
            }
        } else if (v.projected !== undefined && pod.projectedFiles?.(name) !== undefined) {
            const mode: number = v.projected.defaultMode ?? 0o644;
            for (const [file, content] of Object.entries(pod.projectedFiles(name) ?? {})) {
                writeFile(path.join(dir, file), content, mode, fsGroup);
            }
        } else if (v.emptyDir !== undefined) {
            fs.mkdirSync(dir, { recursive: true });
        } else if (v.persistentVolumeClaim !== undefined) {
            const claim: string = v.persistentVolumeClaim.claimName;
            claimDirs[claim] ??= path.join(sharedRoot, "claims", claim);
            fs.mkdirSync(claimDirs[claim], { recursive: true });
            volumeDirs.set(name, claimDirs[claim]);
            continue;
        } else {
            throw new Error(`volume ${name}: the harness does not know how to materialise ${Object.keys(v).join(",")}`);
        }
        volumeDirs.set(name, dir);
    }
    // Writable volumes belong to the fsGroup, setgid, as the kubelet leaves them.
    for (const [name, v] of volumes) {
        if ((v.emptyDir !== undefined || v.persistentVolumeClaim !== undefined) && fsGroup !== undefined && process.getuid?.() === 0) {
            const dir = volumeDirs.get(name) ?? "";
            fs.chownSync(dir, 0, fsGroup);
            fs.chmodSync(dir, 0o2775);
        }
    }
    return volumeDirs;
}

/** A container's bind mounts, from its volumeMounts and the pod's materialised volumes. */
export function containerMounts(container: Record<string, any>, volumeDirs: ReadonlyMap<string, string>): Mount[] {
    return ((container.volumeMounts ?? []) as Record<string, any>[]).map((m) => {
        const source = volumeDirs.get(m.name);
        if (source === undefined) {
            throw new Error(`volumeMount ${m.name} has no volume`);
        }
        return { source: m.subPath === undefined ? source : path.join(source, m.subPath), target: m.mountPath, readOnly: m.readOnly === true };
    });
}

/** The container's env with every valueFrom resolved against the program's objects. */
export function resolveEnv(pod: PodSource, podName: string, podIP = "127.0.0.1"): Record<string, string> {
    const env: Record<string, string> = {};
    for (const e of (pod.container.env ?? []) as Record<string, any>[]) {
        if (e.value !== undefined) {
            env[e.name] = String(e.value);
            continue;
        }
        const from = e.valueFrom ?? {};
        let value: string | undefined;
        if (from.secretKeyRef !== undefined) {
            value = pod.secretData(from.secretKeyRef.name)?.[from.secretKeyRef.key];
        } else if (from.configMapKeyRef !== undefined) {
            value = pod.configMapData(from.configMapKeyRef.name)?.[from.configMapKeyRef.key];
        } else if (from.fieldRef !== undefined) {
            value = ({ "metadata.name": podName, "metadata.namespace": pod.namespace, "status.podIP": podIP } as Record<string, string>)[
                from.fieldRef.fieldPath
            ];
        }
        if (value === undefined) {
            const optional = from.secretKeyRef?.optional === true || from.configMapKeyRef?.optional === true;
            if (optional) {
                continue;
            }
            throw new Error(`env ${e.name}: cannot resolve ${JSON.stringify(from)}`);
        }
        env[e.name] = value;
    }
    return env;
}

/** Shell-quotes one word. */
function q(s: string): string {
    return `'${s.replace(/'/g, "'\\''")}'`;
}

/**
 * The command that runs the container: in a private mount namespace, bind-mount each volume at
 * its mountPath, make the root read-only if asked, drop to the pod's user and capabilities,
 * exec the binary. Without mount namespaces, paths in args and ConfigMap files are rewritten to
 * the materialised directories instead.
 */
export function containerCommand(pod: PodSource, binary: string | undefined, mounts: Mount[]): { cmd: string; args: string[] } {
    const c = pod.container;
    if (binary !== undefined && c.command?.[0] !== "/bin/registry") {
        throw new Error(`the harness runs the registry binary as /bin/registry; the container's command is ${JSON.stringify(c.command)}`);
    }
    if (binary === undefined && !(c.command?.length > 0)) {
        throw new Error("a container run with the machine's own programs needs an explicit command");
    }
    // With `binary`, command[0] (/bin/registry) is that binary; without, the command runs as it is,
    // from this machine's root filesystem (e.g. /bin/sh and kubectl for the GC procedure).
    const program: string = binary ?? c.command[0];
    const args: string[] = [...(c.command.slice(1) as string[]), ...((c.args ?? []) as string[])];
    const psc = pod.podSpec.securityContext ?? {};
    const sc = c.securityContext ?? {};
    const uid: number | undefined = sc.runAsUser ?? psc.runAsUser;
    const gid: number | undefined = sc.runAsGroup ?? psc.runAsGroup;
    const isRoot = process.getuid?.() === 0;
    if (!mountNamespaces()) {
        const byLength = [...mounts].sort((a, b) => b.target.length - a.target.length);
        const rewrite = (s: string) => byLength.reduce((acc, m) => acc.split(m.target).join(m.source), s);
        const configFile = (n: string) => n.endsWith(".yml") || n.endsWith(".yaml") || n.endsWith(".conf");
        for (const m of mounts.filter((x) => x.readOnly)) {
            const files = fs.statSync(m.source).isDirectory() ? fs.readdirSync(m.source).map((f) => path.join(m.source, f)) : [m.source];
            for (const file of files.filter(configFile)) {
                fs.writeFileSync(file, rewrite(fs.readFileSync(file, "utf8")));
            }
        }
        return { cmd: program, args: args.map(rewrite) };
    }
    // A mount can hide the source of a later one (an emptyDir on /tmp hides a work directory
    // under /tmp), so every source, and the binary, is first bound into a private tmpfs on
    // STAGE, then from there to its target. The binary may also sit where the pod's user cannot
    // reach it (/root/.cache); from the stage it is reachable, as /bin/registry is in the image.
    const STAGE = "/mnt";
    for (const m of mounts) {
        if (m.target === "/" || m.target === STAGE || m.target.startsWith(`${STAGE}/`)) {
            throw new Error(`volumeMount at ${m.target} collides with the harness's staging directory ${STAGE}`);
        }
    }
    const script: string[] = ["set -e", `mount -t tmpfs -o mode=0755 e2e-stage ${STAGE}`];
    // A file (e.g. a hosts file on /etc/hosts) is bound onto a file, a directory onto a directory.
    const isFile = mounts.map((m) => fs.existsSync(m.source) && fs.statSync(m.source).isFile());
    mounts.forEach((m, i) => {
        script.push(isFile[i] ? `touch ${STAGE}/v${i}` : `mkdir ${STAGE}/v${i}`, `mount --bind ${q(m.source)} ${STAGE}/v${i}`);
    });
    if (binary !== undefined) {
        script.push(`touch ${STAGE}/registry`, `mount --bind ${q(binary)} ${STAGE}/registry`);
    }
    mounts.forEach((m, i) => {
        script.push(isFile[i] ? `[ -e ${q(m.target)} ] || touch ${q(m.target)}` : `mkdir -p ${q(m.target)}`, `mount --bind ${STAGE}/v${i} ${q(m.target)}`);
        if (m.readOnly) {
            script.push(`mount -o remount,bind,ro ${q(m.target)}`);
        }
    });
    if (sc.readOnlyRootFilesystem === true) {
        script.push("mount -o remount,bind,ro /");
    }
    const setpriv: string[] = [];
    if (isRoot && uid !== undefined) {
        setpriv.push("setpriv", `--reuid=${uid}`, `--regid=${gid ?? uid}`);
        setpriv.push(psc.fsGroup !== undefined ? `--groups=${psc.fsGroup}` : "--clear-groups");
        if (sc.allowPrivilegeEscalation === false) {
            setpriv.push("--no-new-privs");
        }
        if ((sc.capabilities?.drop ?? []).includes("ALL")) {
            setpriv.push("--inh-caps=-all", "--bounding-set=-all");
        }
        setpriv.push("--");
    }
    script.push(`exec ${[...setpriv, binary === undefined ? program : `${STAGE}/registry`].map(q).join(" ")} "$@"`);
    return { cmd: "unshare", args: ["--mount", "--propagation", "private", "--", "/bin/sh", "-c", script.join("\n"), "registry", ...args] };
}

/** The nginx images whose containers run this machine's nginx (Debian's, built on the same libxcrypt as the Debian-based images). */
export function isNginxContainer(container: Record<string, any>): boolean {
    return /(^|\/)nginx(-unprivileged)?:/.test(String(container.image ?? "")) && container.command?.[0] === "nginx";
}

/**
 * An nginx container's config with every `listen <port>` moved to `address:<port(port)>` (the
 * pod's address, and in the e2e harness a free port): the one change to the file, the counterpart
 * of a registry's REGISTRY_HTTP_ADDR. The result is written into `dir` and bind-mounted over the
 * config path (`-c`), so the pod's ConfigMap volume stays as declared. `transform` may change the
 * text further (the bench's gate without auth).
 */
export function nginxListenMount(
    container: Record<string, any>,
    mounts: readonly Mount[],
    dir: string,
    address: string,
    port: (containerPort: number) => number,
    transform: (conf: string) => string = (c) => c,
): Mount {
    const command = (container.command ?? []) as string[];
    const target = command[command.indexOf("-c") + 1];
    const mount = [...mounts].filter((m) => target.startsWith(`${m.target}/`)).sort((a, b) => b.target.length - a.target.length)[0];
    if (command.indexOf("-c") < 0 || mount === undefined) {
        throw new Error(`cannot find the nginx.conf of container ${String(container.name)} (${JSON.stringify(command)}) among its mounts`);
    }
    const conf = fs.readFileSync(path.join(mount.source, target.slice(mount.target.length + 1)), "utf8");
    let listens = 0;
    const pinned = conf.replace(/^(\s*listen )(\d+)([ ;])/gm, (_all, head: string, p: string, tail: string) => {
        listens++;
        return `${head}${address}:${port(Number(p))}${tail}`;
    });
    if (listens === 0) {
        throw new Error(`no \`listen <port>\` in the nginx.conf of container ${String(container.name)}`);
    }
    // A pod's 127.0.0.1 is its own network namespace's, where `listen <port>` also answers (the
    // gate asks itself to check credentials). Without a namespace of its own the pod's loopback
    // is its address: requests nginx makes to 127.0.0.1 go there. (`allow 127.0.0.1` stays: a
    // connection to another 127.x address still comes from 127.0.0.1, lo's route source.)
    const ownLoopback = pinned.replace(/(https?:\/\/)127\.0\.0\.1:/g, `$1${address}:`);
    // Without mount namespaces the container runs as this process's user; nginx started as root
    // would run its workers as `nobody`, which cannot reach the registry's socket. A pod's nginx
    // runs as the pod's user, workers included: so do these.
    const asRoot = !mountNamespaces() && process.getuid?.() === 0 ? "user root;\n" : "";
    const file = path.join(dir, `${String(container.name)}-nginx.conf`);
    fs.writeFileSync(file, asRoot + transform(ownLoopback), { mode: 0o644 });
    return { source: file, target, readOnly: true };
}

/**
 * Creates a container's log file owned by the user the container runs as: a program that opens
 * /dev/stdout or /dev/stderr by path (nginx's logs) reopens that file, as a runtime's log pipe
 * would let it.
 */
export function containerLogFile(pod: PodSource, container: Record<string, any>, file: string): string {
    fs.writeFileSync(file, "", { flag: "a" });
    const uid: number | undefined = container.securityContext?.runAsUser ?? pod.podSpec.securityContext?.runAsUser;
    const gid: number | undefined = container.securityContext?.runAsGroup ?? pod.podSpec.securityContext?.runAsGroup;
    if (uid !== undefined && process.getuid?.() === 0) {
        fs.chownSync(file, uid, gid ?? uid);
    }
    return file;
}

/** The signal that stops a container: SIGQUIT for nginx (the images' STOPSIGNAL: a graceful stop), else SIGTERM. */
export function stopSignal(container: Record<string, any>): NodeJS.Signals {
    return isNginxContainer(container) ? "SIGQUIT" : "SIGTERM";
}
