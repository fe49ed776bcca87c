// Validators more than one area uses: name patterns, `key=value` lists, pinned image references.
import type { Reader } from "./reader";

/** A lowercase DNS name (RFC 1123 subdomain), as Kubernetes object names and host names are. */
export const DNS_NAME = /^(?=.{1,253}$)[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/;
/** A lowercase DNS label (RFC 1123), as namespace names are. */
export const DNS_LABEL = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;
/** A lowercase RFC 1035 label (starts with a letter), as GCP resource names are. */
export const RFC1035_LABEL = /^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$/;
/** A registry user name: also a file name in the htpasswd Secret and a key in the outputs. */
export const USERNAME = /^[a-z0-9][a-z0-9._-]{0,63}$/;
/** A qualified name as in label and annotation keys: optional DNS prefix, then a name. */
export const QUALIFIED_NAME = /^([a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?\/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/;
/** A Kubernetes label value (possibly empty). */
export const LABEL_VALUE = /^([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?$/;
// registry/repository:tag or @sha256:digest; a tag is required and may not be `latest`.
const PINNED_IMAGE = /^[a-z0-9]+([._-][a-z0-9]+)*(:[0-9]+)?(\/[a-z0-9]+([._-][a-z0-9]+)*)+(:[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?(@sha256:[a-f0-9]{64})?$/;

/** The first entry a list holds twice, or undefined. */
export function duplicateIn(list: readonly string[]): string | undefined {
    return list.find((x, i) => list.indexOf(x) !== i);
}

/** `key=value` split at the first `=`; the value is undefined when there is no `=`. */
export function splitKeyValue(entry: string): { key: string; value?: string } {
    const eq = entry.indexOf("=");
    return eq < 0 ? { key: entry } : { key: entry.slice(0, eq), value: entry.slice(eq + 1) };
}

/** Reads a list of `key=value` annotations (any value); records a problem for each malformed entry. */
export function parseAnnotations<K extends string>(r: Reader<K>, key: K): Record<string, string> {
    const annotations: Record<string, string> = {};
    for (const entry of r.stringArray(key)) {
        const kv = splitKeyValue(entry);
        if (kv.value === undefined || !QUALIFIED_NAME.test(kv.key)) {
            r.problem(`\`${key}\` entries must be \`key=value\` with a valid annotation key; got \`${entry}\``);
            continue;
        }
        annotations[kv.key] = kv.value;
    }
    return annotations;
}

/** The tag of an image reference (not a registry's port), or undefined. */
export function imageTagOf(image: string): string | undefined {
    return /:([^:/@]+)(@|$)/.exec(image.replace(/^[^/]+\//, ""))?.[1];
}

/** Reads an image key that must be pinned by an exact tag or a digest; records a problem otherwise. */
export function pinnedImage<K extends string>(r: Reader<K>, key: K): string {
    const image = r.string(key);
    const tag = imageTagOf(image);
    if (!PINNED_IMAGE.test(image) || (tag === undefined && !image.includes("@sha256:")) || tag === "latest") {
        r.problem(`\`${key}\` must be an image pinned by an exact tag or a digest, such as \`docker.io/library/busybox:1.37.0\`; got \`${image}\``);
    }
    return image;
}
