/**
 * runtime/register.js, how node loads the program and the policy pack for a deploy: TypeScript
 * transpiled and cached by content (a changed file is never served stale), stack traces that
 * point at the .ts lines, and the SDK's closure-serialisation modules loaded only when used.
 * Each case runs in a fresh node process with its own cache directory.
 */
import * as assert from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";

const ROOT = path.resolve(__dirname, "..", "..");
const REGISTER = path.join(ROOT, "runtime", "register.js");

describe("runtime/register.js (how deploys load the program)", () => {
    let dir: string;
    let cache: string;

    beforeEach(() => {
        dir = fs.mkdtempSync(path.join(os.tmpdir(), "trading-bot-register-"));
        cache = path.join(dir, "cache");
    });
    afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

    function node(args: string[], cwd = ROOT) {
        const r = spawnSync(process.execPath, ["-r", REGISTER, ...args], {
            cwd, encoding: "utf8", env: { ...process.env, TRADING_BOT_CACHE: cache },
        });
        return { code: r.status, out: r.stdout.trim(), err: r.stderr };
    }

    function cachedFiles(): string[] {
        const root = path.join(cache, "transpiled");
        if (!fs.existsSync(root)) return [];
        return fs.readdirSync(root, { recursive: true }).map(String).filter((f) => f.endsWith(".js"));
    }

    it("runs TypeScript, caches the JavaScript, and transpiles a changed file again", () => {
        const file = path.join(dir, "answer.ts");
        fs.writeFileSync(file, "const answer: number = 41;\nconsole.log(answer + 1);\n");
        assert.strictEqual(node([file]).out, "42");
        assert.strictEqual(cachedFiles().length, 1);
        assert.strictEqual(node([file]).out, "42", "second run, from the cache");
        assert.strictEqual(cachedFiles().length, 1);
        // Another checkout of the same file (CI, a scratch copy) reuses the entry.
        fs.mkdirSync(path.join(dir, "clone"));
        fs.copyFileSync(file, path.join(dir, "clone", "answer.ts"));
        assert.strictEqual(node([path.join(dir, "clone", "answer.ts")]).out, "42");
        assert.strictEqual(cachedFiles().length, 1);
        fs.writeFileSync(file, "const answer: number = 6;\nconsole.log(answer * 7 + 1);\n");
        assert.strictEqual(node([file]).out, "43", "the edited file ran stale");
        assert.strictEqual(cachedFiles().length, 2);
    });

    it("deletes entries unused for 30 days, at most once a day; a hit counts as a use", () => {
        const transpiled = path.join(cache, "transpiled");
        /** Runs a .ts file; returns the cache entry it added, if any. */
        const run = (name: string, body: string): string | undefined => {
            const before = new Set(cachedFiles());
            const file = path.join(dir, name);
            fs.writeFileSync(file, body);
            const r = node([file]);
            assert.strictEqual(r.code, 0, r.err);
            const added = cachedFiles().find((f) => !before.has(f));
            return added && path.join(transpiled, added);
        };
        const age = (file: string, days: number) => {
            const t = new Date(Date.now() - days * 24 * 3600 * 1000);
            fs.utimesSync(file, t, t);
        };
        const old = run("old.ts", "console.log(1);\n")!;
        const used = run("used.ts", "console.log(2);\n")!;
        age(old, 40);
        age(used, 40);
        fs.rmSync(path.join(transpiled, ".last-prune")); // as if the last prune was a day ago
        run("used.ts", "console.log(2);\n"); // a hit: used.ts's entry is fresh again
        run("new.ts", "console.log(3);\n"); // a miss: prunes
        assert.ok(!fs.existsSync(old), "an entry unused for 40 days was kept");
        assert.ok(fs.existsSync(used), "an entry used today was deleted");
        assert.strictEqual(cachedFiles().length, 2);
        // Within the day, another miss does not walk the cache again.
        age(used, 40);
        run("newer.ts", "console.log(4);\n");
        assert.ok(fs.existsSync(used), "pruned twice in one day");
    });

    it("a cache hit never loads the TypeScript compiler, not even through the SDK", () => {
        const probe = [
            "require('@pulumi/pulumi'); require('@pulumi/kubernetes'); require('./config');",
            // The stand-in sits at the SDK's typescript-shim; the compiler's real code lives in the file below.
            "const loaded = Object.keys(require.cache).map((f) => f.split(require('path').sep).join('/'));",
            "console.log(JSON.stringify(loaded.filter((f) => /typescript\\/lib\\/typescript\\.js$/.test(f))));",
        ].join("\n");
        node(["-e", probe]); // fills the cache
        const r = node(["-e", probe]);
        assert.strictEqual(r.code, 0, r.err);
        assert.deepStrictEqual(JSON.parse(r.out), []);
    });

    it("the SDK still serialises a function when asked (the deferred modules load on use)", () => {
        const r = node(["-e", [
            "const pulumi = require('@pulumi/pulumi');",
            "const n = 2;",
            "pulumi.runtime.serializeFunction(() => n * 21).then((f) => console.log(f.text.includes('n * 21')));",
        ].join("\n")]);
        assert.strictEqual(r.code, 0, r.err);
        assert.strictEqual(r.out, "true");
    });

    it("stack traces point at the .ts source lines", () => {
        const file = path.join(dir, "fails.ts");
        fs.writeFileSync(file, "interface X { a: number }\n\nconst x: X = { a: 1 };\nif (x.a) {\n    throw new Error('boom');\n}\n");
        for (let run = 0; run < 2; run++) { // transpiled, then cached
            // The SDK installs source-map-support the same way before it loads the program.
            const r = node(["-e", `require(${JSON.stringify(path.join(ROOT, "node_modules", "source-map-support", "register"))}); require(${JSON.stringify(file)})`]);
            assert.notStrictEqual(r.code, 0);
            assert.match(r.err, /fails\.ts:5:\d+/, r.err);
        }
    });

    it("is what Pulumi.yaml and the policy pack use", () => {
        assert.match(fs.readFileSync(path.join(ROOT, "Pulumi.yaml"), "utf8"), /nodeargs: "--require \.\/runtime\/register\.js"/);
        const pack = JSON.parse(fs.readFileSync(path.join(ROOT, "policy", "package.json"), "utf8"));
        assert.match(fs.readFileSync(path.join(ROOT, "policy", pack.main), "utf8"), /require\("\.\.\/runtime\/register\.js"\)/);
    });
});
