/**
 * scripts/programFiles.ts: what `npm run render` and the end-to-end tests copy as "the program" is
 * read from Pulumi.yaml and the imports, so a new module can never be left out of those copies.
 */
import * as assert from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { programFiles } from "../../scripts/programFiles";

const ROOT = path.resolve(__dirname, "..", "..");

describe("the program's files (scripts/programFiles.ts)", () => {
    it("this project: the stack's entry, the loader Pulumi.yaml requires, and every module of config/ and components/", () => {
        const files = programFiles(ROOT);
        for (const f of ["Pulumi.yaml", "package.json", "tsconfig.json", "index.ts", "program.ts", "runtime/register.js", "runtime/start.js", "tsconfig.base.json"]) {
            assert.ok(files.includes(f), `${f} is missing`);
        }
        // Every module of the program's folders is reachable from index.ts (a module nothing imports is dead code).
        const modules = ["config", "components"].flatMap((dir) => fs.readdirSync(path.join(ROOT, dir), { recursive: true })
            .map((f) => path.join(dir, String(f))).filter((f) => f.endsWith(".ts")));
        assert.ok(modules.length > 10);
        assert.deepStrictEqual(modules.filter((m) => !files.includes(m)), []);
        // Nothing of the tests, the scripts, the local environment, the benchmarks or the policy pack.
        assert.deepStrictEqual(files.filter((f) => /^(test|scripts|local|bench|policy)\//.test(f)), []);
    });

    it("a module the program starts importing is included; a broken import is an error naming it", () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "trading-bot-files-"));
        try {
            const write = (file: string, text: string) => {
                fs.mkdirSync(path.dirname(path.join(dir, file)), { recursive: true });
                fs.writeFileSync(path.join(dir, file), text);
            };
            write("Pulumi.yaml", "name: x\nruntime:\n  name: nodejs\n  options:\n    nodeargs: \"--require ./boot/loader.js\"\nmain: main.ts\n");
            write("package.json", "{}");
            write("boot/loader.js", "");
            write("main.ts", 'import * as pulumi from "@pulumi/pulumi";\nimport { a } from "./lib";\nexport const x = a;\n');
            write("lib/index.ts", 'export { a } from "./a";\n');
            write("lib/a.ts", "export const a = 1;\n");
            write("unused.ts", "export const b = 2;\n");
            assert.deepStrictEqual(programFiles(dir), ["Pulumi.yaml", "boot/loader.js", "lib/a.ts", "lib/index.ts", "main.ts", "package.json"]);

            write("lib/a.ts", 'import "./missing";\nexport const a = 1;\n');
            assert.throws(() => programFiles(dir), /lib\/a\.ts imports .*missing, which is not a file of the project/);
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });
});
