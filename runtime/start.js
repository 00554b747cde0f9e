/**
 * What makes node start the program (and the policy pack) fast, whatever loads the TypeScript:
 * runtime/register.js requires it first.
 *
 * 1. V8's code cache on disk (node's module.enableCompileCache) for every module loaded after
 *    this one: the Pulumi SDK, @pulumi/kubernetes, the program.
 * 2. A heavy module that @pulumi/pulumi loads eagerly but only uses to serialize JavaScript
 *    functions (closures for dynamic providers; this program and its policy pack have none) is
 *    loaded on first use instead: the TypeScript compiler (its parser). (npm's Arborist, the
 *    other one up to @pulumi/pulumi 3.260, is no longer a dependency of the SDK.)
 *
 * The cache lives in $TRADING_BOT_CACHE, else $XDG_CACHE_HOME/trading-bot, else
 * ~/.cache/trading-bot (the toolchain's cache). When it cannot be written (a read-only home),
 * everything still works, only without the cache.
 */
"use strict";
const Module = require("module");
const os = require("os");
const path = require("path");

const CACHE_ROOT = process.env.TRADING_BOT_CACHE
    || path.join(process.env.XDG_CACHE_HOME || path.join(os.homedir(), ".cache"), "trading-bot");

if (typeof Module.enableCompileCache === "function" && !process.env.NODE_DISABLE_COMPILE_CACHE) {
    Module.enableCompileCache(path.join(CACHE_ROOT, "node-compile-cache"));
}

/**
 * Puts a stand-in for `request` (as resolved from @pulumi/pulumi) in node's module cache: the
 * real module loads the first time one of its exports is used, and replaces the stand-in.
 */
function deferSdkDependency(request) {
    let file;
    try {
        const sdk = path.dirname(require.resolve("@pulumi/pulumi/package.json", { paths: [process.cwd()] }));
        file = require.resolve(request, { paths: [sdk] });
    } catch {
        return; // not installed here: nothing to defer
    }
    if (require.cache[file]) return;
    let real;
    const load = () => {
        if (real === undefined) {
            delete require.cache[file];
            real = require(file);
        }
        return real;
    };
    const standIn = new Module(file, module);
    standIn.filename = file;
    standIn.loaded = true;
    standIn.exports = new Proxy({}, {
        get: (_, key) => load()[key],
        has: (_, key) => key in load(),
        ownKeys: () => Reflect.ownKeys(load()),
        getOwnPropertyDescriptor: (_, key) => {
            const d = Reflect.getOwnPropertyDescriptor(load(), key);
            return d && { ...d, configurable: true };
        },
    });
    require.cache[file] = standIn;
}

deferSdkDependency("./typescript-shim"); // exports the TypeScript compiler

module.exports = { CACHE_ROOT };
