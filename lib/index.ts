/**
 * The library entry point of this package: `import { TradingBot } from "trading-bot-infra"`.
 * It declares nothing by itself (the stack's program is index.ts): importing it runs no stack and
 * reads no stack config. Built to dist/ with `npm run build` (JavaScript and .d.ts).
 */
export {
    TradingBot, TradingBotArgs, DEFAULTS, resolveArgs,
    ImageArgs, AutoscalingArgs, ResourceArgs, NetworkPolicyArgs, StorageArgs, IngressArgs, DatabaseArgs, RedisArgs, TradingArgs, SecretArgs,
    BOT_RULES, violations, InvalidTradingBotArgsError, Rule, Violation, Change, ArgumentName,
    BotSpec, RuleSubject,
} from "../components/tradingBot";
export { SharedResources, SharedResourcesArgs } from "../components/shared";
export { SharedSpec } from "../components/shared/spec";
export { DatabasePasswords, InClusterDatabases, InClusterDatabasesArgs } from "../components/databases";
export {
    Environment, EgressPeer, Toleration, SecretKey, SECRET_DATA_KEYS, IN_CLUSTER_HOSTS, EXCHANGE, tradingRefusal, ENVIRONMENTS, ENVIRONMENT_LABEL,
    runsSeveralReplicas, usesVolumePerReplica, cpuMillis, memoryBytes,
} from "../contract";
/** Pure builders: the object specs the component registers, for tests and for programs of your own. */
export { naming, Naming } from "../components/tradingBot/naming";
export { deploymentArgs, statefulSetArgs, podTemplate, WorkloadInputs } from "../components/tradingBot/workload";
export { serviceArgs, networkPolicyArgs, egressRules } from "../components/tradingBot/network";
export { hpaArgs, disruptionBudgetArgs } from "../components/tradingBot/scaling";
