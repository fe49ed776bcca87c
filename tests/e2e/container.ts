// Runs a pod's container the way the kubelet does, for the containers the e2e tests run for real
// (the registry binary of the image's line): volumes materialised into directories (ConfigMap and
// Secret keys or `items` with `defaultMode` and the fsGroup, emptyDirs, claims), `env` resolved
// (secretKeyRef, configMapKeyRef, fieldRef), and the binary started with the pod's command, args
// and env, each volume bind-mounted at its mountPath in a private mount namespace, as the pod's
// user, with a read-only root filesystem when the pod asks for one.
//
// The pod comes from a PodSource: the program's objects under mocks (tests/e2e/harness.ts) or the
// objects a real API server holds (tests/engine/kubelet.ts).
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
        throw new Error(`the pod runs ${image}; the e2e tests build only ${pinned.module}@${pinned.version} (tests/e2e/peers.json)`);
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
            const items: { key: string; path: string; mode?: number }[] = (isSecret ? v.secret.items : v.configMap.items) ?? Object.keys(data).map((k) => ({ key: k, path: k }));
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
    return (pod.container.volumeMounts as Record<string, any>[]).map((m) => {
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
        for (const m of mounts.filter((x) => x.readOnly)) {
            for (const f of fs.readdirSync(m.source).filter((n) => n.endsWith(".yml") || n.endsWith(".yaml"))) {
                const file = path.join(m.source, f);
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

