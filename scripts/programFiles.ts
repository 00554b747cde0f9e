/**
 * What the Pulumi program is made of, read from the program itself rather than from a list kept by
 * hand: Pulumi.yaml, package.json, tsconfig.json and what it extends; the files Pulumi.yaml's `nodeargs` require
 * (the TypeScript loader); and every local module reachable by import from Pulumi.yaml's `main`.
 * A new module of the program is included as soon as something the program runs imports it.
 * `npm run render` and the end-to-end tests copy these files (and the stack files) into scratch
 * projects. Run directly, it prints them, one path per line, relative to the project.
 */
import * as fs from "fs";
import * as path from "path";
import * as ts from "typescript";

const PROJECT_DIR = path.resolve(__dirname, "..");

/** The program's files, relative to `root`, sorted. */
export function programFiles(root = PROJECT_DIR): string[] {
    const pulumiYaml = fs.readFileSync(path.join(root, "Pulumi.yaml"), "utf8");
    const main = /^main:\s*(\S+)/m.exec(pulumiYaml)?.[1] ?? "index.ts";
    const required = [...(/^\s*nodeargs:\s*"?([^"\n]*)"?/m.exec(pulumiYaml)?.[1] ?? "").matchAll(/--require[= ](\.\/\S+)/g)]
        .map((m) => m[1]);

    const files = new Set<string>(["Pulumi.yaml", "package.json", ...tsconfigChain(root)].filter((f) => fs.existsSync(path.join(root, f))));
    const pending = [...required, `./${main}`].map((f) => path.resolve(root, f));
    while (pending.length) {
        const file = pending.pop()!;
        const relative = path.relative(root, file);
        if (files.has(relative)) continue;
        files.add(relative);
        if (!/\.(ts|js)$/.test(file)) continue;
        for (const imported of ts.preProcessFile(fs.readFileSync(file, "utf8"), true, true).importedFiles) {
            if (!imported.fileName.startsWith(".")) continue; // a package from node_modules
            pending.push(resolveLocal(path.resolve(path.dirname(file), imported.fileName), file));
        }
    }
    return [...files].sort();
}

/** tsconfig.json and the files it extends (the loader reads the compiler options there). */
function tsconfigChain(root: string): string[] {
    const chain: string[] = [];
    for (let file: string | undefined = "tsconfig.json"; file && fs.existsSync(path.join(root, file)) && !chain.includes(file);) {
        chain.push(file);
        const extended: unknown = JSON.parse(fs.readFileSync(path.join(root, file), "utf8")).extends;
        file = typeof extended === "string" && extended.startsWith(".") ? path.relative(root, path.resolve(root, path.dirname(file), extended)) : undefined;
    }
    return chain;
}

/** `./x` as node and the loader resolve it: x.ts, x/index.ts, or the file itself. */
function resolveLocal(target: string, from: string): string {
    for (const candidate of [`${target}.ts`, `${target}.js`, path.join(target, "index.ts"), target]) {
        if (fs.existsSync(candidate) && fs.statSync(candidate).isFile()) return candidate;
    }
    throw new Error(`${from} imports ${target}, which is not a file of the project`);
}

if (require.main === module) {
    process.stdout.write(programFiles().map((f) => `${f}\n`).join(""));
}
