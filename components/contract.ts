/**
 * What the components and the stack's config layer both rely on: pure helpers and constants with
 * no Pulumi resource in them. The components own this module; config/ imports it, never the reverse.
 */

/** The environment a bot runs in: prod turns on the strict rules. */
export type Environment = "dev" | "staging" | "prod";

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

/** The Binance REST endpoints: the testnet is the default everywhere but prod. */
export const TESTNET_ENDPOINT = "https://testnet.binance.vision";
export const LIVE_ENDPOINT = "https://api.binance.com";

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

const CPU = /^(\d+(\.\d+)?)(m)?$/;
const MEMORY_UNITS: Record<string, number> = {
    "": 1, k: 1e3, M: 1e6, G: 1e9, T: 1e12, Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40,
};
const MEMORY = /^(\d+(\.\d+)?)(k|M|G|T|Ki|Mi|Gi|Ti)?$/;

/** CPU quantity in millicores, or undefined when malformed. */
export function cpuMillis(value: string): number | undefined {
    const m = CPU.exec(value);
    if (!m) return undefined;
    return m[3] ? Number(m[1]) : Number(m[1]) * 1000;
}

/** Memory quantity in bytes, or undefined when malformed. */
export function memoryBytes(value: string): number | undefined {
    const m = MEMORY.exec(value);
    if (!m) return undefined;
    return Number(m[1]) * MEMORY_UNITS[m[3] ?? ""];
}

export function round(n: number): number {
    return Math.round(n * 1e6) / 1e6;
}
