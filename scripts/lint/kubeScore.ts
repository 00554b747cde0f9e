/**
 * kube-score, a second opinion on the manifests of each stack (dev, staging, prod), with one ignore
 * list (scripts/lint/kube-score-ignore.yaml) that names the reason for every finding the project keeps.
 *
 *   node -r ./runtime/register.js scripts/lint/kubeScore.ts [--stack <name>]...   (npm run check runs it)
 *
 * The objects come from the program evaluated under Pulumi's mocks with each stack's own config (as
 * test/expected/<stack>.json does): no cluster, no engine, no secrets. Every secret value is replaced by a
 * fixed dummy before anything is written. They are written as YAML into a temporary directory, one file per
 * object, and scored there by the kube-score pinned in local/toolchain/versions.sh (built by
 * local/toolchain/build-lint.sh). kube-score's own `kube-score/ignore` annotations are switched off, so the
 * ignore list is the only way to accept a finding.
 *
 * It fails (exit 1) on a finding the list does not name, and on a list entry that no finding matches any more
 * (stale: delete it), so the list stays honest.
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as yaml from "js-yaml";
import * as os from "os";
import * as path from "path";
import { isSecretValue, PROJECT_DIR, runProgram, stackConfig, withTestSecrets } from "../../test/unit/harness";

export const STACKS = ["dev", "staging", "prod"] as const;
export type StackName = (typeof STACKS)[number];

const IGNORE_FILE = path.join(PROJECT_DIR, "scripts", "lint", "kube-score-ignore.yaml");
const CACHE = process.env.TRADING_BOT_CACHE
    ?? path.join(process.env.XDG_CACHE_HOME ?? path.join(os.homedir(), ".cache"), "trading-bot");
export const KUBE_SCORE_BIN = path.join(CACHE, "toolchain", "bin", "kube-score");

/** What every secret value becomes in the written manifests (base64 too, so it also fits a Secret's `data`). */
export const REDACTED = "cmVkYWN0ZWQ=";

/** A pinned version from local/toolchain/versions.sh (the one source of the toolchain's versions). */
function pinnedVersion(name: string): string {
    const text = fs.readFileSync(path.join(PROJECT_DIR, "local", "toolchain", "versions.sh"), "utf8");
    const m = new RegExp(`^${name}=(\\S+)$`, "m").exec(text);
    if (!m) throw new Error(`local/toolchain/versions.sh pins no ${name}`);
    return m[1];
}

/** The Kubernetes objects a stack deploys, as the program declares them, with every secret value redacted. */
export async function stackObjects(stack: StackName): Promise<Record<string, any>[]> {
    // prod's committed file sets no secrets (an operator does); like the unit tests, use fake ones, then redact.
    const config = stack === "prod" ? withTestSecrets(stackConfig(stack)) : stackConfig(stack);
    const run = await runProgram(stack, config);
    return run.resources
        .filter((r) => r.type.startsWith("kubernetes:") && r.inputs.kind)
        .map((r) => redact(r.inputs));
}

function redact(value: any): any {
    // A secret may wrap a whole map (a Secret's stringData): keep its keys, replace every value.
    if (isSecretValue(value)) return dummy(value.value);
    if (Array.isArray(value)) return value.map(redact);
    if (value !== null && typeof value === "object") {
        return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, redact(v)]));
    }
    return value;
}

function dummy(value: any): any {
    if (Array.isArray(value)) return value.map(dummy);
    if (value !== null && typeof value === "object") {
        return Object.fromEntries(Object.entries(value as Record<string, any>).map(([k, v]) => [k, dummy(isSecretValue(v) ? v.value : v)]));
    }
    return REDACTED;
}

/** `Kind/name`, how findings and the ignore list name an object (the namespace differs per stack). */
function objectRef(kind: string, name: string): string {
    return `${kind}/${name}`;
}

/** Writes each object as `<Kind>-<name>.yaml` into `dir`; returns the files. */
export function writeManifests(dir: string, objects: Record<string, any>[]): string[] {
    fs.mkdirSync(dir, { recursive: true });
    return objects.map((o) => {
        const file = path.join(dir, `${o.kind}-${o.metadata?.name ?? "unnamed"}.yaml`);
        if (fs.existsSync(file)) throw new Error(`two objects would be written to ${file}`);
        fs.writeFileSync(file, yaml.dump(o, { noRefs: true, lineWidth: -1 }));
        return file;
    });
}

export interface Finding {
    stack: string;
    /** kube-score's check id, e.g. container-security-context-user-group-id. */
    check: string;
    /** `Kind/name`. */
    object: string;
    /** What the finding is about inside the object (a container's name), or "". */
    path: string;
    grade: "CRITICAL" | "WARNING";
    message: string;
}

interface ScoredObject {
    type_meta: { kind: string };
    object_meta: { name: string };
    checks: {
        check: { id: string };
        grade: number;
        skipped: boolean;
        comments: { path: string; summary: string; description: string }[] | null;
    }[] | null;
}

/** Runs kube-score over `files`; every check graded WARNING or CRITICAL, one finding per comment. */
export function scoreFiles(stack: string, files: string[]): Finding[] {
    const kubernetes = pinnedVersion("KUBERNETES_VERSION").split(".").slice(0, 2).join(".");
    const r = spawnSync(KUBE_SCORE_BIN, [
        "score", "--output-format", "json", "--kubernetes-version", `v${kubernetes}`,
        "--disable-ignore-checks-annotations", ...files,
    ], { encoding: "utf8", maxBuffer: 64 * 1024 * 1024 });
    if (r.error) throw new Error(`cannot run ${KUBE_SCORE_BIN}: ${r.error.message} (build it: bash local/toolchain/build-lint.sh)`);
    // Exit 1 means "a critical finding"; anything else, or no JSON, is kube-score failing.
    let scored: ScoredObject[];
    try {
        scored = JSON.parse(r.stdout) ?? [];
    } catch {
        throw new Error(`kube-score failed (exit ${r.status}) on the ${stack} manifests:\n${r.stdout}${r.stderr}`);
    }
    if (r.status !== 0 && r.status !== 1) {
        throw new Error(`kube-score failed (exit ${r.status}) on the ${stack} manifests:\n${r.stderr}`);
    }
    const findings: Finding[] = [];
    for (const o of scored) {
        for (const c of o.checks ?? []) {
            if (c.skipped || c.grade > 5) continue;
            const grade = c.grade <= 1 ? "CRITICAL" : "WARNING";
            const comments = c.comments?.length ? c.comments : [{ path: "", summary: "", description: "" }];
            for (const comment of comments) {
                findings.push({
                    stack, check: c.check.id, object: objectRef(o.type_meta.kind, o.object_meta.name),
                    path: comment.path, grade,
                    message: [comment.summary, comment.description].filter(Boolean).join(": "),
                });
            }
        }
    }
    return findings.sort((a, b) => describeFinding(a).localeCompare(describeFinding(b)));
}

/** Evaluates `stack`, writes its manifests into a temporary directory, scores them, removes the directory. */
export async function scoreStack(stack: StackName): Promise<Finding[]> {
    const objects = await stackObjects(stack);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), `kube-score-${stack}-`));
    try {
        return scoreFiles(stack, writeManifests(dir, objects));
    } finally {
        fs.rmSync(dir, { recursive: true, force: true });
    }
}

export interface IgnoreEntry {
    check: string;
    /** `Kind/name`, or `*\/name` for any kind (the bot's workload is a Deployment or a StatefulSet, by its storage). */
    object: string;
    /** Only the finding about this container (kube-score's path); absent: any. */
    path?: string;
    /** The stacks it is expected in; absent: every stack. Each of them must still have the finding. */
    stacks: string[];
    reason: string;
}

/** Reads and checks the ignore list: every entry names a check, an object, known stacks and a reason. */
export function loadIgnoreList(file = IGNORE_FILE): IgnoreEntry[] {
    const doc = yaml.load(fs.readFileSync(file, "utf8")) as { ignore?: unknown };
    const list = doc?.ignore;
    if (!Array.isArray(list)) throw new Error(`${file}: expected a top-level 'ignore:' list`);
    return list.map((e: any, i: number) => {
        const where = `${file}: entry ${i + 1}`;
        for (const key of ["check", "object", "reason"]) {
            if (typeof e?.[key] !== "string" || !e[key].trim()) throw new Error(`${where} has no '${key}'`);
        }
        if (!/^(\*|[A-Za-z]+)\/[a-z0-9.-]+$/.test(e.object)) throw new Error(`${where}: object must be Kind/name or */name, not ${e.object}`);
        const unknown = Object.keys(e).filter((k) => !["check", "object", "path", "stacks", "reason"].includes(k));
        if (unknown.length) throw new Error(`${where} has unknown keys: ${unknown.join(", ")}`);
        const stacks: unknown = e.stacks ?? [...STACKS];
        if (!Array.isArray(stacks) || !stacks.length || stacks.some((s) => !(STACKS as readonly string[]).includes(s))) {
            throw new Error(`${where}: stacks must be some of ${STACKS.join(", ")}`);
        }
        if (e.path !== undefined && typeof e.path !== "string") throw new Error(`${where}: path must be a container name`);
        return { check: e.check, object: e.object, path: e.path, stacks: stacks as string[], reason: e.reason.trim() };
    });
}

function matches(entry: IgnoreEntry, f: Finding): boolean {
    const object = entry.object.startsWith("*/") ? f.object.endsWith(entry.object.slice(1)) : entry.object === f.object;
    return entry.check === f.check && object && entry.stacks.includes(f.stack)
        && (entry.path === undefined || entry.path === f.path);
}

interface Verdict {
    /** Findings no entry names: fix them, or add an entry with the reason. */
    unexpected: Finding[];
    /** Findings an entry names, with the reason. */
    ignored: { finding: Finding; entry: IgnoreEntry }[];
    /** Entries that no longer match a finding in a stack they name: delete them (or narrow their stacks). */
    stale: { entry: IgnoreEntry; stack: string }[];
}

/** Compares the findings of `scoredStacks` with the ignore list (entries for other stacks are not judged). */
export function judge(findings: Finding[], entries: IgnoreEntry[], scoredStacks: readonly string[]): Verdict {
    const verdict: Verdict = { unexpected: [], ignored: [], stale: [] };
    for (const f of findings) {
        const entry = entries.find((e) => matches(e, f));
        if (entry) verdict.ignored.push({ finding: f, entry });
        else verdict.unexpected.push(f);
    }
    for (const entry of entries) {
        for (const stack of entry.stacks.filter((s) => scoredStacks.includes(s))) {
            if (!findings.some((f) => f.stack === stack && matches(entry, f))) verdict.stale.push({ entry, stack });
        }
    }
    return verdict;
}

function describeFinding(f: Finding): string {
    return `${f.stack} ${f.object}${f.path ? ` (${f.path})` : ""} [${f.grade}] ${f.check}: ${f.message}`;
}

export function describeEntry(e: IgnoreEntry): string {
    return `${e.check} on ${e.object}${e.path ? ` (${e.path})` : ""}`;
}

/** The verdict as a report; ends with one line saying whether it passed. */
export function report(v: Verdict): string {
    const lines: string[] = [];
    if (v.unexpected.length) {
        lines.push(`kube-score: ${v.unexpected.length} finding(s) not in scripts/lint/kube-score-ignore.yaml (fix them, or add an entry with the reason):`);
        for (const f of v.unexpected) lines.push(`  ${describeFinding(f)}`);
    }
    if (v.stale.length) {
        lines.push(`kube-score: ${v.stale.length} stale ignore entr${v.stale.length === 1 ? "y" : "ies"} (no finding any more: delete the entry or drop the stack from it):`);
        for (const s of v.stale) lines.push(`  ${s.stack}: ${describeEntry(s.entry)}`);
    }
    const todo = v.ignored.filter((i) => /TODO/.test(i.entry.reason)).length;
    lines.push(`kube-score: ${v.ignored.length} finding(s) ignored with a reason${todo ? ` (${todo} of them marked TODO)` : ""}, `
        + `${v.unexpected.length} unexpected, ${v.stale.length} stale: ${passed(v) ? "passed" : "FAILED"}`);
    return lines.join("\n");
}

export function passed(v: Verdict): boolean {
    return v.unexpected.length === 0 && v.stale.length === 0;
}

async function main(): Promise<void> {
    const stacks: StackName[] = [];
    const args = process.argv.slice(2);
    for (let i = 0; i < args.length; i++) {
        const name = args[i] === "--stack" ? args[++i] : args[i].replace(/^--stack=/, "");
        if (!(STACKS as readonly string[]).includes(name)) {
            process.stderr.write(`usage: kubeScore.ts [--stack ${STACKS.join("|")}]... (default: every stack)\n`);
            process.exit(64);
        }
        stacks.push(name as StackName);
    }
    const scored = stacks.length ? stacks : [...STACKS];
    const entries = loadIgnoreList();
    if (!fs.existsSync(KUBE_SCORE_BIN)) throw new Error(`${KUBE_SCORE_BIN} is missing: bash local/toolchain/build-lint.sh`);
    const findings: Finding[] = [];
    for (const stack of scored) findings.push(...await scoreStack(stack));
    const verdict = judge(findings, entries, scored);
    process.stdout.write(`kube-score ${pinnedVersion("KUBE_SCORE_VERSION")} over ${scored.join(", ")}\n${report(verdict)}\n`);
    process.exitCode = passed(verdict) ? 0 : 1;
}

if (require.main === module) {
    main().catch((e) => {
        process.stderr.write(`kube-score: ${e?.message ?? e}\n`);
        process.exit(2);
    });
}
