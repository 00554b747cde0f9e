/**
 * Helpers of test/e2e/reliability.test.ts: the pinned CLI without the policy pack, `pulumi up`
 * in the background (to watch the cluster while it runs, or to SIGKILL it), snapshots of the state
 * and of the live objects, the local API server, and RBAC questions to the real authorizer.
 */
import * as assert from "assert";
import { ChildProcess, spawn, spawnSync } from "child_process";
import * as crypto from "crypto";
import * as fs from "fs";
import * as path from "path";
import { KUBECTL, PROJECT_DIR, PULUMI, Result, TOOLCHAIN_BIN, Workspace } from "../workspace";

export { KUBECTL, PULUMI };
const CLUSTER_SH = path.join(PROJECT_DIR, "local", "cluster", "cluster.sh");
const API_SERVER_PID_FILE = path.join(PROJECT_DIR, ".local", "cluster", "run", "kube-apiserver.pid");

/** Prints a line under the current mocha test: what was tried and what came back. */
export function log(line: string): void {
    for (const l of line.split("\n")) console.log(`        ${l}`);
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export function seconds(since: number): string {
    return `${((Date.now() - since) / 1000).toFixed(1)} s`;
}

/**
 * The pinned Pulumi CLI exactly as a user types it (no policy pack), recorded in the workspace's
 * transcript like every other command. `--non-interactive` goes first, so a value after `--` stays last.
 */
export function cli(ws: Workspace, args: string[], options: { allowFailure?: boolean; input?: string } = {}): Result {
    const full = ["--non-interactive", ...args];
    return recorded(ws, args, ws.run(PULUMI, full, { input: options.input }), options.allowFailure);
}

/** `cli`, without blocking: several stacks' commands run side by side. */
export async function cliAsync(ws: Workspace, args: string[], options: { allowFailure?: boolean; input?: string } = {}): Promise<Result> {
    const full = ["--non-interactive", ...args];
    return recorded(ws, args, await runAsync(PULUMI, full, ws, options.input), options.allowFailure);
}

/** Records a CLI run in the transcript; throws with its output if it failed and that was not allowed. */
function recorded(ws: Workspace, args: string[], result: Result, allowFailure = false): Result {
    ws.transcript.push(`$ pulumi --non-interactive ${args.join(" ")}\n${result.stdout}\n${result.stderr}`);
    if (result.code !== 0 && !allowFailure) {
        throw new Error(`pulumi ${args.join(" ")} exited ${result.code}:\n${result.stdout}\n${result.stderr}`);
    }
    return result;
}

function runAsync(command: string, args: string[], ws: Workspace, input?: string): Promise<Result> {
    return new Promise((resolve, reject) => {
        const child = spawn(command, args, { cwd: ws.dir, env: ws.env(), stdio: ["pipe", "pipe", "pipe"] });
        let stdout = "";
        let stderr = "";
        child.stdout.on("data", (d) => { stdout += d; });
        child.stderr.on("data", (d) => { stderr += d; });
        child.on("error", reject);
        child.on("close", (code) => resolve({ code: code ?? -1, stdout, stderr }));
        child.stdin.end(input ?? "");
    });
}

/** `ws.kubectl`, without blocking (this process keeps serving, e.g. a webhook the call reaches). */
export async function kubectlAsync(ws: Workspace, args: string[]): Promise<string> {
    const r = await runAsync(KUBECTL, ["--kubeconfig", ws.kubeconfig, ...args], ws);
    if (r.code !== 0) throw new Error(`kubectl ${args.join(" ")} exited ${r.code}:\n${r.stdout}\n${r.stderr}`);
    return r.stdout;
}

/**
 * A command whose output must not land in the transcript (the transcript is searched for secret
 * values): reading live Secrets, `stack export --show-secrets` for state comparisons.
 */
export function unrecorded(ws: Workspace, command: string, args: string[]): string {
    const r = ws.run(command, args);
    if (r.code !== 0) throw new Error(`${path.basename(command)} ${args.join(" ")} exited ${r.code}: ${r.stderr}`);
    return r.stdout;
}

/** `pulumi <args>` running in the background, its output going to a file (so nothing blocks on a pipe). */
export class BackgroundPulumi {
    /** Every run started, so a failed test's leftovers can be stopped before clean-up. */
    static readonly all: BackgroundPulumi[] = [];
    readonly started = Date.now();
    readonly child: ChildProcess;
    readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
    private readonly logFile: string;

    constructor(private readonly ws: Workspace, readonly args: string[]) {
        this.logFile = path.join(ws.dir, `.background-${Date.now()}.log`);
        const fd = fs.openSync(this.logFile, "w");
        this.child = spawn(PULUMI, ["--non-interactive", ...args], {
            cwd: ws.dir, env: ws.env(), stdio: ["ignore", fd, fd], detached: true,
        });
        fs.closeSync(fd);
        this.exited = new Promise((resolve) => this.child.on("exit", (code, signal) => resolve({ code, signal })));
        BackgroundPulumi.all.push(this);
    }

    /** Kills the runs still going (a test failed while one ran); returns their workspaces. */
    static async stopLeftovers(): Promise<Workspace[]> {
        const left = BackgroundPulumi.all.filter((b) => b.running);
        for (const b of left) b.killTree();
        await Promise.all(left.map((b) => b.exited));
        return left.map((b) => b.ws);
    }

    get pid(): number {
        return this.child.pid!;
    }

    get running(): boolean {
        return this.child.exitCode === null && this.child.signalCode === null;
    }

    output(): string {
        return fs.existsSync(this.logFile) ? fs.readFileSync(this.logFile, "utf8") : "";
    }

    /** Waits for the process to end (at most `timeoutSeconds`) and records its output in the transcript. */
    async result(timeoutSeconds: number): Promise<{ code: number | null; signal: string | null; output: string; seconds: number }> {
        let timer: NodeJS.Timeout | undefined;
        const timeout = new Promise<undefined>((resolve) => { timer = setTimeout(() => resolve(undefined), timeoutSeconds * 1000); });
        const done = await Promise.race([this.exited, timeout]);
        clearTimeout(timer);
        assert.ok(done, `pulumi ${this.args.join(" ")} still running after ${timeoutSeconds} s:\n${this.output().slice(-3000)}`);
        const output = this.output();
        this.ws.transcript.push(`$ pulumi ${this.args.join(" ")} (in the background)\n${output}`);
        return { ...done, output, seconds: (Date.now() - this.started) / 1000 };
    }

    /** SIGKILLs the CLI and everything it started (language host, node, providers), all at once. */
    killTree(): number[] {
        const pids = [this.pid, ...descendants(this.pid)];
        for (const pid of pids) {
            try {
                process.kill(pid, "SIGKILL");
            } catch {
                // already gone
            }
        }
        return pids;
    }
}

/** Every process below `pid` (the plugins run in their own process groups, so a group kill misses them). */
function descendants(pid: number): number[] {
    const out = spawnSync("ps", ["-e", "-o", "pid=,ppid="], { encoding: "utf8" }).stdout;
    const children = new Map<number, number[]>();
    for (const line of out.trim().split("\n")) {
        const [p, pp] = line.trim().split(/\s+/).map(Number);
        children.set(pp, [...(children.get(pp) ?? []), p]);
    }
    const found: number[] = [];
    const walk = (p: number) => {
        for (const c of children.get(p) ?? []) {
            found.push(c);
            walk(c);
        }
    };
    walk(pid);
    return found;
}

export function alive(pid: number): boolean {
    try {
        const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
        return !/^\d+ \(.*\) Z/.test(stat);
    } catch {
        return false;
    }
}

/** Polls (asynchronously, so background processes are reaped) until `check` holds. */
export async function until(what: string, check: () => boolean, timeoutSeconds: number, intervalMs = 500): Promise<void> {
    const deadline = Date.now() + timeoutSeconds * 1000;
    for (;;) {
        if (check()) return;
        if (Date.now() > deadline) assert.fail(`timed out after ${timeoutSeconds} s waiting for ${what}`);
        await sleep(intervalMs);
    }
}

// ---------------------------------------------------------------------------------------------
// State

function checkpointFile(ws: Workspace, stack: string): string {
    return path.join(ws.backend, ".pulumi", "stacks", "trading-bot", `${stack}.json`);
}

/**
 * The stack's resources as the state file holds them, comparable across runs: the checkpoint's
 * write time, each resource's created/modified times and the secrets' ciphertexts (re-encrypted
 * with a fresh nonce on every write) are left out. Read from the backend's file, no CLI needed.
 */
export function stateResources(ws: Workspace, stack: string): { resources: any[]; pending: any[] } {
    const doc = JSON.parse(fs.readFileSync(checkpointFile(ws, stack), "utf8"));
    const latest = doc.checkpoint?.latest ?? {};
    const strip = (v: any): any => {
        if (Array.isArray(v)) return v.map(strip);
        if (v && typeof v === "object") {
            if (typeof v.ciphertext === "string") return { ...v, ciphertext: "<ciphertext>" };
            return Object.fromEntries(Object.entries(v)
                .filter(([k]) => k !== "created" && k !== "modified")
                .map(([k, x]) => [k, strip(x)]));
        }
        return v;
    };
    return { resources: canonical(strip(latest.resources ?? [])), pending: latest.pending_operations ?? [] };
}

/**
 * Resources in a canonical order: by URN, with dependency lists sorted. A failed update rewrites
 * the state file with the same resources and dependencies in the order that run met them.
 */
function canonical(resources: any[]): any[] {
    const sorted = (a: unknown) => (Array.isArray(a) ? [...a].sort() : a);
    return resources.map((r) => ({
        ...r,
        ...(r.dependencies ? { dependencies: sorted(r.dependencies) } : {}),
        ...(r.propertyDependencies ? {
            propertyDependencies: Object.fromEntries(Object.entries(r.propertyDependencies).map(([k, v]) => [k, sorted(v)])),
        } : {}),
    })).sort((a, b) => a.urn.localeCompare(b.urn));
}

/** Fails with the URNs (and top-level fields) that differ, never with values (they may be secret). */
export function assertSameState(actual: any[], expected: any[], what: string): void {
    const byUrn = (rs: any[]) => new Map(rs.map((r) => [r.urn, r]));
    const a = byUrn(actual);
    const e = byUrn(expected);
    const differences: string[] = [];
    for (const urn of new Set([...a.keys(), ...e.keys()])) {
        const x = a.get(urn);
        const y = e.get(urn);
        if (!x || !y) {
            differences.push(`${urn}: ${x ? "added" : "removed"}`);
        } else if (JSON.stringify(x) !== JSON.stringify(y)) {
            const keys = [...new Set([...Object.keys(x), ...Object.keys(y)])].filter((k) => JSON.stringify(x[k]) !== JSON.stringify(y[k]));
            differences.push(`${urn}: ${keys.join(", ")} changed`);
        }
    }
    assert.deepStrictEqual(differences, [], `${what}: the state changed`);
}

/**
 * One digest of everything the state holds, secret values included (decrypted by
 * `stack export --show-secrets`, which is never printed nor recorded), timestamps left out.
 * Equal digests: not one value of the state changed. Asynchronous, so stacks are read side by side.
 */
export async function stateDigest(ws: Workspace, stack: string): Promise<string> {
    const r = await runAsync(PULUMI, ["--non-interactive", "stack", "export", "--show-secrets", "--stack", stack], ws);
    if (r.code !== 0) throw new Error(`pulumi stack export --show-secrets --stack ${stack} exited ${r.code}: ${r.stderr}`);
    return digestOf(JSON.parse(r.stdout));
}

function digestOf(doc: any): string {
    const resources = canonical((doc.deployment.resources ?? []).map((r: any) => {
        const { created, modified, ...rest } = r;
        return rest;
    }));
    const text = JSON.stringify({ resources, pending: doc.deployment.pending_operations ?? [] });
    return crypto.createHash("sha256").update(text).digest("hex");
}

/** `pulumi stack export` (the documented, secret-free form), parsed. */
export function exportState(ws: Workspace, stack: string): any {
    return JSON.parse(cli(ws, ["stack", "export", "--stack", stack]).stdout);
}

/** kind/name of every Kubernetes object the state holds (kind from the type token). */
export function stateObjects(exported: any): string[] {
    return (exported.deployment.resources ?? [])
        .filter((r: any) => r.type.startsWith("kubernetes:") && !r.type.startsWith("pulumi:providers:"))
        .map((r: any) => `${r.type.split(":").pop()}/${r.outputs?.metadata?.name ?? r.id}`);
}

// ---------------------------------------------------------------------------------------------
// Live objects

const NAMESPACED_KINDS = [
    "configmaps", "secrets", "services", "deployments", "replicasets", "pods", "persistentvolumeclaims",
    "serviceaccounts", "roles", "rolebindings", "leases", "horizontalpodautoscalers",
    "poddisruptionbudgets", "networkpolicies", "ingresses", "endpointslices",
];
/** Kinds whose controllers rewrite their status on their own: compared by uid and generation only. */
const STATUS_CHURN = new Set(["HorizontalPodAutoscaler", "PodDisruptionBudget", "EndpointSlice"]);

/** The kubectl reads of the live objects: every namespaced object of NAMESPACED_KINDS, then the namespace. */
function liveReads(ns: string): string[][] {
    return [["-n", ns, "get", NAMESPACED_KINDS.join(",")], ["get", "namespace", ns]];
}

export function liveObjects(ws: Workspace, ns: string): any[] {
    const [list, namespace] = liveReads(ns).map((args) => ws.kubectlJson(args));
    return [namespace, ...list.items];
}

/**
 * Identity and version of every object in the namespace (and of the namespace): a write by anyone
 * changes a resourceVersion; a delete and re-create changes the uid. Asynchronous, so namespaces
 * are read side by side.
 */
export async function liveSnapshot(ws: Workspace, ns: string): Promise<Record<string, string>> {
    const [list, namespace] = await Promise.all(liveReads(ns).map(async (args) => JSON.parse(await kubectlAsync(ws, [...args, "-o", "json"]))));
    return snapshotOf([namespace, ...list.items]);
}

function snapshotOf(objects: any[]): Record<string, string> {
    const snapshot: Record<string, string> = {};
    for (const o of objects) {
        const m = o.metadata;
        const version = STATUS_CHURN.has(o.kind) ? `generation ${m.generation}` : `rv ${m.resourceVersion}`;
        snapshot[`${o.kind}/${m.name}`] = `uid ${m.uid} ${version}${m.deletionTimestamp ? " deleting" : ""}`;
    }
    return snapshot;
}

/**
 * The objects labelled managed-by=pulumi that no controller owns (pods, replica sets and endpoint
 * slices belong to their owners): each must be in the state, or it is an orphan.
 */
export function managedLive(ws: Workspace, ns: string): string[] {
    return liveObjects(ws, ns)
        .filter((o) => o.metadata.labels?.["app.kubernetes.io/managed-by"] === "pulumi")
        .filter((o) => !(o.metadata.ownerReferences ?? []).length)
        .filter((o) => !o.metadata.deletionTimestamp)
        .map((o) => `${o.kind}/${o.metadata.name}`)
        .sort();
}

export const isReady = (pod: any) =>
    (pod.status?.conditions ?? []).some((c: any) => c.type === "Ready" && c.status === "True");

/** The addresses of a Service's ready endpoints. */
export function readyEndpoints(ws: Workspace, ns: string, service: string): string[] {
    const slices = ws.kubectlJson(["-n", ns, "get", "endpointslices", "-l", `kubernetes.io/service-name=${service}`]);
    return slices.items.flatMap((s: any) => s.endpoints ?? [])
        .filter((e: any) => e.conditions?.ready)
        .flatMap((e: any) => e.addresses ?? []);
}

// ---------------------------------------------------------------------------------------------
// The local cluster's API server

function apiServerPid(): number | undefined {
    if (!fs.existsSync(API_SERVER_PID_FILE)) return undefined;
    const pid = Number(fs.readFileSync(API_SERVER_PID_FILE, "utf8").trim());
    if (!pid || !alive(pid)) return undefined;
    const exe = fs.readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0")[0];
    return exe === path.join(TOOLCHAIN_BIN, "kube-apiserver") ? pid : undefined;
}

/** Kills the cluster's kube-apiserver (SIGKILL: it is gone at once, as in a crash). */
export async function stopApiServer(): Promise<number> {
    const pid = apiServerPid();
    assert.ok(pid, `no running kube-apiserver (pid file ${API_SERVER_PID_FILE})`);
    process.kill(pid, "SIGKILL");
    await until("the kube-apiserver to exit", () => !alive(pid), 30, 100);
    return pid;
}

/** Brings the cluster back the documented way (`npm run cluster -- up`): starts what is not running. */
export function startCluster(): number {
    const start = Date.now();
    const r = spawnSync("bash", [CLUSTER_SH, "up"], { encoding: "utf8", cwd: PROJECT_DIR });
    assert.strictEqual(r.status, 0, `cluster.sh up failed:\n${r.stdout}\n${r.stderr}`);
    return (Date.now() - start) / 1000;
}

export function apiServerRunning(): boolean {
    return apiServerPid() !== undefined;
}

/**
 * Pulumi CLIs that this test process did not start: someone else is deploying to the shared
 * cluster, and a stopped API server would break their run.
 */
export function foreignPulumiRuns(): number[] {
    const mine = new Set(descendants(process.pid));
    const out = spawnSync("ps", ["-e", "-o", "pid=,args="], { encoding: "utf8" }).stdout;
    return out.trim().split("\n")
        .map((line) => line.trim().match(/^(\d+)\s+(.*)$/))
        .filter((m): m is RegExpMatchArray => !!m && (m[2].startsWith(`${PULUMI} `) || /^pulumi (up|preview|destroy|refresh) /.test(m[2])))
        .map((m) => Number(m[1]))
        .filter((pid) => !mine.has(pid));
}

// ---------------------------------------------------------------------------------------------
// RBAC

export const RBAC_VERBS = ["get", "list", "watch", "create", "update", "patch", "delete", "deletecollection"];
/** resource -> [API group, namespaced]. */
export const RBAC_RESOURCES: Record<string, [string, boolean]> = {
    pods: ["", true], secrets: ["", true], configmaps: ["", true], leases: ["coordination.k8s.io", true],
    deployments: ["apps", true], services: ["", true], serviceaccounts: ["", true],
    roles: ["rbac.authorization.k8s.io", true], rolebindings: ["rbac.authorization.k8s.io", true],
    events: ["", true], persistentvolumeclaims: ["", true], namespaces: ["", false], nodes: ["", false],
};

export interface AccessQuestion {
    verb: string;
    resource: string;
    namespace?: string;
    name?: string;
}

/**
 * Asks the API server's authorizer (SubjectAccessReview, one request for all questions) what the
 * service account may do, with the groups its token carries.
 */
export function subjectAccess(ws: Workspace, ns: string, account: string, questions: AccessQuestion[]): boolean[] {
    const user = `system:serviceaccount:${ns}:${account}`;
    const list = {
        apiVersion: "v1", kind: "List",
        items: questions.map((q) => ({
            apiVersion: "authorization.k8s.io/v1", kind: "SubjectAccessReview",
            spec: {
                user, groups: ["system:serviceaccounts", `system:serviceaccounts:${ns}`, "system:authenticated"],
                resourceAttributes: {
                    verb: q.verb, resource: q.resource, group: RBAC_RESOURCES[q.resource]?.[0] ?? "",
                    ...(q.namespace ? { namespace: q.namespace } : {}), ...(q.name ? { name: q.name } : {}),
                },
            },
        })),
    };
    const r = ws.kubectl(["create", "-f", "-", "-o", "json"], { input: JSON.stringify(list) });
    // kubectl prints one JSON document per created object; match each answer to its question.
    const items = jsonDocuments(r.stdout).flatMap((d) => (d.kind === "List" ? d.items : [d]));
    assert.strictEqual(items.length, questions.length);
    return items.map((item: any, i: number) => {
        const a = item.spec.resourceAttributes;
        const q = questions[i];
        assert.deepStrictEqual([a.verb, a.resource, a.namespace, a.name], [q.verb, q.resource, q.namespace, q.name]);
        return item.status?.allowed === true;
    });
}

/** Splits concatenated JSON documents (kubectl's output for several objects). */
function jsonDocuments(text: string): any[] {
    const docs: any[] = [];
    let depth = 0;
    let start = -1;
    let inString = false;
    for (let i = 0; i < text.length; i++) {
        const ch = text[i];
        if (inString) {
            if (ch === "\\") i++;
            else if (ch === '"') inString = false;
        } else if (ch === '"') {
            inString = true;
        } else if (ch === "{") {
            if (depth++ === 0) start = i;
        } else if (ch === "}" && --depth === 0) {
            docs.push(JSON.parse(text.slice(start, i + 1)));
        }
    }
    return docs;
}

/** Whether a Role's rules allow a request (no wildcards: the Role must not use any). */
export function roleAllows(rules: any[], q: AccessQuestion): boolean {
    const group = RBAC_RESOURCES[q.resource][0];
    return rules.some((r) =>
        (r.apiGroups ?? []).includes(group) && (r.resources ?? []).includes(q.resource) && (r.verbs ?? []).includes(q.verb)
        && (!(r.resourceNames ?? []).length || (q.name !== undefined && r.resourceNames.includes(q.name))));
}
