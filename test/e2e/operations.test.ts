/**
 * Production operations against the local cluster: secrets set the documented way and rotated,
 * an existing Secret used end to end, drift reported and corrected, and GitOps manifests rendered
 * without any secret and accepted by the API server.
 */
import * as assert from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { placeholderValues, TEST_SECRETS } from "../unit/harness";
import { assertNoSecretIn, botPods, waitFor } from "./cluster";
import { previewSummary, PROJECT_DIR, Workspace } from "./workspace";

const STACK = "dev";
/** A dev stack on external databases names them, as a user must (the pods on kwok never connect). */
const EXTERNAL_DATABASES = {
    inClusterDatabases: "false",
    databaseHost: placeholderValues(STACK).databaseHost,
    redisHost: placeholderValues(STACK).redisHost,
};

describe("secrets: set with --secret, rotated, and an existing Secret", () => {
    const NS = "e2e-secrets";
    let ws: Workspace;
    before(() => {
        ws = new Workspace("secrets");
        ws.initStack(STACK, { namespace: NS, ...EXTERNAL_DATABASES }, {
            binanceApiKey: TEST_SECRETS.binanceApiKey, binanceApiSecret: TEST_SECRETS.binanceApiSecret,
            databasePassword: TEST_SECRETS.databasePassword, redisPassword: TEST_SECRETS.redisPassword,
        });
    });
    after(() => {
        ws?.pulumi(["destroy", "--stack", STACK, "--yes", "--skip-preview"], { allowFailure: true });
        ws?.kubectl(["delete", "namespace", "e2e-existing", "--ignore-not-found", "--wait=false"], { allowFailure: true });
        ws?.remove();
    });

    it("`pulumi config set --secret` stores the value encrypted; it is decrypted only into the live Secret", () => {
        const file = ws.stackFileText(STACK);
        assert.match(file, /trading-bot:binanceApiKey:\s*\n\s*secure: v1:/);
        assertNoSecretIn("stack file", file, Object.values(TEST_SECRETS));
        ws.pulumi(["up", "--stack", STACK, "--yes", "--skip-preview"]);
        const live = ws.kubectlJson(["-n", NS, "get", "secret", "trading-bot-secrets"]).data;
        assert.strictEqual(Buffer.from(live["binance-api-key"], "base64").toString(), TEST_SECRETS.binanceApiKey);
        assertNoSecretIn("state", ws.backendText(), Object.values(TEST_SECRETS));
        assertNoSecretIn("CLI output", ws.transcript.join("\n"), Object.values(TEST_SECRETS));
    });

    it("rotating a key updates the Secret in place and rolls the pods; nothing is replaced", () => {
        const before = botPods(ws, NS).map((p) => p.metadata.name);
        const rotated = "rotated-binance-key-5e6f7a";
        ws.pulumi(["config", "set", "--secret", "trading-bot:binanceApiKey", "--stack", STACK], { input: rotated });
        const { steps, counts } = previewSummary(ws, STACK);
        const changed = steps.filter((s) => s.op !== "same").map((s) => `${s.op} ${s.urn.split("::").pop()}`).sort();
        assert.ok(!counts.replace && !counts.create && !counts.delete, changed.join(", "));
        assert.deepStrictEqual(changed, ["update trading-bot-deployment", "update trading-bot-secrets"]);
        ws.pulumi(["up", "--stack", STACK, "--yes", "--skip-preview"]);
        const after = botPods(ws, NS);
        assert.ok(after.every((p) => !before.includes(p.metadata.name)), "the pods did not roll");
        const live = ws.kubectlJson(["-n", NS, "get", "secret", "trading-bot-secrets"]).data;
        assert.strictEqual(Buffer.from(live["binance-api-key"], "base64").toString(), rotated);
        assertNoSecretIn("CLI output", ws.transcript.join("\n"), [rotated]);
    });

    it("existingSecret: a Secret made with kubectl is used as is, and the stack creates none", () => {
        const ns = "e2e-existing";
        ws.kubectl(["create", "namespace", ns]);
        ws.kubectl(["-n", ns, "create", "secret", "generic", "bot-keys",
            "--from-literal=binance-api-key=external-key", "--from-literal=binance-api-secret=external-secret",
            "--from-literal=database-password=external-db", "--from-literal=redis-password=external-redis"]);
        const other = new Workspace("existing");
        try {
            other.initStack(STACK, { namespace: ns, createNamespace: "false", existingSecret: "bot-keys", ...EXTERNAL_DATABASES });
            other.pulumi(["up", "--stack", STACK, "--yes", "--skip-preview"]);
            const secrets = other.kubectlJson(["-n", ns, "get", "secrets"]).items.map((s: any) => s.metadata.name);
            assert.deepStrictEqual(secrets, ["bot-keys"]);
            const env = botPods(other, ns)[0].spec.containers[0].env;
            assert.ok(env.filter((e: any) => e.valueFrom?.secretKeyRef).every((e: any) => e.valueFrom.secretKeyRef.name === "bot-keys"));
            other.pulumi(["destroy", "--stack", STACK, "--yes", "--skip-preview"]);
            // The Secret and namespace the stack did not create are left alone.
            assert.strictEqual(other.kubectl(["-n", ns, "get", "secret", "bot-keys"]).code, 0);
        } finally {
            other.pulumi(["destroy", "--stack", STACK, "--yes", "--skip-preview"], { allowFailure: true });
            other.remove();
        }
    });
});

describe("drift: out-of-band changes are reported and corrected", () => {
    const NS = "e2e-drift";
    let ws: Workspace;
    before(() => {
        ws = new Workspace("drift");
        ws.initStack(STACK, { namespace: NS });
        ws.pulumi(["up", "--stack", STACK, "--yes", "--skip-preview"]);
    });
    after(() => {
        ws?.pulumi(["destroy", "--stack", STACK, "--yes", "--skip-preview"], { allowFailure: true });
        ws?.remove();
    });

    const drifts: { what: string; make: () => void; live: () => boolean }[] = [
        {
            what: "a Deployment scaled by hand",
            make: () => ws.kubectl(["-n", NS, "scale", "deployment", "trading-bot", "--replicas=3"]),
            live: () => ws.kubectlJson(["-n", NS, "get", "deployment", "trading-bot"]).spec.replicas === 1,
        },
        {
            what: "an edited ConfigMap",
            make: () => ws.kubectl(["-n", NS, "patch", "configmap", "trading-bot-config", "--type=merge", "-p", '{"data":{"RISK_PER_TRADE":"0.5"}}']),
            live: () => ws.kubectlJson(["-n", NS, "get", "configmap", "trading-bot-config"]).data.RISK_PER_TRADE === "0.02",
        },
        {
            what: "a deleted ConfigMap",
            make: () => ws.kubectl(["-n", NS, "delete", "configmap", "trading-bot-config"]),
            live: () => ws.kubectl(["-n", NS, "get", "configmap", "trading-bot-config"], { allowFailure: true }).code === 0,
        },
    ];
    for (const d of drifts) {
        it(`${d.what}: the drift check fails, \`up --refresh\` corrects it, the check passes again`, () => {
            d.make();
            const check = ws.pulumi(["preview", "--stack", STACK, "--refresh", "--expect-no-changes"], { allowFailure: true });
            assert.notStrictEqual(check.code, 0, "the drift check did not notice");
            assert.match(check.stdout + check.stderr, /no changes were expected/);
            ws.pulumi(["up", "--stack", STACK, "--refresh", "--yes", "--skip-preview"]);
            waitFor(`${d.what} to be corrected`, d.live, 60);
            ws.pulumi(["preview", "--stack", STACK, "--refresh", "--expect-no-changes"]);
        });
    }
});

describe("npm run render (GitOps)", () => {
    const NS = "e2e-render";
    const out = fs.mkdtempSync(path.join(os.tmpdir(), "trading-bot-render-"));
    let ws: Workspace;
    before(() => {
        ws = new Workspace("render");
    });
    after(() => {
        ws?.kubectl(["delete", "namespace", NS, "--ignore-not-found", "--wait=false"], { allowFailure: true });
        ws?.remove();
        fs.rmSync(out, { recursive: true, force: true });
    });

    const render = (args: string[]) => spawnSync("bash", [path.join(PROJECT_DIR, "scripts/render.sh"), ...args], {
        cwd: PROJECT_DIR, encoding: "utf8", maxBuffer: 64 * 1024 * 1024,
    });

    it("refuses to render a stack that would write secret values, naming the fix", () => {
        const r = render(["--stack", "dev", out]);
        assert.notStrictEqual(r.status, 0);
        assert.match(r.stdout + r.stderr, /trading-bot:existingSecret = "": is required to render manifests/);
        assert.match(r.stdout + r.stderr, /--existing-secret <name>/);
    });

    it("writes every object as YAML, with no secret value, and the API server accepts them (dry run)", () => {
        const r = render(["--stack", "dev", "--existing-secret", "bot-keys", "--namespace", NS, out]);
        assert.strictEqual(r.status, 0, r.stdout + r.stderr);
        const files: string[] = [];
        const walk = (dir: string) => fs.readdirSync(dir, { withFileTypes: true }).forEach((e) =>
            e.isDirectory() ? walk(path.join(dir, e.name)) : files.push(path.join(dir, e.name)));
        walk(out);
        const text = files.map((f) => fs.readFileSync(f, "utf8")).join("\n---\n");
        for (const kind of ["Namespace", "Deployment", "Service", "ConfigMap", "PersistentVolumeClaim", "ServiceAccount", "Role", "RoleBinding"]) {
            assert.match(text, new RegExp(`^kind: ${kind}$`, "m"), `no ${kind} rendered`);
        }
        assert.doesNotMatch(text, /^kind: Secret$/m, "a Secret was rendered");
        assertNoSecretIn("rendered manifests", text, Object.values(TEST_SECRETS));
        // The namespace first (for real), then everything else as a server-side dry run.
        const nsFile = files.find((f) => /^kind: Namespace$/m.test(fs.readFileSync(f, "utf8")))!;
        ws.kubectl(["apply", "-f", nsFile]);
        const dryRun = ws.kubectl(["apply", "--dry-run=server", "-R", "-f", out]);
        assert.match(dryRun.stdout, /deployment.apps\/trading-bot (created|configured|unchanged) \(server dry run\)/);
    });
});
