/**
 * The bot's safety rules (components/tradingBot/rules.ts, BOT_RULES) in the stack's terms: each
 * TradingBotArgs path a rule names is a config key here, and each fix a `pulumi config` command.
 */
import { ArgumentName, Change, Violation } from "../components/tradingBot/rules";
import { CONFIG_KEYS, ConfigKey, KeySpec, PROJECT } from "./schema";

/** The config key of every argument path a rule names. */
export const ARGUMENT_KEYS: Record<string, ConfigKey> = {
    "name": "name",
    "environment": "environment",
    "image.tag": "imageTag",
    "image.digest": "imageDigest",
    "replicas": "replicas",
    "autoscaling.enabled": "autoscalingEnabled",
    "autoscaling.minReplicas": "autoscalingMinReplicas",
    "autoscaling.maxReplicas": "autoscalingMaxReplicas",
    "resources.cpuRequest": "cpuRequest",
    "resources.cpuLimit": "cpuLimit",
    "resources.memoryRequest": "memoryRequest",
    "resources.memoryLimit": "memoryLimit",
    "terminationGracePeriodSeconds": "terminationGracePeriodSeconds",
    "preStopSleepSeconds": "preStopSleepSeconds",
    "leaderElection": "leaderElectionEnabled",
    "ingress.enabled": "ingressEnabled",
    "ingress.host": "ingressHost",
    "inClusterDatabases": "inClusterDatabases",
    "database.host": "databaseHost",
    "database.sslMode": "databaseSslMode",
    "redis.host": "redisHost",
    "redis.tls": "redisTls",
    "trading.enabled": "tradingEnabled",
    "trading.stopLossPercentage": "stopLossPercentage",
    "trading.takeProfitPercentage": "takeProfitPercentage",
    "trading.exchangeEndpoint": "exchangeEndpoint",
    "secrets.binanceApiKey": "binanceApiKey",
    "secrets.binanceApiSecret": "binanceApiSecret",
    "secrets.databasePassword": "databasePassword",
    "secrets.redisPassword": "redisPassword",
    "existingSecret": "existingSecret",
    "networkPolicy.enabled": "networkPolicyEnabled",
    "networkPolicy.databaseEgressTo": "databaseEgressTo",
    "networkPolicy.redisEgressTo": "redisEgressTo",
};

/** The config key of an argument path (a rule naming an unmapped one is a bug, caught by a unit test). */
export function configKey(argument: string): ConfigKey {
    const key = ARGUMENT_KEYS[argument];
    if (!key) throw new Error(`no config key for the TradingBot argument ${argument} (config/arguments.ts)`);
    return key;
}

export const keyName: ArgumentName = configKey;

/** A violation's fix as the `pulumi config` command (and alternative) that makes it. */
export function configFix(v: Violation, stack: string): string {
    const command = configCommand(v.fix);
    const alternative = v.or?.length
        ? ` (or set ${v.or.map((c) => c.to === undefined ? configKey(c.argument) : `${configKey(c.argument)} to ${c.to}`).join(" and ")})`
        : "";
    return `${command} --stack ${stack}${alternative}${v.note ? ` (${v.note})` : ""}`;
}

function configCommand(c: Change): string {
    const key = configKey(c.argument);
    if (c.remove) return `pulumi config rm ${PROJECT}:${key}`;
    if (c.item) return `pulumi config set --path '${PROJECT}:${key}[0]' ${c.to}`;
    const secret = (CONFIG_KEYS[key] as KeySpec).secret ? "--secret " : "";
    return `pulumi config set ${secret}${PROJECT}:${key} ${c.to}`;
}
