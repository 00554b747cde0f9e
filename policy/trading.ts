/**
 * Real orders only from prod. The bot reads TRADING_ENABLED from its ConfigMap (envFrom, see
 * components/tradingBot/configuration.ts); an env literal on a container would override it, so
 * both are checked. The environment is the object's `trading-bot.io/environment` label: an
 * object without a valid label is not known to be prod, so it may not trade.
 *
 * The program itself allows tradingEnabled outside prod (against the testnet, with the keys
 * set); this policy is the organisation's rule on top: non-prod stacks never hold live trading.
 */
import { objectPolicy } from "./define";
import { containersOf, describeObject, describeContainer, environmentOf, isTruthy, isUnknown, obj, str } from "./k8s";

export const TRADING_VARIABLE = "TRADING_ENABLED";

export const tradingOnlyInProd = objectPolicy({
    name: "trading-only-in-prod",
    description: "TRADING_ENABLED is true only in prod (the bot's ConfigMap and any env literal).",
    enforcementLevel: "mandatory",
    remediationSteps: "pulumi config set trading-bot:tradingEnabled false --stack <non-prod stack>",
    defaults: { tradingEnvironments: ["prod"] as string[], variable: TRADING_VARIABLE },
    configSchema: {
        properties: {
            tradingEnvironments: {
                type: "array", items: { type: "string", enum: ["dev", "staging", "prod"] }, default: ["prod"],
                description: "Environments (trading-bot.io/environment label values) in which trading may be enabled.",
            },
            variable: { type: "string", default: TRADING_VARIABLE, description: "The variable that turns trading on." },
        },
    },
    check(o, report, config) {
        const env = environmentOf(o);
        // Labels not known yet (preview): `up` checks again.
        if (isUnknown(env) || (env !== undefined && config.tradingEnvironments.includes(env))) return;
        const where = env === undefined
            ? "an object without a valid trading-bot.io/environment label (not known to be prod)"
            : `the ${env} environment`;
        const fix = `trading is allowed only in ${config.tradingEnvironments.join(", ")}: pulumi config set trading-bot:tradingEnabled false`;
        if (o.kind === "ConfigMap") {
            const data = o.props.data;
            const value = isUnknown(data) ? undefined : obj(data)[config.variable];
            if (!isUnknown(value) && isTruthy(value)) {
                report(`${describeObject(o)} sets ${config.variable}=${value} in ${where}; ${fix}`);
            }
            return;
        }
        for (const c of containersOf(o)) {
            for (const e of Array.isArray(c.container.env) ? c.container.env : []) {
                const value = str(obj(e).value);
                if (obj(e).name === config.variable && typeof value === "string" && isTruthy(value)) {
                    report(`${describeContainer(o, c)} sets env ${config.variable}=${value} in ${where}; ${fix}`);
                }
            }
        }
    },
});

export const tradingPolicies = [tradingOnlyInProd];
