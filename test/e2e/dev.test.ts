/**
 * The dev stack, end to end: the real Pulumi engine and providers against the local cluster.
 * preview -> up -> no-op preview -> in-place updates that roll the pods -> no leaked secret -> destroy.
 */
import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import { TEST_SECRETS } from "../unit/harness";
import { previewSummary, PROJECT_DIR, Workspace } from "./workspace";
import { assertNoSecretIn, botPods, waitFor } from "./cluster";

const STACK = "dev";
const NS = "e2e-dev";

describe("dev stack on the local cluster (real engine, real providers)", function () {
    let ws: Workspace;

    before(() => {
        ws = new Workspace("dev");
        ws.initStack(STACK, { namespace: NS }, {
            binanceApiKey: TEST_SECRETS.binanceApiKey,
            binanceApiSecret: TEST_SECRETS.binanceApiSecret,
        });
    });

    after(() => {
        if (!ws) return;
        // Leave nothing behind even when a test failed half-way.
        ws.pulumi(["destroy", "--stack", STACK, "--yes", "--skip-preview"], { allowFailure: true });
        ws.remove();
    });

    it("preview shows the full plan: every resource of test/expected/dev.json is created", () => {
        const { steps, counts } = previewSummary(ws, STACK);
        const expected = JSON.parse(fs.readFileSync(path.join(PROJECT_DIR, "test/expected/dev.json"), "utf8")) as { type: string; name: string }[];
        const planned = steps.filter((s) => s.op === "create").map((s) => {
            const parts = s.urn.split("::");
            return `${parts[2].split("$").pop()} ${parts[3]}`;
        });
        for (const r of expected) {
            assert.ok(planned.includes(`${r.type} ${r.name}`), `the preview does not create ${r.type} ${r.name}`);
        }
        assert.strictEqual(counts.create, planned.length);
        assert.ok(!counts.update && !counts.delete && !counts.replace);
    });

    it("up creates every resource; pods become Ready, the PVC is Bound, the Service has endpoints", () => {
        ws.pulumi(["up", "--stack", STACK, "--yes", "--skip-preview"]);
        const deployment = ws.kubectlJson(["-n", NS, "get", "deployment", "trading-bot"]);
        assert.strictEqual(deployment.status.readyReplicas, 1);
        assert.strictEqual(deployment.status.updatedReplicas, 1);
        for (const pvc of ["trading-bot-data", "postgres-data", "redis-data"]) {
            assert.strictEqual(ws.kubectlJson(["-n", NS, "get", "pvc", pvc]).status.phase, "Bound", pvc);
        }
        const pvc = ws.kubectlJson(["-n", NS, "get", "pvc", "trading-bot-data"]);
        assert.strictEqual(pvc.status.capacity.storage, "5Gi");
        for (const service of ["trading-bot", "postgres", "redis"]) {
            const slices = ws.kubectlJson(["-n", NS, "get", "endpointslices", "-l", `kubernetes.io/service-name=${service}`]);
            const ready = slices.items.flatMap((s: any) => s.endpoints ?? []).filter((e: any) => e.conditions?.ready);
            assert.ok(ready.length >= 1, `service ${service} has no ready endpoint`);
        }
        const pods = botPods(ws, NS);
        assert.strictEqual(pods.length, 1);
        assert.ok(pods[0].status.conditions.some((c: any) => c.type === "Ready" && c.status === "True"));
        const outputs = JSON.parse(ws.pulumi(["stack", "output", "--stack", STACK, "--json"]).stdout);
        assert.strictEqual(outputs.namespace, NS);
        assert.strictEqual(outputs.serviceDns, `trading-bot.${NS}.svc.cluster.local`);
    });

    it("a second preview reports no changes (--expect-no-changes)", () => {
        ws.pulumi(["preview", "--stack", STACK, "--expect-no-changes"]);
    });

    for (const change of [
        { key: "logLevel", value: "info", live: (cm: any) => assert.strictEqual(cm.data.LOG_LEVEL, "info") },
        { key: "imageTag", value: "1.0.1", live: () => undefined },
    ]) {
        it(`a ${change.key} change updates in place and rolls the pods; nothing is replaced`, () => {
            const before = botPods(ws, NS).map((p: any) => p.metadata.name);
            ws.pulumi(["config", "set", `trading-bot:${change.key}`, change.value, "--stack", STACK]);
            const { steps, counts } = previewSummary(ws, STACK);
            const changed = steps.filter((s) => s.op !== "same").map((s) => `${s.op} ${s.urn.split("::").pop()}`);
            assert.ok(!counts.replace && !counts.create && !counts.delete, `unexpected steps: ${changed.join(", ")}`);
            assert.ok(changed.includes("update trading-bot-deployment"), changed.join(", "));
            ws.pulumi(["up", "--stack", STACK, "--yes", "--skip-preview"]);
            const after = botPods(ws, NS);
            assert.strictEqual(after.length, 1);
            assert.ok(!before.includes(after[0].metadata.name), "the pod did not roll");
            if (change.key === "imageTag") assert.match(after[0].spec.containers[0].image, /:1\.0\.1$/);
            change.live(ws.kubectlJson(["-n", NS, "get", "configmap", "trading-bot-config"]));
            ws.pulumi(["preview", "--stack", STACK, "--expect-no-changes"]);
        });
    }

    it("no plaintext secret in the state, the CLI output, the stack file or the live ConfigMap", () => {
        const secrets = [TEST_SECRETS.binanceApiKey, TEST_SECRETS.binanceApiSecret];
        const generated = ws.pulumi(["stack", "output", "--stack", STACK, "--show-secrets", "--json"]).stdout;
        assert.ok(!secrets.some((s) => generated.includes(s)), "outputs must not carry secrets");
        assertNoSecretIn("state", ws.backendText(), secrets);
        assertNoSecretIn("CLI output", ws.transcript.join("\n"), secrets);
        assertNoSecretIn("stack file", ws.stackFileText(STACK), secrets);
        const cm = ws.kubectl(["-n", NS, "get", "configmaps", "-o", "yaml"]).stdout;
        assertNoSecretIn("ConfigMaps", cm, secrets);
        // The live Secret does hold them: the bot reads its keys from there.
        const live = ws.kubectlJson(["-n", NS, "get", "secret", "trading-bot-secrets"]);
        assert.strictEqual(Buffer.from(live.data["binance-api-key"], "base64").toString(), TEST_SECRETS.binanceApiKey);
    });

    it("destroy removes everything the stack created and leaves nothing behind", () => {
        ws.pulumi(["destroy", "--stack", STACK, "--yes", "--skip-preview"]);
        const ns = ws.kubectl(["get", "namespace", NS], { allowFailure: true });
        assert.notStrictEqual(ns.code, 0, "the namespace still exists");
        waitFor("the data volumes to be released", () => {
            const pvs = ws.kubectlJson(["get", "pv"]).items.filter((pv: any) => pv.spec.claimRef?.namespace === NS);
            return pvs.length === 0;
        });
        const state = JSON.parse(ws.pulumi(["stack", "export", "--stack", STACK]).stdout);
        const left = (state.deployment.resources ?? []).filter((r: any) => r.type !== "pulumi:pulumi:Stack");
        assert.deepStrictEqual(left.map((r: any) => r.urn), []);
    });
});
