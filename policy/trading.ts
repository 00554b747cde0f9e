/**
 * Live trading only in prod, the rule decided once in contract/ (tradingRefusal) and enforced by
 * the program's config too: outside prod a bot trades only against an exchange testnet. The bot
 * reads TRADING_ENABLED and EXCHANGE_ENDPOINT from its ConfigMap (envFrom, see
 * components/tradingBot/configuration.ts); an env literal on a container would override them, so
 * both are checked. The environment is the object's `trading-bot.io/environment` label: an object
 * without a valid label is not known to be prod, so it may not trade. An organisation can narrow
 * the testnet environments (policy config `testnetEnvironments`, e.g. [] for no trading outside prod).
 */
import { BOT_ENV, ENVIRONMENTS, TESTNET_TRADING_ENVIRONMENTS, tradingRefusal } from "../contract";
import { objectPolicy } from "./define";
import { containersOf, describeObject, describeContainer, environmentOf, isTruthy, isUnknown, obj, str } from "./k8s";

const liveTradingOnlyInProd = objectPolicy({
    name: "live-trading-only-in-prod",
    description: "Live trading only in prod: outside prod TRADING_ENABLED=true only against an exchange testnet (the bot's ConfigMap and any env literal).",
    enforcementLevel: "mandatory",
    remediationSteps: "pulumi config rm trading-bot:exchangeEndpoint --stack <non-prod stack> (the testnet), or pulumi config set trading-bot:tradingEnabled false",
    defaults: { testnetEnvironments: [...TESTNET_TRADING_ENVIRONMENTS] as string[] },
    configSchema: {
        properties: {
            testnetEnvironments: {
                type: "array", items: { type: "string", enum: ENVIRONMENTS.filter((e) => e !== "prod") }, default: [...TESTNET_TRADING_ENVIRONMENTS],
                description: "Environments (trading-bot.io/environment label values) besides prod in which a bot may trade on an exchange testnet.",
            },
        },
    },
    check(o, report, config) {
        const env = environmentOf(o);
        // Labels not known yet (preview): `up` checks again.
        if (isUnknown(env)) return;
        const fix = "pulumi config rm trading-bot:exchangeEndpoint (the testnet), or pulumi config set trading-bot:tradingEnabled false";
        const judge = (trading: unknown, endpoint: unknown, what: string) => {
            if (isUnknown(trading) || isUnknown(endpoint) || !isTruthy(trading)) return;
            const refusal = tradingRefusal(env, true, typeof endpoint === "string" ? endpoint : undefined, config.testnetEnvironments);
            if (refusal) report(`${what} sets ${BOT_ENV.tradingEnabled}=${trading}: ${refusal}; ${fix}`);
        };
        if (o.kind === "ConfigMap") {
            const data = o.props.data;
            if (isUnknown(data)) return;
            judge(obj(data)[BOT_ENV.tradingEnabled], obj(data)[BOT_ENV.exchangeEndpoint], describeObject(o));
            return;
        }
        for (const c of containersOf(o)) {
            const entries = Array.isArray(c.container.env) ? c.container.env.map(obj) : [];
            const literal = (name: string) => str(entries.find((e) => e.name === name)?.value);
            // An endpoint not set on the container itself comes from the ConfigMap, judged there.
            const endpoint = literal(BOT_ENV.exchangeEndpoint);
            const trading = literal(BOT_ENV.tradingEnabled);
            if (trading !== undefined) judge(trading, endpoint, `${describeContainer(o, c)} (env literal)`);
        }
    },
});

export const tradingPolicies = [liveTradingOnlyInProd];
