import { ConfigProblems, InvalidConfigError } from "./problems";
import { CONFIG_KEYS, ConfigKey, KeySpec, PROJECT } from "./schema";
import { collectSettings, RawConfig, Settings } from "./settings";

/** Keys that describe the stack, not a bot (`stackWide` in the schema): every bot of a stack shares them. */
export const STACK_WIDE_KEYS = (Object.keys(CONFIG_KEYS) as ConfigKey[]).filter((k) => (CONFIG_KEYS[k] as KeySpec).stackWide);

export interface StackSettings {
    stack: string;
    /**
     * The stack's own settings, from its top-level keys alone: what the shared resources (the
     * namespace, the provider, the in-cluster databases) are made of. No bot's item changes them,
     * so adding, removing or reordering bots never touches what every bot shares.
     */
    shared: Settings;
    /** One entry per bot; a stack without a `bots` list runs one bot from its top-level keys. */
    bots: Settings[];
}

/** A bot item of `trading-bot:bots`, with every value as the string Pulumi would store. */
type BotItem = Record<string, string>;

/**
 * Parses a stack's whole config: the top-level keys, and the optional `bots` list whose items
 * override any bot setting per bot (`name` is required and unique). Every problem of every bot is
 * reported in one error.
 */
export function parseStack(stack: string, raw: RawConfig): StackSettings {
    const problems = new ConfigProblems();
    const { bots: botsText, ...topLevel } = raw;
    const items = parseBotItems(stack, botsText, problems);

    const bots: Settings[] = [];
    if (items.length === 0) {
        bots.push(collectSettings(stack, topLevel, problems));
    }
    const seen = new Map<string, number>();
    items.forEach((item, index) => {
        const path = `${PROJECT}:bots[${index}]`;
        for (const key of STACK_WIDE_KEYS) {
            if (key in item) {
                problems.add({
                    key: `${path}.${key}`, value: JSON.stringify(item[key]),
                    message: "is a setting of the whole stack; every bot of a stack shares it",
                    fix: `pulumi config rm --path '${path}.${key}' --stack ${stack} && pulumi config set ${PROJECT}:${key} <value> --stack ${stack}`,
                });
            }
        }
        const settings = collectSettings(stack, { ...topLevel, ...item }, problems, {
            index, overridden: new Set(Object.keys(item)),
        });
        const first = seen.get(settings.name);
        if (first !== undefined) {
            problems.add({
                key: `${path}.name`, value: JSON.stringify(settings.name),
                message: `is already the name of bots[${first}]; names must be unique (they name every object of a bot)`,
                fix: `pulumi config set --path '${path}.name' ${settings.name}-2 --stack ${stack}`,
            });
        }
        seen.set(settings.name, index);
        bots.push(settings);
    });

    if (!problems.empty) {
        throw new InvalidConfigError(stack, problems.items);
    }
    // With a bots list, the top-level keys are defaults that bots may override: a rule they break
    // on their own (say, tradingEnabled with the keys set per bot) is no problem of the stack's. The
    // stack-wide keys they hold were validated with every bot already.
    const shared = items.length === 0 ? bots[0] : collectSettings(stack, topLevel, new ConfigProblems());
    return { stack, shared, bots };
}

function parseBotItems(stack: string, text: string | undefined, problems: ConfigProblems): BotItem[] {
    if (text === undefined || text.trim() === "" || text.trim() === "[]") return [];
    const example = `pulumi config set --path '${PROJECT}:bots[0].name' btc-usdt --stack ${stack}`;
    let parsed: unknown;
    try {
        parsed = JSON.parse(text);
    } catch {
        parsed = undefined;
    }
    if (!Array.isArray(parsed)) {
        problems.add({ key: `${PROJECT}:bots`, value: JSON.stringify(text), message: "must be a list of bots, each an object with at least a name", fix: example });
        return [];
    }
    const items: BotItem[] = [];
    parsed.forEach((item, index) => {
        if (item === null || typeof item !== "object" || Array.isArray(item) || typeof (item as any).name !== "string") {
            problems.add({
                key: `${PROJECT}:bots[${index}]`, value: JSON.stringify(item),
                message: "must be an object with a name (and any settings this bot overrides)",
                fix: `pulumi config set --path '${PROJECT}:bots[${index}].name' bot-${index + 1} --stack ${stack}`,
            });
            return;
        }
        items.push(Object.fromEntries(Object.entries(item).map(([k, v]) =>
            [k, typeof v === "string" ? v : JSON.stringify(v)])));
    });
    return items;
}
