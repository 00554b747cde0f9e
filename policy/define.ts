/**
 * Builders for the pack's policies: they turn the engine's arguments into Kubernetes objects
 * (see k8s.ts) and merge the policy's config over its defaults.
 *
 * Only types are imported from @pulumi/policy, so loading a policy module (as the unit tests do)
 * does not load the policy SDK or start its gRPC server; index.ts alone creates the PolicyPack.
 */
import type {
    EnforcementLevel, PolicyConfigSchema, ReportViolation, ResourceValidationArgs, ResourceValidationPolicy,
    StackValidationArgs, StackValidationPolicy,
} from "@pulumi/policy";
import { K8sObject, k8sObject } from "./k8s";

// The SDK's types, for code outside the pack (the unit tests) that does not resolve @pulumi/policy.
export type {
    Policies, PolicyResource, ResourceValidationArgs, ResourceValidationPolicy, StackValidationArgs, StackValidationPolicy,
} from "@pulumi/policy";

/** Config values of a policy; the engine validates them against the policy's configSchema. */
export type Config = Record<string, unknown>;

/**
 * The policy's config: its defaults, overridden by `--policy-pack-config` (the engine applies
 * schema defaults too, but a policy must not depend on that).
 */
function configOf<C extends Config>(defaults: C, getConfig: () => object): C {
    const given = getConfig() as Partial<C>;
    const out = { ...defaults };
    for (const [key, value] of Object.entries(given)) {
        if (value !== undefined && value !== null) (out as Config)[key] = value;
    }
    return out;
}

interface Common<C extends Config> {
    name: string;
    description: string;
    enforcementLevel: EnforcementLevel;
    /** How to fix a violation, shown by the Pulumi Cloud console and in `pulumi policy` output. */
    remediationSteps?: string;
    /** Defaults of the policy's config; each key must be declared in `configSchema`. */
    defaults: C;
    configSchema?: PolicyConfigSchema;
}

interface ObjectPolicy<C extends Config> extends Common<C> {
    /** Checks one Kubernetes object (never a provider, component or non-Kubernetes resource). */
    check(o: K8sObject, report: (message: string) => void, config: C, args: ResourceValidationArgs): void;
}

/** What the engine shows of a policy: the same for object and stack policies. */
function identity<C extends Config>(p: Common<C>) {
    const { name, description, enforcementLevel, remediationSteps, configSchema } = p;
    return { name, description, enforcementLevel, remediationSteps, configSchema };
}

export function objectPolicy<C extends Config>(p: ObjectPolicy<C>): ResourceValidationPolicy {
    return {
        ...identity(p),
        validateResource: (args: ResourceValidationArgs, reportViolation: ReportViolation) => {
            const o = k8sObject(args.type, args.props, args.urn);
            if (!o) return;
            p.check(o, (message) => reportViolation(message), configOf(p.defaults, () => args.getConfig()), args);
        },
    };
}

interface StackPolicy<C extends Config> extends Common<C> {
    /** Checks the stack's Kubernetes objects together; `report` attaches a violation to an object. */
    check(objects: K8sObject[], report: (message: string, o?: K8sObject) => void, config: C, args: StackValidationArgs): void;
}

export function stackPolicy<C extends Config>(p: StackPolicy<C>): StackValidationPolicy {
    return {
        ...identity(p),
        validateStack: (args: StackValidationArgs, reportViolation: ReportViolation) => {
            const objects: K8sObject[] = [];
            for (const r of args.resources) {
                const o = k8sObject(r.type, r.props, r.urn);
                if (o) objects.push(o);
            }
            p.check(objects, (message, o) => reportViolation(message, o?.urn),
                configOf(p.defaults, () => args.getConfig()), args);
        },
    };
}
