/**
 * The environment every other policy relies on. Each object says which environment it belongs
 * to with the `trading-bot.io/environment` label that the program sets from the stack's
 * `environment` config (see k8s.ts for why the label rather than the stack name). These two
 * policies make that label trustworthy:
 *  - environment-label: every Kubernetes object carries it, with dev, staging or prod; and when
 *    the stack's environment is declared (policy config `environment`, or the stack tag
 *    `trading-bot:environment`), with exactly that value. CI passes the declared environment per
 *    stack, so a prod stack cannot be relabelled dev to escape the prod rules;
 *  - single-environment: all objects of a stack agree, so one object labelled dev cannot sit
 *    unnoticed in a prod stack.
 */
import { objectPolicy, stackPolicy } from "./define";
import { describeObject, ENVIRONMENT_LABEL, ENVIRONMENTS, isUnknown, K8sObject } from "./k8s";

/** The stack tag that may declare a stack's environment (pulumi stack tag set trading-bot:environment prod). */
const ENVIRONMENT_TAG = "trading-bot:environment";

const environmentLabel = objectPolicy({
    name: "environment-label",
    description: "Every Kubernetes object carries the trading-bot.io/environment label (dev, staging or prod), equal to the stack's declared environment.",
    enforcementLevel: "mandatory",
    remediationSteps: "Label the object with trading-bot.io/environment (the program's naming.ts labels do), and set trading-bot:environment to the stack's environment.",
    defaults: { environment: "", exemptKinds: [] as string[] },
    configSchema: {
        properties: {
            environment: {
                type: "string", enum: ["", ...ENVIRONMENTS], default: "",
                description: "The stack's environment; every object's label must equal it. Empty: the stack tag trading-bot:environment if set, else any valid environment.",
            },
            exemptKinds: {
                type: "array", items: { type: "string" }, default: [],
                description: "Kinds that need no environment label (e.g. third-party objects from a chart).",
            },
        },
    },
    check(o, report, config, args) {
        if (config.exemptKinds.includes(o.kind)) return;
        const value = o.labels[ENVIRONMENT_LABEL];
        if (o.labelsUnknown || isUnknown(value)) return;
        const declared = config.environment || args.stackTags.get(ENVIRONMENT_TAG) || "";
        if (value === undefined) {
            report(`${describeObject(o)} has no ${ENVIRONMENT_LABEL} label: the policies cannot tell its environment and apply the prod rules; label it ${declared || "dev, staging or prod"}`);
        } else if (!(ENVIRONMENTS as readonly unknown[]).includes(value)) {
            report(`${describeObject(o)} has ${ENVIRONMENT_LABEL}=${value}, which is not dev, staging or prod`);
        } else if (declared && value !== declared) {
            report(`${describeObject(o)} is labelled ${ENVIRONMENT_LABEL}=${value} but this stack is ${declared}: set trading-bot:environment to ${declared}`);
        }
    },
});

const singleEnvironment = stackPolicy({
    name: "single-environment",
    description: "All Kubernetes objects of a stack carry the same trading-bot.io/environment label.",
    enforcementLevel: "mandatory",
    remediationSteps: "Give every object the stack's environment label; one stack deploys one environment.",
    defaults: {},
    check(objects, report) {
        const byEnvironment = new Map<string, K8sObject[]>();
        for (const o of objects) {
            const value = o.labels[ENVIRONMENT_LABEL];
            if (typeof value !== "string") continue;
            byEnvironment.set(value, [...(byEnvironment.get(value) ?? []), o]);
        }
        if (byEnvironment.size <= 1) return;
        const summary = [...byEnvironment.entries()]
            .map(([env, os]) => `${env}: ${os.slice(0, 3).map(describeObject).join(", ")}${os.length > 3 ? ` and ${os.length - 3} more` : ""}`)
            .join("; ");
        report(`the stack mixes environments (${summary}): one stack deploys one environment`);
    },
});

export const environmentPolicies = [environmentLabel, singleEnvironment];
