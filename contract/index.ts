/**
 * The contract between the component library (components/), the stack's config layer (config/)
 * and the policy pack (policy/): the names they all read and write, the shapes and parsers they
 * share, and the rules more than one of them enforces, each defined once. The pack checks what the
 * components produce, so a name changed on one side only would silently turn a policy off; a rule
 * written twice would drift (test/unit/policy.test.ts shows config and pack agree on trading).
 * Plain TypeScript, no dependency: the pack and the library load it as their own files.
 */

export const ENVIRONMENTS = ["dev", "staging", "prod"] as const;
export type Environment = (typeof ENVIRONMENTS)[number];

/** Every object's environment: what the pack's prod rules key on. */
export const ENVIRONMENT_LABEL = "trading-bot.io/environment";

/** The labels that mark the bot's pods (not the databases'): leader-election rules apply to them. */
export const BOT_COMPONENT_LABELS = { "app.kubernetes.io/component": "bot" } as const;

/** The bot's environment variables (from its ConfigMap) that the pack reads. */
export const BOT_ENV = {
    tradingEnabled: "TRADING_ENABLED",
    exchangeEndpoint: "EXCHANGE_ENDPOINT",
    leaderElectionEnabled: "LEADER_ELECTION_ENABLED",
    leaderElectionLeaseName: "LEADER_ELECTION_LEASE_NAME",
} as const;

/** The keys of the Secret the bot reads, whether the bot creates it or names an existing one. */
export const SECRET_DATA_KEYS = {
    binanceApiKey: "binance-api-key",
    binanceApiSecret: "binance-api-secret",
    databasePassword: "database-password",
    redisPassword: "redis-password",
} as const;

/** A secret value of the bot: the Binance keys and the database and Redis passwords. */
export type SecretKey = keyof typeof SECRET_DATA_KEYS;

/** The in-cluster databases' Service names when nothing else names them. */
export const IN_CLUSTER_HOSTS = { databaseHost: "postgres", redisHost: "redis" } as const;

/** A taint the pods tolerate, as `kubectl taint` writes it: key[=value]:Effect. */
export interface Toleration { key: string; value?: string; effect: string }

/** A network destination: an IPv4 CIDR or a namespace. */
export type EgressPeer = { cidr: string } | { namespace: string };

/** What decides how many pods a bot runs. */
export interface ReplicaShape {
    replicas: number;
    autoscaling: { enabled: boolean; maxReplicas: number };
}

/** Whether the bot may run more than one pod at a time (fixed replicas or what the HPA may choose). */
export function runsSeveralReplicas(s: ReplicaShape): boolean {
    return s.autoscaling.enabled ? s.autoscaling.maxReplicas > 1 : s.replicas > 1;
}

/**
 * Whether each replica gets a data volume of its own (a StatefulSet with volumeClaimTemplates):
 * several replicas on single-node (ReadWriteOnce) storage, as zonal cloud block storage is.
 * One replica, no persistence, or a ReadWriteMany class keep a Deployment (and one shared claim).
 */
export function usesVolumePerReplica(s: ReplicaShape & { storage: { enabled: boolean; accessMode: string } }): boolean {
    return s.storage.enabled && runsSeveralReplicas(s) && s.storage.accessMode !== "ReadWriteMany";
}

/** Binance's REST endpoints: live money, and the testnets where orders cost nothing. */
export const EXCHANGE = {
    live: "https://api.binance.com",
    testnet: "https://testnet.binance.vision",
    testnets: ["https://testnet.binance.vision", "https://testnet.binancefuture.com"] as readonly string[],
} as const;

/** Where a bot may trade on a testnet without being prod (the pack lets an organisation narrow this). */
export const TESTNET_TRADING_ENVIRONMENTS: readonly Environment[] = ["dev", "staging"];

/**
 * Decided once, for both sides: live trading only in prod. Outside prod a bot may place orders
 * only against an exchange testnet (to rehearse the order path with play money); it never trades
 * on the live exchange, nor on an endpoint not known to be a testnet. Returns why trading is
 * refused, or undefined when it is allowed. `environment` undefined: not known to be prod.
 */
export function tradingRefusal(
    environment: Environment | undefined,
    tradingEnabled: boolean,
    endpoint: string | undefined,
    testnetEnvironments: readonly string[] = TESTNET_TRADING_ENVIRONMENTS,
): string | undefined {
    if (!tradingEnabled || environment === "prod") return undefined;
    const where = environment ? `the ${environment} environment` : "an object not known to be prod";
    if (environment && testnetEnvironments.includes(environment)) {
        if (endpoint !== undefined && EXCHANGE.testnets.includes(endpoint)) return undefined;
        return `${where} trades only on an exchange testnet (${EXCHANGE.testnet}), not on ${endpoint ?? "an exchange not named"}: live trading is for prod`;
    }
    return `${where} must not trade at all`;
}

const QUANTITY = /^([+-]?(?:\d+(?:\.\d*)?|\.\d+))(?:(e[+-]?\d+)|(Ki|Mi|Gi|Ti|Pi|Ei|n|u|m|k|M|G|T|P|E))?$/;
const SUFFIX: Record<string, number> = {
    n: 1e-9, u: 1e-6, m: 1e-3, "": 1, k: 1e3, M: 1e6, G: 1e9, T: 1e12, P: 1e15, E: 1e18,
    Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40, Pi: 2 ** 50, Ei: 2 ** 60,
};

/** A Kubernetes quantity ("250m", "1Gi", "0.5", 2) as a number of base units, or undefined. */
export function quantity(value: unknown): number | undefined {
    if (typeof value === "number") return value;
    if (typeof value !== "string") return undefined;
    const m = QUANTITY.exec(value.trim());
    if (!m) return undefined;
    const n = Number(m[1]);
    return m[2] ? n * 10 ** Number(m[2].slice(1)) : n * SUFFIX[m[3] ?? ""];
}

/** The forms config and the component accept (stricter than Kubernetes: no exponents, no milli-bytes). */
const CPU = /^\d+(\.\d+)?m?$/;
const MEMORY = /^\d+(\.\d+)?(k|M|G|T|Ki|Mi|Gi|Ti)?$/;

/** CPU quantity in millicores, or undefined when malformed. */
export function cpuMillis(value: string): number | undefined {
    return CPU.test(value) ? round(quantity(value)! * 1000) : undefined;
}

/** Memory quantity in bytes, or undefined when malformed. */
export function memoryBytes(value: string): number | undefined {
    return MEMORY.test(value) ? quantity(value) : undefined;
}

/** A decimal rounded to 6 places (what a fix suggests). */
export function round(n: number): number {
    return Math.round(n * 1e6) / 1e6;
}
