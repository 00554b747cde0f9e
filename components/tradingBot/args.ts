/**
 * TradingBotArgs: what a program declares a bot with, typed, each optional argument with its
 * default. The defaults are one object, DEFAULTS, applied once, by spreading, in resolveArgs.
 */
import * as pulumi from "@pulumi/pulumi";
import { EgressPeer, EXCHANGE, Environment, IN_CLUSTER_HOSTS, SECRET_DATA_KEYS, SecretKey, Toleration } from "../../contract";
import { BotSpec } from "./spec";

export interface ImageArgs {
    /** Container image repository of the bot. @default "ghcr.io/example/trading-bot" */
    repository?: pulumi.Input<string>;
    /** Image tag. prod refuses `latest` and an empty tag unless `digest` is set. @default "1.0.0" */
    tag?: pulumi.Input<string>;
    /** Image digest (sha256:<64 hex>). When set it pins the image and wins over `tag`. @default "" */
    digest?: string;
    /** @default "IfNotPresent" */
    pullPolicy?: "Always" | "IfNotPresent" | "Never";
    /** Names of existing docker-registry Secrets in the namespace. @default [] */
    pullSecrets?: string[];
}

export interface AutoscalingArgs {
    /** Let a HorizontalPodAutoscaler own the replica count. Requires `leaderElection`. @default false */
    enabled?: boolean;
    /** @default 1 */
    minReplicas?: number;
    /** @default 5 */
    maxReplicas?: number;
    /** Average CPU utilisation (% of request) the autoscaler aims for. @default 70 */
    targetCPU?: number;
    /** Average memory utilisation (% of request) the autoscaler aims for. @default 80 */
    targetMemory?: number;
}

export interface ResourceArgs {
    /** CPU request (Kubernetes quantity). @default "250m" */
    cpuRequest?: pulumi.Input<string>;
    /** Memory request (Kubernetes quantity). @default "512Mi" */
    memoryRequest?: pulumi.Input<string>;
    /** CPU limit. @default cpuRequest */
    cpuLimit?: pulumi.Input<string>;
    /** Memory limit. @default memoryRequest (a bot must not be OOM-killed for using what it asked for) */
    memoryLimit?: pulumi.Input<string>;
}

export interface NetworkPolicyArgs {
    /** Deny all traffic to and from the bot but what it needs. @default false */
    enabled?: boolean;
    /** Namespaces allowed to reach the bot's port (its own always is). @default ["monitoring"] */
    allowedIngressNamespaces?: string[];
    /** CIDRs the bot may reach on 443 (the exchange). @default ["0.0.0.0/0"] */
    exchangeEgressCidrs?: string[];
    /** Where the external PostgreSQL is. Required with `enabled` and external databases. @default [] */
    databaseEgressTo?: EgressPeer[];
    /** Where the external Redis is. Required with `enabled` and external databases. @default [] */
    redisEgressTo?: EgressPeer[];
    /** CIDRs of the API server's endpoints (for the Lease, with leader election). @default ["0.0.0.0/0"] */
    apiServerEgressCidrs?: string[];
}

export interface StorageArgs {
    /** Keep trading data and logs on a PersistentVolumeClaim (else an emptyDir). @default true */
    enabled?: boolean;
    /** @default "5Gi" */
    size?: pulumi.Input<string>;
    /** StorageClass of the data volume. @default "standard" */
    className?: pulumi.Input<string>;
    /**
     * With several replicas, ReadWriteOnce(Pod) gives each its own volume (a StatefulSet);
     * ReadWriteMany shares one (a Deployment). @default "ReadWriteOnce"
     */
    accessMode?: "ReadWriteOnce" | "ReadWriteOncePod" | "ReadWriteMany";
    /** Annotate the volume and pods for Velero backups. @default false */
    backup?: boolean;
}

export interface IngressArgs {
    /** Expose the bot through a TLS Ingress. @default false */
    enabled?: boolean;
    /** Required when `enabled`. @default "" */
    host?: string;
    /** @default "nginx" */
    className?: string;
    /** cert-manager ClusterIssuer of the certificate. @default "letsencrypt-prod" */
    clusterIssuer?: string;
}

export interface DatabaseArgs {
    /** PostgreSQL host. Required unless `inClusterDatabases`. @default "postgres" with inClusterDatabases, else "" */
    host?: pulumi.Input<string>;
    /** @default 5432 */
    port?: number;
    /** @default "tradingbot" */
    name?: pulumi.Input<string>;
    /** @default "tradingbot" */
    user?: pulumi.Input<string>;
    /** libpq sslmode; prod needs require or stricter. @default "require" */
    sslMode?: "disable" | "allow" | "prefer" | "require" | "verify-ca" | "verify-full";
}

export interface RedisArgs {
    /** Redis host. Required unless `inClusterDatabases`. @default "redis" with inClusterDatabases, else "" */
    host?: pulumi.Input<string>;
    /** @default 6379 */
    port?: number;
    /** @default 0 */
    db?: number;
    /** Talk to Redis over TLS (required in prod). @default false */
    tls?: boolean;
    /** Name the server's certificate carries, when not the host. @default "" */
    tlsServerName?: string;
    /** PEM CA certificate(s) of a private CA. @default "" */
    tlsCaCert?: string;
}

export interface TradingArgs {
    /** Let the bot place real orders. Requires the Binance keys. @default false */
    enabled?: boolean;
    /** @default 3 */
    maxPositions?: number;
    /** Fraction of the account risked per trade. @default 0.02 */
    riskPerTrade?: number;
    /** @default 0.02 */
    stopLossPercentage?: number;
    /** Greater than stopLossPercentage. @default 0.04 */
    takeProfitPercentage?: number;
    /** Binance REST endpoint. @default the testnet, the live API in prod */
    exchangeEndpoint?: pulumi.Input<string>;
}

/** The bot's secret values; each is stored as a Pulumi secret. */
export type SecretArgs = Partial<Record<SecretKey, pulumi.Input<string>>>;

/** How much the bot logs. */
export type LogLevel = "debug" | "info" | "warning" | "error";

export interface TradingBotArgs {
    /** Namespace of the bot's objects. Pass a Namespace's `metadata.name` and the bot waits for it. */
    namespace: pulumi.Input<string>;
    /** prod turns on the strict rules (pinned image, TLS, external databases). @default "dev" */
    environment?: Environment;
    image?: ImageArgs;
    /** Bot pods when autoscaling is off. More than 1 requires `leaderElection`. @default 1 */
    replicas?: number;
    autoscaling?: AutoscalingArgs;
    resources?: ResourceArgs;
    /** Port of the bot's HTTP server and of its Service. @default 8000 */
    containerPort?: number;
    /** @default "info" */
    logLevel?: pulumi.Input<LogLevel>;
    /** Seconds a stopping pod gets to cancel open orders. @default 60 */
    terminationGracePeriodSeconds?: number;
    /** Seconds the preStop hook waits; less than terminationGracePeriodSeconds. @default 10 */
    preStopSleepSeconds?: number;
    /** How long `pulumi up` waits for a rollout. @default 600 */
    rolloutTimeoutSeconds?: number;
    /** A Lease so that only the leader trades. Required with several replicas. @default false */
    leaderElection?: boolean;
    /** Spread pods over nodes and zones. @default false */
    highAvailability?: boolean;
    /** Where the pods may run. @default no nodeSelector, no tolerations */
    placement?: { nodeSelector?: Record<string, string>; tolerations?: Toleration[] };
    networkPolicy?: NetworkPolicyArgs;
    storage?: StorageArgs;
    ingress?: IngressArgs;
    /**
     * PostgreSQL and Redis run in the namespace (as the stack's SharedResources runs them): their
     * default hosts, and what the NetworkPolicy lets the bot reach. @default false
     */
    inClusterDatabases?: boolean;
    database?: DatabaseArgs;
    redis?: RedisArgs;
    trading?: TradingArgs;
    /** Values of the bot's Secret (ignored with `existingSecret`). @default {} */
    secrets?: SecretArgs;
    /**
     * An existing Secret (Sealed Secrets, External Secrets...) with keys binance-api-key,
     * binance-api-secret, database-password, redis-password; the bot then creates none. @default ""
     */
    existingSecret?: string;
}

/** Freezes the value and everything in it: the defaults are shared by every bot, so no one may change them. */
function deepFreeze<T extends object>(value: T): T {
    for (const v of Object.values(value)) if (typeof v === "object" && v !== null) deepFreeze(v);
    return Object.freeze(value);
}

/**
 * Every default of TradingBotArgs, in one place (Pulumi.yaml's defaults are the same, checked by
 * a unit test). Frozen.
 */
export const DEFAULTS = deepFreeze({
    environment: "dev" as Environment,
    image: { repository: "ghcr.io/example/trading-bot", tag: "1.0.0", digest: "", pullPolicy: "IfNotPresent" as NonNullable<ImageArgs["pullPolicy"]>, pullSecrets: [] as string[] },
    replicas: 1,
    autoscaling: { enabled: false, minReplicas: 1, maxReplicas: 5, targetCPU: 70, targetMemory: 80 },
    resources: { cpuRequest: "250m", memoryRequest: "512Mi" },
    containerPort: 8000,
    logLevel: "info" as LogLevel,
    terminationGracePeriodSeconds: 60,
    preStopSleepSeconds: 10,
    rolloutTimeoutSeconds: 600,
    leaderElection: false,
    highAvailability: false,
    placement: { nodeSelector: {} as Record<string, string>, tolerations: [] as Toleration[] },
    networkPolicy: {
        enabled: false,
        allowedIngressNamespaces: ["monitoring"],
        exchangeEgressCidrs: ["0.0.0.0/0"],
        databaseEgressTo: [] as EgressPeer[],
        redisEgressTo: [] as EgressPeer[],
        apiServerEgressCidrs: ["0.0.0.0/0"],
    },
    storage: { enabled: true, size: "5Gi", className: "standard", accessMode: "ReadWriteOnce" as NonNullable<StorageArgs["accessMode"]>, backup: false },
    ingress: { enabled: false, host: "", className: "nginx", clusterIssuer: "letsencrypt-prod" },
    inClusterDatabases: false,
    database: { port: 5432, name: "tradingbot", user: "tradingbot", sslMode: "require" as NonNullable<DatabaseArgs["sslMode"]> },
    redis: { port: 6379, db: 0, tls: false, tlsServerName: "", tlsCaCert: "" },
    trading: { enabled: false, maxPositions: 3, riskPerTrade: 0.02, stopLossPercentage: 0.02, takeProfitPercentage: 0.04 },
    existingSecret: "",
});

/** The object without its undefined properties, so that spreading it keeps the defaults. */
function given<T extends object>(value: T | undefined): Partial<T> {
    return Object.fromEntries(Object.entries(value ?? {}).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/** The bot's spec: every argument, or its default. The only place defaults are applied. */
export function resolveArgs(name: string, args: TradingBotArgs): BotSpec {
    const a = { ...DEFAULTS, ...given(args) };
    const resources = { ...DEFAULTS.resources, ...given(args.resources) };
    const inCluster = a.inClusterDatabases;
    return {
        name,
        namespace: args.namespace,
        environment: a.environment,
        image: { ...DEFAULTS.image, ...given(args.image) },
        replicas: a.replicas,
        autoscaling: { ...DEFAULTS.autoscaling, ...given(args.autoscaling) },
        resources: { cpuLimit: resources.cpuRequest, memoryLimit: resources.memoryRequest, ...resources },
        containerPort: a.containerPort,
        logLevel: a.logLevel,
        terminationGracePeriodSeconds: a.terminationGracePeriodSeconds,
        preStopSleepSeconds: a.preStopSleepSeconds,
        rolloutTimeoutSeconds: a.rolloutTimeoutSeconds,
        leaderElection: a.leaderElection,
        highAvailability: a.highAvailability,
        placement: { ...DEFAULTS.placement, ...given(args.placement) },
        networkPolicy: { ...DEFAULTS.networkPolicy, ...given(args.networkPolicy) },
        storage: { ...DEFAULTS.storage, ...given(args.storage) },
        ingress: { ...DEFAULTS.ingress, ...given(args.ingress) },
        inClusterDatabases: inCluster,
        database: { host: inCluster ? IN_CLUSTER_HOSTS.databaseHost : "", ...DEFAULTS.database, ...given(args.database) },
        redis: { host: inCluster ? IN_CLUSTER_HOSTS.redisHost : "", ...DEFAULTS.redis, ...given(args.redis) },
        trading: {
            exchangeEndpoint: a.environment === "prod" ? EXCHANGE.live : EXCHANGE.testnet,
            ...DEFAULTS.trading,
            ...given(args.trading),
        },
        existingSecret: a.existingSecret,
    };
}

/** Which secret values are given (never the values): what the rules about secrets look at. */
export function secretsGiven(secrets: SecretArgs | undefined): Record<SecretKey, boolean> {
    const set = (key: SecretKey) => secrets?.[key] !== undefined && secrets[key] !== "";
    return Object.fromEntries((Object.keys(SECRET_DATA_KEYS) as SecretKey[]).map((key) => [key, set(key)])) as Record<SecretKey, boolean>;
}
