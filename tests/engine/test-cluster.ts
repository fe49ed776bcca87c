// The test cluster: a real control plane (etcd, kube-apiserver with RBAC and PodSecurity
// admission, kube-controller-manager, kube-scheduler; tests/engine/cluster/control-plane.ts) and
// the stand-ins for what a cluster's nodes and cloud provide: one node's kubelet
// (tests/engine/kubelet/), a load-balancer controller (cluster/load-balancer.ts) and a PV
// provisioner for claims without a class (cluster/provisioner.ts), and on request kube-proxy and
// cluster DNS (cluster/service-proxy.ts). Everything binds 127.0.0.1 (pods, load balancers and
// ClusterIPs: other loopback addresses) and is stopped, and its files deleted, by `stop()`.
import * as fs from "fs";
import * as path from "path";

import { ControlPlane, startControlPlane } from "./cluster/control-plane";
import { LoadBalancerController } from "./cluster/load-balancer";
import { HostPathProvisioner } from "./cluster/provisioner";
import { ServiceProxy } from "./cluster/service-proxy";
import { Kubelet } from "./kubelet";
import { dialAddress } from "./pod-network";

export interface TestCluster {
    readonly controlPlane: ControlPlane;
    readonly kubelet: Kubelet;
    readonly loadBalancers: LoadBalancerController;
    readonly provisioner: HostPathProvisioner;
    /** With `serviceProxy`: ClusterIPs served and Service names resolvable in containers. */
    readonly serviceProxy?: ServiceProxy;
    /** The admin's kubeconfig file. */
    readonly kubeconfig: string;
    /** What the stand-ins said, in order (also in stand-ins.log in the work dir). */
    readonly events: string[];
    stop(): Promise<void>;
}

export interface TestClusterOptions {
    /** Also run the kube-proxy and cluster DNS stand-ins (pods reach Services by name). Default false. */
    readonly serviceProxy?: boolean;
}

/** Starts the control plane and the stand-ins; on failure stops whatever started. */
export async function startTestCluster(opts: TestClusterOptions = {}): Promise<TestCluster> {
    const controlPlane = await startControlPlane();
    const events: string[] = [];
    const logFile = path.join(controlPlane.workDir, "stand-ins.log");
    const log = (line: string): void => {
        events.push(line);
        fs.appendFileSync(logFile, `${new Date().toISOString()} ${line}\n`);
    };
    const started: { stop(): Promise<void> }[] = [];
    try {
        const provisioner = await HostPathProvisioner.start(controlPlane.kc, { root: path.join(controlPlane.workDir, "volumes"), log });
        started.push(provisioner);
        const loadBalancers = await LoadBalancerController.start(controlPlane.kc, { log, dial: dialAddress });
        started.push(loadBalancers);
        const serviceProxy =
            opts.serviceProxy === true
                ? await ServiceProxy.start(controlPlane.kc, { hostsFile: path.join(controlPlane.workDir, "hosts"), dial: dialAddress, log })
                : undefined;
        if (serviceProxy !== undefined) {
            started.push(serviceProxy);
        }
        const kubelet = await Kubelet.start({
            kc: controlPlane.kc,
            server: controlPlane.server,
            workDir: path.join(controlPlane.workDir, "kubelet"),
            log,
            hostsFile: serviceProxy?.hostsFile,
        });
        started.push(kubelet);
        return {
            controlPlane,
            kubelet,
            loadBalancers,
            provisioner,
            serviceProxy,
            kubeconfig: controlPlane.kubeconfig,
            events,
            async stop() {
                for (const s of [...started].reverse()) {
                    await s.stop();
                }
                await controlPlane.stop();
            },
        };
    } catch (err) {
        for (const s of [...started].reverse()) {
            await s.stop().catch(() => undefined);
        }
        await controlPlane.stop();
        throw err;
    }
}
