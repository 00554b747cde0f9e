/**
 * The private parts of the Pulumi Node SDK the program relies on, all here, each with a fallback
 * that keeps deploys working when an SDK upgrade moves or removes it. test/unit/sdk.test.ts checks
 * every one against the installed SDK and fails loudly, naming what went, on the upgrade that
 * breaks it. (runtime/start.js defers an SDK dependency, the TypeScript compiler, at load time:
 * the same test checks that the SDK still has it; without it the loader simply defers nothing.)
 */

/** Where the engine lists the secret config keys for the program (the SDK reads the same variable). */
export const CONFIG_SECRET_KEYS_ENV = "PULUMI_CONFIG_SECRET_KEYS";

type IsConfigSecret = (fullKey: string) => boolean;

/** The SDK's own check, exported at run time but not in its typings (`@internal`), when it is there. */
export function sdkIsConfigSecret(): IsConfigSecret | undefined {
    try {
        // eslint-disable-next-line @typescript-eslint/no-var-requires
        const f = require("@pulumi/pulumi/runtime/config").isConfigSecret;
        return typeof f === "function" ? f : undefined;
    } catch {
        return undefined;
    }
}

const internalIsConfigSecret = sdkIsConfigSecret();

/**
 * Whether the engine passed a config value as secret (set with `pulumi config set --secret`):
 * the SDK's check, else the engine's list (secretKeyInEnv).
 */
export function isConfigSecret(fullKey: string): boolean {
    return internalIsConfigSecret ? internalIsConfigSecret(fullKey) : secretKeyInEnv(fullKey);
}

/** The fallback: whether the engine's PULUMI_CONFIG_SECRET_KEYS lists the key. */
export function secretKeyInEnv(fullKey: string, env: NodeJS.ProcessEnv = process.env): boolean {
    try {
        const keys = JSON.parse(env[CONFIG_SECRET_KEYS_ENV] ?? "[]");
        return Array.isArray(keys) && keys.includes(fullKey);
    } catch {
        return false;
    }
}

/** The SDK function whose promises carry a debugging stack trace each (runtime/debuggable.js). */
export const DEBUGGABLE_PROMISE = "debuggablePromise";
const SKIPS_PROMISE_TRACES = Symbol.for("trading-bot.skipsPromiseTraces");

/**
 * Registration speed. The SDK records a stack trace for each of its internal promises (several per
 * resource), kept only to explain leaked promises when PULUMI_DEBUG_PROMISE_LEAKS is set; under
 * source-map-support every such trace is source-mapped frame by frame, which costs more than all
 * the rest of a registration (100 bots: three quarters of the program's run). Those traces are left
 * empty unless leak debugging is on. Every other stack trace (errors, the source position Pulumi
 * records for each resource) is formatted and mapped as before. Should the SDK rename the function,
 * nothing matches and every trace is formatted as before: slower, never wrong.
 */
export function skipPromiseDebugTraces(): void {
    const format = Error.prepareStackTrace;
    if (!format || process.env.PULUMI_DEBUG_PROMISE_LEAKS || SKIPS_PROMISE_TRACES in format) return;
    Error.prepareStackTrace = Object.assign(
        (error: Error, frames: NodeJS.CallSite[]) =>
            frames[0]?.getFunctionName() === DEBUGGABLE_PROMISE ? "" : format(error, frames),
        { [SKIPS_PROMISE_TRACES]: true },
    );
}
