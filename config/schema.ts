import { ENVIRONMENTS, SecretKey } from "../contract";
import * as rules from "./rules";
import { DEFAULTS } from "../components/tradingBot/args";

/**
 * Every configuration key of the `trading-bot` namespace: its type, default and meaning.
 *
 * This table is the single source of truth. `Pulumi.yaml` declares the same keys with the same
 * types, defaults and descriptions (a unit test keeps the two in step), so the Pulumi CLI checks
 * types early and `pulumi config` shows the documentation. Each entry also says what a valid value
 * is (check, range, oneOf, decimal, itemCheck): `settings.ts` reads every key through it, so a
 * key's type, default, meaning and validity live here alone; relations between keys are the
 * bot's named rules (components/tradingBot/rules.ts, BOT_RULES).
 */
export const PROJECT = "trading-bot";

type KeyType = "string" | "integer" | "boolean" | "array";

export interface KeySpec {
    type: KeyType;
    /** The value used when a stack does not set the key. */
    default: string | number | boolean | string[];
    description: string;
    /**
     * Secret keys must be set with `pulumi config set --secret`; the program refuses plain-text
     * values and never prints them. (Pulumi.yaml cannot declare them `secret: true`: the CLI would
     * then also refuse their empty default.)
     */
    secret?: boolean;
    /** Type of the items of an array (default: string). */
    items?: "string" | "object";
    /** The TradingBotArgs argument the key sets (a path such as "trading.maxPositions"); none: the stack's own key. */
    arg?: string;
    /** An empty value means the argument's own default (a limit: the request; a host: the in-cluster one; the endpoint: by environment). */
    emptyIsDefault?: boolean;
    /** A list's items as the argument takes them. */
    parse?: (items: string[]) => unknown;
    /** The key describes the stack, not a bot: every bot of a stack shares it (a `bots` item may not set it). */
    stackWide?: boolean;
    /** What a valid value is, checked on its own (relations between keys are BOT_RULES'): */
    /** a string's format, */
    check?: rules.Check;
    /** an integer's range (inclusive), */
    range?: readonly [number, number];
    /** the values a string may take, */
    oneOf?: readonly string[];
    /** a decimal's bounds (stored as a string), */
    decimal?: { above: number; atMost?: number; below?: number };
    /** or the format of each item of a list. */
    itemCheck?: rules.Check;
}

export const CONFIG_KEYS = {
    // --- Several bots -----------------------------------------------------------------------
    bots: {
        type: "array", items: "object", default: [],
        description: "Several bots in one stack, one per strategy or market: a list of objects, each with a unique `name` and any bot setting it overrides (for example riskPerTrade, imageTag, a secret binanceApiKey). Empty: one bot from the top-level keys.",
    },

    // --- Where and what ---------------------------------------------------------------------
    environment: {
        arg: "environment", type: "string", stackWide: true, default: DEFAULTS.environment, oneOf: ENVIRONMENTS,
        description: "Environment of this stack: dev, staging or prod. prod turns on the strict rules (pinned images, TLS to the database, external databases, no testnet).",
    },
    kubeContext: {
        type: "string", stackWide: true, default: "", check: rules.optional(rules.contextName),
        description: "Name of the kubeconfig context of the target cluster. Required: the program never uses the ambient current context.",
    },
    kubeconfig: {
        type: "string", stackWide: true, default: "", check: rules.any,
        description: "Path of the kubeconfig file (relative to the project) holding kubeContext. Empty: $KUBECONFIG or ~/.kube/config.",
    },
    clusterIdentifier: {
        type: "string", stackWide: true, default: "", check: rules.optional(rules.dns1123Subdomain),
        description: "Identity of the target cluster for the Kubernetes provider. Only a change of this value replaces the provider (and so every object of the stack): change it only to move the stack to another cluster. A new kubeconfig, context name, API server address or CA for the same cluster is an in-place update. Empty: the stack's name.",
    },
    renderYamlToDirectory: {
        type: "string", stackWide: true, default: "", check: rules.any,
        description: "Set by `npm run render`: write the manifests as YAML into this directory instead of deploying (GitOps). Requires existingSecret, so no secret value is ever written.",
    },
    name: {
        arg: "name", type: "string", default: "trading-bot", check: rules.dns1035Label(40),
        description: "Name of the bot; prefixes every Kubernetes object it owns (DNS-1035 label, at most 40 characters).",
    },
    namespace: {
        arg: "namespace", type: "string", stackWide: true, default: "trading-bot", check: rules.dns1123Label(63),
        description: "Namespace to deploy into (DNS-1123 label).",
    },
    createNamespace: {
        type: "boolean", stackWide: true, default: true,
        description: "Create the namespace (with the restricted Pod Security Standard enforced). false: use an existing namespace of that name.",
    },

    // --- Image ------------------------------------------------------------------------------
    imageRepository: {
        arg: "image.repository", type: "string", default: DEFAULTS.image.repository, check: rules.imageRepository,
        description: "Container image repository of the bot.",
    },
    imageTag: {
        arg: "image.tag", type: "string", default: DEFAULTS.image.tag, check: rules.imageTag,
        description: "Image tag. prod refuses `latest` and an empty tag unless imageDigest is set.",
    },
    imageDigest: {
        arg: "image.digest", type: "string", default: DEFAULTS.image.digest, check: rules.imageDigest,
        description: "Image digest (sha256:<64 hex>). When set it pins the image and wins over imageTag.",
    },
    imagePullPolicy: {
        arg: "image.pullPolicy", type: "string", default: DEFAULTS.image.pullPolicy, oneOf: ["Always", "IfNotPresent", "Never"],
        description: "Image pull policy: Always, IfNotPresent or Never.",
    },
    imagePullSecrets: {
        arg: "image.pullSecrets", type: "array", default: [...DEFAULTS.image.pullSecrets], itemCheck: rules.dns1123Subdomain,
        description: "Names of existing docker-registry Secrets in the namespace, for a private registry.",
    },

    // --- Workload ---------------------------------------------------------------------------
    replicas: {
        arg: "replicas", type: "integer", default: DEFAULTS.replicas, range: [1, 20],
        description: "Number of bot pods when autoscaling is off (1 to 20). More than 1 requires leaderElectionEnabled.",
    },
    autoscalingEnabled: {
        arg: "autoscaling.enabled", type: "boolean", default: DEFAULTS.autoscaling.enabled,
        description: "Let a HorizontalPodAutoscaler own the replica count. Requires leaderElectionEnabled.",
    },
    autoscalingMinReplicas: {
        arg: "autoscaling.minReplicas", type: "integer", default: DEFAULTS.autoscaling.minReplicas, range: [1, 50],
        description: "Lowest replica count the autoscaler may choose.",
    },
    autoscalingMaxReplicas: {
        arg: "autoscaling.maxReplicas", type: "integer", default: DEFAULTS.autoscaling.maxReplicas, range: [1, 50],
        description: "Highest replica count the autoscaler may choose (at most 50).",
    },
    targetCPUUtilizationPercentage: {
        arg: "autoscaling.targetCPU", type: "integer", default: DEFAULTS.autoscaling.targetCPU, range: [1, 100],
        description: "Average CPU utilisation (% of request) the autoscaler aims for.",
    },
    targetMemoryUtilizationPercentage: {
        arg: "autoscaling.targetMemory", type: "integer", default: DEFAULTS.autoscaling.targetMemory, range: [1, 100],
        description: "Average memory utilisation (% of request) the autoscaler aims for.",
    },
    cpuRequest: {
        arg: "resources.cpuRequest", type: "string", default: DEFAULTS.resources.cpuRequest, check: rules.cpuQuantity,
        description: "CPU request of the bot container (Kubernetes quantity, e.g. 250m).",
    },
    memoryRequest: {
        arg: "resources.memoryRequest", type: "string", default: DEFAULTS.resources.memoryRequest, check: rules.memoryQuantity,
        description: "Memory request of the bot container (Kubernetes quantity, e.g. 512Mi).",
    },
    cpuLimit: {
        arg: "resources.cpuLimit", emptyIsDefault: true, type: "string", default: "", check: rules.optional(rules.cpuQuantity),
        description: "CPU limit. Empty: equal to cpuRequest.",
    },
    memoryLimit: {
        arg: "resources.memoryLimit", emptyIsDefault: true, type: "string", default: "", check: rules.optional(rules.memoryQuantity),
        description: "Memory limit. Empty: equal to memoryRequest (a bot must not be OOM-killed for using what it asked for).",
    },
    containerPort: {
        arg: "containerPort", type: "integer", default: DEFAULTS.containerPort, range: [1024, 65535],
        description: "Port of the bot's HTTP server (/health, /ready, /metrics) and of the Service.",
    },
    logLevel: {
        arg: "logLevel", type: "string", default: DEFAULTS.logLevel, oneOf: ["debug", "info", "warning", "error"],
        description: "Log level: debug, info, warning or error.",
    },
    terminationGracePeriodSeconds: {
        arg: "terminationGracePeriodSeconds", type: "integer", default: DEFAULTS.terminationGracePeriodSeconds, range: [10, 3600],
        description: "Seconds a stopping pod gets to cancel open orders and flush state (10 to 3600).",
    },
    preStopSleepSeconds: {
        arg: "preStopSleepSeconds", type: "integer", default: DEFAULTS.preStopSleepSeconds, range: [0, 300],
        description: "Seconds the preStop hook waits, so the pod leaves the Service before it gets SIGTERM. Less than terminationGracePeriodSeconds.",
    },
    rolloutTimeoutSeconds: {
        arg: "rolloutTimeoutSeconds", type: "integer", default: DEFAULTS.rolloutTimeoutSeconds, range: [60, 3600],
        description: "How long `pulumi up` waits for a rollout before it fails (60 to 3600). Also the Deployment's progress deadline.",
    },
    leaderElectionEnabled: {
        arg: "leaderElection", type: "boolean", default: DEFAULTS.leaderElection,
        description: "Give the bot a Lease so that only the leader trades. Required with more than one replica or autoscaling.",
    },
    highAvailability: {
        arg: "highAvailability", type: "boolean", default: DEFAULTS.highAvailability,
        description: "Spread pods over nodes and zones (pod anti-affinity and topology spread constraints).",
    },
    nodeSelector: {
        arg: "placement.nodeSelector", parse: (items) => Object.fromEntries(items.map((item) => item.split("=") as [string, string])), type: "array", stackWide: true, default: [], itemCheck: rules.nodeSelectorItem,
        description: "Node labels every pod of the stack must run on, as key=value items (e.g. node-pool=trading).",
    },
    tolerations: {
        arg: "placement.tolerations", parse: (items) => items.map(rules.parseToleration), type: "array", stackWide: true, default: [], itemCheck: rules.tolerationItem,
        description: "Taints every pod of the stack tolerates, as key=value:Effect or key:Effect items (Effect: NoSchedule, PreferNoSchedule or NoExecute).",
    },
    networkPolicyEnabled: {
        arg: "networkPolicy.enabled", type: "boolean", default: DEFAULTS.networkPolicy.enabled,
        description: "Deny all traffic to and from the bot except ingress to its port from allowedIngressNamespaces, and egress to DNS, the databases (databaseEgressTo, redisEgressTo, or the in-cluster ones), the exchange (exchangeEgressCidrs) and, with leader election, the API server (apiServerEgressCidrs).",
    },
    allowedIngressNamespaces: {
        arg: "networkPolicy.allowedIngressNamespaces", type: "array", default: [...DEFAULTS.networkPolicy.allowedIngressNamespaces], itemCheck: rules.dns1123Label(63),
        description: "Namespaces allowed to reach the bot port when networkPolicyEnabled (the bot's own namespace always is).",
    },
    exchangeEgressCidrs: {
        arg: "networkPolicy.exchangeEgressCidrs", type: "array", default: [...DEFAULTS.networkPolicy.exchangeEgressCidrs], itemCheck: rules.cidr,
        description: "CIDRs the bot may reach on port 443 (the exchange API) when networkPolicyEnabled.",
    },

    databaseEgressTo: {
        arg: "networkPolicy.databaseEgressTo", parse: (items) => items.map(rules.parseEgressPeer), type: "array", default: [], itemCheck: rules.egressPeer,
        description: "Where the external PostgreSQL is, for the bot's NetworkPolicy: IPv4 CIDRs (10.20.0.0/24) or namespaces (namespace:databases). Required with networkPolicyEnabled and external databases.",
    },
    redisEgressTo: {
        arg: "networkPolicy.redisEgressTo", parse: (items) => items.map(rules.parseEgressPeer), type: "array", default: [], itemCheck: rules.egressPeer,
        description: "Where the external Redis is, for the bot's NetworkPolicy: IPv4 CIDRs (10.20.1.0/24) or namespaces (namespace:cache). Required with networkPolicyEnabled and external databases.",
    },
    apiServerEgressCidrs: {
        arg: "networkPolicy.apiServerEgressCidrs", type: "array", default: [...DEFAULTS.networkPolicy.apiServerEgressCidrs], itemCheck: rules.cidr,
        description: "CIDRs of the Kubernetes API server's endpoints (ports 443 and 6443), which the bot reaches for its Lease when networkPolicyEnabled and leaderElectionEnabled.",
    },

    // --- Storage ----------------------------------------------------------------------------
    persistenceEnabled: {
        arg: "storage.enabled", type: "boolean", default: DEFAULTS.storage.enabled,
        description: "Keep trading data and logs on a PersistentVolumeClaim (otherwise an emptyDir).",
    },
    storageSize: {
        arg: "storage.size", type: "string", default: DEFAULTS.storage.size, check: rules.storageQuantity,
        description: "Size of the data volume (Kubernetes quantity, e.g. 20Gi).",
    },
    storageClass: {
        arg: "storage.className", type: "string", default: DEFAULTS.storage.className, check: rules.dns1123Subdomain,
        description: "StorageClass of the data volume.",
    },
    storageAccessMode: {
        arg: "storage.accessMode", type: "string", default: DEFAULTS.storage.accessMode, oneOf: ["ReadWriteOnce", "ReadWriteOncePod", "ReadWriteMany"],
        description: "Access mode of the data volume: ReadWriteOnce, ReadWriteOncePod or ReadWriteMany. With several replicas, ReadWriteOnce(Pod) gives each replica a volume of its own (a StatefulSet); ReadWriteMany shares one volume between them (a Deployment) and needs a class that offers it (EFS, Filestore, Azure Files, NFS).",
    },
    backupEnabled: {
        arg: "storage.backup", type: "boolean", default: DEFAULTS.storage.backup,
        description: "Annotate the data volume and pods for backups (Velero).",
    },

    // --- Ingress ----------------------------------------------------------------------------
    ingressEnabled: {
        arg: "ingress.enabled", type: "boolean", default: DEFAULTS.ingress.enabled,
        description: "Expose the bot through an Ingress with TLS.",
    },
    ingressHost: {
        arg: "ingress.host", type: "string", default: DEFAULTS.ingress.host, check: rules.optional(rules.hostname),
        description: "Host name of the Ingress. Required when ingressEnabled.",
    },
    ingressClassName: {
        arg: "ingress.className", type: "string", default: DEFAULTS.ingress.className, check: rules.dns1123Subdomain,
        description: "IngressClass of the Ingress.",
    },
    certManagerClusterIssuer: {
        arg: "ingress.clusterIssuer", type: "string", default: DEFAULTS.ingress.clusterIssuer, check: rules.dns1123Subdomain,
        description: "cert-manager ClusterIssuer that issues the Ingress certificate.",
    },

    // --- Dependencies -----------------------------------------------------------------------
    inClusterDatabases: {
        arg: "inClusterDatabases", type: "boolean", stackWide: true, default: DEFAULTS.inClusterDatabases,
        description: "Run PostgreSQL and Redis in the namespace with generated passwords (dev and staging). prod uses external ones.",
    },
    postgresImage: {
        type: "string", stackWide: true, default: "postgres:17.6-alpine", check: rules.imageReference,
        description: "Image of the in-cluster PostgreSQL (inClusterDatabases). It runs as UID/GID 70.",
    },
    redisImage: {
        type: "string", stackWide: true, default: "redis:7.4-alpine", check: rules.imageReference,
        description: "Image of the in-cluster Redis (inClusterDatabases). It runs as UID/GID 999.",
    },
    databaseHost: {
        arg: "database.host", emptyIsDefault: true, type: "string", default: "", check: rules.optional(rules.hostname),
        description: "PostgreSQL host. Required with external databases. With inClusterDatabases it names the in-cluster Service; empty: postgres.",
    },
    databasePort: {
        arg: "database.port", type: "integer", default: DEFAULTS.database.port, range: [1, 65535],
        description: "PostgreSQL port.",
    },
    databaseName: {
        arg: "database.name", type: "string", default: DEFAULTS.database.name, check: rules.identifier,
        description: "PostgreSQL database name.",
    },
    databaseUser: {
        arg: "database.user", type: "string", default: DEFAULTS.database.user, check: rules.identifier,
        description: "PostgreSQL user name.",
    },
    databaseSslMode: {
        arg: "database.sslMode", type: "string", default: DEFAULTS.database.sslMode, oneOf: ["disable", "allow", "prefer", "require", "verify-ca", "verify-full"],
        description: "libpq sslmode: disable, allow, prefer, require, verify-ca or verify-full. prod needs require or stricter.",
    },
    redisHost: {
        arg: "redis.host", emptyIsDefault: true, type: "string", default: "", check: rules.optional(rules.hostname),
        description: "Redis host. Required with external databases. With inClusterDatabases it names the in-cluster Service; empty: redis.",
    },
    redisPort: {
        arg: "redis.port", type: "integer", default: DEFAULTS.redis.port, range: [1, 65535],
        description: "Redis port.",
    },
    redisTls: {
        arg: "redis.tls", type: "boolean", default: DEFAULTS.redis.tls,
        description: "Talk to Redis over TLS (managed Redis: ElastiCache, Memorystore, Azure Cache). Required in prod.",
    },
    redisTlsServerName: {
        arg: "redis.tlsServerName", type: "string", default: DEFAULTS.redis.tlsServerName, check: rules.optional(rules.hostname),
        description: "Name the Redis server's certificate must carry, when it differs from redisHost (e.g. behind a private endpoint). Empty: redisHost.",
    },
    redisTlsCaCert: {
        arg: "redis.tlsCaCert", type: "string", default: DEFAULTS.redis.tlsCaCert, check: rules.optional(rules.pemCertificate),
        description: "PEM CA certificate(s) that sign the Redis server's certificate, for a private CA. Empty: the image's system trust store.",
    },
    redisDb: {
        arg: "redis.db", type: "integer", default: DEFAULTS.redis.db, range: [0, 15],
        description: "Redis database index (0 to 15).",
    },

    // --- Trading ----------------------------------------------------------------------------
    tradingEnabled: {
        arg: "trading.enabled", type: "boolean", default: DEFAULTS.trading.enabled,
        description: "Let the bot place real orders. Requires the Binance keys.",
    },
    maxPositions: {
        arg: "trading.maxPositions", type: "integer", default: DEFAULTS.trading.maxPositions, range: [1, 100],
        description: "Most positions open at once (1 to 100).",
    },
    riskPerTrade: {
        arg: "trading.riskPerTrade", type: "string", default: String(DEFAULTS.trading.riskPerTrade), decimal: { above: 0, atMost: 0.1 },
        description: "Fraction of the account risked per trade, a decimal with 0 < value <= 0.1.",
    },
    stopLossPercentage: {
        arg: "trading.stopLossPercentage", type: "string", default: String(DEFAULTS.trading.stopLossPercentage), decimal: { above: 0, below: 1 },
        description: "Stop loss as a fraction of the entry price, a decimal in (0, 1).",
    },
    takeProfitPercentage: {
        arg: "trading.takeProfitPercentage", type: "string", default: String(DEFAULTS.trading.takeProfitPercentage), decimal: { above: 0, below: 1 },
        description: "Take profit as a fraction of the entry price, a decimal in (0, 1), greater than stopLossPercentage.",
    },
    exchangeEndpoint: {
        arg: "trading.exchangeEndpoint", emptyIsDefault: true, type: "string", default: "", check: rules.optional(rules.httpsUrl),
        description: "Binance REST endpoint (https URL). Empty: the testnet outside prod, the live API in prod.",
    },

    // --- Secrets ----------------------------------------------------------------------------
    existingSecret: {
        arg: "existingSecret", type: "string", default: DEFAULTS.existingSecret, check: rules.optional(rules.dns1123Subdomain),
        description: "Name of an existing Secret (Sealed Secrets, External Secrets, Vault...) with keys binance-api-key, binance-api-secret, database-password, redis-password. When set the stack creates no Secret.",
    },
    binanceApiKey: {
        type: "string", default: "", secret: true,
        description: "Binance API key. Set with `pulumi config set --secret binanceApiKey`.",
    },
    binanceApiSecret: {
        type: "string", default: "", secret: true,
        description: "Binance API secret. Set with `pulumi config set --secret binanceApiSecret`.",
    },
    databasePassword: {
        type: "string", default: "", secret: true,
        description: "PostgreSQL password. Generated when inClusterDatabases; required otherwise (or existingSecret).",
    },
    redisPassword: {
        type: "string", default: "", secret: true,
        description: "Redis password. Generated when inClusterDatabases; required otherwise (or existingSecret).",
    },
} satisfies Record<string, KeySpec>;

export type ConfigKey = keyof typeof CONFIG_KEYS;

/** The secret keys: exactly the bot's secret values (SECRET_DATA_KEYS), which a unit test checks. */
export const SECRET_KEYS = (Object.keys(CONFIG_KEYS) as ConfigKey[]).filter(
    (k) => (CONFIG_KEYS[k] as KeySpec).secret === true,
) as SecretKey[];
