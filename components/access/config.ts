// Parses and validates the access keys: node CA trust, the localhost proxy, pull
// secrets and the Ingress. Called from parseConfig (config.ts) with its Reader, so every problem
// lands in the one ConfigError raised before any resource exists.
import type { Reader } from "../../config";

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

const DNS_LABEL = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;
const USERNAME = /^[a-z0-9][a-z0-9._-]{0,63}$/;
/** A qualified name as in label and annotation keys: optional DNS prefix, then a name. */
export const QUALIFIED_NAME = /^([a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?\/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/;
/** A Kubernetes label value (possibly empty). */
export const LABEL_VALUE = /^([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?$/;
// registry/repository:tag or @sha256:digest; a tag is required and may not be `latest`.
const PINNED_IMAGE = /^[a-z0-9]+([._-][a-z0-9]+)*(:[0-9]+)?(\/[a-z0-9]+([._-][a-z0-9]+)*)+(:[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?(@sha256:[a-f0-9]{64})?$/;
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
const QUALIFIED_TAGGED_IMAGE = /^(localhost|[a-z0-9-]+(\.[a-z0-9-]+)+|[a-z0-9-]+(\.[a-z0-9-]+)*:[0-9]+)(\/[a-z0-9]+([._-][a-z0-9]+)*)+:[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}(@sha256:[a-f0-9]{64})?$/;

/** Reads an image key that must be pinned by an exact tag or a digest; records a problem otherwise. */
export function pinnedImage(r: Reader, key: "nodeTrustImage" | "localProxyImage" | "mirrorImage" | "gateImage"): string {
    const image = r.string(key);
    const tag = /:([^:/@]+)(@|$)/.exec(image.replace(/^[^/]+\//, ""))?.[1];
    if (!PINNED_IMAGE.test(image) || (tag === undefined && !image.includes("@sha256:")) || tag === "latest") {
        r.problem(`\`${key}\` must be an image pinned by an exact tag or a digest, such as \`docker.io/library/busybox:1.37.0\`; got \`${image}\``);
    }
    return image;
}

/** Parses the access keys; records each problem on `r`. */
export function parseAccess(r: Reader, ctx: AccessParseContext): AccessConfig {
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
            r.problem(`\`nodeTolerations\` entries must be \`*\` or a taint \`key[=value][:Effect]\` with Effect one of ${EFFECTS.join(", ")}; got \`${spec}\``);
        } else {
            tolerations.push(t);
        }
    }

    const nodeNamespace = `${ctx.namespace}-node`;
    if ((nodeTrust.enabled || localProxy.enabled) && nodeNamespace.length > 63) {
        r.problem(`\`namespace\` must be at most 58 characters when \`nodeTrust\` or \`localProxy\` is on: the node DaemonSets run in \`<namespace>-node\`; got ${ctx.namespace.length}`);
    }

    const namespaces = r.stringArray("pullSecretNamespaces");
    for (const ns of namespaces) {
        if (!DNS_LABEL.test(ns)) {
            r.problem(`\`pullSecretNamespaces\` entries must be namespace names (lowercase DNS labels); got \`${ns}\``);
        }
    }
    const dupNs = namespaces.find((n, i) => namespaces.indexOf(n) !== i);
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
    const annotations: Record<string, string> = {};
    for (const entry of r.stringArray("ingressAnnotations")) {
        const eq = entry.indexOf("=");
        const key = eq < 0 ? entry : entry.slice(0, eq);
        if (eq < 0 || !QUALIFIED_NAME.test(key)) {
            r.problem(`\`ingressAnnotations\` entries must be \`key=value\` with a valid annotation key; got \`${entry}\``);
            continue;
        }
        annotations[key] = entry.slice(eq + 1);
    }
    const ingressTls = r.oneOf("ingressTls", INGRESS_TLS_MODES);
    if (ingressEnabled && ctx.hostnames.length === 0) {
        r.problem("`ingressEnabled` needs `hostnames`: an Ingress routes by host name, and the certificate must cover it");
    }

    const mirrorImages = r.stringArray("mirrorImages");
    for (const m of mirrorImages) {
        if (!QUALIFIED_TAGGED_IMAGE.test(m)) {
            r.problem(`\`mirrorImages\` entries must be fully qualified image references with a tag, such as \`docker.io/library/nginx:1.27.3\` (a digest may follow the tag); got \`${m}\``);
        }
    }
    const dupImage = mirrorImages.find((m, i) => mirrorImages.indexOf(m) !== i);
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
