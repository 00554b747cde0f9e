/**
 * Invalid stack configurations, each with what the error must name. Shared by the unit tests
 * (validation under mocks) and the end-to-end tests (refused by the real engine, nothing changed).
 * "[plaintext secret]" is what validation sees of a secret key set without --secret; under the
 * real engine, setting any value without --secret has that effect.
 */
import { SECRET_IN_PLAINTEXT } from "../../config/settings";

export interface InvalidConfig {
    /** What is wrong, in words. */
    what: string;
    /** The stack whose committed config it starts from. */
    stack: "dev" | "staging" | "prod";
    /** Bare keys set on top of the stack's config. */
    set: Record<string, string>;
    /** The key the error must name (bare). */
    key: string;
    /** What the error must show as the value. */
    value: string;
    /** A piece of the fix the error must suggest. */
    fix: string;
}

export const INVALID_CONFIGS: InvalidConfig[] = [
    { what: "risk per trade above 10%", stack: "dev", set: { riskPerTrade: "0.5" }, key: "riskPerTrade", value: '"0.5"', fix: "pulumi config set trading-bot:riskPerTrade 0.02" },
    { what: "zero risk per trade", stack: "dev", set: { riskPerTrade: "0" }, key: "riskPerTrade", value: '"0"', fix: "riskPerTrade 0.02" },
    { what: "negative risk per trade", stack: "dev", set: { riskPerTrade: "-0.01" }, key: "riskPerTrade", value: '"-0.01"', fix: "riskPerTrade 0.02" },
    { what: "risk per trade not a number", stack: "dev", set: { riskPerTrade: "two percent" }, key: "riskPerTrade", value: '"two percent"', fix: "riskPerTrade 0.02" },
    { what: "stop loss of 100%", stack: "dev", set: { stopLossPercentage: "1" }, key: "stopLossPercentage", value: '"1"', fix: "stopLossPercentage 0.02" },
    { what: "take profit not above stop loss", stack: "dev", set: { stopLossPercentage: "0.05", takeProfitPercentage: "0.03" }, key: "takeProfitPercentage", value: '"0.03"', fix: "takeProfitPercentage 0.1" },
    { what: "take profit above 100%", stack: "dev", set: { takeProfitPercentage: "1.5" }, key: "takeProfitPercentage", value: '"1.5"', fix: "takeProfitPercentage 0.04" },
    { what: "max positions zero", stack: "dev", set: { maxPositions: "0" }, key: "maxPositions", value: '"0"', fix: "maxPositions 3" },
    { what: "max positions not an integer", stack: "dev", set: { maxPositions: "2.5" }, key: "maxPositions", value: '"2.5"', fix: "maxPositions 3" },
    { what: "replicas not a number", stack: "dev", set: { replicas: "three" }, key: "replicas", value: '"three"', fix: "replicas 1" },
    { what: "replicas above 20", stack: "staging", set: { autoscalingEnabled: "false", replicas: "50" }, key: "replicas", value: '"50"', fix: "replicas" },
    { what: "several replicas without leader election", stack: "dev", set: { replicas: "2", storageAccessMode: "ReadWriteMany" }, key: "replicas", value: '"2"', fix: "leaderElectionEnabled true" },
    { what: "autoscaling without leader election", stack: "staging", set: { leaderElectionEnabled: "false" }, key: "autoscalingEnabled", value: '"true"', fix: "leaderElectionEnabled true" },
    { what: "autoscaling max below min", stack: "staging", set: { autoscalingMinReplicas: "4", autoscalingMaxReplicas: "2" }, key: "autoscalingMaxReplicas", value: '"2"', fix: "autoscalingMaxReplicas 4" },
    { what: "CPU target above 100%", stack: "staging", set: { targetCPUUtilizationPercentage: "150" }, key: "targetCPUUtilizationPercentage", value: '"150"', fix: "targetCPUUtilizationPercentage 70" },
    { what: "malformed CPU quantity", stack: "dev", set: { cpuRequest: "250 millicores" }, key: "cpuRequest", value: '"250 millicores"', fix: "cpuRequest 250m" },
    { what: "malformed memory quantity", stack: "dev", set: { memoryRequest: "512MB" }, key: "memoryRequest", value: '"512MB"', fix: "memoryRequest 512Mi" },
    { what: "memory limit below request", stack: "dev", set: { memoryLimit: "256Mi" }, key: "memoryLimit", value: '"256Mi"', fix: "memoryLimit 512Mi" },
    { what: "malformed storage size", stack: "dev", set: { storageSize: "5 gigs" }, key: "storageSize", value: '"5 gigs"', fix: "storageSize 5Gi" },
    { what: "invalid namespace name", stack: "dev", set: { namespace: "Trading_Dev" }, key: "namespace", value: '"Trading_Dev"', fix: "namespace trading-bot" },
    { what: "invalid bot name", stack: "dev", set: { name: "1bot" }, key: "name", value: '"1bot"', fix: "name trading-bot" },
    { what: "port out of range", stack: "dev", set: { containerPort: "80000" }, key: "containerPort", value: '"80000"', fix: "containerPort 8000" },
    { what: "privileged port", stack: "dev", set: { containerPort: "80" }, key: "containerPort", value: '"80"', fix: "containerPort 8000" },
    { what: "database port not a number", stack: "dev", set: { databasePort: "postgres" }, key: "databasePort", value: '"postgres"', fix: "databasePort 5432" },
    { what: "unknown log level", stack: "dev", set: { logLevel: "verbose" }, key: "logLevel", value: '"verbose"', fix: "logLevel debug" },
    { what: "boolean that is not true/false", stack: "dev", set: { tradingEnabled: "yes" }, key: "tradingEnabled", value: '"yes"', fix: "tradingEnabled false" },
    { what: "unknown environment", stack: "dev", set: { environment: "production" }, key: "environment", value: '"production"', fix: "environment dev" },
    { what: "unknown key (typo)", stack: "dev", set: { replica: "2" }, key: "replica", value: '"2"', fix: "trading-bot:replicas" },
    { what: "unknown key", stack: "dev", set: { helmValues: "x" }, key: "helmValues", value: '"x"', fix: "pulumi config rm trading-bot:helmValues" },
    { what: "image without tag in prod", stack: "prod", set: { imageTag: "" }, key: "imageTag", value: '""', fix: "imageTag <version" },
    { what: "latest image in prod", stack: "prod", set: { imageTag: "latest" }, key: "imageTag", value: '"latest"', fix: "or set imageDigest" },
    { what: "malformed image digest", stack: "prod", set: { imageDigest: "sha256:abc" }, key: "imageDigest", value: '"sha256:abc"', fix: "imageDigest sha256:" },
    { what: "image repository with a tag", stack: "dev", set: { imageRepository: "ghcr.io/acme/bot:1.0" }, key: "imageRepository", value: '"ghcr.io/acme/bot:1.0"', fix: "imageRepository ghcr.io/acme/trading-bot" },
    { what: "trading on without Binance key", stack: "dev", set: { tradingEnabled: "true" }, key: "binanceApiKey", value: "(not set)", fix: "pulumi config set --secret trading-bot:binanceApiKey" },
    { what: "trading on without Binance secret", stack: "dev", set: { tradingEnabled: "true", binanceApiKey: "k" }, key: "binanceApiSecret", value: "(not set)", fix: "pulumi config set --secret trading-bot:binanceApiSecret" },
    { what: "a secret stored in plain text", stack: "dev", set: { binanceApiKey: SECRET_IN_PLAINTEXT }, key: "binanceApiKey", value: "[plain text, not shown]", fix: "pulumi config set --secret trading-bot:binanceApiKey" },
    { what: "prod without database password", stack: "prod", set: { databasePassword: "" }, key: "databasePassword", value: "(not set)", fix: "pulumi config set --secret trading-bot:databasePassword" },
    { what: "prod database without TLS", stack: "prod", set: { databaseSslMode: "disable" }, key: "databaseSslMode", value: '"disable"', fix: "databaseSslMode verify-full" },
    { what: "prod with in-cluster databases", stack: "prod", set: { inClusterDatabases: "true" }, key: "inClusterDatabases", value: '"true"', fix: "inClusterDatabases false" },
    { what: "unknown sslmode", stack: "dev", set: { databaseSslMode: "on" }, key: "databaseSslMode", value: '"on"', fix: "databaseSslMode disable" },
    { what: "exchange endpoint over plain http", stack: "dev", set: { exchangeEndpoint: "http://api.binance.com" }, key: "exchangeEndpoint", value: '"http://api.binance.com"', fix: "exchangeEndpoint https://" },
    { what: "live exchange outside prod", stack: "staging", set: { tradingEnabled: "true", binanceApiKey: "k", binanceApiSecret: "s", exchangeEndpoint: "https://api.binance.com" }, key: "exchangeEndpoint", value: '"https://api.binance.com"', fix: "pulumi config rm trading-bot:exchangeEndpoint" },
    { what: "external databases without a database host", stack: "staging", set: { inClusterDatabases: "false" }, key: "databaseHost", value: "(not set)", fix: "pulumi config set trading-bot:databaseHost <your PostgreSQL host>" },
    { what: "external databases without a Redis host", stack: "staging", set: { inClusterDatabases: "false" }, key: "redisHost", value: "(not set)", fix: "pulumi config set trading-bot:redisHost <your Redis host>" },
    { what: "prod without TLS to Redis", stack: "prod", set: { redisTls: "false" }, key: "redisTls", value: '"false"', fix: "pulumi config set trading-bot:redisTls true" },
    { what: "a stack file placeholder left in", stack: "prod", set: { databaseHost: "<the host name of your PostgreSQL server>" }, key: "databaseHost", value: '"<the host name of your PostgreSQL server>"', fix: "pulumi config set trading-bot:databaseHost <the host name of your PostgreSQL server>" },
    { what: "prod's database egress open to the internet", stack: "prod", set: { databaseEgressTo: '["0.0.0.0/0"]' }, key: "databaseEgressTo", value: '["0.0.0.0/0"]', fix: "pulumi config set --path 'trading-bot:databaseEgressTo[0]' 10.20.0.0/24" },
    { what: "a NetworkPolicy with external Redis declared nowhere", stack: "prod", set: { redisEgressTo: "[]" }, key: "redisEgressTo", value: "[]", fix: "pulumi config set --path 'trading-bot:redisEgressTo[0]' 10.20.1.0/24" },
    { what: "an egress item neither CIDR nor namespace", stack: "prod", set: { databaseEgressTo: '["db.example.com"]' }, key: "databaseEgressTo", value: '["db.example.com"]', fix: "databaseEgressTo[0]' 10.20.0.0/24" },
    { what: "a toleration without an effect", stack: "dev", set: { tolerations: '["dedicated=trading"]' }, key: "tolerations", value: '["dedicated=trading"]', fix: "tolerations[0]' dedicated=trading:NoSchedule" },
    { what: "a node selector without a value", stack: "dev", set: { nodeSelector: '["node-pool"]' }, key: "nodeSelector", value: '["node-pool"]', fix: "nodeSelector[0]' node-pool=trading" },
    { what: "a Redis CA that is no certificate", stack: "prod", set: { redisTlsCaCert: "my-ca" }, key: "redisTlsCaCert", value: '"my-ca"', fix: "redisTlsCaCert" },
    { what: "a database image that is no image reference", stack: "dev", set: { postgresImage: "postgres 17" }, key: "postgresImage", value: '"postgres 17"', fix: "postgresImage postgres:17.6-alpine" },
    { what: "unknown access mode", stack: "dev", set: { storageAccessMode: "RWO" }, key: "storageAccessMode", value: '"RWO"', fix: "storageAccessMode ReadWriteOnce" },
    { what: "preStop longer than the grace period", stack: "dev", set: { terminationGracePeriodSeconds: "20", preStopSleepSeconds: "30" }, key: "preStopSleepSeconds", value: '"30"', fix: "preStopSleepSeconds 10" },
    { what: "ingress without host", stack: "dev", set: { ingressEnabled: "true" }, key: "ingressHost", value: '""', fix: "ingressHost bot.example.com" },
    { what: "no target cluster", stack: "dev", set: { kubeContext: "" }, key: "kubeContext", value: "(not set)", fix: "kubectl config get-contexts" },
    { what: "pull secrets not a list", stack: "dev", set: { imagePullSecrets: "regcred" }, key: "imagePullSecrets", value: '"regcred"', fix: "trading-bot:imagePullSecrets[0]" },
    { what: "invalid CIDR in egress", stack: "prod", set: { exchangeEgressCidrs: '["10.0.0.0/33"]' }, key: "exchangeEgressCidrs", value: '["10.0.0.0/33"]', fix: "exchangeEgressCidrs[0]' 0.0.0.0/0" },
    { what: "invalid existing secret name", stack: "prod", set: { existingSecret: "My Secret" }, key: "existingSecret", value: '"My Secret"', fix: "existingSecret my-name" },
    { what: "rollout timeout too short", stack: "dev", set: { rolloutTimeoutSeconds: "5" }, key: "rolloutTimeoutSeconds", value: '"5"', fix: "rolloutTimeoutSeconds 600" },
];
