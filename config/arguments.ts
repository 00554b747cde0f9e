/**
 * The bot's safety rules (components/tradingBot/rules.ts, BOT_RULES) in the stack's terms: each
 * TradingBotArgs path a rule names is a config key here, and each fix a `pulumi config` command.
 */
import { Change, Violation } from "../components/tradingBot/rules";
import { CONFIG_KEYS, ConfigKey, KeySpec, PROJECT, SECRET_KEYS } from "./schema";

/**
 * The config key of every argument path: the schema's `arg` of each key, and `secrets.<key>` for
 * each secret key (derived, so a rule naming a new argument needs no edit here).
 */
export const ARGUMENT_KEYS: Record<string, ConfigKey> = Object.fromEntries([
    ...(Object.keys(CONFIG_KEYS) as ConfigKey[]).flatMap((key) => {
        const arg = (CONFIG_KEYS[key] as KeySpec).arg;
        return arg ? [[arg, key]] : [];
    }),
    ...SECRET_KEYS.map((key) => [`secrets.${key}`, key]),
]);

/** The config key of an argument path (a rule naming an unmapped one is a bug, caught by a unit test). */
export function configKey(argument: string): ConfigKey {
    const key = ARGUMENT_KEYS[argument];
    if (!key) throw new Error(`no config key for the TradingBot argument ${argument} (config/arguments.ts)`);
    return key;
}


/** A violation's fix as the `pulumi config` command (and alternative) that makes it. */
export function configFix(v: Violation, stack: string): string {
    const command = configCommand(v.fix);
    const alternative = v.or?.length
        ? ` (or set ${v.or.map((c) => c.to === undefined ? configKey(c.argument) : `${configKey(c.argument)} to ${c.to}`).join(" and ")})`
        : "";
    return `${command} --stack ${stack}${alternative}${v.note ? ` (${v.note})` : ""}`;
}

function configCommand(c: Change): string {
    const key = configKey(c.argument);
    if (c.remove) return `pulumi config rm ${PROJECT}:${key}`;
    if (c.item) return `pulumi config set --path '${PROJECT}:${key}[0]' ${c.to}`;
    const secret = (CONFIG_KEYS[key] as KeySpec).secret ? "--secret " : "";
    return `pulumi config set ${secret}${PROJECT}:${key} ${c.to}`;
}
