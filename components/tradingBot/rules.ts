/**
 * The bot's safety rules: relations between its arguments that no single value's type can say
 * (several replicas need leader election, trading needs the keys, a take profit above the stop
 * loss...). One named list, enforced by the TradingBot component on its arguments and reused by
 * the stack's config layer (config/settings.ts), which phrases the same violations in config keys.
 */
import { IN_CLUSTER_HOSTS, tradingRefusal, cpuMillis, memoryBytes, round, runsSeveralReplicas, SecretKey } from "../../contract";
import * as pulumi from "@pulumi/pulumi";
import { plain } from "../inputs";
import { RuleSubject } from "./spec";

/** A change of one argument, named by its path in TradingBotArgs (e.g. `trading.takeProfitPercentage`). */
export interface Change {
    argument: string;
    /** The new value as a config value would be written; absent in an alternative: "set it". */
    to?: string;
    /** The new value as TypeScript in TradingBotArgs, when it differs from `to`. */
    code?: string;
    /** Remove the argument: its default is what is wanted. */
    remove?: true;
    /** `to` is the first item of a list argument. */
    item?: true;
}

/** What a broken rule reports: the argument to change, what is wrong, and the fix. */
export interface Violation {
    /** Path of the offending argument in TradingBotArgs. */
    argument: string;
    /** How its value is shown, when not the value itself (a secret, something not set). */
    value?: string;
    message: string;
    fix: Change;
    /** Another way to fix it: all of these changes together. */
    or?: Change[];
    /** A word on the fix. */
    note?: string;
}

/**
 * How a rule names another argument in its message: TradingBot names its argument paths, the
 * config layer its config keys.
 */
export type ArgumentName = (argument: string) => string;

export interface Rule {
    /** A stable, readable name (tests and docs refer to it). */
    name: string;
    /** undefined when the subject keeps the rule; values not known yet (Outputs) keep it too. */
    check(s: RuleSubject, name: ArgumentName): Violation | undefined;
}

const NOT_SET = "(not set)";

function requireSecret(key: SecretKey, when: (s: RuleSubject) => boolean, because: (name: ArgumentName) => string): Rule {
    return {
        name: `${key} is set`,
        check: (s, name) => when(s) && !s.existingSecret && !s.secretsSet[key]
            ? { argument: `secrets.${key}`, value: NOT_SET, message: because(name), fix: { argument: `secrets.${key}`, to: "<value>" }, or: [{ argument: "existingSecret" }] }
            : undefined,
    };
}

function limitNotBelowRequest(what: "cpu" | "memory", parse: (q: string) => number | undefined): Rule {
    const limitArg = `resources.${what}Limit`, requestArg = `resources.${what}Request`;
    return {
        name: `${what} limit is not below the request`,
        check(s, name) {
            const limitText = plain(s.resources[`${what}Limit`]);
            const requestText = plain(s.resources[`${what}Request`]);
            if (limitText === undefined || requestText === undefined) return undefined;
            const limit = parse(limitText), request = parse(requestText);
            return limit !== undefined && request !== undefined && limit < request
                ? { argument: limitArg, message: `must not be below ${name(requestArg)} (${requestText})`, fix: { argument: limitArg, to: requestText } }
                : undefined;
        },
    };
}

function externalHost(key: "database" | "redis", what: string, inCluster: string): Rule {
    return {
        name: `external ${what} is named`,
        check: (s, name) => !s.inClusterDatabases && plain(s[key].host) === ""
            ? {
                argument: `${key}.host`, value: NOT_SET,
                message: `must name your ${what} server: with ${name("inClusterDatabases")} false there is no in-cluster '${inCluster}' Service to reach`,
                fix: { argument: `${key}.host`, to: `<your ${what} host>` },
            }
            : undefined,
    };
}

function egressDeclared(key: "databaseEgressTo" | "redisEgressTo", what: string, example: string): Rule {
    const argument = `networkPolicy.${key}`;
    const fix: Change = { argument, to: example, code: `[{ cidr: "${example}" }]`, item: true };
    return {
        name: `${what} egress is declared`,
        check(s) {
            if (!s.networkPolicy.enabled || s.inClusterDatabases) return undefined;
            const peers = s.networkPolicy[key];
            if (peers.length === 0) {
                return { argument, fix, message: `must say where your ${what} server is (CIDRs or namespaces): the NetworkPolicy lets the bot reach nothing else on that port` };
            }
            if (s.environment === "prod" && peers.some((p) => "cidr" in p && p.cidr.endsWith("/0"))) {
                return { argument, fix, message: `prod narrows egress to where ${what} really is; a /0 opens the port to the whole internet` };
            }
            return undefined;
        },
    };
}

/** Every safety rule of a bot, in the order their violations are reported. */
export const BOT_RULES: readonly Rule[] = [
    {
        name: "the name is a DNS-1035 label",
        check: (s) => /^[a-z]([-a-z0-9]*[a-z0-9])?$/.test(s.name) && s.name.length <= 40
            ? undefined
            : {
                argument: "name",
                message: "must be a DNS-1035 label: lower-case letters, digits and '-', starting with a letter, at most 40 characters (it prefixes every object of the bot)",
                fix: { argument: "name", to: "trading-bot", code: "\"trading-bot\" (the component's name)" },
            },
    },
    {
        name: "the image has a tag or a digest",
        check: (s) => s.environment !== "prod" && !s.image.digest && plain(s.image.tag) === ""
            ? { argument: "image.tag", message: "an image needs a tag or a digest", fix: { argument: "image.tag", to: "1.0.0" } }
            : undefined,
    },
    {
        name: "prod runs a pinned image",
        check(s) {
            const tag = plain(s.image.tag);
            return s.environment === "prod" && !s.image.digest && (tag === "latest" || tag === "")
                ? {
                    argument: "image.tag",
                    message: "prod refuses `latest` and untagged images: a moving tag would deploy untested code that trades real money",
                    fix: { argument: "image.tag", to: "<version, e.g. 1.4.2>" }, or: [{ argument: "image.digest" }],
                }
                : undefined;
        },
    },
    {
        name: "the autoscaler's maximum is not below its minimum",
        check: (s, name) => s.autoscaling.enabled && s.autoscaling.maxReplicas < s.autoscaling.minReplicas
            ? {
                argument: "autoscaling.maxReplicas",
                message: `must be at least ${name("autoscaling.minReplicas")} (${s.autoscaling.minReplicas})`,
                fix: { argument: "autoscaling.maxReplicas", to: String(s.autoscaling.minReplicas) },
            }
            : undefined,
    },
    limitNotBelowRequest("cpu", cpuMillis),
    limitNotBelowRequest("memory", memoryBytes),
    {
        name: "preStop ends within the grace period",
        check: (s, name) => s.preStopSleepSeconds >= s.terminationGracePeriodSeconds
            ? {
                argument: "preStopSleepSeconds",
                message: `must be less than ${name("terminationGracePeriodSeconds")} (${s.terminationGracePeriodSeconds}), or the bot never gets time to shut down cleanly`,
                fix: { argument: "preStopSleepSeconds", to: String(Math.min(10, s.terminationGracePeriodSeconds - 5)) },
            }
            : undefined,
    },
    {
        name: "several replicas elect a leader",
        check: (s) => runsSeveralReplicas(s) && !s.leaderElection
            ? {
                argument: s.autoscaling.enabled ? "autoscaling.enabled" : "replicas",
                message: "several replicas of an order-placing bot would place duplicate orders; more than one replica or autoscaling needs leader election so only one replica trades",
                fix: { argument: "leaderElection", to: "true" },
                or: [{ argument: "replicas", to: "1" }, { argument: "autoscaling.enabled", to: "false" }],
            }
            : undefined,
    },
    {
        name: "an ingress has a host",
        check: (s, name) => s.ingress.enabled && !s.ingress.host
            ? { argument: "ingress.host", message: `is required when ${name("ingress.enabled")} is true`, fix: { argument: "ingress.host", to: "bot.example.com", code: '"bot.example.com"' } }
            : undefined,
    },
    {
        name: "prod uses external databases",
        check: (s) => s.environment === "prod" && s.inClusterDatabases
            ? {
                argument: "inClusterDatabases",
                message: "prod uses external, backed-up PostgreSQL and Redis; the in-cluster ones are for dev and staging",
                fix: { argument: "inClusterDatabases", to: "false" },
            }
            : undefined,
    },
    {
        name: "prod talks to PostgreSQL over TLS",
        check: (s) => s.environment === "prod" && !["require", "verify-ca", "verify-full"].includes(s.database.sslMode)
            ? { argument: "database.sslMode", message: "prod talks to its database over TLS: require, verify-ca or verify-full", fix: { argument: "database.sslMode", to: "verify-full", code: '"verify-full"' } }
            : undefined,
    },
    {
        name: "prod talks to Redis over TLS",
        check: (s, name) => s.environment === "prod" && !s.redis.tls
            ? { argument: "redis.tls", message: `prod talks to Redis over TLS, as it does to PostgreSQL (${name("database.sslMode")})`, fix: { argument: "redis.tls", to: "true" } }
            : undefined,
    },
    externalHost("database", "PostgreSQL", IN_CLUSTER_HOSTS.databaseHost),
    externalHost("redis", "Redis", IN_CLUSTER_HOSTS.redisHost),
    {
        name: "take profit is above stop loss",
        check: (s, name) => s.trading.takeProfitPercentage <= s.trading.stopLossPercentage
            ? {
                argument: "trading.takeProfitPercentage",
                message: `must be greater than ${name("trading.stopLossPercentage")} (${s.trading.stopLossPercentage}), or every winning trade earns less than a losing one costs`,
                fix: { argument: "trading.takeProfitPercentage", to: String(round(s.trading.stopLossPercentage * 2)) },
            }
            : undefined,
    },
    requireSecret("binanceApiKey", (s) => s.trading.enabled,
        (name) => `is required when ${name("trading.enabled")} is true (the bot cannot place orders without it)`),
    requireSecret("binanceApiSecret", (s) => s.trading.enabled,
        (name) => `is required when ${name("trading.enabled")} is true (the bot cannot place orders without it)`),
    requireSecret("databasePassword", (s) => !s.inClusterDatabases,
        (name) => `is required for external databases (${name("inClusterDatabases")} is false)`),
    requireSecret("redisPassword", (s) => !s.inClusterDatabases,
        (name) => `is required for external databases (${name("inClusterDatabases")} is false)`),
    {
        // Decided once with the policy pack (contract/tradingRefusal, the pack's live-trading-only-in-prod).
        name: "live trading only in prod; elsewhere only on a testnet",
        check: (s) => {
            const endpoint = plain(s.trading.exchangeEndpoint);
            const refusal = endpoint === undefined ? undefined : tradingRefusal(s.environment, s.trading.enabled, endpoint);
            return refusal
                ? {
                    argument: "trading.exchangeEndpoint", message: `with trading enabled: ${refusal}`,
                    fix: { argument: "trading.exchangeEndpoint", remove: true }, note: "the testnet is the default outside prod",
                }
                : undefined;
        },
    },
    egressDeclared("databaseEgressTo", "PostgreSQL", "10.20.0.0/24"),
    egressDeclared("redisEgressTo", "Redis", "10.20.1.0/24"),
];

/** Every rule the subject breaks, each violation naming other arguments with `name`. */
export function violations(subject: RuleSubject, name: ArgumentName = (a) => a): Violation[] {
    return BOT_RULES.flatMap((rule) => rule.check(subject, name) ?? []);
}

/** A violation's fix in TradingBotArgs terms. */
export function argsFix(v: Violation): string {
    const value = (c: Change) => c.code ?? c.to;
    const main = v.fix.remove
        ? `remove ${v.fix.argument} (its default)`
        : `set ${v.fix.argument} to ${value(v.fix)}`;
    const alternative = v.or?.length
        ? ` (or set ${v.or.map((c) => c.to === undefined ? c.argument : `${c.argument} to ${value(c)}`).join(" and ")})`
        : "";
    return `${main}${alternative}${v.note ? ` (${v.note})` : ""}`;
}

/** How an argument's value is shown in an error: JSON, never a secret, "(output)" when not known yet. */
function shown(subject: object, v: Violation): string {
    if (v.value !== undefined) return v.value;
    let value: unknown = subject;
    for (const part of v.argument.split(".")) value = (value as Record<string, unknown> | undefined)?.[part];
    if (value === undefined) return "(not set)";
    return typeof value === "object" && value !== null && !Array.isArray(value) ? "(output)" : JSON.stringify(value);
}

/** Thrown by the TradingBot constructor, before any resource is registered, when its arguments break a rule. */
export class InvalidTradingBotArgsError extends Error {
    constructor(readonly bot: string, readonly violations: Violation[], subject: object) {
        const lines = violations.map((v, i) =>
            `  ${i + 1}. ${v.argument} = ${shown(subject, v)}: ${v.message}\n     fix: ${argsFix(v)}`);
        const noun = violations.length === 1 ? "rule" : "rules";
        super(`TradingBot '${bot}' breaks ${violations.length} safety ${noun}; nothing was created:\n${lines.join("\n")}`);
        this.name = "InvalidTradingBotArgsError";
    }
}

/**
 * The rules over the subject's values once known (its Outputs resolved), for the values the
 * constructor could not check: the Output fails (and with it the deployment) when a rule breaks.
 */
export function checkOnceKnown(bot: string, subject: RuleSubject): pulumi.Output<boolean> {
    return pulumi.output(subject).apply((known) => {
        const broken = violations(known as unknown as RuleSubject);
        if (broken.length) throw new InvalidTradingBotArgsError(bot, broken, known);
        return true;
    });
}
