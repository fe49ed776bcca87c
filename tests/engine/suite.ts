// What every real-engine spec starts with, as mocha hooks of the `describe` that calls
// `useEngine()`: a test cluster, the project in a directory of its own (logged in to its local
// backend unless the spec does that itself), API clients; on a failed test, what the cluster's
// stand-ins did; at the end everything stopped and every directory the spec recorded deleted.
import * as k8s from "@kubernetes/client-node";
import * as fs from "fs";

import { stopAll, waitFor } from "../harness/procs";
import { EngineProject } from "./stack";
import { startTestCluster, TestCluster, TestClusterOptions } from "./test-cluster";

export interface EngineSuite {
    readonly cluster: TestCluster;
    readonly project: EngineProject;
    readonly core: k8s.CoreV1Api;
    readonly apps: k8s.AppsV1Api;
    readonly batch: k8s.BatchV1Api;
    /** Records a directory the spec writes, deleted after the spec; returns it. */
    mark(dir: string): string;
}

export interface EngineSuiteOptions extends TestClusterOptions {
    /** Run `pulumi login --local` first. Default true. */
    readonly login?: boolean;
}

/** Registers the hooks; the returned object is filled in when the specs run. */
export function useEngine(opts: EngineSuiteOptions = {}): EngineSuite {
    const made: string[] = [];
    const suite = {
        mark(dir: string): string {
            made.push(dir);
            return dir;
        },
    } as { -readonly [K in keyof EngineSuite]: EngineSuite[K] };
    before(async () => {
        suite.cluster = await startTestCluster(opts);
        const kc = suite.cluster.controlPlane.kc;
        suite.core = kc.makeApiClient(k8s.CoreV1Api);
        suite.apps = kc.makeApiClient(k8s.AppsV1Api);
        suite.batch = kc.makeApiClient(k8s.BatchV1Api);
        suite.project = await EngineProject.create({ kubeconfig: suite.cluster.kubeconfig });
        if (opts.login !== false) {
            await suite.project.cliOk(["login", "--local"]);
        }
    });
    afterEach(function () {
        if (this.currentTest?.state === "failed" && suite.cluster !== undefined) {
            console.log(`what the test cluster's stand-ins did:\n${suite.cluster.events.slice(-40).join("\n")}`);
        }
    });
    after(async () => {
        await suite.cluster?.stop();
        suite.project?.remove();
        await stopAll();
        for (const dir of made) {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });
    return suite;
}

/** Waits until the API server no longer has namespace `name` (its finalizers done). */
export function namespaceGone(core: k8s.CoreV1Api, name: string, timeoutMs: number): Promise<void> {
    return waitFor(
        `namespace ${name} to go`,
        async () => {
            try {
                await core.readNamespace(name);
                return false;
            } catch (e) {
                return (e as { statusCode?: number }).statusCode === 404;
            }
        },
        timeoutMs,
        1000,
    );
}
