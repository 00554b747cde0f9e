/**
 * Container hardening, for every container of every workload: the bot, PostgreSQL, Redis, init
 * and ephemeral containers alike. These are what the namespace's `restricted` Pod Security
 * Standard would refuse at admission anyway, plus a read-only root filesystem; checking them at
 * preview time fails the change before anything is deployed, and also covers namespaces that do
 * not enforce the standard (createNamespace false).
 */
import { objectPolicy } from "./define";
import { containersOf, describeContainer, isUnknown, obj } from "./k8s";

export const runAsNonRoot = objectPolicy({
    name: "run-as-non-root",
    description: "Every container runs as a non-root user: runAsNonRoot true (container or pod) and no runAsUser 0.",
    enforcementLevel: "mandatory",
    remediationSteps: "Set securityContext.runAsNonRoot: true and a non-zero runAsUser on the pod or the container.",
    defaults: {},
    check(o, report) {
        for (const c of containersOf(o)) {
            const own = obj(c.container.securityContext);
            const pod = obj(c.pod.securityContext);
            // A container's own setting wins over the pod's (as the kubelet applies them).
            const nonRoot = own.runAsNonRoot ?? pod.runAsNonRoot;
            const user = own.runAsUser ?? pod.runAsUser;
            if (isUnknown(nonRoot) || isUnknown(user)) continue;
            if (user === 0) {
                report(`${describeContainer(o, c)} runs as UID 0 (root): set a non-zero securityContext.runAsUser`);
            } else if (nonRoot !== true) {
                report(`${describeContainer(o, c)} may run as root: set securityContext.runAsNonRoot: true on the pod or the container, so the kubelet refuses to start it as root`);
            }
        }
    },
});

export const readOnlyRootFilesystem = objectPolicy({
    name: "read-only-root-filesystem",
    description: "Every container has a read-only root filesystem; it writes only to mounted volumes.",
    enforcementLevel: "mandatory",
    remediationSteps: "Set securityContext.readOnlyRootFilesystem: true and mount an emptyDir or a volume where the container writes (e.g. /tmp).",
    defaults: {},
    check(o, report) {
        for (const c of containersOf(o)) {
            const value = obj(c.container.securityContext).readOnlyRootFilesystem;
            if (isUnknown(value) || value === true) continue;
            report(`${describeContainer(o, c)} has a writable root filesystem: set securityContext.readOnlyRootFilesystem: true and mount an emptyDir where it must write (e.g. /tmp)`);
        }
    },
});

const dropAllCapabilities = objectPolicy({
    name: "drop-all-capabilities",
    description: "Every container drops ALL Linux capabilities and adds back none (NET_BIND_SERVICE at most).",
    enforcementLevel: "mandatory",
    remediationSteps: "Set securityContext.capabilities.drop: [\"ALL\"] and remove capabilities.add.",
    defaults: { allowedCapabilities: ["NET_BIND_SERVICE"] as string[] },
    configSchema: {
        properties: {
            allowedCapabilities: {
                type: "array", items: { type: "string" }, default: ["NET_BIND_SERVICE"],
                description: "Capabilities a container may add back after dropping ALL (the restricted Pod Security Standard allows only NET_BIND_SERVICE).",
            },
        },
    },
    check(o, report, config) {
        for (const c of containersOf(o)) {
            const caps = obj(c.container.securityContext).capabilities;
            if (isUnknown(caps)) continue;
            const drop = obj(caps).drop;
            const add = obj(caps).add;
            if (!isUnknown(drop) && !(Array.isArray(drop) && drop.includes("ALL"))) {
                report(`${describeContainer(o, c)} keeps the runtime's default Linux capabilities: set securityContext.capabilities.drop: ["ALL"]`);
            }
            if (!isUnknown(add) && Array.isArray(add)) {
                const extra = add.filter((cap) => !isUnknown(cap) && !config.allowedCapabilities.includes(String(cap).replace(/^CAP_/, "")));
                if (extra.length > 0) {
                    report(`${describeContainer(o, c)} adds capabilities ${extra.join(", ")} back: remove them from securityContext.capabilities.add (allowed: ${config.allowedCapabilities.join(", ") || "none"})`);
                }
            }
        }
    },
});

const noPrivilegeEscalation = objectPolicy({
    name: "no-privilege-escalation",
    description: "Every container sets allowPrivilegeEscalation false and is not privileged.",
    enforcementLevel: "mandatory",
    remediationSteps: "Set securityContext.allowPrivilegeEscalation: false and remove privileged: true.",
    defaults: {},
    check(o, report) {
        for (const c of containersOf(o)) {
            const sc = obj(c.container.securityContext);
            if (sc.privileged === true) {
                report(`${describeContainer(o, c)} is privileged (full access to the node): remove securityContext.privileged`);
            }
            // Unset means allowed: the default lets setuid binaries gain privileges.
            if (!isUnknown(sc.allowPrivilegeEscalation) && sc.allowPrivilegeEscalation !== false) {
                report(`${describeContainer(o, c)} allows privilege escalation: set securityContext.allowPrivilegeEscalation: false`);
            }
        }
    },
});

export const hardeningPolicies = [runAsNonRoot, readOnlyRootFilesystem, dropAllCapabilities, noPrivilegeEscalation];
