/**
 * Day-2 operations on a dev stack with in-cluster PostgreSQL and Redis (real engine, local
 * cluster): removing the first bot, renaming the only bot, reordering bots, and re-pointing the
 * stack at the same cluster through a regenerated kubeconfig. Each must touch only the objects of
 * the bots it is about: the namespace, the databases (their pods, claims and generated passwords)
 * and every other bot's objects keep their UIDs, and the preview before it shows exactly those
 * steps. The preview's steps are printed, named by Kubernetes object.
 */
import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import { IN_CLUSTER_HOSTS } from "../../contract";
import { botPods, waitFor } from "./cluster";
import {
    assertSameUids, deployAll, destroyAll, initDevStack, isProvider, kindOf, liveUids, log, managedObjectsOf,
    nameOf, ownedBy, PlanStep, preview, printSteps, runNamespace, setBots, STACK,
} from "./day2/support";
import { KUBECTL, Workspace } from "./workspace";

/** The in-cluster databases' Service names (their objects are `<host>`, `<host>-data`, `<host>-credentials`). */
const DATABASE_HOSTS = Object.values(IN_CLUSTER_HOSTS);

const sorted = (xs: Iterable<string>) => [...xs].sort();
const summary = (steps: PlanStep[]) => steps.map((s) => `${s.op} ${s.what}`).join("\n");

/**
 * The objects every bot shares and that the test watches by UID, so that an assertion over
 * "everything else" can never hold vacuously: the namespace, each database's pod, claim and Secret.
 */
function assertSharedObjectsPresent(uids: Map<string, string>, namespace: string): void {
    const have = [...uids.keys()];
    const missing = [`Namespace/${namespace}`,
        ...DATABASE_HOSTS.flatMap((h) => [`PersistentVolumeClaim/${h}-data`, `Secret/${h}-credentials`])]
        .filter((k) => !uids.has(k));
    for (const host of DATABASE_HOSTS) {
        if (!have.some((k) => kindOf(k) === "Pod" && ownedBy(host, nameOf(k)))) missing.push(`Pod/${host}-*`);
    }
    assert.deepStrictEqual(missing, [], `the stack does not have the objects this test watches`);
}

/** A bot's own objects the brief names: its claim, Secret, ConfigMap and pods. */
function assertBotObjectsPresent(uids: Map<string, string>, bot: string): void {
    const have = [...uids.keys()];
    const missing = [`PersistentVolumeClaim/${bot}-data`, `Secret/${bot}-secrets`, `ConfigMap/${bot}-config`].filter((k) => !uids.has(k));
    if (!have.some((k) => kindOf(k) === "Pod" && ownedBy(bot, nameOf(k)))) missing.push(`Pod/${bot}-*`);
    assert.deepStrictEqual(missing, [], `${bot} does not have the objects this test watches`);
}

/** Waits until none of the bot's objects is left (pods go after their Deployment, through the garbage collector). */
function waitUntilGone(ws: Workspace, namespace: string, bot: string): void {
    let left: string[] = [];
    waitFor(`${bot}'s objects to be gone`, () => {
        left = [...liveUids(ws, namespace).keys()].filter((k) => ownedBy(bot, nameOf(k)));
        return left.length === 0;
    }, 60);
}

interface Case {
    namespace: string;
    bots: string[];
    ws?: Workspace;
}

describe("day-2 operations on a dev stack with in-cluster databases (real engine, local cluster)", function () {
    const cases: Record<"remove" | "rename" | "reorder" | "kubeconfig", Case> = {
        remove: { namespace: runNamespace("e2e-day2-remove"), bots: ["btc-usdt", "eth-usdt"] },
        rename: { namespace: runNamespace("e2e-day2-rename"), bots: ["alpha"] },
        reorder: { namespace: runNamespace("e2e-day2-reorder"), bots: ["btc-usdt", "eth-usdt"] },
        kubeconfig: { namespace: runNamespace("e2e-day2-kubeconfig"), bots: ["btc-usdt", "eth-usdt"] },
    };

    before(async function () {
        // One stack per operation, each in its own namespace, deployed side by side.
        const started = Date.now();
        for (const [label, c] of Object.entries(cases)) {
            c.ws = new Workspace(`day2-${label}`);
            initDevStack(c.ws, c.namespace, c.bots);
        }
        await deployAll(Object.values(cases).map((c) => c.ws!));
        log(`deployed ${Object.keys(cases).length} stacks in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    });

    after(async () => {
        await destroyAll(Object.values(cases));
    });

    it("removing the first of two bots deletes exactly that bot's objects; the namespace, the databases and the other bot survive", () => {
        const { ws, namespace } = cases.remove;
        const [removed, kept] = cases.remove.bots;
        const before = liveUids(ws!, namespace);
        assertSharedObjectsPresent(before, namespace);
        assertBotObjectsPresent(before, kept);
        const removedObjects = managedObjectsOf(ws!, namespace, removed);

        // What a user types: drop the list's first entry.
        ws!.pulumi(["config", "rm", "--path", "trading-bot:bots[0]", "--stack", STACK]);
        const { changed } = preview(ws!);
        printSteps(`remove bots[0] (${removed})`, changed);
        const notDeletes = changed.filter((s) => s.op !== "delete");
        assert.deepStrictEqual(summary(notDeletes), "", `only deletes were expected`);
        const othersDeleted = changed.filter((s) => !ownedBy(removed, s.name));
        assert.deepStrictEqual(summary(othersDeleted), "", `deletes of what is not ${removed}'s`);
        assert.deepStrictEqual(sorted(changed.filter((s) => s.kubernetes).map((s) => s.what)), sorted(removedObjects),
            `the deletes must be exactly ${removed}'s objects`);

        ws!.pulumi(["up", "--stack", STACK, "--yes", "--skip-preview"]);
        waitUntilGone(ws!, namespace, removed);
        const survivors = assertSameUids(before, liveUids(ws!, namespace), (k) => !ownedBy(removed, nameOf(k)), `after removing ${removed}`);
        log(`kept their UIDs: ${survivors.join(", ")}`);
        ws!.pulumi(["preview", "--stack", STACK, "--expect-no-changes"]);
    });

    it("renaming the only bot deletes the old name's objects and creates the new one's; the namespace and the databases survive", () => {
        const { ws, namespace } = cases.rename;
        const [from] = cases.rename.bots;
        const to = "beta";
        const before = liveUids(ws!, namespace);
        assertSharedObjectsPresent(before, namespace);
        const fromObjects = managedObjectsOf(ws!, namespace, from);

        ws!.pulumi(["config", "set", "--path", "trading-bot:bots[0].name", to, "--stack", STACK]);
        const { changed } = preview(ws!);
        printSteps(`rename ${from} -> ${to}`, changed);
        const unexpected = changed.filter((s) => !(s.op === "delete" && ownedBy(from, s.name)) && !(s.op === "create" && ownedBy(to, s.name)));
        assert.deepStrictEqual(summary(unexpected), "", `only deletes of ${from}'s and creates of ${to}'s were expected`);
        const k8s = (op: string) => sorted(changed.filter((s) => s.kubernetes && s.op === op).map((s) => s.what));
        assert.deepStrictEqual(k8s("delete"), sorted(fromObjects), `the deletes must be exactly ${from}'s objects`);
        const renamed = fromObjects.map((k) => `${kindOf(k)}/${to}${nameOf(k).slice(from.length)}`);
        assert.deepStrictEqual(k8s("create"), sorted(renamed), `the creates must be ${from}'s objects under the new name`);

        ws!.pulumi(["up", "--stack", STACK, "--yes", "--skip-preview"]);
        waitUntilGone(ws!, namespace, from);
        const after = liveUids(ws!, namespace);
        const survivors = assertSameUids(before, after, (k) => !ownedBy(from, nameOf(k)), `after renaming ${from} to ${to}`);
        log(`kept their UIDs: ${survivors.join(", ")}`);
        waitFor(`${to}'s pod to be ready`, () => botPods(ws!, namespace, to).some((p) =>
            (p.status?.conditions ?? []).some((c: any) => c.type === "Ready" && c.status === "True")), 60);
        ws!.pulumi(["preview", "--stack", STACK, "--expect-no-changes"]);
    });

    it("reordering the bots changes nothing", () => {
        const { ws, namespace, bots } = cases.reorder;
        const before = liveUids(ws!, namespace);
        assertSharedObjectsPresent(before, namespace);
        for (const bot of bots) assertBotObjectsPresent(before, bot);

        setBots(ws!, [...bots].reverse());
        const { changed } = preview(ws!);
        printSteps(`reorder [${bots.join(", ")}] -> [${[...bots].reverse().join(", ")}]`, changed);
        assert.deepStrictEqual(summary(changed), "", "reordering the bots must change nothing");

        ws!.pulumi(["up", "--stack", STACK, "--yes", "--skip-preview"]);
        const kept = assertSameUids(before, liveUids(ws!, namespace), () => true, "after reordering the bots");
        log(`all ${kept.length} objects kept their UIDs`);
    });

    it("a regenerated kubeconfig for the same cluster (new file, context, names, server name) changes no object", () => {
        const { ws, namespace } = cases.kubeconfig;
        const before = liveUids(ws!, namespace);
        assertSharedObjectsPresent(before, namespace);

        // The same API server and credentials under new names, at another path, reaching the server
        // as `localhost` instead of 127.0.0.1 (both are in its certificate: local/cluster/pki.sh).
        const config = ws!.kubectlJson(["config", "view", "--raw", "--minify", "--flatten", "--context", "trading-bot-local"]);
        const server = new URL(config.clusters[0].cluster.server);
        assert.strictEqual(server.hostname, "127.0.0.1", `the local cluster's server is ${server}`);
        server.hostname = "localhost";
        const regenerated = {
            apiVersion: "v1", kind: "Config",
            clusters: [{ name: "regenerated-cluster", cluster: { ...config.clusters[0].cluster, server: server.toString().replace(/\/$/, "") } }],
            users: [{ name: "regenerated-admin", user: config.users[0].user }],
            contexts: [{ name: "regenerated-context", context: { cluster: "regenerated-cluster", user: "regenerated-admin" } }],
            "current-context": "regenerated-context",
        };
        const file = path.join(ws!.dir, "regenerated", "kubeconfig.yaml");
        fs.mkdirSync(path.dirname(file));
        fs.writeFileSync(file, JSON.stringify(regenerated, null, 2), { mode: 0o600 });
        // The new kubeconfig really reaches the cluster (TLS to `localhost` verifies).
        const check = ws!.run(KUBECTL, ["--kubeconfig", file, "--context", "regenerated-context", "get", "namespace", namespace, "-o", "name"]);
        assert.strictEqual(check.code, 0, `the regenerated kubeconfig does not reach the cluster: ${check.stderr}`);
        log(`kubeconfig ${ws!.kubeconfig} (context trading-bot-local, ${config.clusters[0].cluster.server}) -> ${file} (context regenerated-context, ${regenerated.clusters[0].cluster.server})`);

        ws!.pulumi(["config", "set-all", "--stack", STACK,
            "--plaintext", `trading-bot:kubeconfig=${file}`, "--plaintext", "trading-bot:kubeContext=regenerated-context"]);
        const { changed } = preview(ws!);
        printSteps("re-point at the same cluster through a regenerated kubeconfig", changed);
        const unexpected = changed.filter((s) => !(isProvider(s.type) && s.op === "update"));
        assert.deepStrictEqual(summary(unexpected), "", "only an update of the provider was expected");

        ws!.pulumi(["up", "--stack", STACK, "--yes", "--skip-preview"]);
        const kept = assertSameUids(before, liveUids(ws!, namespace), () => true, "after re-pointing the stack");
        log(`all ${kept.length} objects kept their UIDs`);
        ws!.pulumi(["preview", "--stack", STACK, "--expect-no-changes"]);
    });
});
