/**
 * A Recreate rollout (the dev stack's bot, the in-cluster databases): `pulumi up` must return only
 * once the new pod is Ready, never while the old one has stopped and the new one does not exist.
 *
 * The moment that fooled pulumi-kubernetes 4.25's built-in Deployment await lasts as long as the
 * cluster takes to report the old pod gone (milliseconds on kwok, seconds on a loaded node, where
 * it failed a CI run): the Deployment already shows the new generation with the previous
 * rollout's conditions. An admission gate (./admissionGate.ts) holds the old ReplicaSet's status
 * update, so that moment lasts HOLD_SECONDS every run (components/recreate.ts has the fix).
 */
import * as assert from "assert";
import { TEST_SECRETS } from "../unit/harness";
import { AdmissionGate } from "./admissionGate";
import { botPods } from "./cluster";
import { cliAsync, isReady, log } from "./reliability/support";
import { Workspace } from "./workspace";

const STACK = "dev";
const NS = "e2e-rollout";
const HOLD_SECONDS = 20;
const TIMEOUT_SECONDS = 60;

describe("a Recreate rollout on the local cluster (real engine, an admission gate slowing the ReplicaSet's status)", function () {
    let ws: Workspace | undefined;
    let gate: AdmissionGate | undefined;

    before(() => {
        ws = new Workspace("rollout");
        ws.initStack(STACK, { namespace: NS }, { binanceApiKey: TEST_SECRETS.binanceApiKey, binanceApiSecret: TEST_SECRETS.binanceApiSecret });
        ws.pulumi(["up", "--stack", STACK, "--yes", "--skip-preview"]);
    });

    afterEach(async () => {
        await gate?.close();
        gate = undefined;
    });

    after(() => {
        if (!ws) return;
        ws.pulumi(["destroy", "--stack", STACK, "--yes", "--skip-preview"], { allowFailure: true });
        ws.remove();
    });

    it(`while the old pod's ReplicaSet reports it gone ${HOLD_SECONDS} s late, up waits for the new pod instead of calling the rollout done`, async () => {
        const w = ws!;
        const [old] = botPods(w, NS);
        assert.ok(old, "no bot pod after the first up");
        // A new log level changes the pod template: the bot rolls, old pod first.
        w.pulumi(["config", "set", "trading-bot:logLevel", "info", "--stack", STACK]);
        gate = await AdmissionGate.open(w, {
            name: "replicaset-status-gate",
            namespace: NS,
            rules: [{ apiGroups: ["apps"], apiVersions: ["v1"], resources: ["replicasets/status"], operations: ["UPDATE"], scope: "Namespaced" }],
            // A ReplicaSet reporting fewer pods than before: the old one, once its pod is deleted.
            condition: "has(oldObject.status.replicas) && (!has(object.status.replicas) || object.status.replicas < oldObject.status.replicas)",
            hold: () => HOLD_SECONDS,
        });
        // In the background: this process answers the webhook while `up` runs.
        const up = await cliAsync(w, ["up", "--stack", STACK, "--yes", "--skip-preview"]);
        const returned = Date.now();
        const pods = botPods(w, NS);
        const held = gate.held.map((h) => `${h.resource}/${h.subResource} ${h.name} at +${((h.at - gate!.held[0].at) / 1000).toFixed(1)} s`);
        log(`the gate held ${gate.held.length} status update(s): ${held.join(", ")}`);
        log(`pulumi up returned ${gate.held.length ? ((returned - gate.held[0].at) / 1000).toFixed(1) : "?"} s after the first hold; ` +
            `bot pods then: ${pods.map((p) => `${p.metadata.name} (${isReady(p) ? "Ready" : p.status.phase})`).join(", ") || "none"}`);
        assert.strictEqual(up.code, 0);
        assert.ok(gate.held.some((h) => h.name.startsWith("trading-bot-")), "the gate held no status of the bot's ReplicaSet: the test proves nothing");
        assert.strictEqual(pods.length, 1, "pulumi up called the rollout done while no bot pod ran (the old one stopped, the new one not created yet)");
        assert.notStrictEqual(pods[0].metadata.name, old.metadata.name, "the bot did not roll");
        assert.ok(isReady(pods[0]), `${pods[0].metadata.name} is not Ready`);
        assert.ok(!pods[0].metadata.deletionTimestamp);
    });

    it("a release that never becomes Ready: up fails at rolloutTimeoutSeconds, naming what it waited for and what it found", async () => {
        const w = ws!;
        w.pulumi(["config", "set", "trading-bot:rolloutTimeoutSeconds", String(TIMEOUT_SECONDS), "--stack", STACK]);
        w.pulumi(["config", "set", "trading-bot:imageTag", "never-ready", "--stack", STACK]);
        const up = await cliAsync(w, ["up", "--stack", STACK, "--yes", "--skip-preview"], { allowFailure: true });
        const output = `${up.stdout}\n${up.stderr}`;
        const lines = output.split("\n").filter((l) => /^\s+(\*|error:)|Waiting for|unready|Readiness/.test(l)).map((l) => l.trim());
        log(`up exited ${up.code}; what it said:\n  ${[...new Set(lines)].slice(0, 12).join("\n  ")}`);
        assert.notStrictEqual(up.code, 0);
        // What it waited for and what it found (the custom await's words: the built-in one would
        // also name the pod's unready container; `kubectl describe pod` shows it).
        assert.match(output, /trading-bot-deployment .*Waiting for .*NewReplicaSetAvailable \(found "ReplicaSetUpdated"\)/);
        assert.match(output, /"e2e-rollout\/trading-bot" failed to fully initialize or become live: timed out waiting for the condition/);
    });
});
