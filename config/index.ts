import * as pulumi from "@pulumi/pulumi";
import { isConfigSecret } from "../runtime/sdk";
import { InvalidConfigError } from "./problems";
import { PROJECT, SECRET_KEYS } from "./schema";
import { SecretKey } from "../contract";
import { RawConfig, SECRET_IN_PLAINTEXT, SECRET_SET } from "./settings";
import { parseStack, StackSettings } from "./stack";

export { Settings, parseSettings } from "./settings";
export { parseStack, StackSettings } from "./stack";
export { InvalidConfigError } from "./problems";
export { CONFIG_KEYS, PROJECT } from "./schema";

export type SecretOutputs = Partial<Record<SecretKey, pulumi.Output<string>>>;

export interface LoadedStack extends StackSettings {
    /** Per bot (same order as `bots`): the secret values it uses, as secret outputs. */
    secrets: SecretOutputs[];
    /** The stack's own (top-level) secret values, for what the bots share (the in-cluster databases). */
    sharedSecrets: SecretOutputs;
}

const isSecretKey = (key: string): key is SecretKey => (SECRET_KEYS as string[]).includes(key);

/**
 * Reads this stack's `trading-bot:*` config and validates it. Secret values never reach the
 * validation: it only learns whether each is set. They come back as secret outputs.
 * On invalid config it throws a RunError listing every problem, before any resource exists.
 */
export function loadStack(): LoadedStack {
    const raw: RawConfig = {};
    const prefix = `${PROJECT}:`;
    for (const [fullKey, value] of Object.entries(pulumi.runtime.allConfig())) {
        if (!fullKey.startsWith(prefix)) continue;
        const key = fullKey.slice(prefix.length);
        raw[key] = isSecretKey(key) ? masked(value, isConfigSecret(fullKey)) : value;
    }
    // Secret values a bot item sets itself (`pulumi config set --secret --path 'bots[0].binanceApiKey'`).
    const botSecrets: Partial<Record<SecretKey, string>>[] = [];
    if (raw.bots) {
        try {
            const items = JSON.parse(raw.bots);
            if (Array.isArray(items)) {
                raw.bots = JSON.stringify(items.map((item, i) => {
                    if (item === null || typeof item !== "object") return item;
                    botSecrets[i] = {};
                    return Object.fromEntries(Object.entries(item).map(([k, v]) => {
                        if (!isSecretKey(k)) return [k, v];
                        botSecrets[i][k] = String(v);
                        return [k, masked(String(v), isConfigSecret(`${prefix}bots`))];
                    }));
                }));
            }
        } catch {
            // parseStack reports the malformed list.
        }
    }

    let stack: StackSettings;
    try {
        stack = parseStack(pulumi.getStack(), raw);
    } catch (e) {
        if (e instanceof InvalidConfigError) {
            // A RunError is reported without a stack trace: the message is the whole story.
            throw new pulumi.RunError(e.message);
        }
        throw e;
    }
    const config = new pulumi.Config(PROJECT);
    /** The secret values set (a bot item's own first, else the stack's), as secret outputs. */
    const secretOutputs = (set: Record<SecretKey, boolean>, own: Partial<Record<SecretKey, string>> = {}): SecretOutputs => {
        const values: SecretOutputs = {};
        for (const key of SECRET_KEYS) {
            if (own[key]) values[key] = pulumi.secret(own[key]);
            else if (set[key]) values[key] = config.requireSecret(key);
        }
        return values;
    };
    const secrets = stack.bots.map((bot, i) => secretOutputs(bot.secretsSet, botSecrets[i]));
    const sharedSecrets = secretOutputs(stack.shared.secretsSet);
    return { ...stack, secrets, sharedSecrets };
}

/** What validation sees of a secret value: whether it is set, and whether it was stored encrypted. */
function masked(value: string, encrypted: boolean): string {
    if (value === "") return "";
    return encrypted ? SECRET_SET : SECRET_IN_PLAINTEXT;
}
