/**
 * What the stack policies need to know about a workload: how many pods it may run at once
 * (replicas, an autoscaler targeting it, a DaemonSet), and what a variable resolves to in its
 * containers (env literals, envFrom ConfigMaps, configMapKeyRef), looked up among the stack's
 * own objects.
 */
import { arr, isUnknown, K8sObject, obj, podLabelsOf, sameNamespace, str, Unknown, UNKNOWN } from "./k8s";

/** Workloads with a replica count. */
const SCALABLE = new Set(["Deployment", "StatefulSet", "ReplicaSet", "ReplicationController"]);

export function isScalable(o: K8sObject): boolean {
    return SCALABLE.has(o.kind);
}

/** The autoscalers (HorizontalPodAutoscaler, any version) that target a workload. */
function autoscalersOf(o: K8sObject, objects: K8sObject[]): K8sObject[] {
    return objects.filter((h) => {
        if (h.kind !== "HorizontalPodAutoscaler") return false;
        const ref = obj(obj(h.props.spec).scaleTargetRef);
        return ref.kind === o.kind && ref.name === o.name && !isUnknown(o.name) && sameNamespace(h, o) === true;
    });
}

interface ReplicaPlan {
    /** Whether more than one pod may run at once (not counting a rollout's surge). */
    several: boolean | Unknown;
    /** Why, for messages: "3 replicas", "autoscaled up to 10 replicas by HorizontalPodAutoscaler ...". */
    why: string;
}

export function replicaPlan(o: K8sObject, objects: K8sObject[]): ReplicaPlan {
    if (o.kind === "DaemonSet") return { several: true, why: "a DaemonSet runs one pod per node" };
    if (!isScalable(o)) return { several: false, why: "one pod" };
    for (const hpa of autoscalersOf(o, objects)) {
        const max = obj(hpa.props.spec).maxReplicas;
        if (isUnknown(max)) return { several: UNKNOWN, why: "autoscaled" };
        // An autoscaler capped at one replica never runs two.
        if (typeof max === "number" && max > 1) {
            return { several: true, why: `autoscaled up to ${max} replicas by HorizontalPodAutoscaler ${String(hpa.name)}` };
        }
    }
    const replicas = obj(o.props.spec).replicas;
    if (isUnknown(replicas)) return { several: UNKNOWN, why: "replicas not known yet" };
    const n = typeof replicas === "number" ? replicas : 1; // unset: 1
    return { several: n > 1, why: `${n} replica${n === 1 ? "" : "s"}` };
}

/** Whether the workload's labels (its own or its pods') carry every label of `wanted`. */
export function hasLabels(o: K8sObject, wanted: Record<string, string>): boolean {
    const pods = podLabelsOf(o);
    return Object.entries(wanted).every(([k, v]) => o.labels[k] === v || pods[k] === v);
}

/** The stack's ConfigMap `name` in the namespace of `o`: the object, UNKNOWN, or undefined if not in the stack. */
function configMap(o: K8sObject, name: unknown, objects: K8sObject[]): K8sObject | Unknown | undefined {
    if (isUnknown(name)) return UNKNOWN;
    let unknown = false;
    for (const cm of objects) {
        if (cm.kind !== "ConfigMap") continue;
        if (isUnknown(cm.name) || sameNamespace(cm, o) === UNKNOWN) {
            unknown = true;
            continue;
        }
        if (cm.name === name && sameNamespace(cm, o)) return cm;
    }
    return unknown ? UNKNOWN : undefined;
}

/**
 * What variable `name` resolves to in a container: explicit env entries win over envFrom, and
 * among envFrom sources the last one wins (as the kubelet resolves them). UNKNOWN when it
 * depends on a value not known yet; undefined when unset, or set from something this stack does
 * not show (a Secret, a field, a ConfigMap created elsewhere).
 */
export function resolveEnv(o: K8sObject, container: Record<string, any>, name: string, objects: K8sObject[]): string | Unknown | undefined {
    let result: string | Unknown | undefined;
    let found = false;
    for (const e of arr(container.env)) {
        if (isUnknown(e)) return UNKNOWN;
        const entry = obj(e);
        if (entry.name !== name) continue;
        found = true;
        if (entry.value !== undefined) {
            result = str(entry.value);
        } else {
            const ref = obj(obj(entry.valueFrom).configMapKeyRef);
            if (ref.name === undefined) {
                result = undefined;
            } else {
                const cm = configMap(o, ref.name, objects);
                result = cm === undefined || isUnknown(cm) ? cm : str(obj(cm.props.data)[String(ref.key)]);
            }
        }
    }
    if (found) return result;
    for (const source of arr(container.envFrom)) {
        if (isUnknown(source)) return UNKNOWN;
        const ref = obj(source).configMapRef;
        if (ref === undefined) continue;
        const prefix = str(obj(source).prefix) ?? "";
        if (isUnknown(prefix)) return UNKNOWN;
        if (prefix && !name.startsWith(prefix)) continue;
        const cm = configMap(o, obj(ref).name, objects);
        if (isUnknown(cm)) return UNKNOWN;
        if (cm === undefined) continue;
        const data = cm.props.data;
        if (isUnknown(data)) return UNKNOWN;
        const value = obj(data)[name.slice(prefix.length)];
        if (value !== undefined) result = str(value);
    }
    return result;
}
