/** Several bots in one stack: own objects per bot, a shared namespace and databases, per-bot overrides. */
import * as assert from "assert";
import { InvalidConfigError, parseStack } from "../../config";
import { byType, revealSecrets, runProgram, stackConfig, StackRun } from "./harness";

const BOTS = [
    { name: "btc-usdt", riskPerTrade: "0.01" },
    { name: "eth-usdt", imageTag: "2.0.0", storageSize: "10Gi", logLevel: "warning", binanceApiKey: "eth-only-key-123" },
];

function named(r: StackRun, type: string): string[] {
    return byType(r.resources, type).map((x) => x.inputs.metadata.name).sort();
}

describe("several bots in one stack", () => {
    let r: StackRun;
    before(async () => {
        r = await runProgram("dev", stackConfig("dev", { bots: JSON.stringify(BOTS), binanceApiKey: "shared-key-456" }));
    });

    it("each bot has its own ConfigMap, Secret, PVC, Deployment, Service and RBAC; no name collides", () => {
        assert.deepStrictEqual(named(r, "kubernetes:core/v1:ConfigMap"), ["btc-usdt-config", "eth-usdt-config"]);
        assert.deepStrictEqual(named(r, "kubernetes:core/v1:Secret"),
            ["btc-usdt-secrets", "eth-usdt-secrets", "postgres-credentials", "redis-credentials"]);
        assert.deepStrictEqual(named(r, "kubernetes:core/v1:PersistentVolumeClaim"),
            ["btc-usdt-data", "eth-usdt-data", "postgres-data", "redis-data"]);
        assert.deepStrictEqual(named(r, "kubernetes:apps/v1:Deployment"), ["btc-usdt", "eth-usdt", "postgres", "redis"]);
        assert.deepStrictEqual(named(r, "kubernetes:core/v1:Service"), ["btc-usdt", "eth-usdt", "postgres", "redis"]);
        // RBAC stays per bot: a shared Role would let one bot take another's Lease.
        assert.deepStrictEqual(named(r, "kubernetes:core/v1:ServiceAccount"), ["btc-usdt", "eth-usdt"]);
        assert.deepStrictEqual(named(r, "kubernetes:rbac.authorization.k8s.io/v1:Role"), ["btc-usdt", "eth-usdt"]);
        const urns = r.resources.map((x) => `${x.type}::${x.name}`);
        assert.strictEqual(new Set(urns).size, urns.length, "two resources share a logical name");
    });

    it("they share one namespace and one PostgreSQL and Redis", () => {
        assert.deepStrictEqual(named(r, "kubernetes:core/v1:Namespace"), ["trading-dev"]);
        for (const d of byType(r.resources, "kubernetes:apps/v1:Deployment")) {
            assert.strictEqual(d.inputs.metadata.namespace, "trading-dev");
        }
    });

    it("per-bot overrides apply to that bot only", () => {
        const config = (name: string) => byType(r.resources, "kubernetes:core/v1:ConfigMap")
            .find((c) => c.inputs.metadata.name === `${name}-config`)!.inputs.data;
        assert.strictEqual(config("btc-usdt").RISK_PER_TRADE, "0.01");
        assert.strictEqual(config("eth-usdt").RISK_PER_TRADE, "0.02");
        assert.strictEqual(config("eth-usdt").LOG_LEVEL, "warning");
        assert.strictEqual(config("btc-usdt").LOG_LEVEL, "debug");
        const image = (name: string) => byType(r.resources, "kubernetes:apps/v1:Deployment")
            .find((d) => d.inputs.metadata.name === name)!.inputs.spec.template.spec.containers[0].image;
        assert.strictEqual(image("eth-usdt"), "trading-bot.local/trading-bot:2.0.0");
        assert.strictEqual(image("btc-usdt"), "trading-bot.local/trading-bot:dev");
        const pvc = byType(r.resources, "kubernetes:core/v1:PersistentVolumeClaim").find((p) => p.inputs.metadata.name === "eth-usdt-data")!;
        assert.deepStrictEqual(pvc.inputs.spec.resources.requests, { storage: "10Gi" });
    });

    it("a bot's own secret wins over the stack's, and stays secret", () => {
        const secret = (name: string) => revealSecrets(byType(r.resources, "kubernetes:core/v1:Secret")
            .find((s) => s.inputs.metadata.name === `${name}-secrets`)!.inputs.stringData);
        assert.strictEqual(secret("eth-usdt")["binance-api-key"], "eth-only-key-123");
        assert.strictEqual(secret("btc-usdt")["binance-api-key"], "shared-key-456");
    });

    it("outputs list every bot by name", () => {
        const bots = r.outputs.bots as Record<string, any>;
        assert.deepStrictEqual(Object.keys(bots).sort(), ["btc-usdt", "eth-usdt"]);
    });

    describe("invalid bot lists", () => {
        const refuse = (bots: unknown, key: string, fix: string) => {
            assert.throws(() => parseStack("dev", { ...stackConfig("dev"), bots: JSON.stringify(bots) }), (e: InvalidConfigError) => {
                const p = e.problems.find((x) => x.key === key);
                assert.ok(p, `no problem names ${key}:\n${e.message}`);
                assert.ok(p.fix.includes(fix), `fix "${p.fix}" lacks "${fix}"`);
                return true;
            });
        };
        it("duplicate names", () => refuse([{ name: "a" }, { name: "a" }], "trading-bot:bots[1].name", "--path 'trading-bot:bots[1].name'"));
        it("a bot without a name", () => refuse([{ riskPerTrade: "0.01" }], "trading-bot:bots[0]", "bots[0].name"));
        it("a stack-wide key set per bot", () => refuse([{ name: "a", namespace: "x" }], "trading-bot:bots[0].namespace", "pulumi config rm --path 'trading-bot:bots[0].namespace'"));
        it("a bad override names the bot's key", () => refuse([{ name: "a" }, { name: "b", riskPerTrade: "0.5" }], "trading-bot:bots[1].riskPerTrade", "pulumi config set --path 'trading-bot:bots[1].riskPerTrade' 0.02"));
        it("a bad top-level value inherited by several bots is reported once", () => {
            assert.throws(() => parseStack("dev", { ...stackConfig("dev"), logLevel: "loud", bots: JSON.stringify([{ name: "a" }, { name: "b" }]) }),
                (e: InvalidConfigError) => e.problems.filter((p) => p.key === "trading-bot:logLevel").length === 1);
        });
        it("not a list", () => refuse({ name: "a" }, "trading-bot:bots", "bots[0].name"));
    });
});
