// The OCI distribution-spec conformance suite (github.com/opencontainers/distribution-spec/
// conformance), built by scripts/install.d/conformance.sh at the version pinned in
// tests/harness/peers.json, run against a registry with nothing but the stack outputs; and what it
// is expected to report for the registry this program deploys (distribution 3.x), with why.
import * as fs from "fs";
import * as path from "path";

import peers from "./peers.json";
import { CACHE_BIN, runCommand, workDir } from "./procs";

/** The pinned suite: module, version, and the cached binary's name. */
export const CONFORMANCE = peers.conformance;

/** Where scripts/install.d/conformance.sh leaves the suite. */
export function conformanceBinary(): string {
    return path.join(CACHE_BIN, CONFORMANCE.binary);
}

/** A status as the suite reports it ("Unknown": not run, outside a filter). */
export type Status = "Pass" | "FAIL" | "Skip" | "Disabled" | "Error" | "Unknown";

/** What one run reported. */
export interface ConformanceRun {
    readonly code: number;
    /** "API conformance": endpoint (e.g. "Blob chunked") to status. */
    readonly apis: Readonly<Record<string, Status>>;
    /** "Data conformance": content area (e.g. "Image") to status. */
    readonly data: Readonly<Record<string, Status>>;
    /** The version stamped into the binary (the configuration's `commit`). */
    readonly commit: string;
    /** The summary the suite prints (tree of tests with failure messages). */
    readonly report: string;
    /** results.yaml, report.html, junit.xml and the suite's log. */
    readonly resultsDir: string;
    readonly seconds: number;
}

/** The stack outputs the suite is given, and nothing else: what a user of the registry has. */
const INPUTS = ["registryHost", "caCertificate", "username", "password"] as const;

/**
 * Runs the suite against the registry the outputs describe: `registryHost` over TLS verified with
 * `caCertificate` (Go reads SSL_CERT_FILE), as `username`/`password`. The suite's own settings
 * are its defaults for distribution-spec 1.1; `filter` narrows it to one branch of its tests
 * (e.g. "OCI Conformance Test/non-distributable-layers").
 */
export async function runConformance(outputs: Readonly<Record<string, unknown>>, opts: { filter?: string } = {}): Promise<ConformanceRun> {
    for (const key of INPUTS) {
        if (typeof outputs[key] !== "string" || outputs[key] === "") {
            throw new Error(`the stack output \`${key}\` is missing`);
        }
    }
    const dir = workDir("conformance");
    const caFile = path.join(dir, "ca.crt");
    fs.writeFileSync(caFile, String(outputs.caCertificate));
    const resultsDir = path.join(dir, "results");
    const env: Record<string, string> = {
        // Nothing from this machine's environment (a proxy setting would change what is tested).
        PATH: "/usr/bin:/bin",
        SSL_CERT_FILE: caFile,
        OCI_REGISTRY: String(outputs.registryHost),
        OCI_TLS: "enabled",
        OCI_USERNAME: String(outputs.username),
        OCI_PASSWORD: String(outputs.password),
        OCI_RESULTS_DIR: resultsDir,
        ...(opts.filter === undefined ? {} : { OCI_FILTER_TEST: opts.filter }),
    };
    const start = Date.now();
    const r = await runCommand(conformanceBinary(), [], { env, cwd: dir, timeoutMs: 600_000 });
    const seconds = (Date.now() - start) / 1000;
    fs.writeFileSync(path.join(resultsDir, "stdout.txt"), r.stdout);
    fs.writeFileSync(path.join(resultsDir, "stderr.txt"), r.stderr);
    return { code: r.code, ...parseSummary(r.stdout), report: r.stdout, resultsDir, seconds };
}

/**
 * The statuses and configuration the suite prints at the end of its run. Read from there rather
 * than from results.yaml, which the suite fails to write ("unknown status 0") when `filter`
 * leaves areas unrun.
 */
export function parseSummary(stdout: string): { apis: Record<string, Status>; data: Record<string, Status>; commit: string } {
    const section = (heading: string): Record<string, Status> => {
        const lines = stdout.split("\n");
        const start = lines.indexOf(heading);
        if (start < 0) {
            throw new Error(`the suite printed no "${heading}" section:\n${stdout.slice(-2000)}`);
        }
        const out: Record<string, Status> = {};
        for (const line of lines.slice(start + 1)) {
            const m = /^ {2}(.+?)\.*: +(\S+)$/.exec(line);
            if (m === null) {
                break;
            }
            out[m[1]] = m[2] as Status;
        }
        return out;
    };
    const commit = /^Configuration:\n(?: {2}.*\n)*? {2}commit: (\S+)$/m.exec(stdout)?.[1] ?? "";
    return { apis: section("API conformance:"), data: section("Data conformance:"), commit };
}

/** An expected result, and why it is not a pass. */
export interface Expected {
    readonly status: Status;
    /** With `foreignLayerUrlsAllow` covering the suite's layer URLs, when that changes it. */
    readonly withForeignLayers?: Status;
    /** With several replicas, each on its own in-memory blob descriptor cache, when that changes it. */
    readonly withPerPodCaches?: Status;
    /** Why it is not a pass ("" for a pass). */
    readonly why: string;
    /** The upstream issue or pull request to watch, for results distribution causes. */
    readonly upstream?: readonly string[];
}

const REFERRERS = ["https://github.com/distribution/distribution/issues/3716", "https://github.com/distribution/distribution/pull/4828"];
const SHA512 = ["https://github.com/distribution/distribution/issues/4420", "https://github.com/distribution/distribution/pull/4946"];
const FOREIGN_500 = ["https://github.com/distribution/distribution/issues/2795"];

const pass: Expected = { status: "Pass", why: "" };
/** A pass whose checks after a delete fail when each of several replicas has its own descriptor cache. */
const passOnOneCache: Expected = {
    status: "Pass",
    withPerPodCaches: "FAIL",
    why: "on several replicas with in-memory caches, the checks after a delete fail: see Several replicas",
};
const SUBJECT_WHY =
    "distribution has no referrers API: a manifest with a `subject` is stored, but the push is answered without the `OCI-Subject` header and the referrers endpoint is 404; clients fall back to the referrers tag schema, as the spec tells them to";
const SHA512_WHY =
    "distribution digests with sha256 only: a sha512 blob upload is answered with its sha256 digest, and a manifest pushed by a sha512 digest is refused (400)";
const FOREIGN_WHY =
    'refused, by default (see Foreign layers): `foreignLayerUrlsAllow` is empty. The refusal is a 500 "invalid URL on layer" instead of a 4xx, which is distribution\'s';
const DISABLED_WHY = "off in the suite's distribution-spec 1.1 profile; not run";

/** The suite's content areas ("Data conformance"), on distribution 3.1.2, any storage. */
export const DATA_AREAS: Readonly<Record<string, Expected>> = {
    Artifact: passOnOneCache,
    "Artifact Index": passOnOneCache,
    "Artifact without Layers": passOnOneCache,
    "Artifacts with Subject": { status: "FAIL", why: SUBJECT_WHY, upstream: REFERRERS },
    "Bad Digest Image": passOnOneCache,
    "Blobs sha256": passOnOneCache,
    "Blobs sha512": { status: "FAIL", why: SHA512_WHY, upstream: SHA512 },
    "Custom Fields": passOnOneCache,
    "Data Field": passOnOneCache,
    "Digest Algorithm sha512": { status: "FAIL", why: SHA512_WHY, upstream: SHA512 },
    "Empty Index": passOnOneCache,
    Image: passOnOneCache,
    "Image Uncompressed": passOnOneCache,
    "Image with Large Manifest": passOnOneCache,
    Index: passOnOneCache,
    "Index with Subject": { status: "FAIL", why: SUBJECT_WHY, upstream: REFERRERS },
    "Invalid Manifest Digest": passOnOneCache,
    "Missing Subject": { status: "FAIL", why: SUBJECT_WHY, upstream: REFERRERS },
    "Nested Index": passOnOneCache,
    "No Layers": passOnOneCache,
    "Non-distributable Layers": { status: "FAIL", withForeignLayers: "Pass", why: FOREIGN_WHY, upstream: FOREIGN_500 },
    "Sparse Manifests": { status: "Disabled", why: DISABLED_WHY },
    "Tag Param": { status: "Disabled", why: DISABLED_WHY },
    "Tag Param sha512": { status: "Disabled", why: DISABLED_WHY },
};

const SHA512_API_WHY = "fails for the sha512 content only";
/** The suite's endpoints ("API conformance"), on distribution 3.1.2, any storage. */
export const APIS: Readonly<Record<string, Expected>> = {
    Ping: pass,
    "Blob push": pass,
    "Blob post only": {
        status: "Skip",
        why: "a blob in a single POST is optional; distribution ignores the content and opens an upload session, so the suite falls back to POST then PUT",
    },
    "Blob post put": { status: "FAIL", why: SHA512_API_WHY, upstream: SHA512 },
    "Blob chunked": { status: "FAIL", why: SHA512_API_WHY, upstream: SHA512 },
    "Blob streaming": { status: "FAIL", why: SHA512_API_WHY, upstream: SHA512 },
    "Blob mount": { status: "FAIL", why: SHA512_API_WHY, upstream: SHA512 },
    "Blob anonymous mount": {
        status: "FAIL",
        why: "a mount without `from` is optional: for sha256 distribution opens an upload session instead (a skip); for sha512 it fails",
        upstream: SHA512,
    },
    "Blob get": { status: "FAIL", why: SHA512_API_WHY, upstream: SHA512 },
    "Blob get range": { status: "FAIL", why: SHA512_API_WHY, upstream: SHA512 },
    "Blob head": { status: "FAIL", why: SHA512_API_WHY, upstream: SHA512 },
    "Blob delete": pass,
    "Blob delete atomic": passOnOneCache,
    "Blob upload cancel": { status: "Disabled", why: DISABLED_WHY },
    "Manifest put by digest": {
        status: "FAIL",
        why: "the pushes with a `subject` (no `OCI-Subject` header), the sha512 digest and, by default, the foreign layers",
        upstream: [...REFERRERS, ...SHA512],
    },
    "Manifest put by tag": {
        status: "FAIL",
        why: "the pushes with a `subject` (no `OCI-Subject` header), the sha512 digest and, by default, the foreign layers",
        upstream: [...REFERRERS, ...SHA512],
    },
    "Manifest put with subject": { status: "FAIL", why: "no `OCI-Subject` header: distribution has no referrers API", upstream: REFERRERS },
    "Manifest put with tag params": { status: "Disabled", why: DISABLED_WHY },
    "Manifest get by digest": {
        status: "FAIL",
        why: "the sha512 manifest (refused on push) and, by default, the refused foreign-layer image",
        upstream: SHA512,
    },
    "Manifest get by tag": { status: "FAIL", withForeignLayers: "Pass", why: "only the refused foreign-layer image, by default; passes with it allowed" },
    "Manifest head by digest": {
        status: "FAIL",
        why: "the sha512 manifest (refused on push) and, by default, the refused foreign-layer image",
        upstream: SHA512,
    },
    "Manifest head by tag": { status: "FAIL", withForeignLayers: "Pass", why: "only the refused foreign-layer image, by default; passes with it allowed" },
    "Manifest delete": pass,
    "Manifest delete atomic": passOnOneCache,
    "Tag listing": {
        status: "FAIL",
        withForeignLayers: "Pass",
        why: "only the refused foreign-layer image's tag is missing, by default; passes with it allowed",
    },
    "Tag delete": pass,
    "Tag delete atomic": pass,
    Referrers: { status: "FAIL", why: "`GET /v2/<name>/referrers/<digest>` is 404: distribution has no referrers API", upstream: REFERRERS },
};

/** What about the deployment changes the results. */
export interface Deployment {
    /** `foreignLayerUrlsAllow` covers the suite's layer URLs. */
    readonly foreignLayersAllowed: boolean;
    /** Several replicas, each with its own in-memory blob descriptor cache (`blobDescriptorCache` inmemory). */
    readonly perPodCaches: boolean;
}

/** The statuses to expect of a deployment. */
export function expectedStatuses(areas: Readonly<Record<string, Expected>>, d: Deployment): Record<string, Status> {
    return Object.fromEntries(
        Object.entries(areas).map(([name, e]) => {
            const withForeign = d.foreignLayersAllowed ? (e.withForeignLayers ?? e.status) : e.status;
            return [name, d.perPodCaches ? (e.withPerPodCaches ?? withForeign) : withForeign];
        }),
    );
}

/** The "Result" cell of the docs table for an expectation. */
export function resultCell(e: Expected): string {
    return [
        e.status,
        ...(e.withForeignLayers === undefined ? [] : [`(${e.withForeignLayers} with \`foreignLayerUrlsAllow\`)`]),
        ...(e.withPerPodCaches === undefined ? [] : [`(${e.withPerPodCaches} on several replicas with in-memory caches)`]),
    ].join(" ");
}
