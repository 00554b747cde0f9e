/**
 * A program of another team that runs a paper-trading bot with this package's TradingBot: typed
 * arguments in code, defaults for the rest, no trading-bot stack config. Only the target cluster
 * comes from this program's own config (the end-to-end test points it at the local cluster).
 */
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { TradingBot } from "trading-bot-infra";

const config = new pulumi.Config();
const provider = new k8s.Provider("cluster", {
    kubeconfig: config.get("kubeconfig"),
    context: config.get("kubeContext"),
});

const namespace = new k8s.core.v1.Namespace("paper", {
    metadata: {
        name: config.get("namespace") ?? "paper-trading",
        labels: { "pod-security.kubernetes.io/enforce": "restricted" },
    },
}, { provider });

const bot = new TradingBot("paper-bot", {
    // The Namespace's output: the bot's objects wait for it.
    namespace: namespace.metadata.name,
    image: { repository: "trading-bot.local/trading-bot", tag: "dev", pullPolicy: "Never" },
    logLevel: "debug",
    resources: { cpuRequest: "100m", memoryRequest: "256Mi" },
    storage: { enabled: false },
    database: { host: "postgres.databases.svc.cluster.local", sslMode: "disable" },
    redis: { host: "redis.databases.svc.cluster.local" },
    trading: { riskPerTrade: 0.01, stopLossPercentage: 0.02, takeProfitPercentage: 0.05 },
    // Stored as Pulumi secrets by the component (a real program would read them from its secret config).
    secrets: { databasePassword: "paper-database-password", redisPassword: "paper-redis-password" },
}, { provider });

export const namespaceName = namespace.metadata.name;
export const serviceName = bot.serviceName;
export const workloadName = bot.workloadName;
export const workloadKind = bot.workloadKind;
