// The controller machinery the test cluster's stand-ins (the kubelet, the load-balancer
// controller, the provisioner, kube-proxy and DNS) share: an informer that restarts after a
// watch error, a one-worker queue, and the API's own error messages.
import * as k8s from "@kubernetes/client-node";
import * as http from "http";

/** An informer's cache and how to stop it. */
export interface Watched<T extends k8s.KubernetesObject> {
    readonly cache: k8s.ObjectCache<T>;
    stop(): Promise<void>;
}

/**
 * Lists and watches `apiPath`, calling `onChange` for every add, update and delete; resolves once
 * the first list is in the cache. client-node 0.22's informer stops for good after a watch error
 * (or a failed relist), so this one restarts it after a second until `stop()`.
 */
export async function watch<T extends k8s.KubernetesObject>(
    kc: k8s.KubeConfig,
    apiPath: string,
    list: () => Promise<{ response: http.IncomingMessage; body: k8s.KubernetesListObject<T> }>,
    onChange: (obj: T, verb: "add" | "update" | "delete") => void,
): Promise<Watched<T>> {
    const informer = k8s.makeInformer<T>(kc, apiPath, list);
    let stopped = false;
    let timer: NodeJS.Timeout | undefined;
    const restart = (): void => {
        if (!stopped && timer === undefined) {
            timer = setTimeout(() => {
                timer = undefined;
                if (!stopped) {
                    informer.start().catch(restart);
                }
            }, 1000);
        }
    };
    informer.on(k8s.ADD, (o: T) => onChange(o, "add"));
    informer.on(k8s.UPDATE, (o: T) => onChange(o, "update"));
    informer.on(k8s.DELETE, (o: T) => onChange(o, "delete"));
    informer.on(k8s.ERROR, restart);
    await informer.start();
    return {
        cache: informer,
        stop: async () => {
            stopped = true;
            clearTimeout(timer);
            await informer.stop();
        },
    };
}

/**
 * One worker for a controller: keys are synced one at a time, a key added while queued is synced
 * once, a failed sync is retried after a second. Paused until `start()`, so the first syncs see
 * every informer's initial list.
 */
export class WorkQueue {
    private readonly pending = new Set<string>();
    private readonly timers = new Set<NodeJS.Timeout>();
    private draining: Promise<void> | undefined;
    private started = false;
    private stopped = false;

    constructor(
        private readonly sync: (key: string) => Promise<void>,
        private readonly onError: (key: string, err: unknown) => void,
    ) {}

    add(key: string): void {
        if (this.stopped) {
            return;
        }
        this.pending.add(key);
        if (this.started && this.draining === undefined) {
            this.draining = this.drain();
        }
    }

    start(): void {
        this.started = true;
        if (this.pending.size > 0 && this.draining === undefined) {
            this.draining = this.drain();
        }
    }

    /** Stops taking keys; resolves when the sync in progress (if any) is done. */
    async stop(): Promise<void> {
        this.stopped = true;
        this.timers.forEach(clearTimeout);
        await this.draining;
    }

    private async drain(): Promise<void> {
        while (!this.stopped && this.pending.size > 0) {
            const [key] = this.pending;
            this.pending.delete(key);
            try {
                await this.sync(key);
            } catch (err) {
                this.onError(key, err);
                const timer = setTimeout(() => {
                    this.timers.delete(timer);
                    this.add(key);
                }, 1000);
                this.timers.add(timer);
            }
        }
        this.draining = undefined;
    }
}

/** An error's message; for a client-node HttpError, the API's own message. */
export function errorMessage(err: unknown): string {
    const body = (err as { body?: { message?: string } } | undefined)?.body;
    return body?.message ?? (err instanceof Error ? err.message : String(err));
}
