/**
 * A trading bot places orders; two bots on one account place every order twice. So a bot may
 * run several pods at once (replicas > 1, a HorizontalPodAutoscaler that may scale it past one,
 * a DaemonSet) only with leader election: LEADER_ELECTION_ENABLED=true in its environment (the
 * bot's ConfigMap, see components/tradingBot/configuration.ts) and the Lease it elects on, so
 * that only the leader trades. A bot without leader election must not overlap with itself
 * during a rollout either: a Deployment's default RollingUpdate starts the new pod before the
 * old one stops, so it needs Recreate (or maxSurge 0).
 *
 * Only the trading bot is concerned (label app.kubernetes.io/component=bot, configurable):
 * PostgreSQL, Redis and other servers do not place orders.
 *
 * A stack policy, because the answer lives in several objects: the Deployment, the autoscaler
 * that targets it, the ConfigMap it reads and the Lease.
 */
import { BOT_COMPONENT_LABELS, BOT_ENV } from "../contract";
import { stackPolicy } from "./define";
import { containersOf, describeObject, isTruthy, isUnknown, K8sObject, obj, runsPods, sameNamespace, Unknown, UNKNOWN } from "./k8s";
import { hasLabels, replicaPlan, resolveEnv } from "./workloads";

const BOT_LABELS: Record<string, string> = { ...BOT_COMPONENT_LABELS };

interface Election {
    enabled: boolean | Unknown;
    /** The Lease the bot elects on, when it names one. */
    leaseName?: string | Unknown;
}

function electionOf(o: K8sObject, objects: K8sObject[], enabledVariable: string, leaseVariable: string): Election {
    let unknown = false;
    for (const c of containersOf(o)) {
        if (c.field !== "containers") continue;
        const enabled = resolveEnv(o, c.container, enabledVariable, objects);
        if (isUnknown(enabled)) {
            unknown = true;
        } else if (isTruthy(enabled)) {
            return { enabled: true, leaseName: resolveEnv(o, c.container, leaseVariable, objects) };
        }
    }
    return { enabled: unknown ? UNKNOWN : false };
}

/** Whether a Deployment's rollout can run the old and the new pod at the same time. */
function rolloutOverlaps(o: K8sObject): { overlaps: boolean | Unknown; how: string } {
    const strategy = obj(o.props.spec).strategy;
    if (isUnknown(strategy)) return { overlaps: UNKNOWN, how: "" };
    const type = obj(strategy).type ?? "RollingUpdate";
    if (isUnknown(type)) return { overlaps: UNKNOWN, how: "" };
    if (type === "Recreate") return { overlaps: false, how: "Recreate" };
    const surge = obj(obj(strategy).rollingUpdate).maxSurge ?? "25%";
    if (isUnknown(surge)) return { overlaps: UNKNOWN, how: "" };
    const none = surge === 0 || surge === "0" || surge === "0%";
    return { overlaps: !none, how: `RollingUpdate with maxSurge ${surge}` };
}

const leaderElectionForSeveralReplicas = stackPolicy({
    name: "leader-election-for-several-replicas",
    description: "A trading bot runs several pods (replicas > 1, autoscaling, a DaemonSet) only with leader election (LEADER_ELECTION_ENABLED=true and its Lease); without it, it never overlaps with itself during a rollout.",
    enforcementLevel: "mandatory",
    remediationSteps: "pulumi config set trading-bot:leaderElectionEnabled true (or replicas 1 and autoscalingEnabled false).",
    defaults: {
        botLabels: BOT_LABELS,
        enabledVariable: BOT_ENV.leaderElectionEnabled as string,
        leaseNameVariable: BOT_ENV.leaderElectionLeaseName as string,
    },
    configSchema: {
        properties: {
            botLabels: {
                type: "object", additionalProperties: { type: "string" }, default: BOT_LABELS,
                description: "Labels (on the workload or its pods) that mark a trading bot.",
            },
            enabledVariable: { type: "string", default: BOT_ENV.leaderElectionEnabled, description: "The variable that turns leader election on." },
            leaseNameVariable: { type: "string", default: BOT_ENV.leaderElectionLeaseName, description: "The variable that names the Lease." },
        },
    },
    check(objects, report, config) {
        for (const o of objects) {
            if (!runsPods(o) || !hasLabels(o, config.botLabels)) continue;
            const plan = replicaPlan(o, objects);
            if (isUnknown(plan.several)) continue;
            const election = electionOf(o, objects, config.enabledVariable, config.leaseNameVariable);
            if (isUnknown(election.enabled)) continue;

            if (plan.several && !election.enabled) {
                report(`${describeObject(o)} is a trading bot with ${plan.why} but without leader election (${config.enabledVariable} is not true): every replica would place the same orders. Enable leader election (pulumi config set trading-bot:leaderElectionEnabled true) or run one replica without autoscaling`, o);
            } else if (plan.several) {
                const leases = objects.filter((l) => l.kind === "Lease" && sameNamespace(l, o) !== false);
                const name = election.leaseName;
                if (isUnknown(name) || leases.some((l) => isUnknown(l.name) || sameNamespace(l, o) === UNKNOWN)) continue;
                const found = typeof name === "string" && name !== ""
                    ? leases.some((l) => l.name === name)
                    : leases.length > 0;
                if (!found) {
                    const lease = typeof name === "string" && name !== "" ? `Lease ${name}` : "a Lease";
                    report(`${describeObject(o)} is a trading bot with ${plan.why} and leader election on, but the stack has no ${lease} in its namespace to elect the leader on: create it (the program does with leaderElectionEnabled)`, o);
                }
            } else if (o.kind === "Deployment" && !election.enabled) {
                const rollout = rolloutOverlaps(o);
                if (rollout.overlaps === true) {
                    report(`${describeObject(o)} is a trading bot without leader election that rolls out with ${rollout.how}: the new pod starts trading before the old one stops. Use strategy Recreate (or maxSurge 0), or enable leader election`, o);
                }
            }
        }
    },
});

export const leaderElectionPolicies = [leaderElectionForSeveralReplicas];
