/**
 * The Pulumi SDK's private parts the program relies on (runtime/sdk.ts, runtime/start.js): each
 * is checked against the installed SDK, so the upgrade that removes one fails here, by name,
 * and each fallback is shown to keep working without it.
 */
import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import {
    CONFIG_SECRET_KEYS_ENV, DEBUGGABLE_PROMISE, sdkIsConfigSecret, secretKeyInEnv, skipPromiseDebugTraces,
} from "../../runtime/sdk";

const ROOT = path.resolve(__dirname, "..", "..");
const SDK = path.dirname(require.resolve("@pulumi/pulumi/package.json", { paths: [ROOT] }));
const SDK_VERSION = JSON.parse(fs.readFileSync(path.join(SDK, "package.json"), "utf8")).version;

describe(`the Pulumi SDK's private parts the program uses (@pulumi/pulumi ${SDK_VERSION})`, () => {
    it("runtime/config's isConfigSecret is still exported; without it the engine's PULUMI_CONFIG_SECRET_KEYS answers", () => {
        assert.strictEqual(typeof sdkIsConfigSecret(), "function",
            `@pulumi/pulumi ${SDK_VERSION} no longer exports runtime/config.isConfigSecret: config/index.ts now relies on the ` +
            `fallback (${CONFIG_SECRET_KEYS_ENV}); check runtime/sdk.ts`);
        // The fallback, as if the SDK had dropped it.
        const env = { [CONFIG_SECRET_KEYS_ENV]: JSON.stringify(["trading-bot:binanceApiKey"]) };
        assert.strictEqual(secretKeyInEnv("trading-bot:binanceApiKey", env), true);
        assert.strictEqual(secretKeyInEnv("trading-bot:logLevel", env), false);
        assert.strictEqual(secretKeyInEnv("trading-bot:binanceApiKey", {}), false);
        assert.strictEqual(secretKeyInEnv("trading-bot:binanceApiKey", { [CONFIG_SECRET_KEYS_ENV]: "not json" }), false);
        // The SDK's check and the fallback read the same list.
        assert.ok(fs.readFileSync(path.join(SDK, "runtime", "config.js"), "utf8").includes(`"${CONFIG_SECRET_KEYS_ENV}"`),
            `@pulumi/pulumi ${SDK_VERSION} no longer names ${CONFIG_SECRET_KEYS_ENV}: the fallback in runtime/sdk.ts reads a stale variable`);
    });

    it(`the SDK's ${DEBUGGABLE_PROMISE} still exists, and only its stack traces are skipped`, () => {
        const debuggable = require(path.join(SDK, "runtime", "debuggable.js"));
        assert.strictEqual(typeof debuggable[DEBUGGABLE_PROMISE], "function",
            `@pulumi/pulumi ${SDK_VERSION} has no runtime/debuggable.${DEBUGGABLE_PROMISE}: skipPromiseDebugTraces (runtime/sdk.ts) ` +
            "matches nothing, so registrations are slower again (not wrong)");
        assert.ok(fs.readFileSync(path.join(SDK, "runtime", "debuggable.js"), "utf8").includes("new Error().stack"),
            `@pulumi/pulumi ${SDK_VERSION}'s ${DEBUGGABLE_PROMISE} no longer records a stack trace: skipPromiseDebugTraces can go`);

        const before = Error.prepareStackTrace;
        Error.prepareStackTrace ??= (error, frames) => `${error}\n${frames.map((f) => `    at ${f}`).join("\n")}`;
        try {
            skipPromiseDebugTraces();
            const named: Record<string, () => string | undefined> = {
                [DEBUGGABLE_PROMISE]: () => new Error("x").stack,
                other: () => new Error("y").stack,
            };
            assert.strictEqual(named[DEBUGGABLE_PROMISE](), "");
            assert.match(named.other()!, /^Error: y\n\s+at /);
        } finally {
            Error.prepareStackTrace = before;
        }
    });

    it("the module runtime/start.js loads lazily is still a dependency the SDK requires", () => {
        const loader = fs.readFileSync(path.join(ROOT, "runtime", "start.js"), "utf8");
        const deferred = [...loader.matchAll(/^deferSdkDependency\("([^"]+)"/gm)].map((m) => m[1]);
        assert.deepStrictEqual(deferred, ["./typescript-shim"]);
        const sources = fs.readdirSync(SDK, { recursive: true }).map(String)
            .filter((f) => f.endsWith(".js") && !f.includes("node_modules"))
            .map((f) => fs.readFileSync(path.join(SDK, f), "utf8"));
        for (const request of deferred) {
            assert.doesNotThrow(() => require.resolve(request, { paths: [SDK] }),
                `@pulumi/pulumi ${SDK_VERSION} no longer has ${request}: runtime/start.js defers nothing for it (drop it there)`);
            const name = request.replace(/^\.\//, "");
            assert.ok(sources.some((s) => s.includes(`require("${request}")`) || s.includes(`require("./${name}")`) || s.includes(`require("../${name}")`)),
                `@pulumi/pulumi ${SDK_VERSION} no longer requires ${request}: runtime/start.js defers a module nobody loads`);
        }
    });
});
