// Foreign (non-distributable) layers: layers a manifest lists with `urls`, which clients download
// from those URLs instead of from the registry. The `foreignLayerUrls*` keys are parsed here with
// the one Reader, and turned into distribution's `validation.manifests.urls` section.
//
// Both distribution lines (2.8 and 3.x) validate manifests unless `validation.disabled` is set,
// and with neither an allow nor a deny list they accept no URL at all: such a push is refused
// (with a 500, "invalid URL on layer"). That is the default here, and the program then writes no
// `validation` section, so stacks that leave the keys alone keep the config.yml they had.
import type { Reader } from "../config/reader";

/** Which URLs pushed layers may carry (distribution's `validation.manifests.urls`). */
export interface ForeignLayersConfig {
    /** RE2 patterns one of which every layer URL must match; empty: no layer may carry a URL. */
    readonly allow: readonly string[];
    /** RE2 patterns no layer URL may match, even when allowed. */
    readonly deny: readonly string[];
}

/** Go's regexp (RE2) refuses these, which JavaScript accepts; the registry would panic on start. */
const RE2_UNSUPPORTED: readonly { readonly pattern: RegExp; readonly what: string }[] = [
    { pattern: /\(\?<?[=!]/, what: "lookaround (`(?=`, `(?!`, `(?<=`, `(?<!`)" },
    { pattern: /\\[1-9]|\\k</, what: "backreferences" },
];

/** Go's regexp refuses a repeat count above 1000. */
const RE2_MAX_REPEAT = 1000;

/** Why Go's regexp package would refuse `pattern`, or undefined when it compiles there too. */
export function re2Problem(pattern: string): string | undefined {
    try {
        new RegExp(pattern);
    } catch {
        return "is not a valid regular expression";
    }
    const unsupported = RE2_UNSUPPORTED.find((u) => u.pattern.test(pattern));
    if (unsupported !== undefined) {
        return `uses ${unsupported.what}, which Go's regular expressions (RE2) do not have`;
    }
    const repeats = [...pattern.matchAll(/\{(\d+)(?:,(\d*))?\}/g)].flatMap((m) => [m[1], m[2]]).filter((n) => n !== undefined && n !== "");
    if (repeats.some((n) => Number(n) > RE2_MAX_REPEAT)) {
        return `repeats more than ${RE2_MAX_REPEAT} times, which Go's regular expressions (RE2) refuse`;
    }
    return undefined;
}

/** Parses `foreignLayerUrlsAllow` and `foreignLayerUrlsDeny`, recording problems on the Reader. */
export function parseForeignLayers(r: Reader<"foreignLayerUrlsAllow" | "foreignLayerUrlsDeny">): ForeignLayersConfig {
    const allow = r.stringArray("foreignLayerUrlsAllow");
    const deny = r.stringArray("foreignLayerUrlsDeny");
    for (const [key, patterns] of [
        ["foreignLayerUrlsAllow", allow],
        ["foreignLayerUrlsDeny", deny],
    ] as const) {
        for (const p of patterns) {
            const problem = re2Problem(p);
            if (problem !== undefined) {
                r.problem(`\`${key}\` entry \`${p}\` ${problem}`);
            }
        }
    }
    for (const p of allow) {
        // Unanchored, `mcr\.microsoft\.com/` also matches https://attacker.example/mcr.microsoft.com/.
        if (!p.startsWith("^")) {
            r.problem(
                `\`foreignLayerUrlsAllow\` entries must start with \`^\`, so they match from the start of the URL (e.g. \`^https://mcr\\.microsoft\\.com/\`); got \`${p}\``,
            );
        }
    }
    // With only a deny list distribution accepts every other http(s) URL: opening up must be explicit.
    if (deny.length > 0 && allow.length === 0) {
        r.problem(
            "`foreignLayerUrlsDeny` needs `foreignLayerUrlsAllow`: with only a deny list the registry accepts every other URL; list the allowed URLs (`^https://` allows any HTTPS URL)",
        );
    }
    return { allow, deny };
}

/** config.yml's `validation` section, or undefined for distribution's default (no URL allowed). */
export function foreignLayersValidation(cfg: ForeignLayersConfig): Record<string, unknown> | undefined {
    if (cfg.allow.length === 0) {
        return undefined;
    }
    return { manifests: { urls: { allow: [...cfg.allow], ...(cfg.deny.length > 0 ? { deny: [...cfg.deny] } : {}) } } };
}
