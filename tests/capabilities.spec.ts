// Tests that need something from the machine skip on a developer's machine without it, and fail
// under CI=true: a skip in CI would pass a run in which those tests never ran.
import * as assert from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";

import { WITHOUT_ENV } from "./support/capability";
import { ROOT } from "./support/program";
import { scratchDir } from "./support/scratch";

const MOCHA = path.join(ROOT, "node_modules", ".bin", "mocha");

/** Runs mocha on one spec file, as its own process, with `env` over a clean CI setting. */
function mocha(spec: string, env: Record<string, string>, grep?: string): { status: number | null; out: string } {
    const base = { ...process.env };
    delete base.CI;
    delete base[WITHOUT_ENV];
    const r = spawnSync(
        MOCHA,
        [
            "--no-config",
            "-r",
            "ts-node/register/transpile-only",
            "--timeout",
            "120000",
            "--reporter",
            "spec",
            ...(grep === undefined ? [] : ["--grep", grep]),
            spec,
        ],
        {
            cwd: ROOT,
            encoding: "utf8",
            env: { ...base, ...env },
        },
    );
    return { status: r.status, out: `${r.stdout}\n${r.stderr}` };
}

/** Every spec file of the unit and end-to-end suites. */
function specFiles(): string[] {
    return ["tests", path.join("tests", "e2e")].flatMap((dir) =>
        fs
            .readdirSync(path.join(ROOT, dir))
            .filter((f) => f.endsWith(".spec.ts"))
            .map((f) => path.join(dir, f)),
    );
}

describe("tests that need something from the machine", () => {
    let probe: string;
    before(() => {
        const dir = scratchDir("capability");
        probe = path.join(dir, "probe.spec.ts");
        fs.writeFileSync(
            probe,
            [
                `import { requireCapability } from ${JSON.stringify(path.join(ROOT, "tests", "support", "capability"))};`,
                'describe("probe", () => {',
                '    before(function () { requireCapability(this, "a tool", false, "the probe never has it"); });',
                '    it("needs a tool", () => undefined);',
                "});",
                'describe("other", () => { it("runs", () => undefined); });',
                "",
            ].join("\n"),
        );
    });

    it("skip on a developer's machine without it", () => {
        const r = mocha(probe, {});
        assert.strictEqual(r.status, 0, r.out);
        assert.match(r.out, /1 passing/);
        assert.match(r.out, /1 pending/);
    });

    it("fail the run under CI=true, naming what is missing", () => {
        const r = mocha(probe, { CI: "true" });
        assert.notStrictEqual(r.status, 0, r.out);
        assert.match(r.out, /a tool is missing \(the probe never has it\); under CI=true a missing capability fails the run instead of skipping/);
    });

    it("no spec file skips by itself: every environment skip goes through requireCapability", () => {
        const offenders = specFiles().filter((f) =>
            /\bthis\.skip\(|\b(it|describe)\.skip\(|\bxit\(|\bxdescribe\(/.test(fs.readFileSync(path.join(ROOT, f), "utf8")),
        );
        assert.deepStrictEqual(offenders, []);
    });

    // Each spec whose tests need root, promtool or mount namespaces, with the capability withdrawn.
    for (const [spec, capability, grep] of [
        ["tests/node-trust-script.spec.ts", "root", "no effective capabilities"],
        ["tests/operations.spec.ts", "promtool", "promtool accepts"],
        ["tests/e2e/access.spec.ts", "mount namespaces", "login"],
        ["tests/e2e/registry.spec.ts", "mount namespaces", "runs as the pod's user"],
    ] as const) {
        it(`${spec} fails under CI=true without ${capability}`, function () {
            this.timeout(180000);
            const r = mocha(spec, { CI: "true", [WITHOUT_ENV]: capability }, grep);
            assert.notStrictEqual(r.status, 0, r.out);
            assert.match(r.out, new RegExp(`${capability} is missing`));
        });
    }
});
