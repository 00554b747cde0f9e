/**
 * test/consumer, a program that uses this package as a library (`import { TradingBot } from
 * "trading-bot-infra"`), as a user would: built JavaScript and .d.ts, its own project, no
 * trading-bot stack config. Under mocks; test/e2e/consumer.test.ts deploys it to the local cluster.
 */
import * as assert from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { buildLibrary, consumerProject, PACKAGE_NAME, typeCheckConsumer } from "./consumerProject";
import { isSecretValue, one, RecordedResource, revealSecrets, setProgramMocks, waitForRegistrations } from "./harness";

const COMPONENT = "trading-bot:index:TradingBot";

describe("the library, used by another program (test/consumer)", function () {
    this.timeout(240000);
    let dir: string;
    const resources: RecordedResource[] = [];

    before(async () => {
        buildLibrary();
        dir = consumerProject();
        await setProgramMocks("paper", (r) => resources.push(r), "trading-bot-consumer");
        require(path.join(dir, "index.ts"));
        await waitForRegistrations();
    });

    after(() => {
        if (dir) fs.rmSync(dir, { recursive: true, force: true });
    });

    it("type-checks against the package's .d.ts files (package.json exports)", () => {
        typeCheckConsumer(dir);
    });

    it("importing the library declares nothing and loads neither the stack program nor its config", () => {
        const script = `require(${JSON.stringify(PACKAGE_NAME)}); console.log(JSON.stringify(Object.keys(require.cache)))`;
        const r = spawnSync(process.execPath, ["-e", script], { cwd: dir, encoding: "utf8" });
        assert.strictEqual(r.status, 0, r.stderr);
        const loaded: string[] = JSON.parse(r.stdout);
        const ours = loaded.filter((f) => !f.includes(`${path.sep}node_modules${path.sep}`));
        assert.ok(ours.some((f) => f.endsWith(path.join("dist", "lib", "index.js"))), "the library comes from dist/");
        assert.deepStrictEqual(ours.filter((f) => /[/\\](config|program|index)\.(js|ts)$|[/\\]config[/\\]/.test(f) && !f.includes(`${path.sep}dist${path.sep}`)), []);
        assert.deepStrictEqual(ours.filter((f) => f.includes(`${path.sep}dist${path.sep}config`)), []);
    });

    it("declares the bot with names derived from the component's name, in the consumer's namespace", () => {
        const component = one(resources, COMPONENT);
        assert.strictEqual(component.name, "paper-bot");
        const children = resources.filter((r) => r.options.parent === `${COMPONENT}::paper-bot`);
        assert.ok(children.length >= 7, children.map((c) => c.name).join(", "));
        for (const child of children) assert.ok(child.name.startsWith("paper-bot-"), child.name);
        const deployment = one(resources, "kubernetes:apps/v1:Deployment", "paper-bot-deployment").inputs;
        assert.strictEqual(deployment.metadata.name, "paper-bot");
        assert.strictEqual(deployment.metadata.namespace, "paper-trading");
        assert.deepStrictEqual(deployment.spec.strategy, { type: "Recreate" });
        assert.strictEqual(deployment.spec.template.spec.containers[0].image, "trading-bot.local/trading-bot:dev");
        assert.deepStrictEqual(deployment.spec.template.spec.volumes[0], { name: "data", emptyDir: { sizeLimit: "5Gi" } });
        const config = one(resources, "kubernetes:core/v1:ConfigMap", "paper-bot-config").inputs.data;
        assert.strictEqual(config.LOG_LEVEL, "debug");
        assert.strictEqual(config.RISK_PER_TRADE, "0.01");
        assert.strictEqual(config.EXCHANGE_ENDPOINT, "https://testnet.binance.vision");
        assert.strictEqual(config.DATABASE_HOST, "postgres.databases.svc.cluster.local");
    });

    it("keeps the Secret's values secret", () => {
        const secret = one(resources, "kubernetes:core/v1:Secret", "paper-bot-secrets").inputs;
        assert.ok(isSecretValue(secret.stringData), "the Secret's stringData is not a secret");
        assert.deepStrictEqual(revealSecrets(secret.stringData), {
            "database-password": "paper-database-password", "redis-password": "paper-redis-password",
        });
    });

    it("a broken safety rule throws one clear error, before anything is declared", () => {
        const { TradingBot, InvalidTradingBotArgsError } = require(path.join(dir, "node_modules", PACKAGE_NAME));
        const before = resources.length;
        assert.throws(() => new TradingBot("two-bots", { namespace: "paper", replicas: 2, storage: { enabled: false } }), (e: Error) => {
            assert.ok(e instanceof InvalidTradingBotArgsError);
            assert.match(e.message, /TradingBot 'two-bots' breaks 5 safety rules/);
            assert.match(e.message, /replicas = 2: several replicas of an order-placing bot.*\n\s+fix: set leaderElection to true/);
            assert.match(e.message, /database.host = \(not set\): must name your PostgreSQL server: with inClusterDatabases false/);
            assert.match(e.message, /secrets.databasePassword = \(not set\).*\n\s+fix: set secrets.databasePassword to <value> \(or set existingSecret\)/);
            return true;
        });
        assert.strictEqual(resources.length, before);
    });
});
