// The access area's keys: node CA trust, the localhost proxy, pull secrets, the Ingress and image
// mirroring. Parsed with the one Reader, so every problem lands in the one ConfigError raised
// before any resource exists.
import type { ConfigKeySpec, Reader } from "../config/reader";
import { DNS_LABEL, duplicateIn, LABEL_VALUE, parseAnnotations, pinnedImage, QUALIFIED_NAME, USERNAME } from "../config/validators";

export const ACCESS_KEYS = {
    nodeTrust: {
        type: "string",
        default: "auto",
        description:
            "Install the registry's CA on every node for containerd (`certs.d/<host>/hosts.toml` + `ca.crt`) and Docker, with a DaemonSet: auto (when the CA is generated), true or false.",
    },
    nodeTrustImage: {
        type: "string",
        default: "docker.io/library/busybox:1.37.0",
        description: "Image of the node trust DaemonSet (a shell and cp/cmp; pinned tag or digest).",
    },
    nodeTolerations: {
        type: "array",
        default: ["*"],
        description: "Tolerations of the node DaemonSets, as taints: key[=value][:Effect]; * tolerates every taint.",
    },
    localProxy: {
        type: "boolean",
        default: false,
        description:
            "Run a proxy on every node's hostPort so `localhost:<localProxyPort>/<image>` works where nodes cannot be changed (speaks TLS to the registry).",
    },
    localProxyPort: { type: "integer", default: 5000, description: "hostPort of the localhost proxy on each node." },
    localProxyImage: {
        type: "string",
        default: "docker.io/nginxinc/nginx-unprivileged:1.28.0-alpine",
        description: "Image of the localhost proxy (nginx, running unprivileged).",
    },
    pullSecretNamespaces: {
        type: "array",
        default: [],
        description: "Namespaces that get a kubernetes.io/dockerconfigjson Secret `<registryName>-pull` for pullUser (pull-only).",
    },
    pullSecretPatchServiceAccount: {
        type: "boolean",
        default: false,
        description: "Set the pull Secret as imagePullSecrets of the default ServiceAccount in each of pullSecretNamespaces (replaces that list).",
    },
    pullUser: {
        type: "string",
        default: "puller",
        description:
            "The pull-only user whose credentials the program hands out: the pull Secrets and the pullDockerConfigJson output. Added to pullUsers when not listed; never one of users.",
    },
    ingressEnabled: { type: "boolean", default: false, description: "Expose the registry through an Ingress for the hostnames (besides the Service)." },
    ingressClassName: { type: "string", default: "nginx", description: "IngressClass of the Ingress." },
    ingressTls: {
        type: "string",
        default: "reencrypt",
        description:
            "How the Ingress reaches the registry: reencrypt (terminates TLS with the registry's certificate, verifies the registry with its CA) or passthrough (ingress-nginx with `--enable-ssl-passthrough`).",
    },
    ingressAnnotations: {
        type: "array",
        default: [],
        description: "Extra Ingress annotations as key=value strings (for controllers other than ingress-nginx).",
    },
    mirrorImages: {
        type: "array",
        default: [],
        description:
            "Upstream images (fully qualified, with a tag) a Job copies into the registry as `<registryHost>/<upstream name>:<tag>` after it is ready; re-run when the list changes.",
    },
    mirrorImage: { type: "string", default: "quay.io/skopeo/stable:v1.16.1", description: "Image of the mirroring Job (skopeo; pinned tag or digest)." },
} as const satisfies Record<string, ConfigKeySpec>;

export type AccessKey = keyof typeof ACCESS_KEYS;

/** A Kubernetes toleration, as the DaemonSets take it. */
export interface Toleration {
    readonly key?: string;
    readonly operator: "Exists" | "Equal";
    readonly value?: string;
    readonly effect?: "NoSchedule" | "PreferNoSchedule" | "NoExecute";
}

/** The DaemonSet that installs the CA on every node for containerd and Docker. */
export interface NodeTrustConfig {
    readonly enabled: boolean;
    readonly image: string;
}

/** The per-node proxy on a hostPort (`localhost:<port>/<image>`). */
export interface LocalProxyConfig {
    readonly enabled: boolean;
    readonly port: number;
    readonly image: string;
}

/** `kubernetes.io/dockerconfigjson` Secrets for the pull-only user in listed namespaces. */
export interface PullSecretsConfig {
    readonly namespaces: readonly string[];
    readonly patchDefaultServiceAccount: boolean;
    /** `pullUser`: always a pull-only user; also the `pullDockerConfigJson` output's. */
    readonly user: string;
}

export const INGRESS_TLS_MODES = ["reencrypt", "passthrough"] as const;

/** An Ingress in front of the registry's Service. */
export interface IngressConfig {
    readonly enabled: boolean;
    readonly className: string;
    readonly tls: (typeof INGRESS_TLS_MODES)[number];
    readonly annotations: Readonly<Record<string, string>>;
}

/** A Job copying upstream images into the registry (air-gapped clusters). */
export interface MirrorConfig {
    /** Upstream references, fully qualified, each with a tag (and optionally a digest). */
    readonly images: readonly string[];
    readonly image: string;
}

/** The access settings, validated, defaults applied. */
export interface AccessConfig {
    readonly nodeTrust: NodeTrustConfig;
    readonly localProxy: LocalProxyConfig;
    /** Tolerations of both node DaemonSets. */
    readonly tolerations: readonly Toleration[];
    /** The namespace of the node DaemonSets (`<namespace>-node`, Pod Security `privileged`). */
    readonly nodeNamespace: string;
    readonly pullSecrets: PullSecretsConfig;
    readonly ingress: IngressConfig;
    readonly mirror: MirrorConfig;
    /** Pull-only users this area adds to `pullUsers` (`pullUser`, when not listed there). */
    readonly extraPullUsers: readonly string[];
}

/** What parseAccess needs from the rest of the config. */
export interface AccessParseContext {
    readonly namespace: string;
    /** Push users (`users`) and pull-only users (`pullUsers`) as configured. */
    readonly users: readonly string[];
    readonly pullUsers: readonly string[];
    readonly hostnames: readonly string[];
    readonly tlsMode: "generate" | "provided";
}

const EFFECTS = ["NoSchedule", "PreferNoSchedule", "NoExecute"] as const;

/**
 * Parses one toleration written as a taint: `*` (every taint), `key`, `key:Effect`,
 * `key=value`, `key=value:Effect`. Returns undefined when malformed.
 */
export function parseToleration(spec: string): Toleration | undefined {
    if (spec === "*") {
        return { operator: "Exists" };
    }
    const m = /^([^=:]+)(=([^:]*))?(:([A-Za-z]+))?$/.exec(spec);
    if (m === null) {
        return undefined;
    }
    const [, key, hasValue, value, , effect] = m;
    if (!QUALIFIED_NAME.test(key) || (value !== undefined && !LABEL_VALUE.test(value))) {
        return undefined;
    }
    if (effect !== undefined && !(EFFECTS as readonly string[]).includes(effect)) {
        return undefined;
    }
    return {
        key,
        operator: hasValue === undefined ? "Exists" : "Equal",
        ...(hasValue === undefined ? {} : { value }),
        ...(effect === undefined ? {} : { effect: effect as Toleration["effect"] }),
    };
}

// domain (with a dot or a port, or localhost) / path : tag [@sha256:digest]
const QUALIFIED_TAGGED_IMAGE =
    /^(localhost|[a-z0-9-]+(\.[a-z0-9-]+)+|[a-z0-9-]+(\.[a-z0-9-]+)*:[0-9]+)(\/[a-z0-9]+([._-][a-z0-9]+)*)+:[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}(@sha256:[a-f0-9]{64})?$/;

/** Parses the access keys; records each problem on `r`. */
export function parseAccess(r: Reader<AccessKey>, ctx: AccessParseContext): AccessConfig {
    const trustMode = r.oneOf("nodeTrust", ["auto", "true", "false"] as const);
    // A generated CA is unknown to every node; a provided certificate may come from a CA the
    // nodes already trust, so `auto` installs only the generated one.
    const nodeTrust: NodeTrustConfig = {
        enabled: trustMode === "true" || (trustMode === "auto" && ctx.tlsMode === "generate"),
        image: pinnedImage(r, "nodeTrustImage"),
    };
    const localProxy: LocalProxyConfig = {
        enabled: r.boolean("localProxy"),
        port: r.integer("localProxyPort", 1, 65535),
        image: pinnedImage(r, "localProxyImage"),
    };

    const tolerations: Toleration[] = [];
    for (const spec of r.stringArray("nodeTolerations")) {
        const t = parseToleration(spec);
        if (t === undefined) {
            r.problem(
                `\`nodeTolerations\` entries must be \`*\` or a taint \`key[=value][:Effect]\` with Effect one of ${EFFECTS.join(", ")}; got \`${spec}\``,
            );
        } else {
            tolerations.push(t);
        }
    }

    const nodeNamespace = `${ctx.namespace}-node`;
    if ((nodeTrust.enabled || localProxy.enabled) && nodeNamespace.length > 63) {
        r.problem(
            `\`namespace\` must be at most 58 characters when \`nodeTrust\` or \`localProxy\` is on: the node DaemonSets run in \`<namespace>-node\`; got ${ctx.namespace.length}`,
        );
    }

    const namespaces = r.stringArray("pullSecretNamespaces");
    for (const ns of namespaces) {
        if (!DNS_LABEL.test(ns)) {
            r.problem(`\`pullSecretNamespaces\` entries must be namespace names (lowercase DNS labels); got \`${ns}\``);
        }
    }
    const dupNs = duplicateIn(namespaces);
    if (dupNs !== undefined) {
        r.problem(`\`pullSecretNamespaces\` lists \`${dupNs}\` twice`);
    }
    const patchDefaultServiceAccount = r.boolean("pullSecretPatchServiceAccount");
    if (patchDefaultServiceAccount && namespaces.length === 0) {
        r.problem("`pullSecretPatchServiceAccount` needs `pullSecretNamespaces`: it patches the default ServiceAccount of those namespaces");
    }
    const user = r.string("pullUser");
    if (!USERNAME.test(user)) {
        r.problem(`\`pullUser\` must be 1-64 characters of a-z, 0-9, '.', '_', '-' starting with a letter or digit; got \`${user}\``);
    }
    // Whatever the program hands out for pulling carries a pull-only credential.
    if (ctx.users.includes(user)) {
        r.problem(
            `\`pullUser\` \`${user}\` is a push user (in \`users\`); the pull Secrets and \`pullDockerConfigJson\` carry only pull-only credentials: ` +
                `move \`${user}\` from \`users\` to \`pullUsers\`, or set \`pullUser\` to another name`,
        );
    }
    const extraPullUsers = ctx.users.includes(user) || ctx.pullUsers.includes(user) ? [] : [user];

    const ingressEnabled = r.boolean("ingressEnabled");
    const className = r.string("ingressClassName");
    if (!DNS_LABEL.test(className)) {
        r.problem(`\`ingressClassName\` must be an IngressClass name (lowercase DNS label); got \`${className}\``);
    }
    const annotations = parseAnnotations(r, "ingressAnnotations");
    const ingressTls = r.oneOf("ingressTls", INGRESS_TLS_MODES);
    if (ingressEnabled && ctx.hostnames.length === 0) {
        r.problem("`ingressEnabled` needs `hostnames`: an Ingress routes by host name, and the certificate must cover it");
    }

    const mirrorImages = r.stringArray("mirrorImages");
    for (const m of mirrorImages) {
        if (!QUALIFIED_TAGGED_IMAGE.test(m)) {
            r.problem(
                `\`mirrorImages\` entries must be fully qualified image references with a tag, such as \`docker.io/library/nginx:1.27.3\` (a digest may follow the tag); got \`${m}\``,
            );
        }
    }
    const dupImage = duplicateIn(mirrorImages);
    if (dupImage !== undefined) {
        r.problem(`\`mirrorImages\` lists \`${dupImage}\` twice`);
    }
    const mirror: MirrorConfig = { images: mirrorImages, image: pinnedImage(r, "mirrorImage") };

    return {
        mirror,
        nodeTrust,
        localProxy,
        tolerations,
        nodeNamespace,
        pullSecrets: { namespaces, patchDefaultServiceAccount, user },
        ingress: { enabled: ingressEnabled, className, tls: ingressTls, annotations },
        extraPullUsers,
    };
}
