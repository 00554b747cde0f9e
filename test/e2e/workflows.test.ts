/**
 * The GitHub workflows: actionlint finds nothing, and they do what the README promises
 * (PR previews with the policy pack commented on the PR, staging then prod behind an approval,
 * a scheduled drift check that fails on any change and writes no state).
 */
import * as assert from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as yaml from "js-yaml";
import * as os from "os";
import * as path from "path";
import { PROJECT_DIR } from "./workspace";

const DIR = path.join(PROJECT_DIR, ".github", "workflows");
const CACHE = process.env.TRADING_BOT_CACHE ?? path.join(os.homedir(), ".cache", "trading-bot");
const load = (name: string): any => yaml.load(fs.readFileSync(path.join(DIR, name), "utf8"));
const steps = (job: any): any[] => job.steps ?? [];
const pulumiStep = (job: any) => steps(job).find((s) => String(s.uses ?? "").startsWith("pulumi/actions@"));

describe("GitHub workflows", () => {
    it("pass actionlint", () => {
        const files = fs.readdirSync(DIR).map((f) => path.join(DIR, f));
        const r = spawnSync(path.join(CACHE, "toolchain", "bin", "actionlint"), ["-color=false", ...files], { encoding: "utf8" });
        assert.strictEqual(r.status, 0, `actionlint:\n${r.stdout}${r.stderr}`);
    });

    it("pull requests: tests, then a preview per stack with the policy pack, one PR comment updated in place", () => {
        const wf = load("pull-request.yml");
        assert.ok(wf.on.pull_request);
        assert.ok(steps(wf.jobs.test).some((s) => s.run === "npm test"));
        const preview = wf.jobs.preview;
        assert.deepStrictEqual(preview.needs, "test");
        assert.deepStrictEqual(preview.strategy.matrix.stack, ["staging", "prod"]);
        const p = pulumiStep(preview).with;
        assert.strictEqual(p.command, "preview");
        assert.strictEqual(p.policyPacks, "policy");
        assert.strictEqual(p["comment-on-pr"], true);
        assert.strictEqual(p["edit-pr-comment"], true);
        // A pull request writes no stack's state: pulumi/actions' `refresh: true` would run `pulumi refresh --yes`.
        assert.ok(!p.refresh, "the PR preview refreshes (and so writes) the stacks' state");
    });

    it("main: staging first, then prod behind the production environment's approval", () => {
        const wf = load("deploy.yml");
        assert.deepStrictEqual(wf.on.push.branches, ["main"]);
        assert.strictEqual(pulumiStep(wf.jobs.staging).with.command, "up");
        assert.strictEqual(wf.jobs.prod.needs, "staging");
        assert.strictEqual(wf.jobs.prod.environment, "production");
        assert.strictEqual(pulumiStep(wf.jobs.prod).with["stack-name"], "prod");
        assert.strictEqual(pulumiStep(wf.jobs.prod).with.policyPacks, "policy");
    });

    it("drift: scheduled refresh preview that writes no state and expects no changes, and opens an issue when it fails", () => {
        const wf = load("drift.yml");
        assert.ok(wf.on.schedule[0].cron);
        const drift = steps(wf.jobs.drift);
        // pulumi/actions' `refresh: true` runs `pulumi refresh --yes` (which writes the refreshed state)
        // before its command: the drift job does not use it.
        assert.strictEqual(pulumiStep(wf.jobs.drift), undefined);
        // The steps that run the CLI (the text also names a pulumi command).
        const commands = drift.map((s) => String(s.run ?? "").trim()).filter((r) => /^pulumi\s/.test(r));
        assert.strictEqual(commands.length, 1, `one pulumi command, found: ${JSON.stringify(commands)}`);
        const args = commands[0].split(/\s+/);
        assert.deepStrictEqual(args.slice(0, 2), ["pulumi", "refresh"]);
        for (const flag of ["--preview-only", "--expect-no-changes", "--run-program", "--non-interactive", "--stack"]) {
            assert.ok(args.includes(flag), `drift check lacks ${flag}: ${commands[0]}`);
        }
        for (const flag of ["--yes", "-y", "--skip-preview", "-f"]) {
            assert.ok(!args.includes(flag), `drift check would write the state (${flag}): ${commands[0]}`);
        }
        // The CLI it runs is the one the toolchain pins.
        assert.ok(drift.some((s) => /versions\.sh/.test(s.run ?? "") && /--version "\$PULUMI_VERSION"/.test(s.run ?? "")));
        assert.ok(drift.some((s) => s.if === "failure()" && /gh issue create/.test(s.run)));
    });
});
