// The documentation as a newcomer meets it: a short README, the key reference generated from the
// key declarations, no heading twice in one file, and every relative link leading somewhere.
import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";

import { CONFIGURATION_DOC, configurationMarkdown, headingSlug } from "../scripts/config-docs";

const ROOT = path.resolve(__dirname, "..");
const README_MAX_LINES = 300;

/** README.md, docs/*.md and bench/README.md, as paths relative to the repository's root. */
function markdownFiles(): string[] {
    const docs = fs
        .readdirSync(path.join(ROOT, "docs"))
        .filter((f) => f.endsWith(".md"))
        .sort()
        .map((f) => path.join("docs", f));
    return ["README.md", ...docs, path.join("bench", "README.md")];
}

function read(file: string): string {
    return fs.readFileSync(path.join(ROOT, file), "utf8");
}

/** The lines outside fenced code blocks (a `# comment` in a shell block is no heading). */
function proseLines(text: string): string[] {
    const out: string[] = [];
    let fence: string | undefined;
    for (const line of text.split("\n")) {
        const m = /^\s*(```|~~~)/.exec(line);
        if (m !== null) {
            if (fence === undefined) {
                fence = m[1];
            } else if (m[1] === fence) {
                fence = undefined;
            }
            continue;
        }
        if (fence === undefined) {
            out.push(line);
        }
    }
    return out;
}

/** ATX heading texts (`## Text`), in order. */
function headings(text: string): string[] {
    return proseLines(text).flatMap((l) => {
        const m = /^#{1,6}\s+(.+?)(?:\s+#+)?\s*$/.exec(l);
        return m === null ? [] : [m[1]];
    });
}

/** Heading texts that occur more than once, with their counts. */
function duplicateHeadings(text: string): Record<string, number> {
    const counts = new Map<string, number>();
    for (const h of headings(text)) {
        counts.set(h, (counts.get(h) ?? 0) + 1);
    }
    return Object.fromEntries([...counts].filter(([, n]) => n > 1));
}

/** Targets of relative links (`](path)`, `](path#anchor)`, `](#anchor)`), outside code. */
function relativeLinks(text: string): string[] {
    const targets: string[] = [];
    for (const line of proseLines(text)) {
        // Code spans go first, so a `](` inside one is not taken for a link.
        const prose = line.replace(/`[^`]*`/g, "``");
        for (const m of prose.matchAll(/\]\(([^)\s]+)(?:\s+"[^"]*")?\)/g)) {
            if (!/^[a-z][a-z0-9+.-]*:/i.test(m[1])) {
                targets.push(m[1]);
            }
        }
    }
    return targets;
}

/**
 * What is wrong with the relative links of `file` (a path relative to `root`): a target that does
 * not exist, or an anchor that is no heading of the Markdown file it points into.
 */
function brokenLinks(root: string, file: string, text: string): string[] {
    const problems: string[] = [];
    for (const target of relativeLinks(text)) {
        const hash = target.indexOf("#");
        const rel = hash < 0 ? target : target.slice(0, hash);
        const anchor = hash < 0 ? undefined : target.slice(hash + 1);
        if (rel === "") {
            if (anchor !== undefined && !headings(text).map(headingSlug).includes(anchor)) {
                problems.push(`${file}: ${target}: no heading with that anchor`);
            }
            continue;
        }
        const abs = path.resolve(path.join(root, path.dirname(file)), rel);
        if (!fs.existsSync(abs)) {
            problems.push(`${file}: ${target}: no such file`);
            continue;
        }
        if (anchor === undefined) {
            continue;
        }
        if (!abs.endsWith(".md") || fs.statSync(abs).isDirectory()) {
            problems.push(`${file}: ${target}: an anchor into a file that is not Markdown`);
            continue;
        }
        const slugs = headings(fs.readFileSync(abs, "utf8")).map(headingSlug);
        if (!slugs.includes(anchor)) {
            problems.push(`${file}: ${target}: no heading with that anchor`);
        }
    }
    return problems;
}

describe("documentation", () => {
    it(`${CONFIGURATION_DOC} is exactly what scripts/config-docs.ts generates from CONFIG_KEYS`, () => {
        assert.strictEqual(read(CONFIGURATION_DOC), configurationMarkdown(), `${CONFIGURATION_DOC} is stale: run \`npm run config-docs configuration\``);
    });

    it(`README.md has at most ${README_MAX_LINES} lines`, () => {
        const text = read("README.md");
        const lines = text.split("\n").length - (text.endsWith("\n") ? 1 : 0);
        assert.ok(lines > 0 && lines <= README_MAX_LINES, `README.md has ${lines} lines; move detail to docs/`);
    });

    it("README.md keeps the Deploy and Teardown sections whose commands the real-engine test runs", () => {
        const text = read("README.md");
        for (const [heading, blocks] of [
            ["## Deploy", 1],
            ["## Teardown", 3],
        ] as const) {
            assert.strictEqual(text.split(`\n${heading}\n`).length, 2, `README.md has one section ${heading}`);
            const start = text.indexOf(`\n${heading}\n`);
            const end = text.indexOf("\n## ", start + heading.length + 2);
            const section = text.slice(start, end < 0 ? undefined : end);
            assert.ok([...section.matchAll(/```sh\n/g)].length >= blocks, `${heading} has ${blocks} sh block(s)`);
        }
    });

    it("the anchors are GitHub's", () => {
        assert.strictEqual(headingSlug("Ceph / on-premises"), "ceph--on-premises");
        assert.strictEqual(headingSlug("Password hashes (`htpasswdBcryptCost`)"), "password-hashes-htpasswdbcryptcost");
        assert.strictEqual(headingSlug("4. The real engine (`tests/engine/`)"), "4-the-real-engine-testsengine");
        assert.strictEqual(headingSlug("What `pulumi up` does"), "what-pulumi-up-does");
        assert.strictEqual(headingSlug("snake_case and [a link](x.md)"), "snake_case-and-a-link");
    });

    it("the checks below find what they look for", () => {
        const sample =
            "# One\n\n```sh\n# not a heading\n```\n\n## One\n\n[a](#one) [b](#two) [c](no-such-file.md) `[d](in-code.md)` [e](https://example.com/x)\n";
        assert.deepStrictEqual(duplicateHeadings(sample), { One: 2 });
        assert.deepStrictEqual(relativeLinks(sample), ["#one", "#two", "no-such-file.md"]);
        assert.deepStrictEqual(brokenLinks(ROOT, "sample.md", sample), [
            "sample.md: #two: no heading with that anchor",
            "sample.md: no-such-file.md: no such file",
        ]);
        assert.deepStrictEqual(brokenLinks(ROOT, "README.md", "[x](docs/testing.md#no-such-heading) [y](docs/testing.md#1-types)"), [
            "README.md: docs/testing.md#no-such-heading: no heading with that anchor",
        ]);
    });

    const files = markdownFiles();

    it("no Markdown file repeats a heading", () => {
        const found: Record<string, Record<string, number>> = {};
        for (const f of files) {
            const text = read(f);
            assert.ok(headings(text).length > 0, `${f} has headings`);
            const dups = duplicateHeadings(text);
            if (Object.keys(dups).length > 0) {
                found[f] = dups;
            }
        }
        assert.deepStrictEqual(found, {});
    });

    it('no Markdown file speaks of a "seed" (name what is meant)', () => {
        const found = files.filter((f) => /seed/i.test(read(f)));
        assert.deepStrictEqual(found, []);
    });

    it("every relative link leads to an existing file, and an anchor to one of its headings", () => {
        let checked = 0;
        const problems: string[] = [];
        for (const f of files) {
            const text = read(f);
            checked += relativeLinks(text).length;
            problems.push(...brokenLinks(ROOT, f, text));
        }
        assert.ok(checked >= 50, `only ${checked} relative links found: is the link pattern still right?`);
        assert.deepStrictEqual(problems, []);
    });
});
