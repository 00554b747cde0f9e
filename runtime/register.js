/**
 * How node loads the program (and the policy pack) fast. Pulumi starts the program's node with
 * `--require <this file>` (runtime.options.nodeargs in Pulumi.yaml), before the Pulumi SDK loads;
 * the policy pack's entry, policy/pack.js, requires it before the pack's sources. Mocha (unit
 * and end-to-end tests) loads TypeScript through it too (.mocharc.json).
 *
 * 1. runtime/start.js first: node's code cache on disk, and a heavy SDK module (the TypeScript
 *    compiler) loaded on first use only.
 * 2. `.ts` files are transpiled without type-checking (`npm test` and `npm run check`
 *    type-check them) and the JavaScript is cached on disk by content, so an unchanged program
 *    never loads the TypeScript compiler at all. A changed file is transpiled again on its
 *    next load: there is no build step to forget.
 *
 * The cache lives in $TRADING_BOT_CACHE, else $XDG_CACHE_HOME/trading-bot, else
 * ~/.cache/trading-bot (the toolchain's cache). When it cannot be written (a read-only home),
 * everything still works, only without the cache. Transpiled files unused for 30 days are
 * deleted (checked at most once a day, when a file is transpiled).
 */
"use strict";
const crypto = require("crypto");
const fs = require("fs");
const Module = require("module");
const path = require("path");

// First: node's code cache and the SDK's deferred modules (runtime/start.js).
const { CACHE_ROOT } = require("./start.js");

/**
 * How files are transpiled: the emit options of the project's one copy of the compiler options
 * (tsconfig.base.json, next to this folder), with inline source maps. The options are part of the
 * cache key, so a change of them never serves a stale entry. Without the file (a copy of the loader
 * elsewhere), TypeScript's defaults for a CommonJS program.
 */
const FORMAT = "2";
const COMPILER_OPTIONS = (() => {
    let base = {};
    try {
        base = JSON.parse(fs.readFileSync(path.join(__dirname, "..", "tsconfig.base.json"), "utf8")).compilerOptions || {};
    } catch {
        // no tsconfig.base.json here
    }
    const emit = {};
    for (const key of ["target", "module", "esModuleInterop", "experimentalDecorators"]) {
        if (base[key] !== undefined) emit[key] = base[key];
    }
    return { module: "commonjs", ...emit, inlineSourceMap: true, inlineSources: false };
})();
/** The part of every cache key the options make (computed once, not per file). */
const KEY_PREFIX = `${FORMAT}\0${JSON.stringify(COMPILER_OPTIONS)}\0`;

const transpiledDir = path.join(CACHE_ROOT, "transpiled");
const KEEP_DAYS = 30;
const DAY_MS = 24 * 3600 * 1000;
const compilers = new Map(); // directory of a .ts file -> { version, load() } of its TypeScript
const sourceMaps = new Map(); // .ts path -> its inline source map (base64), for stack traces

/**
 * The TypeScript compiler that serves files of `dir`: the one installed next to them (the
 * project's, or the policy pack's), else the project's. Its version is read without loading it
 * (it is part of the cache key); the compiler itself loads only on a cache miss. Resolved once
 * per directory.
 */
function compilerFor(dir) {
    let c = compilers.get(dir);
    if (!c) {
        const paths = { paths: [dir, process.cwd(), __dirname] };
        let version = "unknown";
        try {
            version = JSON.parse(fs.readFileSync(require.resolve("typescript/package.json", paths), "utf8")).version;
        } catch {
            // not found here: load() reports it, should a file need transpiling
        }
        let ts;
        c = { version, load: () => (ts ??= require(require.resolve("typescript", paths))) };
        compilers.set(dir, c);
    }
    return c;
}

function transpile(file, source) {
    // The output depends on the content and the file's base name (in its source map), not on
    // the directory: another checkout of the same program (CI, a test's scratch copy) reuses it.
    const compiler = compilerFor(path.dirname(file));
    const key = crypto.createHash("sha256")
        .update(`${KEY_PREFIX}${compiler.version}\0${path.basename(file)}\0`).update(source).digest("hex");
    const cached = path.join(transpiledDir, key.slice(0, 2), `${key}.js`);
    try {
        const code = fs.readFileSync(cached, "utf8");
        touch(cached);
        return code;
    } catch {
        // not cached yet
    }
    const code = compiler.load().transpileModule(source, { fileName: file, compilerOptions: COMPILER_OPTIONS }).outputText;
    try {
        fs.mkdirSync(path.dirname(cached), { recursive: true });
        const partial = `${cached}.${process.pid}.tmp`;
        fs.writeFileSync(partial, code);
        fs.renameSync(partial, cached); // atomic: a concurrent run never reads half a file
        pruneOnceADay();
    } catch {
        // no cache: fine, only slower next time
    }
    return code;
}

/** An entry's modification time is its last use: refreshed on every hit. */
function touch(file) {
    try {
        const now = new Date();
        fs.utimesSync(file, now, now);
    } catch {
        // read-only cache: the entry may be pruned while still in use, and is written again
    }
}

/**
 * Every edit adds an entry; entries unused for KEEP_DAYS (older versions of edited files, files
 * since deleted, a crashed run's partial files) are deleted, at most once a day, after a miss.
 */
function pruneOnceADay() {
    const stamp = path.join(transpiledDir, ".last-prune");
    try {
        if (Date.now() - fs.statSync(stamp).mtimeMs < DAY_MS) return;
    } catch {
        // never pruned
    }
    fs.writeFileSync(stamp, "");
    const cutoff = Date.now() - KEEP_DAYS * DAY_MS;
    for (const sub of fs.readdirSync(transpiledDir, { withFileTypes: true })) {
        if (!sub.isDirectory()) continue;
        for (const name of fs.readdirSync(path.join(transpiledDir, sub.name))) {
            const entry = path.join(transpiledDir, sub.name, name);
            try {
                if (fs.statSync(entry).mtimeMs < cutoff) fs.unlinkSync(entry);
            } catch {
                // gone already (a concurrent prune)
            }
        }
    }
}


const INLINE_MAP = /\n\/\/# sourceMappingURL=data:application\/json;base64,([A-Za-z0-9+/=]+)\s*$/;

Module._extensions[".ts"] = function loadTypeScript(module, filename) {
    const code = transpile(filename, fs.readFileSync(filename, "utf8"));
    const map = INLINE_MAP.exec(code);
    if (map) sourceMaps.set(filename, map[1]); // decoded only if a stack trace needs it
    module._compile(code, filename);
};

// Stack traces point at the .ts lines: the SDK installs source-map-support, which asks its
// handlers for a file's map; ours answers for the files transpiled here.
try {
    const support = require(require.resolve("source-map-support", { paths: [process.cwd()] }));
    support.install({
        environment: "node",
        retrieveSourceMap: (source) => {
            const file = source.startsWith("file://") ? new URL(source).pathname : source;
            const map = sourceMaps.get(file);
            return map ? { url: file, map: Buffer.from(map, "base64").toString("utf8") } : null;
        },
    });
} catch {
    // source-map-support is not installed: stack traces show the transpiled lines
}
