/**
 * The pull-request check as users run it: `npm run check -- --stack dev` against the local
 * cluster, its exit codes, and the policy pack rejecting a violating stack in a real preview.
 */
import * as assert from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { TEST_SECRETS } from "../unit/harness";
import { PROJECT_DIR, Workspace } from "./workspace";

function check(args: string[], backend: string) {
    const r = spawnSync("bash", [path.join(PROJECT_DIR, "scripts/check.sh"), ...args], {
        cwd: PROJECT_DIR, encoding: "utf8", env: { ...process.env, PULUMI_BACKEND_URL: `file://${backend}` },
        maxBuffer: 64 * 1024 * 1024,
    });
    return { code: r.status, out: `${r.stdout}\n${r.stderr}` };
}

describe("npm run check (the PR check)", () => {
    // A throw-away backend: the check must not depend on, or touch, the developer's own dev stack.
    const backend = fs.mkdtempSync(path.join(os.tmpdir(), "trading-bot-check-"));
    after(() => fs.rmSync(backend, { recursive: true, force: true }));

    it("passes for the dev stack and prints the plan's summary (exit 0)", () => {
        const r = check(["--stack", "dev", "--skip-unit"], backend);
        assert.strictEqual(r.code, 0, r.out);
        assert.match(r.out, /check passed for stack dev: creates \d+, updates 0, replaces 0, deletes 0/);
        assert.match(r.out, /Policy Packs run|trading-bot@v/);
    });

    it("--expect-no-changes fails with exit 2 when the stack would change", () => {
        const r = check(["--stack", "dev", "--skip-unit", "--expect-no-changes"], backend);
        assert.strictEqual(r.code, 2, r.out);
        assert.match(r.out, /changes found where none were expected/);
    });

    it("refuses bad arguments with exit 64", () => {
        assert.strictEqual(check(["--stak", "dev"], backend).code, 64);
        assert.strictEqual(check([], backend).code, 64);
    });
});

describe("policy pack in a real preview", () => {
    let ws: Workspace;
    before(() => {
        ws = new Workspace("policy");
        // Valid for the program and the pack's defaults (dev trades on the testnet) ...
        ws.initStack("dev", { namespace: "e2e-policy", tradingEnabled: "true" }, {
            binanceApiKey: TEST_SECRETS.binanceApiKey, binanceApiSecret: TEST_SECRETS.binanceApiSecret,
        });
        // ... but against an organisation's policy config that allows no trading outside prod.
        fs.writeFileSync(path.join(ws.dir, "policy-config.json"), JSON.stringify({ "live-trading-only-in-prod": { testnetEnvironments: [] } }));
    });
    after(() => ws?.remove());

    it("the pack's defaults agree with the program: testnet trading in dev passes the preview", () => {
        const r = ws.pulumi(["preview", "--stack", "dev"]);
        assert.doesNotMatch(r.stdout + r.stderr, /live-trading-only-in-prod/);
    });

    it("rejects a stack that trades outside prod under a stricter policy config, with the policy's message", () => {
        const r = ws.pulumi(["preview", "--stack", "dev", "--policy-pack-config", path.join(ws.dir, "policy-config.json")], { allowFailure: true });
        const out = r.stdout + r.stderr;
        assert.notStrictEqual(r.code, 0, out);
        assert.match(out, /mandatory/);
        assert.match(out, /live-trading-only-in-prod/);
        assert.match(out, /TRADING_ENABLED=true: the dev environment must not trade at all/);
        // Nothing was created.
        assert.notStrictEqual(ws.kubectl(["get", "namespace", "e2e-policy"], { allowFailure: true }).code, 0);
    });
});
