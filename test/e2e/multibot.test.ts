/**
 * Two bots in one stack on the local cluster, declared the way the README shows (`config set
 * --path 'bots[N]...'`, a per-bot secret with `--secret --path`): each bot's own ConfigMap,
 * Secret, PVC, Deployment and Service come up and serve only that bot's pods; per-bot overrides
 * and secrets land on that bot only; one bot's ServiceAccount cannot take the other's Lease; and
 * removing a bot from the list deletes its objects alone, leaving the other bot's pod running.
 */
import * as assert from "assert";
import { TEST_SECRETS } from "../unit/harness";
import { assertNoSecretIn, botPods } from "./cluster";
import { previewSummary, Workspace } from "./workspace";

const STACK = "dev";
const NS = "e2e-multibot";
const BOTS = ["btc-usdt", "eth-usdt"] as const;
/** The second bot's own API key (the first one uses the stack's). */
const ETH_API_KEY = "test-eth-only-api-key-42c1";

function secretValue(ws: Workspace, name: string, key: string): string {
    const data = ws.kubectlJson(["-n", NS, "get", "secret", name]).data;
    return Buffer.from(data[key], "base64").toString("utf8");
}

describe("two bots in one stack on the local cluster (real engine, real providers)", function () {
    let ws: Workspace;

    before(() => {
        ws = new Workspace("multibot");
        ws.initStack(STACK, { namespace: NS, leaderElectionEnabled: "true" }, {
            binanceApiKey: TEST_SECRETS.binanceApiKey,
            binanceApiSecret: TEST_SECRETS.binanceApiSecret,
        });
        const set = (path: string, value: string) =>
            ws.pulumi(["config", "set", "--path", `trading-bot:${path}`, value, "--stack", STACK]);
        set("bots[0].name", BOTS[0]);
        set("bots[1].name", BOTS[1]);
        set("bots[1].logLevel", "warning");
        set("bots[1].storageSize", "2Gi");
        // The documented path for a per-bot secret: the value on stdin.
        ws.pulumi(["config", "set", "--secret", "--path", "trading-bot:bots[1].binanceApiKey", "--stack", STACK], { input: ETH_API_KEY });
    });

    after(() => {
        if (!ws) return;
        ws.pulumi(["destroy", "--stack", STACK, "--yes", "--skip-preview"], { allowFailure: true });
        ws.remove();
    });

    it("up brings both bots up, each with its own ready pod, Bound claim and Service endpoints", () => {
        ws.pulumi(["up", "--stack", STACK, "--yes", "--skip-preview"]);
        for (const bot of BOTS) {
            const deployment = ws.kubectlJson(["-n", NS, "get", "deployment", bot]);
            assert.strictEqual(deployment.status.readyReplicas, 1, `${bot} has no ready pod`);
            const pvc = ws.kubectlJson(["-n", NS, "get", "pvc", `${bot}-data`]);
            assert.strictEqual(pvc.status.phase, "Bound", `${bot}-data`);
            // The Service selects this bot's pod and never the other bot's.
            const pods = botPods(ws, NS, bot).map((p: any) => p.metadata.name);
            assert.strictEqual(pods.length, 1, `${bot}: ${pods.join(", ")}`);
            const slices = ws.kubectlJson(["-n", NS, "get", "endpointslices", "-l", `kubernetes.io/service-name=${bot}`]);
            const targets = slices.items.flatMap((s: any) => s.endpoints ?? [])
                .filter((e: any) => e.conditions?.ready).map((e: any) => e.targetRef?.name);
            assert.deepStrictEqual(targets, pods, `service ${bot} routes to ${targets.join(", ")}`);
        }
        assert.strictEqual(ws.kubectlJson(["-n", NS, "get", "pvc", "eth-usdt-data"]).status.capacity.storage, "2Gi");
        assert.strictEqual(ws.kubectlJson(["-n", NS, "get", "pvc", "btc-usdt-data"]).status.capacity.storage, "5Gi");
        const outputs = JSON.parse(ws.pulumi(["stack", "output", "--stack", STACK, "--json"]).stdout);
        assert.deepStrictEqual(Object.keys(outputs.bots).sort(), [...BOTS]);
    });

    it("per-bot overrides and secrets land on that bot only", () => {
        const logLevel = (bot: string) => ws.kubectlJson(["-n", NS, "get", "configmap", `${bot}-config`]).data.LOG_LEVEL;
        assert.strictEqual(logLevel("eth-usdt"), "warning");
        assert.strictEqual(logLevel("btc-usdt"), "debug");
        assert.strictEqual(secretValue(ws, "eth-usdt-secrets", "binance-api-key"), ETH_API_KEY);
        assert.strictEqual(secretValue(ws, "btc-usdt-secrets", "binance-api-key"), TEST_SECRETS.binanceApiKey);
        // The stack's secret (shared) is still used where the bot sets none of its own.
        assert.strictEqual(secretValue(ws, "eth-usdt-secrets", "binance-api-secret"), TEST_SECRETS.binanceApiSecret);
        const secrets = [ETH_API_KEY, TEST_SECRETS.binanceApiKey, TEST_SECRETS.binanceApiSecret];
        assertNoSecretIn("state", ws.backendText(), secrets);
        assertNoSecretIn("CLI output", ws.transcript.join("\n"), secrets);
        assertNoSecretIn("stack file", ws.stackFileText(STACK), secrets);
        assertNoSecretIn("ConfigMaps", ws.kubectl(["-n", NS, "get", "configmaps", "-o", "yaml"]).stdout, secrets);
    });

    it("each bot's ServiceAccount can take its own Lease and not the other bot's", () => {
        const canI = (sa: string, lease: string) => ws.kubectl(
            ["auth", "can-i", "update", `leases.coordination.k8s.io/${lease}`, "-n", NS, `--as=system:serviceaccount:${NS}:${sa}`],
            { allowFailure: true }).stdout.trim();
        const seen: string[] = [];
        for (const sa of BOTS) {
            for (const owner of BOTS) {
                const answer = canI(sa, `${owner}-leader`);
                seen.push(`${sa} update ${owner}-leader: ${answer}`);
                assert.strictEqual(answer, sa === owner ? "yes" : "no", seen.join("\n"));
            }
        }
        console.log(`      ${seen.join("\n      ")}`);
    });

    it("a second preview reports no changes (--expect-no-changes)", () => {
        ws.pulumi(["preview", "--stack", STACK, "--expect-no-changes"]);
    });

    it("removing a bot from the list deletes its objects alone; the other bot keeps running", () => {
        const before = botPods(ws, NS, "btc-usdt").map((p: any) => p.metadata.name);
        ws.pulumi(["config", "rm", "--path", "trading-bot:bots[1]", "--stack", STACK]);
        const { steps } = previewSummary(ws, STACK);
        const changed = steps.filter((s) => s.op !== "same" && !s.urn.endsWith("::trading-bot-dev"));
        const name = (urn: string) => urn.split("::").pop()!;
        const notDeletes = changed.filter((s) => s.op !== "delete").map((s) => `${s.op} ${name(s.urn)}`);
        assert.deepStrictEqual(notDeletes, [], "only deletes were expected");
        const deleted = changed.map((s) => name(s.urn));
        assert.ok(deleted.length >= 8, `too few deletes: ${deleted.join(", ")}`);
        assert.ok(deleted.every((n) => n.startsWith("eth-usdt")), `a delete that is not eth-usdt's: ${deleted.join(", ")}`);
        ws.pulumi(["up", "--stack", STACK, "--yes", "--skip-preview"]);
        assert.notStrictEqual(ws.kubectl(["-n", NS, "get", "deployment", "eth-usdt"], { allowFailure: true }).code, 0);
        assert.notStrictEqual(ws.kubectl(["-n", NS, "get", "secret", "eth-usdt-secrets"], { allowFailure: true }).code, 0);
        assert.deepStrictEqual(botPods(ws, NS, "btc-usdt").map((p: any) => p.metadata.name), before, "btc-usdt's pod rolled");
        ws.pulumi(["preview", "--stack", STACK, "--expect-no-changes"]);
    });
});
