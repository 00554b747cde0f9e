/**
 * What prod needs around its workloads: a NetworkPolicy (the pods hold exchange keys: traffic in
 * and out is denied except what is allowed) and a PodDisruptionBudget (a node drain may not take
 * every replica at once). "Prod" is the objects' trading-bot.io/environment label; an object
 * without a valid label gets the prod rules (fail closed).
 *
 * A PodDisruptionBudget is required only where there are several replicas: for a single pod a
 * budget either allows evicting it (and protects nothing) or blocks every drain. A single replica
 * in prod is legitimate (a bot without leader election must run alone) but has no redundancy, so
 * it gets an advisory, not a block.
 */
import { stackPolicy } from "./define";
import {
    describeObject, isUnknown, K8sObject, obj, podLabelsOf, prodRulesApply, runsPods, sameNamespace, selects, Unknown, UNKNOWN,
} from "./k8s";
import { isScalable, replicaPlan } from "./workloads";

const NONE = Symbol("selects no pod");

/** The stack's scalable workloads that the prod rules apply to, each with its replica plan. */
function* prodWorkloads(objects: K8sObject[]) {
    for (const o of objects) {
        if (isScalable(o) && prodRulesApply(o)) yield { o, plan: replicaPlan(o, objects) };
    }
}

/**
 * Whether any object of `kind` in the namespace of `o` selects its pods: `selectorOf` gives the
 * object's label selector, or NONE when it selects no pod at all.
 */
function covered(
    o: K8sObject, objects: K8sObject[], kind: string, selectorOf: (p: K8sObject) => unknown,
    extra: (p: K8sObject) => boolean | Unknown = () => true,
): boolean | Unknown {
    const labels = podLabelsOf(o);
    let unknown = false;
    for (const p of objects) {
        if (p.kind !== kind) continue;
        const selector = selectorOf(p);
        const results = [sameNamespace(p, o), selector === NONE ? false : selects(selector, labels), extra(p)];
        if (results.every((r) => r === true)) return true;
        if (!results.includes(false)) unknown = true;
    }
    return unknown ? UNKNOWN : false;
}

/** The directions a NetworkPolicy restricts (policyTypes, or what Kubernetes defaults it to). */
function policyTypes(p: K8sObject): string[] | Unknown {
    const spec = obj(p.props.spec);
    if (isUnknown(spec.policyTypes)) return UNKNOWN;
    if (Array.isArray(spec.policyTypes)) return spec.policyTypes;
    return spec.egress !== undefined ? ["Ingress", "Egress"] : ["Ingress"];
}

const prodNetworkPolicy = stackPolicy({
    name: "prod-network-policy",
    description: "In prod, a NetworkPolicy restricts both ingress and egress of every workload's pods.",
    enforcementLevel: "mandatory",
    remediationSteps: "pulumi config set trading-bot:networkPolicyEnabled true --stack prod",
    defaults: {},
    check(objects, report) {
        for (const o of objects) {
            if (!runsPods(o) || !prodRulesApply(o)) continue;
            const podSelector = (p: K8sObject) => obj(p.props.spec).podSelector ?? {};
            const missing: string[] = [];
            for (const direction of ["Ingress", "Egress"]) {
                const restricts = (p: K8sObject) => {
                    const types = policyTypes(p);
                    return isUnknown(types) ? UNKNOWN : types.includes(direction);
                };
                if (covered(o, objects, "NetworkPolicy", podSelector, restricts) === false) missing.push(direction.toLowerCase());
            }
            if (missing.length > 0) {
                report(`${describeObject(o)} runs in prod without a NetworkPolicy restricting ${missing.join(" and ")} of its pods: enable the bot's NetworkPolicy (pulumi config set trading-bot:networkPolicyEnabled true --stack prod)`, o);
            }
        }
    },
});

const prodDisruptionBudget = stackPolicy({
    name: "prod-disruption-budget",
    description: "In prod, every workload with several replicas has a PodDisruptionBudget selecting its pods.",
    enforcementLevel: "mandatory",
    remediationSteps: "Run the bot with several replicas (the program then creates its PodDisruptionBudget), or add one that selects the pods.",
    defaults: {},
    check(objects, report) {
        for (const { o, plan } of prodWorkloads(objects)) {
            if (plan.several !== true) continue;
            // policy/v1: a missing selector selects no pod, an empty one every pod of the namespace.
            const selector = (p: K8sObject) => obj(p.props.spec).selector ?? NONE;
            if (covered(o, objects, "PodDisruptionBudget", selector) === false) {
                report(`${describeObject(o)} runs in prod with ${plan.why} but no PodDisruptionBudget selects its pods: a node drain could evict them all at once`, o);
            }
        }
    },
});

const prodSeveralReplicas = stackPolicy({
    name: "prod-several-replicas",
    description: "In prod, workloads run several replicas (or autoscale), so a crash or a node drain does not stop them.",
    enforcementLevel: "advisory",
    remediationSteps: "pulumi config set trading-bot:leaderElectionEnabled true, then replicas 2 or more (or autoscalingEnabled true) --stack prod",
    defaults: {},
    check(objects, report) {
        for (const { o, plan } of prodWorkloads(objects)) {
            if (plan.several === false) {
                report(`${describeObject(o)} runs a single replica in prod: while it restarts or its node drains, nothing runs (with leader election the bot can run several replicas safely)`, o);
            }
        }
    },
});

export const prodPolicies = [prodNetworkPolicy, prodDisruptionBudget, prodSeveralReplicas];
