/**
 * Helpers of the day-2 end-to-end tests (test/e2e/day2.test.ts, test/e2e/upgrade.test.ts): a
 * dev-like stack with several bots, the steps of `pulumi preview --json` named by Kubernetes
 * object (kind/name) rather than by URN, and the UIDs of the live objects of a namespace.
 * The tests judge ownership by object names: a bot owns exactly the objects named `<bot>` or
 * `<bot>-*` (its pods and replica sets included); everything else in the namespace is shared.
 */
import * as assert from "assert";
import { cliAsync, kubectlAsync, liveObjects, log, managedLive } from "../reliability/support";
import { Workspace } from "../workspace";

export { log };

export const STACK = "dev";

/**
 * A namespace of this run: the cluster is shared, and another run of the same test file (another
 * checkout, another agent) must not delete or adopt this run's objects.
 */
export function runNamespace(name: string): string {
    return `${name}-${process.pid}`;
}

/**
 * A dev stack (the committed Pulumi.dev.yaml: in-cluster PostgreSQL and Redis with generated
 * passwords) in its own namespace, with the given bots in that order, declared like the README's
 * `config set --path 'bots[N].name'` (none: one bot from the top-level keys). Leader election is on
 * so that each bot also owns a Lease.
 */
export function initDevStack(ws: Workspace, namespace: string, bots: string[]): void {
    awaitNamespaceGone(ws, namespace);
    ws.initStack(STACK, { namespace, leaderElectionEnabled: "true" });
    if (bots.length) setBots(ws, bots);
}

/** Sets the stack's bots in this order (`config set --path 'bots[N].name' <bot>` for each, in one command). */
export function setBots(ws: Workspace, bots: string[]): void {
    ws.pulumi(["config", "set-all", "--path", "--stack", STACK,
        ...bots.flatMap((bot, i) => ["--plaintext", `trading-bot:bots[${i}].name=${bot}`])]);
}

/** `pulumi up` of several workspaces' stacks at once (each its own namespace): setup, not under test. */
export async function deployAll(workspaces: Workspace[]): Promise<void> {
    await Promise.all(workspaces.map((ws) => cliAsync(ws, ["up", "--stack", STACK, "--yes", "--skip-preview"])));
}

/**
 * Destroys the stacks and deletes their namespaces even if the state lost track of them, waiting
 * until each namespace is gone: the next run reuses its name, and a namespace still terminating
 * would take that run's new objects with it.
 */
export async function destroyAll(entries: { ws?: Workspace; namespace: string }[]): Promise<void> {
    await Promise.all(entries.filter((e) => e.ws).map(async ({ ws, namespace }) => {
        await cliAsync(ws!, ["destroy", "--stack", STACK, "--yes", "--skip-preview"], { allowFailure: true });
        await kubectlAsync(ws!, ["delete", "namespace", namespace, "--ignore-not-found", "--wait=true", "--timeout=180s"]).catch((e) => log(String(e)));
        ws!.remove();
    }));
}

/** Waits until a namespace of that name left by an earlier, interrupted run is gone. */
export function awaitNamespaceGone(ws: Workspace, namespace: string): void {
    ws.kubectl(["wait", "--for=delete", `namespace/${namespace}`, "--timeout=180s"], { allowFailure: true });
    const left = ws.kubectl(["get", "namespace", namespace, "--ignore-not-found", "-o", "name"]).stdout.trim();
    assert.strictEqual(left, "", `namespace ${namespace} from an earlier run is still there`);
}

// ---------------------------------------------------------------------------------------------
// Preview steps

export interface PlanStep {
    op: string;
    /** The resource type token, e.g. kubernetes:core/v1:Secret, random:index/randomPassword:RandomPassword. */
    type: string;
    /** Kubernetes objects: Kind/metadata.name; anything else: Type/logical name. */
    what: string;
    /** The object's (or, for non-Kubernetes resources, the logical) name. */
    name: string;
    kubernetes: boolean;
    /** Why the step is an update or a replace (the properties the engine names). */
    reasons: string[];
}

export const isProvider = (type: string) => type.startsWith("pulumi:providers:");
const isKubernetesObject = (type: string) => type.startsWith("kubernetes:");

/** Names a step of `pulumi preview --json` by what it touches: Kind/name for a Kubernetes object. */
function planStep(step: any): PlanStep {
    const urn: string = step.urn;
    const parts = urn.split("::");
    const type: string = step.newState?.type ?? step.oldState?.type ?? parts[2].split("$").pop();
    const logical = parts.slice(3).join("::");
    const kubernetes = isKubernetesObject(type);
    const objectName = (state: any) => state?.inputs?.metadata?.name ?? state?.outputs?.metadata?.name;
    const name = kubernetes ? (objectName(step.newState) ?? objectName(step.oldState) ?? logical) : logical;
    const kind = isProvider(type) ? `provider:${type.split(":").pop()}` : type.split(":").pop()!;
    const reasons = [
        ...(step.replaceReasons?.length ? [`replaces because of ${step.replaceReasons.join(", ")}`] : []),
        ...(step.diffReasons?.length ? [`differs in ${step.diffReasons.join(", ")}`] : []),
    ];
    return { op: step.op, type, what: `${kind}/${name}`, name, kubernetes, reasons };
}

/** `pulumi preview --json` (with the policy pack, as CI runs it): every step, named by object. */
export function preview(ws: Workspace): { steps: PlanStep[]; changed: PlanStep[] } {
    const doc = JSON.parse(ws.pulumi(["preview", "--stack", STACK, "--json"]).stdout);
    const steps: PlanStep[] = (doc.steps ?? []).map(planStep);
    // The stack resource itself carries only outputs: it is never a change to the cluster.
    const changed = steps.filter((s) => s.op !== "same" && s.type !== "pulumi:pulumi:Stack");
    return { steps, changed };
}

/** Prints the changed steps under the test (the issue note's "steps each operation produced"). */
export function printSteps(title: string, changed: PlanStep[]): void {
    const lines = changed.map((s) => `${s.op.padEnd(18)} ${s.what}${s.kubernetes || !s.reasons.length ? "" : ` (${s.reasons.join("; ")})`}`).sort();
    log(`${title}: ${changed.length} change(s)${lines.length ? "\n  " + lines.join("\n  ") : " (none)"}`);
}

export const isReplace = (s: PlanStep) => s.op.includes("replace");

/** Whether a Kubernetes object (or a bot's non-Kubernetes resource) by this name belongs to the bot. */
export function ownedBy(bot: string, name: string): boolean {
    return name === bot || name.startsWith(`${bot}-`);
}

// ---------------------------------------------------------------------------------------------
// Live objects

/** Kind/name -> uid of every object in the namespace (pods, replica sets, endpoint slices too) and of the namespace. */
export function liveUids(ws: Workspace, namespace: string): Map<string, string> {
    return new Map(liveObjects(ws, namespace)
        .filter((o) => !o.metadata.deletionTimestamp)
        .map((o) => [`${o.kind}/${o.metadata.name}`, o.metadata.uid]));
}

/** Kind/name of the objects the program created for the bot (labelled managed-by=pulumi, named after the bot). */
export function managedObjectsOf(ws: Workspace, namespace: string, bot: string): string[] {
    return managedLive(ws, namespace).filter((o) => ownedBy(bot, o.slice(o.indexOf("/") + 1)));
}

/**
 * Every object of `before` that `keep` selects still exists with the same uid in `after`
 * (the same object, never deleted and re-created). Fails listing each one that is gone or new.
 */
export function assertSameUids(before: Map<string, string>, after: Map<string, string>, keep: (what: string) => boolean, what: string): string[] {
    const kept = [...before.keys()].filter(keep).sort();
    const problems = kept.flatMap((k) => {
        const uid = after.get(k);
        if (uid === undefined) return [`${k}: gone`];
        return uid === before.get(k) ? [] : [`${k}: re-created (uid ${before.get(k)} -> ${uid})`];
    });
    assert.deepStrictEqual(problems, [], `${what}: objects that had to survive did not`);
    return kept;
}

export function nameOf(what: string): string {
    return what.slice(what.indexOf("/") + 1);
}

export function kindOf(what: string): string {
    return what.slice(0, what.indexOf("/"));
}
