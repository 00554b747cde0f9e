/**
 * Compute resources: every container says what it needs (requests, for scheduling and for the
 * autoscaler's utilisation) and what it may use at most (limits), so one runaway pod cannot
 * starve the node or the bot that shares it.
 */
import { objectPolicy } from "./define";
import { containersOf, describeContainer, isUnknown, obj, quantity } from "./k8s";

const FIELDS = ["requests.cpu", "requests.memory", "limits.cpu", "limits.memory"] as const;

const requestsAndLimits = objectPolicy({
    name: "resource-requests-and-limits",
    description: "Every container sets CPU and memory requests and limits.",
    enforcementLevel: "mandatory",
    remediationSteps: "Set resources.requests.cpu/memory and resources.limits.cpu/memory on every container (cpuRequest, memoryRequest, cpuLimit, memoryLimit for the bot).",
    defaults: {},
    check(o, report) {
        for (const c of containersOf(o)) {
            // Ephemeral (debug) containers cannot have resources.
            if (c.field === "ephemeralContainers") continue;
            const resources = c.container.resources;
            if (isUnknown(resources)) continue;
            const missing = FIELDS.filter((path) => {
                const [group, name] = path.split(".");
                const section = obj(resources)[group];
                if (isUnknown(section)) return false;
                const value = obj(section)[name];
                return !isUnknown(value) && (value === undefined || value === null || value === "");
            });
            if (missing.length > 0) {
                report(`${describeContainer(o, c)} does not set resources.${missing.join(", resources.")}: every container needs CPU and memory requests and limits`);
            }
        }
    },
});

/**
 * Advisory: a limit far above the request is legal and sometimes right (a database that bursts
 * on CPU), so this cannot block; but what the pod uses above its request can be taken away under
 * node pressure: CPU is throttled, memory is reclaimed by OOM-kill or eviction, in the middle of
 * a trade. Memory is held to a tighter ratio than CPU for that reason.
 */
const requestsCloseToLimits = objectPolicy({
    name: "requests-close-to-limits",
    description: "Requests are not far below limits (limit/request at most maxCpuRatio for CPU, maxMemoryRatio for memory).",
    enforcementLevel: "advisory",
    remediationSteps: "Raise the request towards the limit (or lower the limit); for the bot, leave memoryLimit empty so it equals memoryRequest.",
    defaults: { maxCpuRatio: 5, maxMemoryRatio: 2 },
    configSchema: {
        properties: {
            maxCpuRatio: { type: "number", minimum: 1, default: 5, description: "Largest CPU limit/request ratio that is not reported." },
            maxMemoryRatio: { type: "number", minimum: 1, default: 2, description: "Largest memory limit/request ratio that is not reported." },
        },
    },
    check(o, report, config) {
        for (const c of containersOf(o)) {
            const resources = obj(c.container.resources);
            for (const [resource, max] of [["cpu", config.maxCpuRatio], ["memory", config.maxMemoryRatio]] as const) {
                const request = obj(resources.requests)[resource];
                const limit = obj(resources.limits)[resource];
                const r = quantity(request);
                const l = quantity(limit);
                if (r === undefined || l === undefined || r <= 0) continue;
                if (l / r > max) {
                    report(`${describeContainer(o, c)} requests ${request} ${resource} but may use up to ${limit} (${round(l / r)}x, more than ${max}x): what it uses above its request can be ${resource === "cpu" ? "throttled" : "reclaimed by an OOM kill or eviction"} under node pressure`);
                }
            }
        }
    },
});

function round(n: number): string {
    return String(Math.round(n * 10) / 10);
}

export const resourcePolicies = [requestsAndLimits, requestsCloseToLimits];
