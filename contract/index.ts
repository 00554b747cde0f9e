/**
 * The contract between the program (config/, components/) and the policy pack (policy/): the names
 * both sides read and write, and the rules both enforce, defined once. The pack checks what the
 * program produces, so a name changed on one side only would silently turn a policy off; a rule
 * written twice would drift (test/unit/contract.test.ts shows both sides agree).
 * Plain TypeScript, no dependency: the pack loads it as it loads its own files.
 */

export const ENVIRONMENTS = ["dev", "staging", "prod"] as const;
export type Environment = (typeof ENVIRONMENTS)[number];

/** Every object's environment: what the pack's prod rules key on. */
export const ENVIRONMENT_LABEL = "trading-bot.io/environment";

/** The labels that mark the bot's pods (not the databases'): leader-election rules apply to them. */
export const BOT_COMPONENT_LABELS: Readonly<Record<string, string>> = { "app.kubernetes.io/component": "bot" };

/** The bot's environment variables (from its ConfigMap) that the pack reads. */
export const BOT_ENV = {
    tradingEnabled: "TRADING_ENABLED",
    exchangeEndpoint: "EXCHANGE_ENDPOINT",
    leaderElectionEnabled: "LEADER_ELECTION_ENABLED",
    leaderElectionLeaseName: "LEADER_ELECTION_LEASE_NAME",
} as const;

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
