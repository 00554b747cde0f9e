import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { BotSpec } from "./spec";
import { meta, Naming } from "./naming";

/** What the bot may do with the Kubernetes API: nothing, or renew its own Lease when it elects a leader. */
export function roleRules(spec: BotSpec, n: Naming): k8s.types.input.rbac.v1.PolicyRule[] {
    if (!spec.leaderElection) return [];
    // Only its own, pre-created Lease: `create` cannot be limited by name, so the program creates it.
    return [{ apiGroups: ["coordination.k8s.io"], resources: ["leases"], resourceNames: [n.lease], verbs: ["get", "update", "patch"] }];
}

/** ServiceAccount, Role, RoleBinding and (with leader election) the Lease. Returns the account name. */
export function createRbac(spec: BotSpec, n: Naming, opts: pulumi.CustomResourceOptions): pulumi.Output<string> {
    const account = new k8s.core.v1.ServiceAccount(`${n.name}-serviceaccount`, {
        metadata: meta(n, n.name),
        // Tokens are mounted per pod, only when the bot talks to the API (see the Deployment).
        automountServiceAccountToken: false,
    }, opts);
    const rules = roleRules(spec, n);
    const role = new k8s.rbac.v1.Role(`${n.name}-role`, {
        metadata: meta(n, n.name),
        // An empty list is stored as no list at all: leave it out, or every preview shows a diff.
        ...(rules.length ? { rules } : {}),
    }, opts);
    new k8s.rbac.v1.RoleBinding(`${n.name}-rolebinding`, {
        metadata: meta(n, n.name),
        roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: role.metadata.name },
        subjects: [{ kind: "ServiceAccount", name: account.metadata.name, namespace: n.namespace }],
    }, opts);
    if (spec.leaderElection) {
        new k8s.coordination.v1.Lease(`${n.name}-lease`, {
            metadata: meta(n, n.lease),
            spec: {},
        }, opts);
    }
    return account.metadata.name;
}
