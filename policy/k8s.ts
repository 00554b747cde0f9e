/**
 * Reading Kubernetes objects as the policy engine hands them over: plain JSON-like props, with
 * values that are still unknown during a preview (an output of a resource not created yet).
 *
 * The pack deliberately does not depend on @pulumi/kubernetes: policies match on the Pulumi type
 * token ("kubernetes:apps/v1:Deployment") and read the manifest fields they need, which works for
 * every API version and keeps the pack's install small.
 */

import { ENVIRONMENT_LABEL, ENVIRONMENTS, Environment } from "../contract";

/** Stands for a value not known yet (preview): such a field cannot be judged until `up`. */
export const UNKNOWN: unique symbol = Symbol("unknown");
export type Unknown = typeof UNKNOWN;

/**
 * How unknown values are encoded: the engine's (the string one, @pulumi/pulumi runtime/rpc
 * unknownValue) and the typed ones of @pulumi/policy's proxy.
 */
const UNKNOWN_SENTINELS = new Set([
    "04da6b54-80e4-46f7-96ec-b56ff0331ba9", "1c4a061d-8072-4f0a-a4cb-0ff528b18fe7", "3eeb2bf0-c639-47a8-9e75-3b44932eb421",
    "6a19a0b0-7e62-4c92-b797-7f8e31da9cc2", "030794c1-ac77-496b-92df-f27374a8bd58", "e48ece36-62e2-4504-bad9-02848725956a",
    "dd056dcd-154b-4c76-9bd3-c8f88648b5ff",
]);

/**
 * A plain deep copy of resource props in which every unknown value is UNKNOWN.
 *
 * The engine wraps props in a proxy that throws UnknownValueError when a policy touches an
 * unknown value, and then turns the whole policy into an advisory "can't run during preview".
 * Copying first means one unknown field (say, a name that comes from another resource's output)
 * only suspends the checks that need that field; every other check still runs and still blocks.
 */
export function materialize(value: unknown): any {
    if (typeof value === "string" && UNKNOWN_SENTINELS.has(value)) return UNKNOWN;
    if (Array.isArray(value)) {
        const out: unknown[] = [];
        for (let i = 0; i < value.length; i++) out.push(read(() => value[i]));
        return out;
    }
    if (value !== null && typeof value === "object") {
        const out: Record<string, unknown> = {};
        for (const key of Object.keys(value)) out[key] = read(() => (value as Record<string, unknown>)[key]);
        return out;
    }
    return value;
}

function read(get: () => unknown): unknown {
    try {
        return materialize(get());
    } catch (e) {
        if (e instanceof Error && e.constructor.name === "UnknownValueError") return UNKNOWN;
        throw e;
    }
}

export function isUnknown(value: unknown): value is Unknown {
    return value === UNKNOWN;
}

/** The object at `value`, or an empty one (missing, unknown or not an object). */
export function obj(value: unknown): Record<string, any> {
    return value !== null && typeof value === "object" && !Array.isArray(value) ? value as Record<string, any> : {};
}

/** The array at `value`, or an empty one. */
export function arr(value: unknown): any[] {
    return Array.isArray(value) ? value : [];
}

/** A string field, UNKNOWN, or undefined when absent or not a string. */
export function str(value: unknown): string | Unknown | undefined {
    if (isUnknown(value)) return UNKNOWN;
    return typeof value === "string" ? value : undefined;
}

// --- Types and objects ----------------------------------------------------------------------

/** Kubernetes component resources and helpers, which are not objects in the cluster. */
const NOT_OBJECTS = /^kubernetes:(yaml(\/v\d+)?|helm\.sh\/v\d+|kustomize(\/v\d+)?):|(Patch|List)$/;

/** The Kind of a Kubernetes object's Pulumi type ("kubernetes:apps/v1:Deployment" -> "Deployment"). */
export function kindOf(type: string): string | undefined {
    if (!type.startsWith("kubernetes:") || NOT_OBJECTS.test(type)) return undefined;
    const m = /^kubernetes:[^:]+\/[^:/]+:([A-Za-z0-9]+)$/.exec(type);
    return m ? m[1] : undefined;
}

/** A Kubernetes object as the policies see it. */
export interface K8sObject {
    /** The Pulumi type, e.g. kubernetes:apps/v1:Deployment. */
    type: string;
    kind: string;
    /** Pulumi URN (to attach stack-level violations to the object). */
    urn?: string;
    name: string | Unknown;
    namespace: string | Unknown | undefined;
    /** metadata.labels ({} when absent or not known yet). */
    labels: Record<string, any>;
    /** Whether the labels are not known yet (preview): the environment is then unknown too. */
    labelsUnknown: boolean;
    props: Record<string, any>;
}

export function k8sObject(type: string, rawProps: unknown, urn?: string): K8sObject | undefined {
    const kind = kindOf(type);
    if (!kind) return undefined;
    const props = obj(materialize(rawProps));
    const metadata = props.metadata;
    return {
        type, kind, urn, props,
        name: isUnknown(metadata) ? UNKNOWN : str(obj(metadata).name) ?? "",
        namespace: isUnknown(metadata) ? UNKNOWN : str(obj(metadata).namespace),
        labels: obj(obj(metadata).labels),
        labelsUnknown: isUnknown(metadata) || isUnknown(obj(metadata).labels),
    };
}

/** "Deployment trading-dev/trading-bot", for messages. */
export function describeObject(o: K8sObject): string {
    const name = isUnknown(o.name) ? "(name not known yet)" : o.name || "(generated name)";
    const ns = isUnknown(o.namespace) ? "(namespace not known yet)" : o.namespace;
    return ns ? `${o.kind} ${ns}/${name}` : `${o.kind} ${name}`;
}

/** Whether two objects are in the same namespace (absent means the provider's default namespace). */
export function sameNamespace(a: K8sObject, b: K8sObject): boolean | Unknown {
    if (isUnknown(a.namespace) || isUnknown(b.namespace)) return UNKNOWN;
    return (a.namespace || "default") === (b.namespace || "default");
}

// --- Environment ----------------------------------------------------------------------------

/**
 * The label the program puts on every object it creates (components/tradingBot/naming.ts,
 * components/databases/singleInstance.ts, the Namespace): the stack's environment.
 *
 * The policies take the environment from the object itself rather than from the stack name:
 * the engine does not tell a policy pack which stack it analyses (only the stack's tags), stack
 * names are free-form (`prod`, `prod-eu`, `acme/prod`), and the label is what the cluster and
 * everyone reading it see. The `environment-label` and `single-environment` policies make the
 * label mandatory and consistent (and, with policy config or a stack tag, equal to the stack's
 * declared environment), so no object can dodge the prod rules by leaving it out.
 */
export { ENVIRONMENT_LABEL, ENVIRONMENTS };
export type { Environment };

/**
 * The object's environment label: a valid environment, undefined when missing or invalid, or
 * UNKNOWN when the labels are not known yet (preview).
 */
export function environmentOf(o: K8sObject): Environment | undefined | Unknown {
    if (o.labelsUnknown) return UNKNOWN;
    let value = o.labels[ENVIRONMENT_LABEL];
    // A workload without the label on itself may still carry it on its pods.
    if (value === undefined) {
        const podLabels = podTemplateMetadata(o).labels;
        value = isUnknown(podLabels) ? UNKNOWN : obj(podLabels)[ENVIRONMENT_LABEL];
    }
    if (isUnknown(value)) return UNKNOWN;
    return (ENVIRONMENTS as readonly unknown[]).includes(value) ? value as Environment : undefined;
}

/**
 * Whether the prod rules apply. They fail closed: an object without a valid environment label is
 * treated as prod (environment-label reports the missing label itself). While the labels are not
 * known yet (preview) they wait: `up` checks again with every value known.
 */
export function prodRulesApply(o: K8sObject): boolean {
    const env = environmentOf(o);
    return env === undefined || env === "prod";
}

// --- Pods and containers --------------------------------------------------------------------

const TEMPLATE_KINDS = new Set(["Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "ReplicationController", "Job"]);

/** The pod template's metadata of a workload ({} for a Pod or a non-workload). */
function podTemplateMetadata(o: K8sObject): Record<string, any> {
    if (TEMPLATE_KINDS.has(o.kind)) return obj(obj(obj(o.props.spec).template).metadata);
    if (o.kind === "CronJob") return obj(obj(obj(obj(obj(obj(o.props.spec).jobTemplate).spec).template).metadata));
    return {};
}

/** Whether the object runs pods (a Pod or a workload with a pod template). */
export function runsPods(o: K8sObject): boolean {
    return o.kind === "Pod" || o.kind === "CronJob" || TEMPLATE_KINDS.has(o.kind);
}

/** The pod spec an object runs, or undefined when it runs none. */
function podSpecOf(o: K8sObject): Record<string, any> | undefined {
    if (o.kind === "Pod") return obj(o.props.spec);
    if (TEMPLATE_KINDS.has(o.kind)) return obj(obj(obj(o.props.spec).template).spec);
    if (o.kind === "CronJob") return obj(obj(obj(obj(obj(o.props.spec).jobTemplate).spec).template).spec);
    return undefined;
}

/** The labels of the pods an object runs. */
export function podLabelsOf(o: K8sObject): Record<string, any> {
    return o.kind === "Pod" ? o.labels : obj(podTemplateMetadata(o).labels);
}

interface ContainerRef {
    /** containers, initContainers or ephemeralContainers. */
    field: "containers" | "initContainers" | "ephemeralContainers";
    name: string;
    container: Record<string, any>;
    pod: Record<string, any>;
}

/** Every container of the object's pods, init and ephemeral ones included. */
export function containersOf(o: K8sObject): ContainerRef[] {
    const pod = podSpecOf(o);
    if (!pod) return [];
    const out: ContainerRef[] = [];
    for (const field of ["containers", "initContainers", "ephemeralContainers"] as const) {
        for (const c of arr(pod[field])) {
            const container = obj(c);
            const name = str(container.name);
            out.push({ field, name: typeof name === "string" ? name : "?", container, pod });
        }
    }
    return out;
}

/** "Deployment trading-dev/trading-bot, container trading-bot", for messages. */
export function describeContainer(o: K8sObject, c: ContainerRef): string {
    const what = c.field === "containers" ? "container" : c.field === "initContainers" ? "init container" : "ephemeral container";
    return `${describeObject(o)}, ${what} ${c.name}`;
}

// --- Label selectors ------------------------------------------------------------------------

/**
 * Whether a label selector ({matchLabels, matchExpressions}) selects a set of labels.
 * UNKNOWN when the selector is not known yet. An empty selector selects everything, as it does
 * for NetworkPolicy podSelector and policy/v1 PodDisruptionBudget.
 */
export function selects(selector: unknown, labels: Record<string, any>): boolean | Unknown {
    if (isUnknown(selector)) return UNKNOWN;
    const s = obj(selector);
    if (isUnknown(s.matchLabels) || isUnknown(s.matchExpressions)) return UNKNOWN;
    for (const [key, value] of Object.entries(obj(s.matchLabels))) {
        if (isUnknown(value)) return UNKNOWN;
        if (labels[key] !== value) return false;
    }
    for (const e of arr(s.matchExpressions)) {
        const { key, operator, values } = obj(e);
        if (isUnknown(key) || isUnknown(values)) return UNKNOWN;
        const has = Object.prototype.hasOwnProperty.call(labels, key);
        const inValues = arr(values).includes(labels[key]);
        switch (operator) {
            case "In": if (!has || !inValues) return false; break;
            case "NotIn": if (has && inValues) return false; break;
            case "Exists": if (!has) return false; break;
            case "DoesNotExist": if (has) return false; break;
            default: return false;
        }
    }
    return true;
}

// --- Values ---------------------------------------------------------------------------------

/** How Kubernetes and the bot read a boolean from a string. */
export function isTruthy(value: unknown): boolean {
    return value === true || (typeof value === "string" && /^(true|1|yes|on)$/i.test(value.trim()));
}

/** A Kubernetes quantity as a number of base units (the contract's parser, shared with config/). */
export { quantity } from "../contract";

// --- Images ---------------------------------------------------------------------------------

interface ImageRef {
    /** Everything before the tag and digest: [registry/]repository. */
    repository: string;
    tag?: string;
    digest?: string;
}

/** Splits "registry:5000/org/app:1.2.3@sha256:..." into repository, tag and digest. */
export function parseImage(image: string): ImageRef {
    let rest = image.trim();
    let digest: string | undefined;
    const at = rest.indexOf("@");
    if (at >= 0) {
        digest = rest.slice(at + 1);
        rest = rest.slice(0, at);
    }
    // A tag follows the last ':' after the last '/'; a ':' before it is a registry port.
    const slash = rest.lastIndexOf("/");
    const colon = rest.lastIndexOf(":");
    let tag: string | undefined;
    if (colon > slash) {
        tag = rest.slice(colon + 1);
        rest = rest.slice(0, colon);
    }
    return { repository: rest, tag: tag || undefined, digest: digest || undefined };
}

/** A content digest that pins an image: sha256 (or sha384/sha512) with its full hex. */
export function isPinnedDigest(digest: string | undefined): boolean {
    return digest !== undefined && /^sha(256:[a-f0-9]{64}|384:[a-f0-9]{96}|512:[a-f0-9]{128})$/.test(digest);
}
