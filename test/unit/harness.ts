/**
 * Runs the program under Pulumi's mocks with a stack's real config and records every resource.
 */
import * as pulumi from "@pulumi/pulumi";
import * as fs from "fs";
import * as yaml from "js-yaml";
import * as path from "path";
import * as rules from "../../config/rules";
import { SECRET_IN_PLAINTEXT } from "../../config/settings";

export const PROJECT_DIR = path.resolve(__dirname, "..", "..");

/** Known, fake secret values used wherever a test needs secrets set; tests search for them. */
export const TEST_SECRETS = {
    binanceApiKey: "test-binance-key-9f8e7d6c5b4a",
    binanceApiSecret: "test-binance-secret-1a2b3c4d5e6f",
    databasePassword: "test-database-password-77aa",
    redisPassword: "test-redis-password-88bb",
} as const;

export interface RecordedResource {
    type: string;
    name: string;
    inputs: Record<string, any>;
    /**
     * Who owns it and how it is handled, as the engine is told: its parent ("<type>::<name>", or
     * undefined at the root), and the options that decide what a change does to the live object.
     */
    options: RecordedOptions;
}

interface RecordedOptions {
    parent?: string;
    protect?: true;
    deleteBeforeReplace?: true;
    ignoreChanges?: string[];
    customTimeouts?: { create?: string; update?: string; delete?: string };
    /** Former URNs the resource answers to. */
    aliases?: string[];
}

export type StackConfig = Record<string, string>;

/** The config a stack file sets (bare keys), with secure values replaced by the test secrets. */
export function stackFileConfig(stack: string): StackConfig {
    const file = path.join(PROJECT_DIR, `Pulumi.${stack}.yaml`);
    const doc = yaml.load(fs.readFileSync(file, "utf8")) as { config?: Record<string, unknown> };
    const config: StackConfig = {};
    for (const [fullKey, value] of Object.entries(doc.config ?? {})) {
        const key = fullKey.replace(/^trading-bot:/, "");
        if (value !== null && typeof value === "object" && "secure" in (value as object)) {
            config[key] = (TEST_SECRETS as Record<string, string>)[key] ?? "test-secret";
        } else {
            config[key] = typeof value === "string" ? value : JSON.stringify(value);
        }
    }
    return config;
}

/** Project defaults from Pulumi.yaml, as the CLI would merge them (bare keys, string values). */
export function projectDefaults(): StackConfig {
    const doc = yaml.load(fs.readFileSync(path.join(PROJECT_DIR, "Pulumi.yaml"), "utf8")) as {
        config: Record<string, { default: unknown }>;
    };
    const defaults: StackConfig = {};
    for (const [key, spec] of Object.entries(doc.config)) {
        defaults[key] = typeof spec.default === "string" ? spec.default : JSON.stringify(spec.default);
    }
    return defaults;
}

/** Test secrets for every secret key the stack does not set itself (prod needs them to validate). */
export function withTestSecrets(config: StackConfig): StackConfig {
    const filled = { ...config };
    for (const [key, value] of Object.entries(TEST_SECRETS)) {
        if (!filled[key]) filled[key] = value;
    }
    return filled;
}

const SECRET_KEY_NAMES = Object.keys(TEST_SECRETS);

export interface StackRun {
    resources: RecordedResource[];
    outputs: Record<string, unknown>;
    /** Output names whose values are secret. */
    secretOutputs: string[];
}

/**
 * Evaluates the program for `stack` under mocks. `config` is the complete bare-key config
 * (defaults merged); secret keys are passed to the runtime as secret config.
 */
export async function runProgram(stack: string, config: StackConfig): Promise<StackRun> {
    const resources: RecordedResource[] = [];
    return runProgramRecording(stack, config, resources);
}

/** Like runProgram, but records into `resources`, so a caller still sees them when it throws. */
export async function runProgramRecording(
    stack: string, config: StackConfig, resources: RecordedResource[],
): Promise<StackRun> {
    await setProgramMocks(stack, (r) => resources.push(r));
    setProgramConfig(config);

    // Fresh module state for every run: the program reads config when it runs, not when imported.
    const { defineStack } = await import("../../program");
    const stackOutputs = defineStack() as unknown as Record<string, unknown>;

    const outputs: Record<string, unknown> = {};
    const secretOutputs: string[] = [];
    for (const [name, value] of Object.entries(stackOutputs)) {
        if (pulumi.Output.isInstance(value)) {
            outputs[name] = await promiseOf(value);
            if (await pulumi.isSecret(value)) secretOutputs.push(name);
        } else {
            outputs[name] = value;
        }
    }
    // Let every registration finish before the caller looks at them.
    await new Promise((resolve) => setTimeout(resolve, 0));
    await waitForRegistrations();
    return { resources, outputs, secretOutputs };
}

/**
 * Pulumi's mocks for the program: every resource gets its inputs as its state (and a random
 * password a fixed result), and is handed to `onResource`.
 */
export async function setProgramMocks(
    stack: string, onResource: (r: RecordedResource) => void, project = "trading-bot",
): Promise<void> {
    const options = new Map<string, RecordedOptions>();
    await pulumi.runtime.setMocks({
        newResource(args: pulumi.runtime.MockResourceArgs) {
            onResource({ type: args.type, name: args.name, inputs: args.inputs, options: options.get(`${args.type}::${args.name}`) ?? {} });
            const state = { ...args.inputs };
            if (args.type === "random:index/randomPassword:RandomPassword") {
                state.result = `generated-${args.name}`;
            }
            return { id: `${args.name}-id`, state };
        },
        call(args: pulumi.runtime.MockCallArgs) {
            return args.inputs;
        },
    }, project, stack, false);
    recordOptions(options);
}

/**
 * The mocks' newResource sees only type, name and inputs; the registration request the SDK sends
 * holds the parent and options too. Read them there (the mock monitor is the SDK's, so this
 * stays within what setMocks installed).
 */
function recordOptions(options: Map<string, RecordedOptions>): void {
    // eslint-disable-next-line @typescript-eslint/no-var-requires
    const monitor = require("@pulumi/pulumi/runtime/settings").getMonitor();
    const register = monitor.registerResource.bind(monitor);
    monitor.registerResource = (req: any, callback: unknown) => {
        const parent: string = req.getParent();
        // Left out: the aliases @pulumi/kubernetes adds to every resource for its older API versions.
        const aliases: string[] = req.getAliasesList()
            .filter((a: any) => a.getUrn() || a.getSpec()?.getName())
            .map((a: any) => a.getUrn() || JSON.stringify(a.getSpec().toObject()));
        const ignoreChanges: string[] = req.getIgnorechangesList();
        const timeouts = req.getCustomtimeouts();
        const customTimeouts = Object.fromEntries(Object.entries({
            create: timeouts?.getCreate(), update: timeouts?.getUpdate(), delete: timeouts?.getDelete(),
        }).filter(([, v]) => v));
        options.set(`${req.getType()}::${req.getName()}`, {
            ...(parent ? { parent: parent.split("::").slice(-2).map((p, i) => (i === 0 ? p.split("$").pop() : p)).join("::") } : {}),
            ...(req.getProtect() ? { protect: true } : {}),
            ...(req.getDeletebeforereplace() ? { deleteBeforeReplace: true } : {}),
            ...(ignoreChanges.length ? { ignoreChanges } : {}),
            ...(Object.keys(customTimeouts).length ? { customTimeouts } : {}),
            ...(aliases.length ? { aliases } : {}),
        });
        return register(req, callback);
    };
}

/**
 * Hands `config` (bare keys) to the runtime as the project's config. Secret keys (and a bots list
 * holding one) are passed as secret config, as `pulumi config set --secret` would; the value
 * "[plaintext secret]" stands for one set without --secret.
 */
export function setProgramConfig(config: StackConfig): void {
    const fullConfig: Record<string, string> = {};
    for (const [key, value] of Object.entries(config)) fullConfig[`trading-bot:${key}`] = value;
    const secretKeys = Object.keys(config).filter((k) =>
        (SECRET_KEY_NAMES.includes(k) && config[k] !== "" && config[k] !== SECRET_IN_PLAINTEXT)
        || (k === "bots" && SECRET_KEY_NAMES.some((name) => config[k].includes(`"${name}"`))));
    pulumi.runtime.setAllConfig(fullConfig, secretKeys.map((k) => `trading-bot:${k}`));
}

function promiseOf<T>(output: pulumi.Output<T>): Promise<T> {
    return new Promise((resolve) => output.apply((v) => { resolve(v); return v; }));
}

export async function waitForRegistrations(): Promise<void> {
    // Pulumi registers resources asynchronously; the mock monitor answers at once, so a few
    // turns of the event loop settle them all.
    for (let i = 0; i < 20; i++) await new Promise((resolve) => setImmediate(resolve));
}

/**
 * What a user fills in for the committed stack files' placeholders (`<...>`), in tests: the
 * cluster's context and, for prod, where its external databases are.
 */
export function placeholderValues(stack: string): StackConfig {
    return {
        kubeContext: `${stack}-cluster`,
        databaseHost: "postgres.db.example.internal",
        redisHost: "redis.cache.example.internal",
        databaseEgressTo: JSON.stringify(["10.20.0.0/24"]),
        redisEgressTo: JSON.stringify(["10.20.1.0/24"]),
    };
}

/** The keys of a stack's config whose value is still a stack file placeholder. */
export function placeholderKeys(config: StackConfig): string[] {
    const items = (value: string): string[] => {
        try {
            const parsed = JSON.parse(value);
            return Array.isArray(parsed) ? parsed.map(String) : [value];
        } catch {
            return [value];
        }
    };
    return Object.keys(config).filter((k) => items(config[k]).some((v) => rules.placeholder(v) !== undefined));
}

/** A stack's complete config as the program sees it, its placeholders filled in as a user would. */
export function stackConfig(stack: string, overrides: StackConfig = {}): StackConfig {
    const file = stackFileConfig(stack);
    const filled = Object.fromEntries(placeholderKeys(file).map((k) => [k, placeholderValues(stack)[k]]));
    return { ...projectDefaults(), ...file, ...filled, ...overrides };
}

export function byType(resources: RecordedResource[], type: string): RecordedResource[] {
    return resources.filter((r) => r.type === type);
}

export function one(resources: RecordedResource[], type: string, nameSuffix = ""): RecordedResource {
    const found = resources.filter((r) => r.type === type && r.name.endsWith(nameSuffix));
    if (found.length !== 1) {
        throw new Error(`expected one ${type}${nameSuffix ? ` named *${nameSuffix}` : ""}, found ${found.length}: ${found.map((r) => r.name).join(", ")}`);
    }
    return found[0];
}

const SECRET_SIG = "4dabf18193072939515e22adb298388d";

/** Replaces every secret value (as the mock monitor sees it) with "[secret]". */
export function redactSecrets(value: any): any {
    if (Array.isArray(value)) return value.map(redactSecrets);
    if (value !== null && typeof value === "object") {
        if (SECRET_SIG in value) return "[secret]";
        return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, redactSecrets(v)]));
    }
    return value;
}

/** Unwraps secret values, for assertions on what the cluster would receive. */
export function revealSecrets(value: any): any {
    if (Array.isArray(value)) return value.map(revealSecrets);
    if (value !== null && typeof value === "object") {
        if (SECRET_SIG in value) return revealSecrets(value.value);
        return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, revealSecrets(v)]));
    }
    return value;
}

export function isSecretValue(value: any): boolean {
    return value !== null && typeof value === "object" && SECRET_SIG in value;
}

/** A bot's workload: its Deployment, or its StatefulSet where each replica has a volume of its own. */
export function botWorkload(resources: RecordedResource[], bot = "trading-bot"): RecordedResource {
    const found = resources.filter((r) =>
        (r.type === "kubernetes:apps/v1:Deployment" && r.name === `${bot}-deployment`)
        || (r.type === "kubernetes:apps/v1:StatefulSet" && r.name === `${bot}-statefulset`));
    if (found.length !== 1) throw new Error(`expected one workload of bot ${bot}, found ${found.length}`);
    return found[0];
}

/** The data claim of a bot's pods: its PVC, or its StatefulSet's claim template. */
export function botDataClaim(resources: RecordedResource[], bot = "trading-bot"): { metadata: any; spec: any } {
    const workload = botWorkload(resources, bot);
    if (workload.type === "kubernetes:apps/v1:StatefulSet") return workload.inputs.spec.volumeClaimTemplates[0];
    return one(resources, "kubernetes:core/v1:PersistentVolumeClaim", `${bot}-data`).inputs as { metadata: any; spec: any };
}
