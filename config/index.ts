import * as pulumi from "@pulumi/pulumi";
import { PROJECT, SECRET_KEYS } from "./schema";
import { parseSettings, RawConfig, SecretKey, Settings } from "./settings";
import { InvalidConfigError } from "./problems";

export { Settings, Environment, SecretKey, parseSettings, runsSeveralReplicas } from "./settings";
export { InvalidConfigError } from "./problems";
export { CONFIG_KEYS, SECRET_DATA_KEYS, PROJECT } from "./schema";

/**
 * Reads this stack's `trading-bot:*` config and validates it. Secret values are not copied:
 * only whether each is set; the values themselves are read later as secret outputs.
 * On invalid config it throws a RunError listing every problem, before any resource exists.
 */
export function loadSettings(): Settings {
    const raw: RawConfig = {};
    const prefix = `${PROJECT}:`;
    for (const [fullKey, value] of Object.entries(pulumi.runtime.allConfig())) {
        if (!fullKey.startsWith(prefix)) continue;
        const key = fullKey.slice(prefix.length);
        raw[key] = (SECRET_KEYS as string[]).includes(key) ? (value === "" ? "" : "[set]") : value;
    }
    try {
        return parseSettings(pulumi.getStack(), raw);
    } catch (e) {
        if (e instanceof InvalidConfigError) {
            // A RunError is reported without a stack trace: the message is the whole story.
            throw new pulumi.RunError(e.message);
        }
        throw e;
    }
}

/** The secret config values the stack sets, as secret outputs (never unwrapped into plain strings). */
export function readSecrets(settings: Settings): Partial<Record<SecretKey, pulumi.Output<string>>> {
    const config = new pulumi.Config(PROJECT);
    const secrets: Partial<Record<SecretKey, pulumi.Output<string>>> = {};
    for (const key of SECRET_KEYS) {
        if (settings.secretsSet[key]) {
            secrets[key] = config.requireSecret(key);
        }
    }
    return secrets;
}
