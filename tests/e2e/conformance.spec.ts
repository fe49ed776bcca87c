// The OCI distribution-spec conformance suite against the registry pods the program declares:
// the dev stack (3.x on a claim), the same with foreign layers allowed, and the aws stack on an
// object store (S3 through Swift's s3api, two replicas behind the Service's stand-in), as shipped
// and with the replicas sharing a Redis cache. The suite gets the stack outputs and nothing else. Every content area and endpoint must report exactly
// its expected status (tests/harness/conformance.ts, where each non-pass says why), so a new failure,
// or a new pass after an upgrade, fails this test until docs/conformance.md says so too.
import * as assert from "assert";
import * as crypto from "crypto";
import * as fs from "fs";
import * as path from "path";

import { requireCapability } from "../support/capability";
import { loadStackFile, ROOT, StackConfig } from "../support/program";
import {
    APIS,
    CONFORMANCE,
    conformanceBinary,
    ConformanceRun,
    DATA_AREAS,
    Deployment,
    Expected,
    expectedStatuses,
    resultCell,
    runConformance,
} from "../harness/conformance";
import { RegistryDeployment, startRegistry } from "../harness/harness";
import { startSwift, SwiftPeer } from "../harness/peers/swift";
import { freePort, runCommand, startProc, stopAll, waitFor, workDir } from "../harness/procs";
import { s3CompatibleStorage, withoutAwsOnlyKeys } from "../harness/s3-compatible";

after(stopAll);

/** The suite's tests of a manifest whose layers carry `urls` (the only ones foreign layers change). */
const FOREIGN_LAYER_TESTS = "OCI Conformance Test/non-distributable-layers";
/** The URLs the suite's foreign layers carry: https://store.example.com/blobs/sha256/<hex>. */
const SUITE_LAYER_URLS = "^https://store\\.example\\.com/";

/** A stack file's program keys, without the project prefix; provider keys (aws:region) dropped. */
function stack(name: string): StackConfig {
    const out: StackConfig = {};
    for (const [k, v] of Object.entries(loadStackFile(path.join(ROOT, `Pulumi.${name}.yaml`)))) {
        if (k.startsWith("registry:")) {
            out[k.slice("registry:".length)] = v;
        }
    }
    return out;
}

/** Every line the registry logged, for what it answered with. */
function registryLog(reg: RegistryDeployment): string {
    return reg.replicas.map((r) => fs.readFileSync(r.proc.logFile, "utf8")).join("\n");
}

/** Names whose status differs from the expectation, for a readable failure. */
function differences(actual: Readonly<Record<string, string>>, expected: Readonly<Record<string, string>>): string {
    const names = [...new Set([...Object.keys(actual), ...Object.keys(expected)])].sort();
    return names
        .filter((n) => actual[n] !== expected[n])
        .map((n) => `  ${n}: got ${actual[n] ?? "(absent)"}, expected ${expected[n] ?? "(absent)"}`)
        .join("\n");
}

function assertStatuses(run: ConformanceRun, deployment: Deployment): void {
    const data = expectedStatuses(DATA_AREAS, deployment);
    const apis = expectedStatuses(APIS, deployment);
    assert.deepStrictEqual(
        run.data,
        data,
        `content areas differ from tests/harness/conformance.ts (report: ${run.resultsDir}):\n${differences(run.data, data)}`,
    );
    assert.deepStrictEqual(run.apis, apis, `endpoints differ from tests/harness/conformance.ts (report: ${run.resultsDir}):\n${differences(run.apis, apis)}`);
}

describe("OCI distribution-spec conformance", function () {
    // A run is about 6 s on one replica and a minute or two on Swift, far more when the htpasswd
    // hashes are costlier (the registry checks one per request) or the machine is busy.
    this.timeout(600_000);
    before(function () {
        requireCapability(
            this,
            "the OCI conformance suite",
            fs.existsSync(conformanceBinary()),
            `${conformanceBinary()} is built by scripts/install-test-deps.sh`,
        );
    });

    describe("docs/conformance.md", () => {
        // The tables after each heading: | name | result | why |, one row per area or endpoint.
        function table(heading: string): Map<string, { result: string; why: string }> {
            const doc = fs.readFileSync(path.join(ROOT, "docs", "conformance.md"), "utf8");
            const start = doc.indexOf(`\n### ${heading}\n`);
            assert.ok(start >= 0, `docs/conformance.md has a "### ${heading}" section`);
            const rows = new Map<string, { result: string; why: string }>();
            for (const line of doc.slice(start).split("\n").slice(2)) {
                if (line.startsWith("### ") || line.startsWith("## ")) {
                    break;
                }
                const cells = line
                    .trim()
                    .replace(/^\|/, "")
                    .replace(/\|$/, "")
                    .split("|")
                    .map((c) => c.trim());
                if (line.startsWith("|") && cells.length === 3 && !/^-+$/.test(cells[1]) && cells[0] !== "Area" && cells[0] !== "Endpoint") {
                    rows.set(cells[0], { result: cells[1], why: cells[2] });
                }
            }
            return rows;
        }

        function check(heading: string, expected: Readonly<Record<string, Expected>>): void {
            const rows = table(heading);
            assert.deepStrictEqual([...rows.keys()].sort(), Object.keys(expected).sort(), `the ${heading} table lists exactly the suite's names`);
            for (const [name, e] of Object.entries(expected)) {
                const row = rows.get(name)!;
                assert.strictEqual(row.result, resultCell(e), `${heading} / ${name}: result`);
                if (e.status !== "Pass" || e.withForeignLayers !== undefined || e.withPerPodCaches !== undefined) {
                    assert.notStrictEqual(row.why, "", `${heading} / ${name} says why it does not always pass`);
                }
                for (const link of e.upstream ?? []) {
                    const ref = link.replace(/^https:\/\/github\.com\/([^/]+\/[^/]+)\/(?:issues|pull)\/(\d+)$/, "$1#$2");
                    assert.ok(row.why.includes(`[${ref}](${link})`), `${heading} / ${name} links ${ref}`);
                }
            }
        }

        it("names the pinned suite", () => {
            const doc = fs.readFileSync(path.join(ROOT, "docs", "conformance.md"), "utf8");
            assert.ok(
                doc.includes(`\`${CONFORMANCE.module}\` ${CONFORMANCE.version}`),
                `docs/conformance.md names ${CONFORMANCE.module} ${CONFORMANCE.version}`,
            );
        });

        it("states each content area's result, why and upstream issue, as this test expects them", () => check("Content areas", DATA_AREAS));

        it("states each endpoint's result, why and upstream issue, as this test expects them", () => check("Endpoints", APIS));
    });

    describe("dev stack (Pulumi.dev.yaml): distribution 3.x on a claim", () => {
        let reg: RegistryDeployment;
        let run: ConformanceRun;
        before(async () => {
            reg = await startRegistry({ config: stack("dev") });
            run = await runConformance(reg.run.outputs);
        });
        after(async () => reg?.stop());

        it("ran the pinned suite against the 3.x registry, with the stack outputs as its only inputs", () => {
            assert.strictEqual(run.commit, CONFORMANCE.version, "the binary stamped with the pinned version");
            // The expected results are 3.1.2's: another version is a new measurement.
            assert.strictEqual(reg.pod.container.image, "docker.io/library/registry:3.1.2");
            assert.strictEqual(run.code, 1, "the suite exits 1 when any area fails");
            assert.match(run.report, /^OCI Conformance Result: FAIL$/m);
        });

        it("every content area and endpoint reports exactly its expected result", () =>
            assertStatuses(run, { foreignLayersAllowed: false, perPodCaches: false }));

        it("refuses the manifest with foreign layers as distribution does by default: 500 `invalid URL on layer`", () => {
            assert.strictEqual(reg.pod.config.validation, undefined, "no validation section: distribution's default");
            assert.match(
                run.report,
                /non-distributable-layers\/push\/manifest-by-digest: FAIL\n\s+- manifest put failed: unexpected status code, expected one of \[201\], received 500/,
            );
            assert.match(registryLog(reg), /invalid URL on layer/);
        });
    });

    describe("dev stack with foreignLayerUrlsAllow covering the suite's layer URLs", () => {
        let reg: RegistryDeployment;
        let run: ConformanceRun;
        before(async () => {
            reg = await startRegistry({ config: { ...stack("dev"), foreignLayerUrlsAllow: [SUITE_LAYER_URLS] } });
            run = await runConformance(reg.run.outputs);
        });
        after(async () => reg?.stop());

        it("writes the allow list into config.yml's validation.manifests.urls", () => {
            assert.deepStrictEqual(reg.pod.config.validation, { manifests: { urls: { allow: [SUITE_LAYER_URLS] } } });
        });

        it("Non-distributable Layers passes (and the endpoints it used); everything else as by default", () =>
            assertStatuses(run, { foreignLayersAllowed: true, perPodCaches: false }));

        const REFUSED: { readonly name: string; readonly config: StackConfig }[] = [
            { name: "an allow list the suite's URLs do not match", config: { foreignLayerUrlsAllow: ["^https://mcr\\.microsoft\\.com/"] } },
            {
                name: "a deny list matching them (beside an allow list of any HTTPS URL)",
                config: { foreignLayerUrlsAllow: ["^https://"], foreignLayerUrlsDeny: ["^https://store\\.example\\.com/"] },
            },
        ];
        for (const c of REFUSED) {
            it(`still refuses foreign layers with ${c.name}`, async () => {
                const other = await startRegistry({ config: { ...stack("dev"), ...c.config } });
                try {
                    const refused = await runConformance(other.run.outputs, { filter: FOREIGN_LAYER_TESTS });
                    assert.strictEqual(refused.data["Non-distributable Layers"], "FAIL", refused.report);
                    assert.match(registryLog(other), /invalid URL on layer/);
                } finally {
                    await other.stop();
                }
            });
        }
    });

    describe("aws stack (Pulumi.aws.yaml) on an object store: S3 through Swift's s3api, two replicas", () => {
        // One Swift, a bucket per registry below.
        let swift: SwiftPeer;
        before(async () => {
            swift = await startSwift({
                users: [{ account: "registry", user: "registry", key: crypto.randomBytes(16).toString("hex") }],
                containers: ["shipped", "redis"],
            });
        });
        after(async () => swift?.stop());

        /** The aws stack on the Swift peer's bucket, through the program's own S3-compatible keys. */
        function startAws(bucket: string, overrides: StackConfig = {}): Promise<RegistryDeployment> {
            const store = { endpoint: swift.s3Endpoint, region: swift.region, bucket, accessKey: swift.accessKey, secretKey: swift.secretKey };
            return startRegistry({
                config: { ...withoutAwsOnlyKeys(stack("aws")), ...s3CompatibleStorage(store), ...overrides },
                mocks: {
                    secretKeys: ["s3SecretAccessKey"],
                    // The stack's NLB annotations make the mocks give the Service an ELB hostname; here the load balancer is 127.0.0.1.
                    resourceState: (type: string) => (type === "kubernetes:core/v1:Service" ? {} : undefined),
                },
            });
        }

        describe("as shipped: each replica with its own in-memory blob descriptor cache", () => {
            let reg: RegistryDeployment;
            let run: ConformanceRun;
            before(async () => {
                reg = await startAws("shipped");
                run = await runConformance(reg.run.outputs);
            });
            after(async () => reg?.stop());

            it("ran the pinned suite against both 3.x replicas, whose images live in the bucket", async () => {
                assert.strictEqual(run.commit, CONFORMANCE.version);
                assert.strictEqual(reg.pod.container.image, "docker.io/library/registry:3.1.2");
                assert.strictEqual(reg.pod.config.storage.cache.blobdescriptor, "inmemory");
                assert.strictEqual(reg.replicas.length, 2);
                const upstreams = new Set((reg.frontend?.upstreamLog() ?? []).map((l) => l.split(" -> ")[1]?.split(" ")[0]));
                assert.strictEqual(upstreams.size, 2, `requests reached both replicas: ${[...upstreams].join(", ")}`);
                const objects = await swift.listObjects("shipped");
                assert.ok(
                    objects.some((o) => o.name.startsWith("registry/docker/registry/v2/repositories/conformance/")),
                    "the suite's repositories are in the bucket",
                );
            });

            it("every content area and endpoint reports exactly its expected result: deletes are not seen by the other replica", () => {
                assertStatuses(run, { foreignLayersAllowed: false, perPodCaches: true });
                assert.match(run.report, /blob-delete: FAIL\n\s+- blob head failed: unexpected status code, expected one of \[404\], received 200/);
            });
        });

        describe("with blobDescriptorCache redis: the replicas share one cache", () => {
            let reg: RegistryDeployment;
            let run: ConformanceRun;
            before(async () => {
                // An external Redis (`redisAddress`), as a cluster's own would be.
                const dir = workDir("redis");
                const port = await freePort();
                startProc("redis", "redis-server", ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"], {
                    env: { PATH: "/usr/bin:/bin" },
                    cwd: dir,
                    logFile: path.join(dir, "redis.log"),
                });
                await waitFor("redis", async () => (await runCommand("redis-cli", ["-p", String(port), "ping"])).stdout.trim() === "PONG");
                reg = await startAws("redis", { blobDescriptorCache: "redis", redisAddress: `127.0.0.1:${port}` });
                run = await runConformance(reg.run.outputs);
            });
            after(async () => reg?.stop());

            it("every content area and endpoint reports exactly its expected result, as on one replica", () => {
                assert.strictEqual(reg.replicas.length, 2);
                assert.strictEqual(reg.pod.config.storage.cache.blobdescriptor, "redis");
                assertStatuses(run, { foreignLayersAllowed: false, perPodCaches: false });
            });
        });
    });
});
