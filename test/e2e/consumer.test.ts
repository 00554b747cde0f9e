/**
 * test/consumer on the local cluster: another program that imports this package's TradingBot
 * (built to dist/, linked into its node_modules as `npm install <path>` would) declares a namespace
 * and a bot with typed arguments and no trading-bot stack config. up -> Ready -> no-op preview -> destroy.
 * The unit test (test/unit/consumer.test.ts) checks the same program under mocks.
 */
import * as assert from "assert";
import * as fs from "fs";
import { assertNoSecretIn, botPods, waitFor } from "./cluster";
import { PULUMI, Result, Workspace } from "./workspace";
import { buildLibrary, consumerProject } from "../unit/consumerProject";

const STACK = "e2e";
const NS = "e2e-consumer";
const SECRETS = ["paper-database-password", "paper-redis-password"];

describe("a program using the TradingBot library, on the local cluster", function () {
    let ws: Workspace;
    let dir: string;

    /** The pinned Pulumi CLI in the consumer's directory (its own project; no policy pack: it is not this stack). */
    function pulumi(args: string[], options: { allowFailure?: boolean } = {}): Result {
        const r = ws.run(PULUMI, [...args, "--non-interactive"], { cwd: dir });
        ws.transcript.push(`$ pulumi ${args.join(" ")}\n${r.stdout}\n${r.stderr}`);
        if (r.code !== 0 && !options.allowFailure) throw new Error(`pulumi ${args.join(" ")} exited ${r.code}:\n${r.stdout}\n${r.stderr}`);
        return r;
    }

    before(() => {
        buildLibrary();
        ws = new Workspace("consumer");
        dir = consumerProject();
        pulumi(["stack", "init", STACK]);
        pulumi(["config", "set-all", "--stack", STACK,
            "--plaintext", `kubeconfig=${ws.kubeconfig}`,
            "--plaintext", "kubeContext=trading-bot-local",
            "--plaintext", `namespace=${NS}`]);
    });

    after(() => {
        if (!ws) return;
        // Leave nothing behind even when a test failed half-way.
        if (dir) pulumi(["destroy", "--stack", STACK, "--yes", "--skip-preview"], { allowFailure: true });
        ws.remove();
        if (dir) fs.rmSync(dir, { recursive: true, force: true });
    });

    it("up creates the namespace and the bot; its pod becomes Ready and the Service has an endpoint", () => {
        pulumi(["up", "--stack", STACK, "--yes", "--skip-preview"]);
        const deployment = ws.kubectlJson(["-n", NS, "get", "deployment", "paper-bot"]);
        assert.strictEqual(deployment.status.readyReplicas, 1);
        assert.strictEqual(deployment.spec.strategy.type, "Recreate");
        assert.strictEqual(botPods(ws, NS, "paper-bot").length, 1);
        waitFor("the bot's Service to have a ready endpoint", () => {
            const slices = ws.kubectlJson(["-n", NS, "get", "endpointslices", "-l", "kubernetes.io/service-name=paper-bot"]);
            return slices.items.flatMap((s: any) => s.endpoints ?? []).some((e: any) => e.conditions?.ready);
        });
        const config = ws.kubectlJson(["-n", NS, "get", "configmap", "paper-bot-config"]);
        assert.strictEqual(config.data.LOG_LEVEL, "debug");
        const outputs = JSON.parse(pulumi(["stack", "output", "--stack", STACK, "--json"]).stdout);
        assert.deepStrictEqual(
            { namespace: outputs.namespaceName, service: outputs.serviceName, workload: outputs.workloadName, kind: outputs.workloadKind },
            { namespace: NS, service: "paper-bot", workload: "paper-bot", kind: "Deployment" });
    });

    it("a second preview reports no changes", () => {
        pulumi(["preview", "--stack", STACK, "--expect-no-changes"]);
    });

    it("the Secret's values are secret in the state and the CLI output", () => {
        const live = ws.kubectlJson(["-n", NS, "get", "secret", "paper-bot-secrets"]);
        assert.strictEqual(Buffer.from(live.data["database-password"], "base64").toString(), SECRETS[0]);
        const state = pulumi(["stack", "export", "--stack", STACK]).stdout;
        assertNoSecretIn("state", state, SECRETS);
        assertNoSecretIn("CLI output", ws.transcript.join("\n"), SECRETS);
    });

    it("destroy removes everything", () => {
        pulumi(["destroy", "--stack", STACK, "--yes", "--skip-preview"]);
        assert.notStrictEqual(ws.kubectl(["get", "namespace", NS], { allowFailure: true }).code, 0, "the namespace still exists");
        const state = JSON.parse(pulumi(["stack", "export", "--stack", STACK]).stdout);
        const left = (state.deployment.resources ?? []).filter((r: any) => r.type !== "pulumi:pulumi:Stack");
        assert.deepStrictEqual(left.map((r: any) => r.urn), []);
    });
});
