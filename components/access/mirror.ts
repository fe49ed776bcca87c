import * as crypto from "crypto";
import * as fs from "fs";
import * as path from "path";
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";

import { dockerConfigJsonForHosts } from "../registry/endpoints";
import { restrictedContainerSecurityContext } from "../cluster";

/** The script the mirroring Job runs (POSIX sh, skopeo); also run for real by the e2e tests. */
export const MIRROR_SCRIPT = fs.readFileSync(path.join(__dirname, "mirror.sh"), "utf8");

/**
 * Where each upstream image goes: `<upstream name>:<tag>` under the registry, the upstream's
 * domain kept as the first path component (as the Charmed Kubernetes registry does), so images
 * from different registries never collide; a port becomes `_port` (a path cannot hold `:`).
 * A digest pins the source; the target keeps the tag.
 */
export function mirrorTarget(upstream: string): string {
    const ref = upstream.replace(/@sha256:[a-f0-9]{64}$/, "");
    const slash = ref.indexOf("/");
    return `${ref.slice(0, slash).replace(":", "_")}${ref.slice(slash)}`;
}

/** Longest the mirroring Job may run (its `activeDeadlineSeconds`); then Kubernetes stops it. */
export const MIRROR_DEADLINE_SECONDS = 3600;

/**
 * How long `pulumi up` waits for the Job: its deadline, plus time for Kubernetes to start it and
 * record the outcome. The provider's default (10 minutes) would fail an update while a Job
 * copying many images is still working within its deadline.
 */
export const MIRROR_AWAIT_SECONDS = MIRROR_DEADLINE_SECONDS + 300;

/** The Job's `images` file: `<upstream> <target>` per line. */
export function mirrorList(images: readonly string[]): string {
    return images.map((i) => `${i} ${mirrorTarget(i)}\n`).join("");
}

export interface MirrorJobArgs {
    /** The registry's namespace (Pod Security `restricted`) (no default). */
    readonly namespace: pulumi.Input<string>;
    /** Upstream references, fully qualified with a tag (no default). */
    readonly images: readonly string[];
    /** The registry as the Job reaches it: the Service's `fqdn[:port]` (in the certificate) (no default). */
    readonly destination: string;
    /** PEM CA of the registry (no default). */
    readonly caCertificatePem: pulumi.Input<string>;
    /** A user allowed to push, and its password (secret) (no default). */
    readonly username: string;
    readonly password: pulumi.Input<string>;
    /** Pinned skopeo image (no default). */
    readonly image: string;
    /** Instance label value (no default). */
    readonly instance: string;
    /** What must be ready first: the registry Deployment. Default none. */
    readonly dependsOn?: pulumi.Input<pulumi.Resource>[];
}

/**
 * A Job that copies `images` into the registry once it is ready (the charm's "push the images
 * your cluster needs", for air-gapped clusters). Its ConfigMap is auto-named, so a changed list
 * makes a new pod template, and `replaceOnChanges` turns that into a new Job: the copy runs again.
 */
export class MirrorJob extends pulumi.ComponentResource {
    /** The Job's name. */
    public readonly jobName: pulumi.Output<string>;

    constructor(name: string, args: MirrorJobArgs, opts?: pulumi.ComponentResourceOptions) {
        super("registry:access:MirrorJob", name, {}, opts);
        // A name of its own: the Job's pod lives next to the registry's, and the registry Service
        // must never send it traffic.
        const labels = { "app.kubernetes.io/name": "registry-mirror", "app.kubernetes.io/instance": args.instance, "app.kubernetes.io/managed-by": "pulumi" };
        const meta = { namespace: args.namespace, labels };
        const config = new k8s.core.v1.ConfigMap(
            `${name}-mirror`,
            { metadata: meta, data: { "mirror.sh": MIRROR_SCRIPT, images: mirrorList(args.images), "ca.crt": args.caCertificatePem } },
            { parent: this },
        );
        const auth = new k8s.core.v1.Secret(
            `${name}-mirror-auth`,
            {
                metadata: meta,
                type: "kubernetes.io/dockerconfigjson",
                stringData: {
                    ".dockerconfigjson": pulumi.secret(
                        pulumi.output(args.password).apply((pw) => dockerConfigJsonForHosts([args.destination], args.username, pw)),
                    ),
                },
            },
            { parent: this },
        );
        const job = new k8s.batch.v1.Job(
            `${name}-mirror`,
            {
                metadata: meta,
                spec: {
                    backoffLimit: 2,
                    activeDeadlineSeconds: MIRROR_DEADLINE_SECONDS,
                    template: {
                        // The list's checksum (as the Helm chart does for its config): a new list
                        // changes the template even before the ConfigMap gets its new name.
                        metadata: { labels, annotations: { "checksum/images": crypto.createHash("sha256").update(mirrorList(args.images)).digest("hex") } },
                        spec: {
                            restartPolicy: "Never",
                            automountServiceAccountToken: false,
                            enableServiceLinks: false,
                            securityContext: {
                                runAsNonRoot: true,
                                runAsUser: 1000,
                                runAsGroup: 1000,
                                fsGroup: 1000,
                                seccompProfile: { type: "RuntimeDefault" },
                            },
                            containers: [
                                {
                                    name: "mirror",
                                    image: args.image,
                                    imagePullPolicy: "IfNotPresent",
                                    command: ["/bin/sh", "/etc/mirror/config/mirror.sh"],
                                    env: [
                                        { name: "IMAGES", value: "/etc/mirror/config/images" },
                                        { name: "DEST", value: args.destination },
                                        { name: "DEST_CERT_DIR", value: "/etc/mirror/ca" },
                                        { name: "AUTH_FILE", value: "/etc/mirror/auth/.dockerconfigjson" },
                                        // skopeo buffers blobs in TMPDIR; HOME for its own files.
                                        { name: "TMPDIR", value: "/tmp" },
                                        { name: "HOME", value: "/tmp" },
                                    ],
                                    volumeMounts: [
                                        { name: "config", mountPath: "/etc/mirror/config", readOnly: true },
                                        { name: "ca", mountPath: "/etc/mirror/ca", readOnly: true },
                                        { name: "auth", mountPath: "/etc/mirror/auth", readOnly: true },
                                        { name: "tmp", mountPath: "/tmp" },
                                    ],
                                    resources: { requests: { cpu: "100m", memory: "128Mi" }, limits: { memory: "512Mi" } },
                                    securityContext: restrictedContainerSecurityContext(),
                                },
                            ],
                            volumes: [
                                {
                                    name: "config",
                                    configMap: {
                                        name: config.metadata.name,
                                        items: [
                                            { key: "mirror.sh", path: "mirror.sh" },
                                            { key: "images", path: "images" },
                                        ],
                                    },
                                },
                                { name: "ca", configMap: { name: config.metadata.name, items: [{ key: "ca.crt", path: "ca.crt" }] } },
                                { name: "auth", secret: { secretName: auth.metadata.name, defaultMode: 0o440 } },
                                { name: "tmp", emptyDir: { sizeLimit: "10Gi" } },
                            ],
                        },
                    },
                },
            },
            // A Job's pod template cannot change; a new list is a new Job.
            {
                parent: this,
                dependsOn: args.dependsOn,
                replaceOnChanges: ["spec"],
                customTimeouts: { create: `${MIRROR_AWAIT_SECONDS}s`, update: `${MIRROR_AWAIT_SECONDS}s` },
            },
        );
        this.jobName = job.metadata.name;
        this.registerOutputs({ jobName: this.jobName });
    }
}
