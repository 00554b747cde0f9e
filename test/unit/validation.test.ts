/**
 * Every invalid input is refused before anything is created, with one error that names the key,
 * the value and the fix, and lists every problem at once.
 */
import * as assert from "assert";
import { InvalidConfigError, parseSettings } from "../../config";
import {
    placeholderKeys, placeholderValues, projectDefaults, RecordedResource, runProgramRecording, stackConfig, stackFileConfig,
    withTestSecrets,
} from "./harness";
import { INVALID_CONFIGS, InvalidConfig } from "./invalidConfigs";

function configFor(c: InvalidConfig) {
    const base = c.stack === "prod" ? withTestSecrets(stackConfig(c.stack)) : stackConfig(c.stack);
    return { ...base, ...c.set };
}

describe("the committed stack files' placeholders", () => {
    for (const stack of ["staging", "prod"] as const) {
        it(`${stack}: refused, each placeholder named with its fix, until the user sets them`, () => {
            const raw = withTestSecrets({ ...projectDefaults(), ...stackFileConfig(stack) });
            const keys = placeholderKeys(raw);
            assert.ok(keys.includes("kubeContext"), `no placeholder for kubeContext in Pulumi.${stack}.yaml`);
            if (stack === "prod") {
                assert.deepStrictEqual(keys.sort(), ["databaseEgressTo", "databaseHost", "kubeContext", "redisEgressTo", "redisHost"]);
            }
            assert.throws(() => parseSettings(stack, raw), (e: unknown) => {
                assert.ok(e instanceof InvalidConfigError);
                for (const key of keys) {
                    const problem = e.problems.find((p) => p.key === `trading-bot:${key}`);
                    assert.ok(problem, `the placeholder of ${key} is not reported:\n${e.message}`);
                    assert.match(problem.message, /placeholder/);
                    assert.match(problem.fix, new RegExp(`pulumi config set (--path 'trading-bot:${key}\\[0\\]'|trading-bot:${key}) <`));
                }
                return true;
            });
            // Filled in, the stack is valid.
            parseSettings(stack, { ...raw, ...Object.fromEntries(keys.map((k) => [k, placeholderValues(stack)[k]])) });
        });
    }
});

describe("invalid configuration is refused with key, value and fix", () => {
    let refused = 0;
    after(() => {
        console.log(`      ${INVALID_CONFIGS.length} invalid inputs tried, ${refused} refused cleanly`);
    });

    for (const c of INVALID_CONFIGS) {
        it(`${c.what} (${c.stack}: ${JSON.stringify(c.set)})`, async () => {
            let error: unknown;
            try {
                parseSettings(c.stack, configFor(c));
            } catch (e) {
                error = e;
            }
            assert.ok(error instanceof InvalidConfigError, `expected the config to be refused: ${c.what}`);
            const problem = error.problems.find((p) => p.key === `trading-bot:${c.key}`);
            assert.ok(problem, `no problem names trading-bot:${c.key}; got:\n${error.message}`);
            assert.strictEqual(problem.value, c.value);
            assert.ok(problem.fix.includes(c.fix), `fix "${problem.fix}" does not include "${c.fix}"`);
            assert.ok(problem.fix.includes(`--stack ${c.stack}`), `fix does not name the stack: ${problem.fix}`);
            assert.ok(error.message.includes(`trading-bot:${c.key} = ${c.value}`));

            // The program itself refuses it before registering any resource.
            const resources: RecordedResource[] = [];
            await assert.rejects(runProgramRecording(c.stack, configFor(c), resources), (e: Error) =>
                e.message.includes(`trading-bot:${c.key} = ${c.value}`));
            assert.deepStrictEqual(resources.map((r) => r.name), []);
            refused++;
        });
    }

    it("reports every problem at once", () => {
        assert.throws(() => parseSettings("dev", { ...stackConfig("dev"), riskPerTrade: "0.5", replicas: "0", logLevel: "loud" }),
            (e: InvalidConfigError) => {
                assert.deepStrictEqual(e.problems.map((p) => p.key).sort(),
                    ["trading-bot:logLevel", "trading-bot:replicas", "trading-bot:riskPerTrade"]);
                assert.match(e.message, /^stack 'dev' has 3 configuration problems; nothing was deployed:/);
                return true;
            });
    });

    it("never shows a secret value in an error", () => {
        assert.throws(() => parseSettings("dev", { ...stackConfig("dev"), binanceApiKey: "AKIA-very-secret", binanceApiKeyy: "x" }),
            (e: InvalidConfigError) => !e.message.includes("AKIA-very-secret"));
        assert.throws(() => parseSettings("dev", { ...stackConfig("dev"), binanceApiKey: "AKIA-very-secret", tradingEnabled: "true" }),
            (e: InvalidConfigError) => !e.message.includes("AKIA-very-secret") && e.message.includes("binanceApiSecret"));
    });
});
