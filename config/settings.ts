import { CONFIG_KEYS, ConfigKey, KeySpec, PROJECT, SECRET_KEYS } from "./schema";
import { ConfigProblems, InvalidConfigError } from "./problems";
import * as rules from "./rules";
import { configFix, configKey } from "./arguments";
import { violations } from "../components/tradingBot/rules";
import { SecretKey } from "../contract";
import { KnownBotSpec } from "../components/tradingBot/spec";
import { resolveArgs, TradingBotArgs } from "../components/tradingBot/args";


/**
 * The validated, typed settings of one stack: one bot's spec (what the TradingBot component is
 * made of, every value known) and the stack's own concerns. Secret values are not here, only
 * whether they are set.
 */
export interface Settings extends KnownBotSpec {
    stack: string;
    kubeContext: string;
    kubeconfig: string;
    /** Pins the Kubernetes provider's identity: only a change of it replaces the provider. */
    clusterIdentifier: string;
    /** When set, the manifests are written here as YAML instead of being applied. */
    renderYamlToDirectory: string;
    createNamespace: boolean;
    /** Images of the in-cluster PostgreSQL and Redis. */
    databaseImages: { postgres: string; redis: string };
    /** Which secret config keys the stack sets (their values are read later, as secret outputs). */
    secretsSet: Record<SecretKey, boolean>;
}

/** How a set secret value reaches validation: never the value, only whether it is set and encrypted. */
export const SECRET_SET = "[secret]";
export const SECRET_IN_PLAINTEXT = "[plaintext secret]";

/** Raw config of the trading-bot namespace: bare key -> the string Pulumi stores. */
export type RawConfig = Record<string, string | undefined>;


/**
 * Turns raw stack config into validated settings, or throws one InvalidConfigError that lists
 * every problem (key, value, what is valid, the fix). Pure: it touches no resource.
 */
export function parseSettings(stack: string, raw: RawConfig, scope?: BotScope): Settings {
    const problems = new ConfigProblems();
    const settings = collectSettings(stack, raw, problems, scope);
    if (!problems.empty) {
        throw new InvalidConfigError(stack, problems.items);
    }
    return settings;
}

/** Where a bot of a multi-bot stack sets its own values: `bots[index].<key>`. */
export interface BotScope {
    index: number;
    /** The keys the bot item sets itself; all others come from the stack's top-level keys. */
    overridden: Set<string>;
}

/** Like parseSettings, but records problems instead of throwing, so several bots report together. */
export function collectSettings(stack: string, raw: RawConfig, problems: ConfigProblems, scope?: BotScope): Settings {
    const read = new Reader(stack, raw, problems, scope);
    reportUnknownKeys(read, stack, raw);
    const bot = readBot(read);
    const settings: Settings = { ...bot, ...readStackConcerns(read, stack, raw, bot) };
    // The bot's safety rules (BOT_RULES, enforced by the component too), phrased in config keys.
    // A key with a problem of its own already has its fix; its value here is the fallback.
    for (const v of violations(settings, configKey)) {
        const key = configKey(v.argument);
        if (!read.hasProblem(key)) read.problem(key, v.message, configFix(v, stack), v.value);
    }
    return settings;
}

function reportUnknownKeys(read: Reader, stack: string, raw: RawConfig): void {
    for (const key of Object.keys(raw)) {
        if (!(key in CONFIG_KEYS) && key !== "bots") {
            const suggestion = rules.closestKey(key, Object.keys(CONFIG_KEYS));
            read.problem(key as ConfigKey,
                "is not a setting of this project" + (suggestion ? ` (did you mean '${suggestion}'?)` : ""),
                suggestion
                    ? `pulumi config rm ${PROJECT}:${key} --stack ${stack} && pulumi config set ${PROJECT}:${suggestion} <value> --stack ${stack}`
                    : `pulumi config rm ${PROJECT}:${key} --stack ${stack} (see the configuration table in README.md)`);
        }
    }
}

/**
 * The bot's spec: every key the schema gives a TradingBotArgs argument (`arg`) is read and checked
 * on its own (relations between keys are BOT_RULES'), set at its argument's path, and the
 * component resolves the arguments with its own defaults (resolveArgs), as for any other program.
 * A new bot setting needs its schema entry here, nothing else.
 */
function readBot(read: Reader): KnownBotSpec {
    const args: Record<string, unknown> = {};
    for (const key of Object.keys(CONFIG_KEYS) as ConfigKey[]) {
        const spec = CONFIG_KEYS[key] as KeySpec;
        if (!spec.arg) continue;
        const value = readValue(read, key, spec);
        if (value === "" && spec.emptyIsDefault) continue;
        setPath(args, spec.arg, value);
    }
    const { name, ...botArgs } = args as unknown as { name: string } & TradingBotArgs;
    // Every value is a plain one (config holds no Output): the resolved spec is known.
    return resolveArgs(name, botArgs) as KnownBotSpec;
}

function readValue(read: Reader, key: ConfigKey, spec: KeySpec): unknown {
    switch (spec.type) {
        case "boolean": return read.boolean(key);
        case "integer": return read.integer(key);
        case "array": {
            const items = read.stringArray(key);
            return spec.parse ? spec.parse(items) : items;
        }
        default: return spec.decimal ? read.decimal(key) : spec.oneOf ? read.oneOf(key) : read.string(key);
    }
}

function setPath(target: Record<string, unknown>, path: string, value: unknown): void {
    const parts = path.split(".");
    let node = target;
    for (const part of parts.slice(0, -1)) node = (node[part] ??= {}) as Record<string, unknown>;
    node[parts[parts.length - 1]] = value;
}

/** What is the stack's, not the bot's: the cluster, rendering, the databases' images, which secrets are set. */
function readStackConcerns(read: Reader, stack: string, raw: RawConfig, bot: KnownBotSpec): Omit<Settings, keyof KnownBotSpec> {
    for (const key of SECRET_KEYS) {
        if (raw[key] === SECRET_IN_PLAINTEXT) {
            read.problem(key, "holds a secret but is stored in plain text in the stack file",
                `pulumi config set --secret trading-bot:${key} <value>`, "[plain text, not shown]");
        }
    }
    const renderYamlToDirectory = read.string("renderYamlToDirectory");
    if (renderYamlToDirectory && !bot.existingSecret) {
        read.problem("existingSecret",
            "is required to render manifests: rendered files must not contain secret values, so the Secret has to come from Sealed Secrets, External Secrets, Vault or kubectl",
            `npm run render -- --stack ${stack} --existing-secret <name> <dir> (or pulumi config set trading-bot:existingSecret <name> --stack ${stack})`, '""');
    }
    const kubeContext = read.string("kubeContext");
    if (!kubeContext) {
        read.problem("kubeContext", "every stack names its target cluster explicitly; the ambient current context is never used",
            `pulumi config set trading-bot:kubeContext <context from 'kubectl config get-contexts'> --stack ${stack}`, "(not set)");
    }
    return {
        stack,
        kubeContext,
        kubeconfig: read.string("kubeconfig"),
        clusterIdentifier: read.string("clusterIdentifier") || stack,
        renderYamlToDirectory,
        createNamespace: read.boolean("createNamespace"),
        databaseImages: {
            postgres: read.string("postgresImage"),
            redis: read.string("redisImage"),
        },
        secretsSet: Object.fromEntries(SECRET_KEYS.map((k) => [k, (raw[k] ?? "") !== ""])) as Record<SecretKey, boolean>,
    };
}

/** Reads one key at a time, recording a problem (and returning the default) when a value is bad. */
class Reader {
    constructor(
        private stack: string, private raw: RawConfig, private problems: ConfigProblems, private scope?: BotScope,
    ) {}

    private spec(key: ConfigKey): KeySpec {
        return CONFIG_KEYS[key] as KeySpec;
    }

    /** How a value is shown in an error: quoted, and never for a secret key. */
    shown(key: ConfigKey, value: string | undefined): string {
        if (value === undefined) return "(not set)";
        if (key in CONFIG_KEYS && this.spec(key).secret) return "[secret]";
        // Lists are stored as JSON already.
        if (key in CONFIG_KEYS && this.spec(key).type === "array" && value.startsWith("[")) return value;
        return JSON.stringify(value);
    }

    private text(key: ConfigKey): string {
        const value = this.raw[key];
        return value === undefined ? String(this.spec(key).default) : value;
    }

    problem(key: ConfigKey, message: string, fix: string, value?: string): void {
        let configKey = `${PROJECT}:${key}`;
        if (this.scope?.overridden.has(key)) {
            // The value comes from a bot's item: point the key and the fix at it.
            const path = `${PROJECT}:bots[${this.scope.index}].${key}`;
            fix = fix.split(`config set --secret ${configKey}`).join(`config set --secret --path '${path}'`)
                .split(`config set ${configKey}`).join(`config set --path '${path}'`)
                .split(`config rm ${configKey}`).join(`config rm --path '${path}'`);
            configKey = path;
        }
        this.problems.add({
            key: configKey,
            value: value ?? this.shown(key, this.raw[key] ?? this.text(key)),
            message,
            fix: fix.includes("--stack") ? fix : `${fix} --stack ${this.stack}`,
        });
    }

    /** Whether a problem was already recorded for the key (its value then is the fallback). */
    hasProblem(key: ConfigKey): boolean {
        const names = [`${PROJECT}:${key}`, `${PROJECT}:bots[${this.scope?.index}].${key}`];
        return this.problems.items.some((p) => names.includes(p.key));
    }

    private fallback<T>(key: ConfigKey): T {
        return this.spec(key).default as unknown as T;
    }

    /** The schema's part of what makes the key valid: a missing one is a bug in the schema (a unit test reads every key). */
    private rule<K extends "check" | "range" | "oneOf" | "decimal" | "itemCheck">(key: ConfigKey, what: K): NonNullable<KeySpec[K]> {
        const rule = this.spec(key)[what];
        if (rule === undefined) throw new Error(`config/schema.ts: ${key} has no ${what}`);
        return rule as NonNullable<KeySpec[K]>;
    }

    string(key: ConfigKey): string {
        const value = this.text(key);
        const error = rules.placeholder(value) ?? this.rule(key, "check")(value);
        if (error) {
            this.problem(key, error.message, `pulumi config set trading-bot:${key} ${error.example}`);
            return this.fallback(key);
        }
        return value;
    }

    oneOf(key: ConfigKey): string {
        const allowed = this.rule(key, "oneOf");
        const value = this.text(key);
        if (!allowed.includes(value)) {
            this.problem(key, `must be one of ${allowed.join(", ")}`, `pulumi config set trading-bot:${key} ${allowed[0]}`);
            return allowed.includes(String(this.spec(key).default)) ? String(this.spec(key).default) : allowed[0];
        }
        return value;
    }

    boolean(key: ConfigKey): boolean {
        const value = this.text(key);
        if (value !== "true" && value !== "false") {
            this.problem(key, "must be true or false", `pulumi config set trading-bot:${key} ${this.spec(key).default}`);
            return this.fallback(key);
        }
        return value === "true";
    }

    integer(key: ConfigKey): number {
        const [min, max] = this.rule(key, "range");
        const value = this.text(key);
        const parsed = /^-?\d+$/.test(value.trim()) ? Number(value) : NaN;
        if (!Number.isSafeInteger(parsed) || parsed < min || parsed > max) {
            const example = Math.min(Math.max(Number(this.spec(key).default), min), max);
            this.problem(key, `must be a whole number from ${min} to ${max}`, `pulumi config set trading-bot:${key} ${example}`);
            return example;
        }
        return parsed;
    }

    decimal(key: ConfigKey): number {
        const bounds = this.rule(key, "decimal");
        const example = String(this.spec(key).default);
        const value = this.text(key);
        const parsed = /^\s*\d*\.?\d+(e-?\d+)?\s*$/i.test(value) ? Number(value) : NaN;
        const upperOk = bounds.atMost !== undefined ? parsed <= bounds.atMost : parsed < (bounds.below ?? Infinity);
        if (!Number.isFinite(parsed) || parsed <= bounds.above || !upperOk) {
            const range = bounds.atMost !== undefined
                ? `${bounds.above} < value <= ${bounds.atMost}`
                : `${bounds.above} < value < ${bounds.below}`;
            this.problem(key, `must be a decimal with ${range}`, `pulumi config set trading-bot:${key} ${example}`);
            return Number(example);
        }
        return parsed;
    }

    stringArray(key: ConfigKey): string[] {
        const check = this.rule(key, "itemCheck");
        const value = this.raw[key];
        if (value === undefined) return this.fallback(key);
        let parsed: unknown;
        try {
            parsed = JSON.parse(value);
        } catch {
            parsed = undefined;
        }
        if (!Array.isArray(parsed) || !parsed.every((v) => typeof v === "string")) {
            this.problem(key, "must be a list of strings",
                `pulumi config set --path 'trading-bot:${key}[0]' <value>`);
            return this.fallback(key);
        }
        for (const [i, item] of parsed.entries()) {
            const error = rules.placeholder(item) ?? check(item);
            if (error) {
                this.problem(key, `item ${i} (${JSON.stringify(item)}) ${error.message}`,
                    `pulumi config set --path 'trading-bot:${key}[${i}]' ${error.example}`);
                return this.fallback(key);
            }
        }
        return parsed;
    }
}
