/**
 * The benchmark behind `npm run bench` (bench/bench.sh sets up, then runs this). It measures,
 * in one run on the local cluster, each figure as min / median / max over several runs:
 *   1. cold deploy: `pulumi up --stack dev` from nothing to every resource ready, against the floor
 *      `kubectl apply -f <the same stack rendered to YAML>` + `kubectl rollout status`;
 *   2. no-op check: `pulumi preview` of the up-to-date stack, against `kubectl diff -f`;
 *   3. program evaluation alone, under mocks, for 1, 10 and 100 bots in one stack; with --loaders,
 *      once per TypeScript loader (interleaved), from a cold and a warm cache;
 *   4. the unit test suite's wall time (and the type-check's);
 * plus, from runs with the engine's log on (-v=7), where the time goes. Prints Markdown.
 */
import { spawn, spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { KUBECTL, PROJECT_DIR, PULUMI, Workspace } from "../test/e2e/workspace";

// ---------------------------------------------------------------------------------------------
// Options, paths, small helpers

interface Options {
    runs: number;
    evalRuns: number;
    unitRuns: number;
    cluster: boolean;
    evaluation: boolean;
    unit: boolean;
    /** --loaders: the TypeScript loaders the evaluation compares (LOADERS); unset: register.js alone. */
    loaders?: string[];
}

function parseOptions(argv: string[]): Options {
    const o: Options = { runs: 3, evalRuns: 3, unitRuns: 3, cluster: true, evaluation: true, unit: true };
    for (let i = 0; i < argv.length; i++) {
        const count = () => {
            const n = Number(argv[++i]);
            if (!Number.isInteger(n) || n < 1) throw new Error(`${argv[i - 1]} needs a positive whole number`);
            return n;
        };
        switch (argv[i]) {
            case "--runs": o.runs = count(); break;
            case "--eval-runs": o.evalRuns = count(); break;
            case "--unit-runs": o.unitRuns = count(); break;
            case "--skip-cluster": o.cluster = false; break;
            case "--skip-eval": o.evaluation = false; break;
            case "--skip-unit": o.unit = false; break;
            case "--loaders": o.loaders = parseLoaders(argv[++i] ?? ""); break;
            default: throw new Error(`unknown option ${argv[i]} (see npm run bench -- --help)`);
        }
    }
    return o;
}

const POLICY_PACK = path.join(PROJECT_DIR, "policy");
const NODE = process.execPath;
const OUT_DIR = path.join(PROJECT_DIR, ".local", "bench");
/** A tag that keeps this run's namespaces apart from any other run's. */
const TAG = Date.now().toString(36).slice(-5);

const log = (msg: string) => process.stderr.write(`    ${msg}\n`);
const now = () => performance.now();
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

interface Proc {
    code: number;
    stdout: string;
    stderr: string;
    ms: number;
}

/** Runs a command to its end without blocking the event loop (so several can run at once). */
function exec(command: string, args: string[], options: { cwd?: string; env?: NodeJS.ProcessEnv; input?: string } = {}): Promise<Proc> {
    return new Promise((resolve) => {
        const start = now();
        const child = spawn(command, args, { cwd: options.cwd ?? PROJECT_DIR, env: options.env ?? process.env });
        const out: Buffer[] = [];
        const err: Buffer[] = [];
        child.stdout.on("data", (b) => out.push(b));
        child.stderr.on("data", (b) => err.push(b));
        child.on("error", (e) => err.push(Buffer.from(String(e))));
        child.on("close", (code) => resolve({
            code: code ?? -1, stdout: Buffer.concat(out).toString("utf8"), stderr: Buffer.concat(err).toString("utf8"), ms: now() - start,
        }));
        if (options.input !== undefined) child.stdin.end(options.input);
        else child.stdin.end();
    });
}

let kubeconfigPath: string | undefined;
/** The local cluster's kubeconfig, asked of cluster.sh once (not on every kubectl call). */
function kubeconfig(): string {
    kubeconfigPath ??= spawnSync("bash", [path.join(PROJECT_DIR, "local/cluster/cluster.sh"), "kubeconfig"], { encoding: "utf8" }).stdout.trim();
    return kubeconfigPath;
}

const kubectl = (args: string[], input?: string) => exec(KUBECTL, ["--kubeconfig", kubeconfig(), ...args], { input });

// ---------------------------------------------------------------------------------------------
// The API server may be stopped for a moment by someone else's failure test: a run that cannot
// reach it is repeated once it answers again, and the report says so.

const retries: string[] = [];
const UNREACHABLE = /connection refused|connect: connection reset|dial tcp [^ ]+: connect|the server is currently unable to handle the request|TLS handshake timeout|i\/o timeout|unexpected EOF/i;

async function waitForApi(): Promise<void> {
    const deadline = Date.now() + 10 * 60_000;
    while (Date.now() < deadline) {
        const r = await kubectl(["get", "--raw", "/readyz"]);
        if (r.code === 0) return;
        await sleep(2000);
    }
    throw new Error("the local cluster's API server did not come back within 10 minutes");
}

class Unreachable extends Error {}

/** Fails on a non-zero exit; a run that could not reach the API server throws Unreachable. */
function check(what: string, r: Proc, ok: (code: number) => boolean = (c) => c === 0): Proc {
    if (ok(r.code)) return r;
    const text = `${r.stdout}\n${r.stderr}`;
    if (UNREACHABLE.test(text)) throw new Unreachable(`${what}: ${text.match(UNREACHABLE)![0]}`);
    throw new Error(`${what} exited ${r.code}:\n${r.stdout.slice(-4000)}\n${r.stderr.slice(-4000)}`);
}

async function withRetry<T>(what: string, attempt: () => Promise<T>, cleanup: () => Promise<void>): Promise<T> {
    for (let i = 1; ; i++) {
        try {
            return await attempt();
        } catch (e) {
            await cleanup().catch(() => undefined);
            if (!(e instanceof Unreachable) || i >= 4) throw e;
            retries.push(`${what}: ${e.message} (repeated)`);
            log(`${what}: the API server is unreachable (${e.message}); waiting for it, then repeating the run`);
            await waitForApi();
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Statistics and load

interface Stat {
    n: number;
    min: number;
    median: number;
    max: number;
}

function stat(xs: number[]): Stat {
    const s = [...xs].sort((a, b) => a - b);
    const m = s.length;
    const median = m === 0 ? NaN : m % 2 ? s[(m - 1) / 2] : (s[m / 2 - 1] + s[m / 2]) / 2;
    return { n: m, min: s[0] ?? NaN, median, max: s[m - 1] ?? NaN };
}

const loads: number[] = [];
const noteLoad = () => loads.push(os.loadavg()[0]);

// ---------------------------------------------------------------------------------------------
// The engine's log (-v=7, JSON lines): where the time of one pulumi run goes

interface Timeline {
    /** Seconds from the process start (as the benchmark spawned it). */
    total: number;
    /** Process start to the language host's Run: CLI, backend, config, plugins, policy pack. */
    beforeProgram: number;
    /** Of that, the policy pack's start (launch to its first answer), when one runs. */
    policyStart?: number;
    /** The language host's Run (node starts) to the program's first resource registered. */
    programStart: number;
    /** Of that: node and the SDK up to the stack resource (before the program's modules load). */
    runtimeStart: number;
    /** First resource registered to the stack's outputs registered: the program's whole run. */
    programRun: number;
    /** up: first resource registered to the last resource other than a Service ready. */
    resources?: number;
    /** up: the last Service ready after everything else was: the provider's endpoint settle wait. */
    serviceSettle?: number;
    /** preview: first resource registered to the last step (the diffs). */
    diffs?: number;
    /** Last step (or the program's end) to the process end: shutting down plugins, writing state. */
    shutdown: number;
    /** Most Deployments, and most Services, in flight at the same moment (and how many there are). */
    deploymentsAtOnce?: [number, number];
    servicesAtOnce?: [number, number];
    /** The bot's Deployment: when its step started, after its namespace was ready. */
    deploymentAfterNamespace?: number;
}

function parseTimeline(kind: "up" | "preview", stderr: string, startedAt: number, endedAt: number): Timeline {
    const at = (iso: string) => (Date.parse(iso.replace(/(\.\d{3})\d*Z$/, "$1Z")) - startedAt) / 1000;
    let run: number | undefined, required: number | undefined, analyzer: number | undefined;
    let first: number | undefined, stack: number | undefined, outputs: number | undefined;
    const steps = new Map<string, { start?: number; done?: number }>();
    for (const line of stderr.split("\n")) {
        if (!line.startsWith("{")) continue;
        let e: { time?: string; msg?: string };
        try { e = JSON.parse(line); } catch { continue; }
        if (!e.time || !e.msg) continue;
        const t = at(e.time);
        const m = e.msg;
        let g: RegExpExecArray | null;
        if (/^langhost\[nodejs\]\.GetRequiredPackages\(.*\) success/.test(m)) required ??= t;
        else if (/^Analyzer\[.*\]\.GetPluginInfo\(\) executing/.test(m)) analyzer ??= t;
        else if (/^langhost\[nodejs\]\.Run\(/.test(m)) run ??= t;
        else if ((g = /^ResourceMonitor\.RegisterResource received: t=([^,]+),/.exec(m))) {
            if (g[1] === "pulumi:pulumi:Stack") stack ??= t;
            else first ??= t;
        }
        else if (/^ResourceMonitor\.RegisterResourceOutputs received: urn=\S+pulumi:pulumi:Stack::/.test(m)) outputs = t;
        else if ((g = /applying step \S+ on (\S+) \(preview/.exec(m))) steps.set(g[1], { ...steps.get(g[1]), start: t });
        else if ((g = /step \S+ on (\S+) retired/.exec(m))) steps.set(g[1], { ...steps.get(g[1]), done: t });
    }
    const total = (endedAt - startedAt) / 1000;
    if (run === undefined || first === undefined) throw new Error("the engine's log has no program run in it");
    // Kubernetes objects and random passwords: not the stack, the components or the providers.
    const typeOf = (urn: string) => (urn.split("::")[2] ?? "").split("$").pop()!;
    const custom = [...steps].filter(([urn]) => !/^(pulumi:pulumi:Stack|pulumi:providers:|trading-bot:index:)/.test(typeOf(urn)));
    const done = (f: (urn: string) => boolean) => Math.max(...custom.filter(([u]) => f(u)).map(([, s]) => s.done ?? -Infinity));
    const isService = (u: string) => u.includes("kubernetes:core/v1:Service::");
    const lastStep = Math.max(...custom.map(([, s]) => s.done ?? -Infinity));
    const atOnce = (kind: string): [number, number] => {
        const spans = custom.filter(([u]) => u.includes(kind)).map(([, s]) => [s.start ?? NaN, s.done ?? NaN]);
        const most = Math.max(0, ...spans.map(([a]) => spans.filter(([b, c]) => b <= a && a < c).length));
        return [most, spans.length];
    };
    const t: Timeline = {
        total,
        beforeProgram: run,
        policyStart: analyzer !== undefined && required !== undefined ? analyzer - required : undefined,
        programStart: first - run,
        runtimeStart: (stack ?? run) - run,
        programRun: (outputs ?? first) - first,
        shutdown: total - Math.max(lastStep, outputs ?? 0),
    };
    if (kind === "up") {
        const others = done((u) => !isService(u));
        t.resources = others - first;
        t.serviceSettle = Math.max(0, done(isService) - others);
        t.deploymentsAtOnce = atOnce("kubernetes:apps/v1:Deployment::");
        t.servicesAtOnce = atOnce("kubernetes:core/v1:Service::");
        const ns = custom.find(([u]) => u.includes("kubernetes:core/v1:Namespace::"))?.[1].done;
        const bot = custom.find(([u]) => /TradingBot\$kubernetes:apps\/v1:Deployment::/.test(u))?.[1].start;
        if (ns !== undefined && bot !== undefined) t.deploymentAfterNamespace = bot - ns;
    } else {
        t.diffs = lastStep - first;
    }
    return t;
}

// ---------------------------------------------------------------------------------------------
// 1 and 2: the cluster. Pulumi in a scratch copy of the project, kubectl on the rendered manifests.

interface ClusterSamples {
    up: number[];
    upPolicy: number[];
    preview: number[];
    previewPolicy: number[];
    floor: number[];
    floorApply: number[];
    diff: number[];
    /** From the instrumented (-v=7) runs. */
    previewTimelines: Timeline[];
    previewPolicyTimelines: Timeline[];
    upTimeline?: Timeline;
    upPolicyTimeline?: Timeline;
    resources: { pulumi: number; kubectl: number };
}

const SECRET_NAME = "bench-db-credentials";
const NS_TOKEN = "bench-render-namespace";

/** The dev stack rendered to YAML (the provider's render mode), Namespace first, then a Secret. */
async function renderFloorManifests(): Promise<{ yaml: string; deployments: string[]; objects: number }> {
    const out = fs.mkdtempSync(path.join(os.tmpdir(), "trading-bot-bench-render-"));
    const ws = new Workspace("bench-render", "bench-passphrase");
    try {
        ws.initStack("dev", { namespace: NS_TOKEN, existingSecret: SECRET_NAME, renderYamlToDirectory: out });
        check("rendering the dev stack", await exec(PULUMI, ["up", "--stack", "dev", "--yes", "--skip-preview", "--non-interactive"], { cwd: ws.dir, env: ws.env() }));
        const files = walk(out).filter((f) => f.endsWith(".yaml")).sort();
        const docs = files.map((f) => fs.readFileSync(f, "utf8").trim().replace(/^---\n/, ""));
        const namespaceFirst = [...docs.filter((d) => /^kind: Namespace$/m.test(d)), ...docs.filter((d) => !/^kind: Namespace$/m.test(d))];
        // The in-cluster databases and the bot read their passwords from this existing Secret.
        const secret = [
            "apiVersion: v1", "kind: Secret", "type: Opaque",
            `metadata:\n  name: ${SECRET_NAME}\n  namespace: ${NS_TOKEN}`,
            "stringData:",
            "  binance-api-key: \"\"", "  binance-api-secret: \"\"",
            "  database-password: bench-only-database-password", "  redis-password: bench-only-redis-password",
        ].join("\n");
        const all = [namespaceFirst[0], secret, ...namespaceFirst.slice(1)];
        const deployments = all.filter((d) => /^kind: Deployment$/m.test(d)).map((d) => /^ {2}name: (\S+)$/m.exec(d)![1]);
        return { yaml: all.join("\n---\n") + "\n", deployments, objects: all.length };
    } finally {
        ws.remove();
        fs.rmSync(out, { recursive: true, force: true });
    }
}

function walk(dir: string): string[] {
    return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
        e.isDirectory() ? walk(path.join(dir, e.name)) : [path.join(dir, e.name)]);
}

/** Deletes a namespace and waits until it is gone, through an API server outage if need be. */
async function deleteNamespace(ns: string): Promise<void> {
    for (let i = 1; ; i++) {
        const r = await kubectl(["delete", "namespace", ns, "--ignore-not-found", "--wait=true", "--timeout=300s"]);
        if (r.code === 0) return;
        if (i >= 4) throw new Error(`could not delete namespace ${ns}: ${r.stderr}`);
        if (UNREACHABLE.test(r.stderr)) await waitForApi();
        else await sleep(5000);
    }
}

/** Namespaces an interrupted earlier run of the benchmark left behind (more than an hour old). */
async function sweepStaleNamespaces(): Promise<void> {
    const r = await kubectl(["get", "namespaces", "-o", "json"]);
    if (r.code !== 0) return;
    const stale = (JSON.parse(r.stdout).items as { metadata: { name: string; creationTimestamp: string } }[])
        .filter((n) => /^bench-(pulumip?|kubectl)-\d+-[0-9a-z]+$/.test(n.metadata.name))
        .filter((n) => Date.now() - Date.parse(n.metadata.creationTimestamp) > 3600_000);
    for (const n of stale) {
        log(`deleting namespace ${n.metadata.name}, left behind by an interrupted run`);
        await deleteNamespace(n.metadata.name);
    }
}

/** The kubectl floor in a fresh namespace: apply + rollout status (timed), then kubectl diff (timed). */
async function floorRun(i: number, manifests: { yaml: string; deployments: string[] }, s: ClusterSamples, diffs: number): Promise<void> {
    const ns = `bench-kubectl-${i}-${TAG}`;
    const file = path.join(os.tmpdir(), `trading-bot-bench-${ns}.yaml`);
    fs.writeFileSync(file, manifests.yaml.split(NS_TOKEN).join(ns));
    try {
        await withRetry(`kubectl floor ${i}`, async () => {
            noteLoad();
            const start = now();
            const apply = check("kubectl apply", await kubectl(["apply", "-f", file]));
            const rollouts = await Promise.all(manifests.deployments.map((d) =>
                kubectl(["-n", ns, "rollout", "status", `deployment/${d}`, "--timeout=300s"])));
            rollouts.forEach((r) => check("kubectl rollout status", r));
            s.floor.push((now() - start) / 1000);
            s.floorApply.push(apply.ms / 1000);
            for (let d = 0; d < diffs; d++) {
                noteLoad();
                const diff = await kubectl(["diff", "-f", file]);
                // 0: no differences, 1: differences (a floor that is not a no-op is reported, not hidden).
                check("kubectl diff", diff, (c) => c === 0 || c === 1);
                if (diff.code === 1) log(`kubectl diff found differences on an unchanged namespace:\n${diff.stdout.slice(0, 2000)}`);
                s.diff.push(diff.ms / 1000);
            }
        }, () => deleteNamespace(ns));
        await deleteNamespace(ns);
    } finally {
        fs.rmSync(file, { force: true });
    }
}

/**
 * A cold `pulumi up` of the dev stack in a fresh namespace, then destroy. Timed: the up and two
 * no-op previews of it (plain, and with the policy pack), then one more with the engine's log.
 * Logged: only the up, with the engine's log.
 */
async function pulumiRun(i: number, mode: "timed" | "logged", policy: boolean, s: ClusterSamples): Promise<void> {
    const variant = policy ? "policy" : "plain";
    const ns = `bench-pulumi${policy ? "p" : ""}-${i}-${TAG}`;
    let ws: Workspace | undefined;
    const cleanup = async () => {
        if (ws) {
            const destroy = ["destroy", "--stack", "dev", "--yes", "--skip-preview", "--non-interactive", "--suppress-progress"];
            const d = await exec(PULUMI, destroy, { cwd: ws.dir, env: ws.env() });
            if (d.code !== 0 && UNREACHABLE.test(d.stdout + d.stderr)) {
                await waitForApi();
                await exec(PULUMI, destroy, { cwd: ws.dir, env: ws.env() });
            }
            ws.remove();
            ws = undefined;
        }
        // Whatever the destroy left (it deletes the namespace last), the namespace takes with it.
        await deleteNamespace(ns);
    };
    const policyArgs = policy ? ["--policy-pack", POLICY_PACK] : [];
    await withRetry(`pulumi ${variant} ${i}`, async () => {
        ws = new Workspace(`bench-${variant}`, "bench-passphrase");
        ws.initStack("dev", { namespace: ns });
        const opts = { cwd: ws.dir, env: ws.env() };
        const up = ["up", "--stack", "dev", "--yes", "--skip-preview", "--non-interactive", "--suppress-progress", ...policyArgs];
        noteLoad();
        const started = Date.now();
        const r = check(`pulumi up (${variant})`, await exec(PULUMI, mode === "logged" ? [...up, "-v=7", "--logtostderr"] : up, opts));
        s.resources.pulumi = Number(/(\d+) created/.exec(r.stdout)?.[1] ?? NaN);
        if (mode === "logged") {
            saveLog(`up-${variant}`, r.stderr);
            const t = parseTimeline("up", r.stderr, started, started + r.ms);
            if (policy) s.upPolicyTimeline = t; else s.upTimeline = t;
            return;
        }
        (policy ? s.upPolicy : s.up).push(r.ms / 1000);

        // No-op checks on the up-to-date stack: `pulumi preview` and what `npm run check` runs.
        const plain = ["preview", "--stack", "dev", "--non-interactive", "--expect-no-changes"];
        const withPolicy = [...plain, "--diff", "--policy-pack", POLICY_PACK];
        for (const [args, into] of [[plain, s.preview], [withPolicy, s.previewPolicy]] as const) {
            noteLoad();
            into.push(check("pulumi preview", await exec(PULUMI, [...args], opts)).ms / 1000);
        }
        noteLoad();
        const startedPreview = Date.now();
        const p = check("pulumi preview (logged)", await exec(PULUMI, [...(policy ? withPolicy : plain), "-v=7", "--logtostderr"], opts));
        saveLog(`preview-${variant}-${i}`, p.stderr);
        (policy ? s.previewPolicyTimelines : s.previewTimelines).push(parseTimeline("preview", p.stderr, startedPreview, startedPreview + p.ms));
    }, cleanup);
    await cleanup();
}

/** The engine logs of the logged runs, kept beside the results for a closer look. */
function saveLog(label: string, text: string): void {
    const dir = path.join(OUT_DIR, `logs-${TAG}`);
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, `${label}.log`), text);
}

async function clusterBench(o: Options): Promise<ClusterSamples> {
    const s: ClusterSamples = {
        up: [], upPolicy: [], preview: [], previewPolicy: [], floor: [], floorApply: [], diff: [],
        previewTimelines: [], previewPolicyTimelines: [], resources: { pulumi: NaN, kubectl: NaN },
    };
    await sweepStaleNamespaces();
    log("rendering the dev stack to YAML for the kubectl floor");
    const manifests = await withRetry("render", renderFloorManifests, async () => undefined);
    s.resources.kubectl = manifests.objects;
    for (let i = 1; i <= o.runs; i++) {
        log(`cluster run ${i}/${o.runs}: kubectl floor`);
        await floorRun(i, manifests, s, 2);
        log(`cluster run ${i}/${o.runs}: pulumi up + previews`);
        await pulumiRun(i, "timed", false, s);
        log(`cluster run ${i}/${o.runs}: pulumi up + previews with the policy pack`);
        await pulumiRun(i, "timed", true, s);
    }
    log("logged runs (engine log -v=7): pulumi up, with and without the policy pack");
    await pulumiRun(0, "logged", false, s);
    await pulumiRun(0, "logged", true, s);
    return s;
}

// ---------------------------------------------------------------------------------------------
// 3: program evaluation under mocks; 4: unit tests

interface EvalSample {
    bots: number;
    sdkMs: number;
    startMs: number;
    loadMs: number;
    evaluateMs: number;
    resources: number;
    /** With --loaders: the loader, and whether its cache was cleared just before. */
    loader?: string;
    cache?: "cold" | "warm";
}

const BOT_COUNTS = [1, 10, 100];

async function evaluationBench(o: Options): Promise<EvalSample[]> {
    if (o.loaders) return loaderBench(o, o.loaders);
    const samples: EvalSample[] = [];
    for (let r = 1; r <= o.evalRuns; r++) {
        for (const bots of BOT_COUNTS) {
            log(`evaluation ${r}/${o.evalRuns}: ${bots} bot(s)`);
            noteLoad();
            // A fresh process each time, loaded the way a deploy loads the program
            // (runtime/register.js, as Pulumi.yaml's nodeargs asks).
            const p = check("evaluate.ts", await exec(NODE, ["-r", path.join(PROJECT_DIR, "runtime", "register.js"), path.join(__dirname, "evaluate.ts"), String(bots)]));
            samples.push(JSON.parse(p.stdout.trim().split("\n").pop()!));
        }
    }
    return samples;
}

// ---------------------------------------------------------------------------------------------
// 3 with --loaders: the same evaluation under each TypeScript loader

/**
 * The ways node can load the program's TypeScript, by the name --loaders takes. `<name>+start`
 * requires runtime/start.js first: node's code cache and the SDK's deferred modules, the part of
 * register.js that is not about TypeScript.
 */
const LOADERS: Record<string, { what: string; args: () => string[] }> = {
    register: { what: "runtime/register.js: TypeScript's transpileModule, output cached on disk by content (+start built in)", args: () => ["-r", path.join(PROJECT_DIR, "runtime", "register.js")] },
    tsx: { what: "tsx as documented, `--import tsx` (esbuild; ESM and CommonJS hooks, transforms cached in $TMPDIR/tsx-<uid>)", args: () => ["--import", "tsx"] },
    "tsx-cjs": { what: "tsx's CommonJS hooks only, `-r tsx/cjs`", args: () => ["-r", "tsx/cjs"] },
    swc: { what: "`-r @swc-node/register` (SWC; transforms cached in $TMPDIR/swc-node-<uid>)", args: () => ["-r", "@swc-node/register"] },
    strip: {
        what: "node's own type stripping, no loader",
        args: () => (process.features as { typescript?: string }).typescript ? [] : ["--experimental-strip-types"],
    },
    js: { what: "no loader: the program precompiled by `tsc -p tsconfig.json` (what any loader could at best reach)", args: () => [] },
};

function parseLoaders(list: string): string[] {
    const names = list.split(",").map((n) => n.trim()).filter((n) => n);
    for (const n of names) {
        if (!LOADERS[n.replace(/\+start$/, "")]) throw new Error(`--loaders: unknown loader ${n} (known: ${Object.keys(LOADERS).join(", ")}, each optionally with +start)`);
    }
    if (names.length === 0) throw new Error("--loaders needs a comma-separated list, e.g. register,tsx,swc,strip");
    return names;
}

/** Why a loader could not run the program (its first failure), by loader name. */
const loaderFailures = new Map<string, string>();

/**
 * Every loader runs the same samples, interleaved (each round starts with the next loader, so that
 * the machine's load hits them alike): per round, one cold start (its caches deleted just before:
 * the transpile cache and node's code cache, in a scratch directory of its own), then 1, 10 and
 * 100 bots warm. Each sample is a fresh process.
 */
async function loaderBench(o: Options, names: string[]): Promise<EvalSample[]> {
    const scratch = fs.mkdtempSync(path.join(os.tmpdir(), "trading-bot-bench-loaders-"));
    try {
        const compiled = names.some((n) => n.startsWith("js")) ? await precompile(path.join(scratch, "js")) : undefined;
        const loaders = names.map((name) => {
            const base = name.replace(/\+start$/, "");
            const cache = path.join(scratch, "cache", name);
            const env: NodeJS.ProcessEnv = { ...process.env, TRADING_BOT_CACHE: cache, TMPDIR: path.join(cache, "tmp") };
            delete env.NODE_COMPILE_CACHE;
            const start = name.endsWith("+start") ? ["-r", path.join(PROJECT_DIR, "runtime", "start.js")] : [];
            const script = base === "js" ? path.join(compiled!, path.relative(PROJECT_DIR, __dirname), "evaluate.js") : path.join(__dirname, "evaluate.ts");
            return { name, cache, env, args: [...start, ...LOADERS[base].args(), script] };
        });
        const samples: EvalSample[] = [];
        for (let r = 1; r <= o.evalRuns; r++) {
            const order = loaders.map((_, k) => loaders[(k + r - 1) % loaders.length]);
            for (const [cache, bots] of [["cold", 1], ["warm", 1], ["warm", 10], ["warm", 100]] as const) {
                for (const l of order) {
                    if (loaderFailures.has(l.name)) continue;
                    if (cache === "cold") fs.rmSync(l.cache, { recursive: true, force: true });
                    fs.mkdirSync(l.env.TMPDIR!, { recursive: true });
                    log(`evaluation ${r}/${o.evalRuns}: ${l.name}, ${bots} bot(s), ${cache} cache`);
                    noteLoad();
                    const p = await exec(NODE, [...l.args, String(bots)], { env: l.env });
                    if (p.code !== 0) {
                        const why = p.stderr.split("\n").find((line) => /Error|error:/.test(line))?.trim() ?? `exit ${p.code}`;
                        loaderFailures.set(l.name, why.split(PROJECT_DIR + path.sep).join(""));
                        log(`${l.name} fails, left out from now on: ${p.stderr.slice(-2000)}`);
                        continue;
                    }
                    samples.push({ ...JSON.parse(p.stdout.trim().split("\n").pop()!), loader: l.name, cache });
                }
            }
        }
        return samples;
    } finally {
        fs.rmSync(scratch, { recursive: true, force: true });
    }
}

/** The project compiled to JavaScript in `out` (type-check off), runnable from there by plain node. */
async function precompile(out: string): Promise<string> {
    log("precompiling the project with tsc for the js loader");
    check("tsc", await exec(NODE, [path.join(PROJECT_DIR, "node_modules/typescript/bin/tsc"), "-p", "tsconfig.json", "--outDir", out, "--noCheck"]));
    for (const f of fs.readdirSync(PROJECT_DIR).filter((f) => /^Pulumi(\..+)?\.yaml$|^package\.json$/.test(f))) {
        fs.copyFileSync(path.join(PROJECT_DIR, f), path.join(out, f));
    }
    fs.symlinkSync(path.join(PROJECT_DIR, "node_modules"), path.join(out, "node_modules"));
    return out;
}

async function unitBench(o: Options): Promise<{ unit: number[]; typecheck: number[]; tests: number }> {
    const unit: number[] = [];
    const typecheck: number[] = [];
    let tests = 0;
    for (let r = 1; r <= o.unitRuns; r++) {
        log(`unit tests ${r}/${o.unitRuns}`);
        noteLoad();
        const u = check("mocha test/unit", await exec(NODE, [path.join(PROJECT_DIR, "node_modules/mocha/bin/mocha.js"), "--reporter", "dot", "test/unit/**/*.test.ts"]));
        unit.push(u.ms / 1000);
        tests = Number(/(\d+) passing/.exec(u.stdout)?.[1] ?? NaN);
        log(`type-check ${r}/${o.unitRuns}`);
        noteLoad();
        typecheck.push(check("tsc", await exec(NODE, [path.join(PROJECT_DIR, "node_modules/typescript/bin/tsc"), "--noEmit", "-p", "tsconfig.check.json"])).ms / 1000);
    }
    return { unit, typecheck, tests };
}

// ---------------------------------------------------------------------------------------------
// Machine and versions

async function environment(o: Options): Promise<Record<string, string>> {
    const pkg = (dir: string) => {
        try { return JSON.parse(fs.readFileSync(path.join(dir, "package.json"), "utf8")).version as string; } catch { return "?"; }
    };
    const nm = (name: string) => pkg(path.join(PROJECT_DIR, "node_modules", name));
    const cli = (await exec(PULUMI, ["version"])).stdout.trim() || "?";
    let kubectlVersions = "not used (--skip-cluster)";
    if (o.cluster) {
        const kv = await kubectl(["version", "-o", "json"]);
        try {
            const v = JSON.parse(kv.stdout);
            kubectlVersions = `kubectl ${v.clientVersion?.gitVersion ?? "?"}, API server ${v.serverVersion?.gitVersion ?? "unreachable"}`;
        } catch { kubectlVersions = "?"; }
    }
    const pinned = fs.readFileSync(path.join(PROJECT_DIR, "local/toolchain/versions.sh"), "utf8");
    const pin = (key: string) => new RegExp(`^${key}=(\\S+)`, "m").exec(pinned)?.[1] ?? "?";
    const cpus = os.cpus();
    const env: Record<string, string> = {
        machine: `${cpus.length} × ${cpus[0]?.model.trim() ?? "?"}, ${(os.totalmem() / 2 ** 30).toFixed(1)} GiB RAM, ${os.type()} ${os.release()}`,
        node: process.version,
        pulumi: `CLI ${cli}, @pulumi/pulumi ${nm("@pulumi/pulumi")}, @pulumi/kubernetes ${nm("@pulumi/kubernetes")} (provider ${pin("KUBERNETES_PROVIDER_VERSION")}), @pulumi/random ${nm("@pulumi/random")}, @pulumi/policy ${pkg(path.join(POLICY_PACK, "node_modules/@pulumi/policy"))}`,
        typescript: `typescript ${nm("typescript")}, mocha ${nm("mocha")}`,
        cluster: `${kubectlVersions}, etcd ${pin("ETCD_VERSION")}, kwok ${pin("KWOK_VERSION")} (fake nodes)`,
    };
    if (o.loaders) {
        env.loaders = ["tsx", "esbuild", "@swc-node/register", "@swc/core"].map((n) => `${n} ${nm(n)}`).join(", ");
    }
    return env;
}

// ---------------------------------------------------------------------------------------------
// Report

const sec = (x: number | undefined) => x === undefined || Number.isNaN(x) ? "–" : `${x.toFixed(x < 10 ? 2 : 1)} s`;
const ms = (x: number) => `${x.toFixed(0)} ms`;
const ratio = (a: number, b: number) => `${(a / b).toFixed(1)}×`;
const row = (...cells: string[]) => `| ${cells.join(" | ")} |`;
const fmtStat = (s: Stat, f: (x: number) => string = sec) => [String(s.n), f(s.min), f(s.median), f(s.max)];
const medianOf = (ts: Timeline[], f: (t: Timeline) => number | undefined) => {
    const xs = ts.map(f).filter((x): x is number => x !== undefined);
    return xs.length ? stat(xs).median : undefined;
};

function report(env: Record<string, string>, c: ClusterSamples | undefined, all: EvalSample[] | undefined,
    u: { unit: number[]; typecheck: number[]; tests: number } | undefined, startedAt: Date, loadBefore: number[], loadAfter: number[],
    loaders: string[] | undefined): string {
    const lines: string[] = [];
    // The figures of section 3: the first loader's warm samples (register.js when not asked otherwise).
    const e = all?.filter((x) => x.cache !== "cold" && (x.loader ?? "register") === (loaders?.[0] ?? "register"));
    const load = stat(loads);
    lines.push(`Benchmark of ${startedAt.toISOString().slice(0, 16).replace("T", " ")} UTC, ${((Date.now() - startedAt.getTime()) / 60000).toFixed(1)} min.`);
    lines.push("");
    lines.push(`- machine: ${env.machine}; load average (1 min) ${loadBefore[0].toFixed(2)} before, ${loadAfter[0].toFixed(2)} after, ${load.min.toFixed(1)}–${load.max.toFixed(1)} (median ${load.median.toFixed(1)}) during the runs`);
    lines.push(`- Node ${env.node}; ${env.typescript}`);
    lines.push(`- Pulumi ${env.pulumi}`);
    lines.push(`- cluster: ${env.cluster}`);
    if (env.loaders) lines.push(`- loaders: ${env.loaders}`);
    lines.push("");
    lines.push(row("figure", "runs", "min", "median", "max"));
    lines.push(row("---", "---:", "---:", "---:", "---:"));
    if (c) {
        lines.push(row(`1. cold deploy: \`pulumi up --stack dev --yes --skip-preview\` (${c.resources.pulumi} resources)`, ...fmtStat(stat(c.up))));
        lines.push(row("1. cold deploy with the policy pack (what `npm start` runs)", ...fmtStat(stat(c.upPolicy))));
        lines.push(row(`1. floor: \`kubectl apply -f\` (${c.resources.kubectl} objects) + \`kubectl rollout status\``, ...fmtStat(stat(c.floor))));
        lines.push(row("2. no-op check: `pulumi preview --stack dev`", ...fmtStat(stat(c.preview))));
        lines.push(row("2. no-op check with the policy pack (what `npm run check` runs)", ...fmtStat(stat(c.previewPolicy))));
        lines.push(row("2. floor: `kubectl diff -f`", ...fmtStat(stat(c.diff))));
    }
    if (e?.length) {
        for (const bots of BOT_COUNTS) {
            const xs = e.filter((x) => x.bots === bots);
            lines.push(row(`3. program evaluation under mocks, ${bots} bot${bots > 1 ? "s" : ""} (${xs[0]?.resources} resources)`, ...fmtStat(stat(xs.map((x) => x.evaluateMs / 1000)))));
        }
    }
    if (u) {
        lines.push(row(`4. unit test suite (mocha, ${u.tests} tests)`, ...fmtStat(stat(u.unit))));
        lines.push(row("4. type-check (`tsc -p tsconfig.check.json`)", ...fmtStat(stat(u.typecheck))));
    }
    lines.push("");

    lines.push(row("target", "measured (medians)", "holds"));
    lines.push(row("---", "---", "---"));
    if (c) {
        const up = stat(c.up).median, floor = stat(c.floor).median;
        // Measured in the logged up; never a guess (a missing figure shows as NaN and fails the target).
        const settle = c.upTimeline?.serviceSettle ?? NaN;
        lines.push(row("cold deploy: pulumi / kubectl (reported)", `${ratio(up, floor)} (${sec(up)} / ${sec(floor)}); with the policy pack ${ratio(stat(c.upPolicy).median, floor)}`, "–"));
        lines.push(row("cold deploy beyond the provider's fixed waits ≤ 1.5× kubectl",
            `${ratio(up - settle, floor)} ((${sec(up)} − ${sec(settle)} Service settle) / ${sec(floor)})`, up - settle <= 1.5 * floor ? "yes" : "no"));
        const pv = stat(c.preview).median, diff = stat(c.diff).median;
        lines.push(row("no-op preview ≤ 2× `kubectl diff`", `${ratio(pv, diff)} (${sec(pv)} / ${sec(diff)}); with the policy pack ${ratio(stat(c.previewPolicy).median, diff)}`, pv <= 2 * diff ? "yes" : "no"));
        const starts = [...c.previewTimelines, ...c.previewPolicyTimelines];
        const ps = medianOf(starts, (t) => t.programStart);
        lines.push(row("program start (node starts → first resource registered, real engine) < 1 s", `${sec(ps)} (median of ${starts.length} logged previews)`, ps !== undefined && ps < 1 ? "yes" : "no"));
        const t = c.upTimeline;
        if (t?.deploymentsAtOnce && t.servicesAtOnce) {
            const all = t.deploymentsAtOnce[0] === t.deploymentsAtOnce[1] && t.servicesAtOnce[0] === t.servicesAtOnce[1];
            lines.push(row("independent resources converge concurrently",
                `Deployments in flight at once: ${t.deploymentsAtOnce[0]} of ${t.deploymentsAtOnce[1]}; Services: ${t.servicesAtOnce[0]} of ${t.servicesAtOnce[1]}`, all ? "yes" : "no"));
        }
    }
    if (e?.length) {
        const med = (bots: number) => stat(e.filter((x) => x.bots === bots).map((x) => x.evaluateMs)).median;
        const [one, ten, hundred] = BOT_COUNTS.map(med);
        lines.push(row("evaluation of 100 bots < 3 s", sec(hundred / 1000), hundred < 3000 ? "yes" : "no"));
        const perBot10 = (ten - one) / 9, perBot100 = (hundred - one) / 99;
        const linear = perBot100 <= 1.5 * perBot10;
        lines.push(row("evaluation grows linearly", `${ms(one)} + ${ms(perBot10)} per extra bot (1→10), ${ms(perBot100)} per extra bot (1→100)`, linear ? "yes" : "no"));
    }
    lines.push("");

    if (c) {
        const cols = ["phase", "up", "up + policy pack", "preview", "preview + policy pack"];
        const tl = [c.upTimeline ? [c.upTimeline] : [], c.upPolicyTimeline ? [c.upPolicyTimeline] : [], c.previewTimelines, c.previewPolicyTimelines];
        const cell = (f: (t: Timeline) => number | undefined) => tl.map((ts) => sec(medianOf(ts, f)));
        lines.push(`Where the time goes (seconds from the process start; engine log at -v=7: one logged up per variant, previews: median of ${c.previewTimelines.length}):`);
        lines.push("");
        lines.push(row(...cols));
        lines.push(row("---", "---:", "---:", "---:", "---:"));
        lines.push(row("CLI start: backend, stack, config, plugin discovery", ...cell((t) => t.beforeProgram - (t.policyStart ?? 0))));
        lines.push(row("policy pack start (node, SDK, the pack's modules), before the program runs", ...cell((t) => t.policyStart ?? 0)));
        lines.push(row("program start: node, SDK → stack resource registered", ...cell((t) => t.runtimeStart)));
        lines.push(row("program start: program modules load, config validated → first resource", ...cell((t) => t.programStart - t.runtimeStart)));
        lines.push(row("resources: API round trips, rollouts (up) / diffs (preview)", ...cell((t) => t.resources ?? t.diffs)));
        lines.push(row("Service endpoint settle (the provider's fixed 10 s wait), beyond the rest", ...cell((t) => t.serviceSettle ?? 0)));
        lines.push(row("shutdown: plugins stop, state written", ...cell((t) => t.shutdown)));
        lines.push(row("**total** (logged run)", ...cell((t) => t.total)));
        lines.push("");
        const extra: string[] = [];
        if (c.upTimeline?.deploymentAfterNamespace !== undefined) {
            extra.push(`the bot's Deployment starts ${sec(c.upTimeline.deploymentAfterNamespace)} after its namespace is ready (it waits for its ConfigMap, Secret, ServiceAccount and claim)`);
        }
        extra.push(`kubectl floor: \`kubectl apply\` ${sec(stat(c.floorApply).median)} of ${sec(stat(c.floor).median)}, the rest is waiting for the rollouts`);
        lines.push(`Notes: ${extra.join("; ")}.`);
        lines.push("");
    }
    if (e?.length) {
        const st = stat(e.map((x) => x.startMs / 1000));
        const load = stat(e.map((x) => x.loadMs / 1000));
        lines.push(`Under mocks, a fresh process takes ${sec(st.median)} (median over all bot counts) from its start to the first resource ` +
            `registered, ${sec(load.median)} of it until the program's modules are loaded (node, the SDK, the providers' packages).`);
        lines.push("");
    }
    if (all && loaders) lines.push(...loaderReport(all, loaders));
    if (retries.length) {
        lines.push(`Runs repeated because the API server was unreachable (someone else's failure test): ${retries.join("; ")}.`);
        lines.push("");
    }
    return lines.join("\n");
}

/** --loaders: one table, every figure per loader, with its median's ratio to register.js's. */
function loaderReport(e: EvalSample[], names: string[]): string[] {
    const base = names.includes("register") ? "register" : names[0];
    const figures: [string, (x: EvalSample) => boolean, (x: EvalSample) => number][] = [
        ["cold cache: start → SDK loaded (≈ stack resource)", (x) => x.cache === "cold", (x) => x.sdkMs],
        ["cold cache: start → first resource", (x) => x.cache === "cold", (x) => x.startMs],
        ["warm: start → SDK loaded (≈ stack resource)", (x) => x.cache === "warm" && x.bots === 1, (x) => x.sdkMs],
        ["warm: start → first resource", (x) => x.cache === "warm" && x.bots === 1, (x) => x.startMs],
        ...BOT_COUNTS.map((bots): [string, (x: EvalSample) => boolean, (x: EvalSample) => number] =>
            [`warm: evaluation, ${bots} bot${bots > 1 ? "s" : ""}`, (x) => x.cache === "warm" && x.bots === bots, (x) => x.evaluateMs]),
    ];
    const lines: string[] = [];
    lines.push(`TypeScript loaders, under mocks (bench/evaluate.ts): each sample a fresh process, the loaders interleaved; ` +
        `"cold cache": the loader's caches deleted just before (the start figures are of 1 bot); "× ${base}": median / ${base}'s median.`);
    lines.push("");
    lines.push(row("figure", "loader", "runs", "min", "median", "max", `× ${base}`));
    lines.push(row("---", "---", "---:", "---:", "---:", "---:", "---:"));
    for (const [label, which, value] of figures) {
        const of = (name: string) => stat(e.filter((x) => x.loader === name && which(x)).map((x) => value(x) / 1000));
        const ref = of(base).median;
        for (const name of names.filter((n) => !loaderFailures.has(n))) {
            const s = of(name);
            lines.push(row(label, name, ...fmtStat(s), Number.isNaN(ref) ? "–" : `${(s.median / ref).toFixed(2)}×`));
        }
    }
    lines.push("");
    for (const name of names) {
        const failed = loaderFailures.get(name);
        lines.push(`- ${name}: ${LOADERS[name.replace(/\+start$/, "")].what}${name.endsWith("+start") ? ", after runtime/start.js" : ""}` +
            (failed ? `. **Cannot run the program**: ${failed}` : ""));
    }
    lines.push("");
    return lines;
}

// ---------------------------------------------------------------------------------------------

async function main(): Promise<void> {
    const o = parseOptions(process.argv.slice(2));
    const startedAt = new Date();
    const loadBefore = os.loadavg();
    const env = await environment(o);
    const c = o.cluster ? await clusterBench(o) : undefined;
    const e = o.evaluation ? await evaluationBench(o) : undefined;
    const u = o.unit ? await unitBench(o) : undefined;
    const text = report(env, c, e, u, startedAt, loadBefore, os.loadavg(), o.loaders);
    fs.mkdirSync(OUT_DIR, { recursive: true });
    const stamp = startedAt.toISOString().replace(/[:.]/g, "-");
    fs.writeFileSync(path.join(OUT_DIR, `${stamp}.md`), text + "\n");
    fs.writeFileSync(path.join(OUT_DIR, `${stamp}.json`), JSON.stringify({
        env, options: o, cluster: c, evaluation: e, loaderFailures: Object.fromEntries(loaderFailures), unit: u, loads, retries,
    }, null, 2));
    fs.writeFileSync(path.join(OUT_DIR, "latest.md"), text + "\n");
    process.stdout.write(`\n${text}\n`);
    log(`saved in ${path.relative(PROJECT_DIR, OUT_DIR)}/${stamp}.{md,json}${c ? ` (engine logs of the logged runs: logs-${TAG}/)` : ""}`);
}

main().catch((e) => {
    process.stderr.write(`error: ${e?.stack ?? e}\n`);
    process.exit(1);
});
