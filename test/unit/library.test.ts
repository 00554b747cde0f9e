/**
 * The TradingBot component as a library: its arguments' defaults, its safety rules (BOT_RULES)
 * and the stack's adapter from validated settings to TradingBotArgs. Pure: no mocks needed.
 */
import * as assert from "assert";
import * as fs from "fs";
import * as yaml from "js-yaml";
import * as path from "path";
import { parseSettings, Settings } from "../../config";
import { ARGUMENT_KEYS } from "../../config/arguments";
import { CONFIG_KEYS } from "../../config/schema";
import * as pulumi from "@pulumi/pulumi";
import { BotSpec, BOT_RULES, checkOnceKnown, InvalidTradingBotArgsError, resolveArgs, TradingBot, violations } from "../../components/tradingBot";
import { SECRET_DATA_KEYS } from "../../contract";
import { SECRET_KEYS } from "../../config/schema";
import { botArgs } from "../../program";
import { PROJECT_DIR, projectDefaults, stackConfig, withTestSecrets } from "./harness";

/** The component's part of the stack's settings (what BotSpec declares). */
function specOf(settings: Settings): BotSpec {
    const {
        stack, kubeContext, kubeconfig, clusterIdentifier, renderYamlToDirectory, createNamespace, databaseImages, secretsSet,
        ...spec
    } = settings;
    return spec;
}

describe("TradingBot library: arguments and defaults", () => {
    it("DEFAULTS are Pulumi.yaml's defaults: a bot with no arguments is the stack's default bot", () => {
        const hosts = { databaseHost: "db.example.internal", redisHost: "redis.example.internal" };
        const settings = parseSettings("dev", withTestSecrets({ ...projectDefaults(), kubeContext: "ctx", ...hosts }));
        const resolved = resolveArgs("trading-bot", {
            namespace: "trading-bot",
            database: { host: hosts.databaseHost },
            redis: { host: hosts.redisHost },
        });
        assert.deepStrictEqual(resolved, specOf(settings));
    });

    for (const stack of ["dev", "staging", "prod"] as const) {
        it(`${stack}: the stack's adapter hands the component exactly the stack's bot`, () => {
            const config = stack === "prod" ? withTestSecrets(stackConfig(stack)) : stackConfig(stack);
            const settings = parseSettings(stack, config);
            assert.deepStrictEqual(resolveArgs(settings.name, botArgs(settings, {}, settings.namespace)), specOf(settings));
        });
    }

    it("an undefined argument keeps its default (defaults are spread, once)", () => {
        const spec = resolveArgs("bot", { namespace: "ns", replicas: undefined, trading: { riskPerTrade: undefined, enabled: true } });
        assert.strictEqual(spec.replicas, 1);
        assert.strictEqual(spec.trading.riskPerTrade, 0.02);
        assert.strictEqual(spec.trading.enabled, true);
        assert.strictEqual(spec.resources.cpuLimit, "250m");
        assert.strictEqual(resolveArgs("bot", { namespace: "ns", environment: "prod" }).trading.exchangeEndpoint, "https://api.binance.com");
    });
});

describe("TradingBot library: safety rules", () => {
    it("every argument a rule names has a config key", () => {
        for (const key of Object.values(ARGUMENT_KEYS)) assert.ok(key in CONFIG_KEYS, key);
        assert.ok(BOT_RULES.length >= 20);
        assert.strictEqual(new Set(BOT_RULES.map((r) => r.name)).size, BOT_RULES.length, "rule names are unique");
    });

    it("the constructor refuses broken rules before registering anything, naming argument, value and fix", () => {
        assert.throws(() => new TradingBot("btc-bot", {
            namespace: "trading",
            replicas: 3,
            trading: { enabled: true, stopLossPercentage: 0.05, takeProfitPercentage: 0.03 },
            database: { host: "db" }, redis: { host: "redis" },
            secrets: { databasePassword: "p", redisPassword: "p" },
        }), (e: unknown) => {
            assert.ok(e instanceof InvalidTradingBotArgsError);
            assert.match(e.message, /^TradingBot 'btc-bot' breaks 4 safety rules; nothing was created:/);
            assert.match(e.message, /replicas = 3: several replicas .*\n\s+fix: set leaderElection to true \(or set replicas to 1 and autoscaling.enabled to false\)/);
            assert.match(e.message, /trading.takeProfitPercentage = 0.03: must be greater than trading.stopLossPercentage \(0.05\).*\n\s+fix: set trading.takeProfitPercentage to 0.1/);
            assert.match(e.message, /secrets.binanceApiKey = \(not set\): is required when trading.enabled is true.*\n\s+fix: set secrets.binanceApiKey to <value> \(or set existingSecret\)/);
            assert.match(e.message, /secrets.binanceApiSecret = \(not set\)/);
            return true;
        });
    });

    it("values not known yet (Outputs) are left to the deploy-time check", () => {
        const subject = {
            ...resolveArgs("bot", { namespace: "ns", resources: { cpuRequest: "1", cpuLimit: Promise.resolve("100m") } }),
            secretsSet: { binanceApiKey: false, binanceApiSecret: false, databasePassword: true, redisPassword: true },
        };
        assert.deepStrictEqual(violations({ ...subject, database: { ...subject.database, host: "db" }, redis: { ...subject.redis, host: "r" } }), []);
    });
});

describe("TradingBot library: values known at deploy time", () => {
    it("an Output that breaks a rule fails once known, with the same error", async () => {
        const subject = {
            ...resolveArgs("bot", { namespace: "ns", database: { host: "db" }, redis: { host: "r" },
                resources: { cpuRequest: "1", cpuLimit: pulumi.output("100m") } }),
            secretsSet: { binanceApiKey: false, binanceApiSecret: false, databasePassword: true, redisPassword: true },
        };
        assert.deepStrictEqual(violations(subject), [], "not known yet: left to the deploy-time check");
        // Output.promise() is the SDK's own way to wait for a value (not in its typings).
        await assert.rejects((checkOnceKnown("bot", subject) as any).promise(), (e: Error) =>
            e instanceof InvalidTradingBotArgsError && /resources.cpuLimit = "100m": must not be below resources.cpuRequest \(1\)/.test(e.message));
        const fine = { ...subject, resources: { ...subject.resources, cpuLimit: pulumi.output("2") } };
        assert.strictEqual(await (checkOnceKnown("bot", fine) as any).promise(), true);
    });
});

describe("TradingBot library: package layout", () => {
    it("the config's secret keys are exactly the bot's secret values", () => {
        assert.deepStrictEqual([...SECRET_KEYS].sort(), Object.keys(SECRET_DATA_KEYS).sort());
    });

    it("the components never import the stack's config layer (config/ imports theirs)", () => {
        const files: string[] = [];
        const walk = (dir: string) => fs.readdirSync(dir, { withFileTypes: true }).forEach((e) =>
            e.isDirectory() ? walk(path.join(dir, e.name)) : e.name.endsWith(".ts") && files.push(path.join(dir, e.name)));
        walk(path.join(PROJECT_DIR, "components"));
        walk(path.join(PROJECT_DIR, "lib"));
        for (const file of files) {
            const imports = [...fs.readFileSync(file, "utf8").matchAll(/from "([^"]+)"/g)].map((m) => m[1]);
            for (const spec of imports.filter((i) => i.startsWith("."))) {
                const target = path.relative(PROJECT_DIR, path.resolve(path.dirname(file), spec));
                assert.ok(!/^(config|program|index)\b/.test(target), `${path.relative(PROJECT_DIR, file)} imports ${spec}`);
            }
        }
    });

    it("Pulumi runs the stack (Pulumi.yaml main), the package's main is the library", () => {
        const project = yaml.load(fs.readFileSync(path.join(PROJECT_DIR, "Pulumi.yaml"), "utf8")) as { main: string };
        const pkg = JSON.parse(fs.readFileSync(path.join(PROJECT_DIR, "package.json"), "utf8"));
        assert.strictEqual(project.main, "index.ts");
        assert.strictEqual(pkg.main, "dist/lib/index.js");
        assert.deepStrictEqual(pkg.exports["."], { types: "./dist/lib/index.d.ts", default: "./dist/lib/index.js" });
    });
});
