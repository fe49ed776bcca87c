// nginx configuration as values: directives are data, rendered by one function that refuses any
// argument nginx would parse differently (quotes, braces, semicolons, whitespace, comments); the
// empty string is written as `""`, which nginx reads as an empty argument. Shared by the two nginx
// configurations the program writes: the registry pod's gate and the localhost proxy.

/** A literal argument that may hold spaces, written in double quotes (no quote, backslash, `$` or control character). */
export interface QuotedArg {
    readonly quoted: string;
}

/** One nginx directive: `name args...;`, `name args... { block }`, or a `map`/`types`-style block of `key value;` entries. */
export interface NginxDirective {
    readonly name: string;
    readonly args?: readonly (string | number | QuotedArg)[];
    readonly block?: readonly NginxDirective[];
    /** `key value;` lines of a `map` block; keys and values are single safe tokens (or ""). */
    readonly entries?: readonly (readonly [string, string])[];
}

const SAFE_ARG = /^[A-Za-z0-9_.:/$@*=,+\-[\]]+$/;
// eslint-disable-next-line no-control-regex -- control characters are what this pattern rejects
const QUOTABLE = /^[^"\\$\x00-\x1f\x7f]+$/;

function token(s: string, where: string): string {
    if (s === "") {
        return '""';
    }
    if (!SAFE_ARG.test(s)) {
        throw new Error(`nginx argument ${JSON.stringify(s)} of ${where} is not a single safe token`);
    }
    return s;
}

/** Renders directives as nginx.conf text; throws on an argument that is not a single safe token. */
export function renderNginx(directives: readonly NginxDirective[], indent = ""): string {
    return directives
        .map((d) => {
            if (!/^[a-z_][a-z0-9_]*$/.test(d.name)) {
                throw new Error(`nginx directive name ${JSON.stringify(d.name)} is not valid`);
            }
            const args = (d.args ?? []).map((a) => {
                if (typeof a === "object") {
                    if (!QUOTABLE.test(a.quoted)) {
                        throw new Error(`nginx argument ${JSON.stringify(a.quoted)} of ${d.name} cannot be quoted safely`);
                    }
                    return `"${a.quoted}"`;
                }
                return token(String(a), d.name);
            });
            const head = [d.name, ...args].join(" ");
            if (d.block === undefined && d.entries === undefined) {
                return `${indent}${head};\n`;
            }
            const inner = `${indent}    `;
            const entries = (d.entries ?? []).map(([k, v]) => `${inner}${token(k, d.name)} ${token(v, d.name)};\n`).join("");
            return `${indent}${head} {\n${entries}${renderNginx(d.block ?? [], inner)}${indent}}\n`;
        })
        .join("");
}
