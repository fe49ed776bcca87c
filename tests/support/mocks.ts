// Pulumi mocks that record every resource with its inputs, secretness and options.
//
// Crypto resources (tls, random) are computed for real (crypto-mocks.ts). Kubernetes objects get
// what the API server and the provider would add: auto-names for objects without a name and, for
// LoadBalancer Services, a load balancer address. Function calls must be registered by the test;
// an unknown call throws, so an unexpected data-source lookup fails loudly.
import * as pulumi from "@pulumi/pulumi";
import * as crypto from "crypto";

import { cryptoMock } from "./crypto-mocks";

/** Options a resource was registered with. */
export interface RecordedOptions {
    readonly protect: boolean;
    readonly retainOnDelete: boolean;
    readonly deleteBeforeReplace: boolean;
    readonly parent: string;
    readonly dependencies: readonly string[];
    readonly ignoreChanges: readonly string[];
    readonly additionalSecretOutputs: readonly string[];
    /** Engine URNs each input property depends on (the register request's propertyDependencies). */
    readonly propertyDependencies: Readonly<Record<string, readonly string[]>>;
    /** The `replacementTrigger` option's value (undefined when not set). */
    readonly replacementTrigger?: unknown;
    /** The `customTimeouts` option, as the engine receives it ("" where not set); undefined without one. */
    readonly customTimeouts?: { readonly create: string; readonly update: string; readonly delete: string };
    /** The `aliases` option's specs, as the engine receives them ("" where a field is not set). */
    readonly aliases: readonly RecordedAlias[];
}

/** One alias spec of a register request: an earlier name, type or parent of the resource. */
export interface RecordedAlias {
    readonly name: string;
    readonly type: string;
    readonly parentUrn: string;
    readonly noParent: boolean;
}

/** One registered resource. */
export interface RecordedResource {
    readonly type: string;
    readonly name: string;
    readonly urn: string;
    /** The URN the engine (here the mock monitor) gives it, as other resources' dependencies name it. */
    readonly engineUrn: string;
    /** A custom resource (a provider object), not a component. */
    readonly custom: boolean;
    readonly id: string;
    /** Inputs with secrets unwrapped. */
    readonly inputs: Record<string, any>;
    /** Dotted paths of inputs that arrived as secrets ("stringData.tls.key"). */
    readonly secretInputs: readonly string[];
    /** The state the mock returned (inputs plus computed outputs). */
    readonly state: Record<string, any>;
    readonly options: RecordedOptions;
}

/** A function-call mock: receives the call's inputs, returns its outputs. */
export type CallMock = (inputs: Record<string, any>) => Record<string, unknown> | Promise<Record<string, unknown>>;

/** What the simulated cloud answers. */
export interface MockEnvironment {
    /** The address a LoadBalancer Service gets. Default `{ ip: "203.0.113.10" }`. */
    loadBalancer?: { ip?: string; hostname?: string };
    /** Function calls the program may make, by token. */
    calls?: Record<string, CallMock>;
    /** Extra per-type state, merged over the inputs (e.g. ARNs of cloud resources); an `id` key sets the resource id. */
    resourceState?: (type: string, name: string, inputs: Record<string, any>) => Record<string, unknown> | undefined;
}

const SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270";
const SIG_KEY = "4dabf18193072939515e22adb298388d";

/** Removes Pulumi's secret wrappers, collecting where they were. */
export function unwrapSecrets(value: unknown, path: string, found: string[]): any {
    if (Array.isArray(value)) {
        return value.map((v, i) => unwrapSecrets(v, `${path}[${i}]`, found));
    }
    if (value !== null && typeof value === "object") {
        const obj = value as Record<string, unknown>;
        if (obj[SIG_KEY] === SECRET_SIG) {
            found.push(path);
            return unwrapSecrets(obj.value, path, found);
        }
        return Object.fromEntries(Object.entries(obj).map(([k, v]) => [k, unwrapSecrets(v, path === "" ? k : `${path}.${k}`, found)]));
    }
    return value;
}

/** Whether a value holds an input that is unknown during `pulumi preview` (e.g. a Service's address). */
export function containsUnknown(value: unknown): boolean {
    if (Array.isArray(value)) {
        return value.some(containsUnknown);
    }
    if (value !== null && typeof value === "object") {
        const obj = value as Record<string, unknown>;
        return obj.__pulumiUnknown === true || Object.values(obj).some(containsUnknown);
    }
    return false;
}

const NAMESPACED_KINDS = new Set([
    "ConfigMap",
    "Secret",
    "Service",
    "ServiceAccount",
    "PersistentVolumeClaim",
    "Deployment",
    "StatefulSet",
    "DaemonSet",
    "Job",
    "CronJob",
    "PodDisruptionBudget",
    "Role",
    "RoleBinding",
    "Ingress",
    "HorizontalPodAutoscaler",
    "EndpointSlice",
    "Endpoints",
    "NetworkPolicy",
    "ServiceMonitor",
    "PrometheusRule",
    "Pod",
]);

function kubernetesState(type: string, name: string, inputs: Record<string, any>, env: MockEnvironment): { id: string; state: Record<string, any> } {
    const kind = type.split(":").pop() ?? "";
    const state = JSON.parse(JSON.stringify(inputs)) as Record<string, any>;
    state.metadata = { ...(state.metadata ?? {}) };
    if (state.metadata.name === undefined) {
        // The provider auto-names as `<resource name>-<random suffix>`; a hash keeps tests stable.
        state.metadata.name = `${name}-${crypto.createHash("sha256").update(name).digest("hex").slice(0, 8)}`;
    }
    if (NAMESPACED_KINDS.has(kind) && state.metadata.namespace === undefined) {
        state.metadata.namespace = "default";
    }
    if (kind === "Service" && state.spec?.type === "LoadBalancer") {
        // A requested (reserved) address is the one the cloud gives, as GKE and others do.
        const requested: unknown = state.spec.loadBalancerIP;
        state.status = {
            loadBalancer: { ingress: [typeof requested === "string" && requested !== "" ? { ip: requested } : (env.loadBalancer ?? { ip: "203.0.113.10" })] },
        };
    }
    const id = state.metadata.namespace === undefined ? state.metadata.name : `${state.metadata.namespace}/${state.metadata.name}`;
    return { id, state };
}

/** Records registrations; one per process, reset per program run. */
export class Recorder {
    resources: RecordedResource[] = [];
    calls: { token: string; inputs: Record<string, any> }[] = [];
    inFlight = 0;
    env: MockEnvironment = {};
    /** Wall milliseconds of this run during which at least one mock newResource was running (real crypto). */
    mockMs = 0;
    private mocksActive = 0;
    private activeSince = 0;

    /** Marks a mock newResource starting / ending, to measure mockMs. */
    mockEnter(): void {
        if (this.mocksActive++ === 0) {
            this.activeSince = performance.now();
        }
    }

    mockExit(): void {
        if (--this.mocksActive === 0) {
            this.mockMs += performance.now() - this.activeSince;
        }
    }

    reset(env: MockEnvironment): void {
        this.resources = [];
        this.calls = [];
        this.env = env;
        this.mockMs = 0;
        this.mocksActive = 0;
    }

    /** Resolves once no registration has been in flight for a few turns of the event loop. */
    async settle(): Promise<void> {
        let quiet = 0;
        while (quiet < 5) {
            await new Promise((r) => setTimeout(r, 2));
            quiet = this.inFlight === 0 ? quiet + 1 : 0;
        }
    }
}

export const recorder = new Recorder();

interface RegisterRequest {
    getType(): string;
    getName(): string;
    getParent(): string;
    getProtect(): boolean | undefined;
    getRetainondelete(): boolean | undefined;
    getDeletebeforereplace(): boolean;
    getDependenciesList(): string[];
    getIgnorechangesList(): string[];
    getAdditionalsecretoutputsList(): string[];
    getPropertydependenciesMap(): { forEach(cb: (value: { getUrnsList(): string[] }, key: string) => void): void };
    getReplacementTrigger?(): { toJavaScript(): unknown } | undefined;
    getCustomtimeouts(): { getCreate(): string; getUpdate(): string; getDelete(): string } | undefined;
    getAliasesList(): { getSpec(): { getName(): string; getType(): string; getParenturn(): string; getNoparent(): boolean } | undefined }[];
}

/** The register request's `customTimeouts`, undefined when the resource has none. */
function customTimeoutsOf(req: RegisterRequest | undefined): RecordedOptions["customTimeouts"] {
    const t = req?.getCustomtimeouts();
    return t === undefined ? undefined : { create: t.getCreate(), update: t.getUpdate(), delete: t.getDelete() };
}

/** The URN the mock monitor gives a resource (same rule as @pulumi/pulumi's MockMonitor.newUrn). */
export function engineUrn(stack: string, project: string, parent: string, type: string, name: string): string {
    const qualified = parent === "" ? type : `${parent.split("::")[2].split("$").pop()}$${type}`;
    return `urn:pulumi:${[stack, project, qualified, name].join("::")}`;
}

/**
 * Installs the mocks for one program run. Options are read off the raw register request, which
 * the MockMonitor does not pass to `newResource`; it calls `newResource` synchronously, so the
 * request in hand is the one being mocked.
 */
export async function installMocks(project: string, stack: string, env: MockEnvironment, preview = false): Promise<void> {
    recorder.reset(env);
    let current: RegisterRequest | undefined;
    const mocks: pulumi.runtime.Mocks & { record(args: pulumi.runtime.MockResourceArgs): Promise<pulumi.runtime.MockResourceResult> } = {
        async newResource(args: pulumi.runtime.MockResourceArgs): Promise<pulumi.runtime.MockResourceResult> {
            // `record` reads `current` synchronously, before its first await.
            recorder.mockEnter();
            try {
                return await this.record(args);
            } finally {
                recorder.mockExit();
            }
        },
        async record(args: pulumi.runtime.MockResourceArgs): Promise<pulumi.runtime.MockResourceResult> {
            const req = current;
            current = undefined;
            const secretInputs: string[] = [];
            const inputs = unwrapSecrets(args.inputs, "", secretInputs) as Record<string, any>;
            let id = `${args.name}-id`;
            let state: Record<string, any> = { ...inputs };
            if (args.type.startsWith("kubernetes:")) {
                ({ id, state } = kubernetesState(args.type, args.name, inputs, recorder.env));
            } else if (!containsUnknown(inputs)) {
                // With an input unknown (preview), the real providers leave the computed
                // outputs unknown too; so does the mock.
                state = (await cryptoMock(args.type, inputs)) ?? state;
            }
            const extra = recorder.env.resourceState?.(args.type, args.name, inputs) ?? {};
            if (typeof extra.id === "string") {
                id = extra.id;
            }
            state = { ...state, ...extra };
            const parent = req?.getParent() ?? "";
            const propertyDependencies: Record<string, string[]> = {};
            req?.getPropertydependenciesMap().forEach((deps, key) => {
                propertyDependencies[key] = deps.getUrnsList();
            });
            recorder.resources.push({
                type: args.type,
                name: args.name,
                urn: `${parent === "" ? `urn:pulumi:${stack}::${project}` : parent}::${args.type}::${args.name}`,
                engineUrn: engineUrn(stack, project, parent, args.type, args.name),
                custom: args.custom ?? true,
                id,
                inputs,
                secretInputs,
                state,
                options: {
                    protect: req?.getProtect() ?? false,
                    retainOnDelete: req?.getRetainondelete() ?? false,
                    deleteBeforeReplace: req?.getDeletebeforereplace() ?? false,
                    parent,
                    dependencies: req?.getDependenciesList() ?? [],
                    ignoreChanges: req?.getIgnorechangesList() ?? [],
                    additionalSecretOutputs: req?.getAdditionalsecretoutputsList() ?? [],
                    propertyDependencies,
                    replacementTrigger: req?.getReplacementTrigger?.()?.toJavaScript(),
                    customTimeouts: customTimeoutsOf(req),
                    aliases: (req?.getAliasesList() ?? []).flatMap((a) => {
                        const spec = a.getSpec();
                        return spec === undefined
                            ? []
                            : [{ name: spec.getName(), type: spec.getType(), parentUrn: spec.getParenturn(), noParent: spec.getNoparent() }];
                    }),
                },
            });
            return { id, state };
        },
        async call(args: pulumi.runtime.MockCallArgs): Promise<Record<string, any>> {
            const secretInputs: string[] = [];
            const inputs = unwrapSecrets(args.inputs, "", secretInputs) as Record<string, any>;
            recorder.calls.push({ token: args.token, inputs });
            const fn = recorder.env.calls?.[args.token];
            if (fn === undefined) {
                throw new Error(`unmocked call ${args.token}(${JSON.stringify(inputs)})`);
            }
            return fn(inputs);
        },
    };
    await pulumi.runtime.setMocks(mocks, project, stack, preview);
    const monitor = pulumi.runtime.getMonitor() as unknown as {
        registerResource(req: RegisterRequest, cb: (err: unknown, resp: unknown) => void): Promise<void>;
    };
    const original = monitor.registerResource.bind(monitor);
    monitor.registerResource = (req, cb) => {
        recorder.inFlight++;
        current = req;
        return original(req, (err, resp) => {
            recorder.inFlight--;
            cb(err, resp);
        });
    };
}
