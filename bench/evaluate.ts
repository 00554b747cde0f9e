/**
 * One measurement of program evaluation under Pulumi's mocks, in a fresh process:
 *   node -r ./runtime/register.js bench/evaluate.ts <bots>
 * (or another TypeScript loader: npm run bench -- --loaders). Runs the dev stack's program with a
 * `bots` list of <bots> items and prints one JSON line:
 *   sdkMs       process start to this file's imports loaded: node, the TypeScript loader, the SDK and
 *               the harness (what a real run does before it registers the stack resource)
 *   startMs     process start to the first resource registered (node, transpiled-module cache, module loads,
 *               config validation: what the program costs before the engine sees anything)
 *   loadMs      process start to the program's modules loaded (before defineStack runs)
 *   evaluateMs  defineStack() until every registration has been answered (the resource graph)
 *   resources   how many resources the program registered
 * The benchmark (bench/bench.ts) starts one process per sample, so no run warms another.
 */
import { performance } from "perf_hooks";
import { setProgramConfig, setProgramMocks, stackConfig } from "../test/unit/harness";

// Internal to the SDK but exported at run time: resolves once every outstanding RPC (here: every
// mock registration and its outputs) has finished, the same wait the real runtime does at exit.
// eslint-disable-next-line @typescript-eslint/no-var-requires
const { waitForRPCs } = require("@pulumi/pulumi/runtime/settings") as { waitForRPCs(): Promise<void> };

async function main(): Promise<void> {
    const sdkLoaded = performance.now(); // the imports above load before main runs
    const count = Number(process.argv[2] ?? "1");
    if (!Number.isInteger(count) || count < 1) throw new Error(`usage: evaluate.ts <bots>, got ${process.argv[2]}`);

    let resources = 0;
    let firstAt: number | undefined;
    await setProgramMocks("dev", () => {
        resources++;
        firstAt ??= performance.now();
    });

    // The dev stack's own config (project defaults, then Pulumi.dev.yaml), with N bots.
    const bots = Array.from({ length: count }, (_, i) => ({ name: `bot-${String(i + 1).padStart(3, "0")}` }));
    setProgramConfig(stackConfig("dev", { bots: JSON.stringify(bots) }));

    // eslint-disable-next-line @typescript-eslint/no-var-requires
    const { defineStack } = require("../program") as typeof import("../program");
    const loaded = performance.now();
    defineStack();
    await waitForRPCs();
    const done = performance.now();
    process.stdout.write(JSON.stringify({
        bots: count,
        sdkMs: sdkLoaded,
        startMs: firstAt ?? NaN,
        loadMs: loaded,
        evaluateMs: done - loaded,
        resources,
    }) + "\n");
}

main().catch((e) => {
    process.stderr.write(`${e?.stack ?? e}\n`);
    process.exit(1);
});
