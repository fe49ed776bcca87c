import * as k8s from "@pulumi/kubernetes";

/**
 * The container securityContext every pod of the program runs with (the node trust DaemonSet
 * excepted, which must write root-owned host directories): what the Kubernetes "restricted"
 * Pod Security Standard requires — non-root, no privilege escalation, no capabilities, the
 * runtime's seccomp profile — plus a read-only root filesystem.
 */
export function restrictedContainerSecurityContext(): k8s.types.input.core.v1.SecurityContext {
    return {
        allowPrivilegeEscalation: false,
        readOnlyRootFilesystem: true,
        runAsNonRoot: true,
        capabilities: { drop: ["ALL"] },
        seccompProfile: { type: "RuntimeDefault" },
    };
}
