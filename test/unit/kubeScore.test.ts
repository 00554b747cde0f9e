/**
 * kube-score over each stack's objects (scripts/lint/kubeScore.ts): nothing outside the documented
 * ignore list (scripts/lint/kube-score-ignore.yaml), no stale entry in it, and no secret value in what
 * it scores. The tests that run kube-score need the binary that local/toolchain/build-lint.sh builds:
 * the full `npm test` builds it before the unit tests; `npm test -- --unit` skips them when it is missing.
 */
import * as assert from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import {
    describeEntry, Finding, IgnoreEntry, judge, KUBE_SCORE_BIN, loadIgnoreList, passed, report, REDACTED,
    scoreFiles, scoreStack, STACKS, stackObjects, writeManifests,
} from "../../scripts/lint/kubeScore";
import { TEST_SECRETS } from "./harness";

const finding = (over: Partial<Finding> = {}): Finding => ({
    stack: "dev", check: "pod-networkpolicy", object: "Deployment/trading-bot", path: "", grade: "CRITICAL",
    message: "The pod does not have a matching NetworkPolicy", ...over,
});
const entry = (over: Partial<IgnoreEntry> = {}): IgnoreEntry => ({
    check: "pod-networkpolicy", object: "Deployment/trading-bot", stacks: ["dev"], reason: "opt-in", ...over,
});

describe("kube-score: each stack's objects", function () {
    before(function () {
        if (!fs.existsSync(KUBE_SCORE_BIN)) {
            console.log(`    SKIPPED: ${KUBE_SCORE_BIN} is not built (bash local/toolchain/build-lint.sh; the full npm test builds it)`);
            this.skip();
        }
    });

    it("finds nothing outside scripts/lint/kube-score-ignore.yaml, and every entry there still matches a finding", async () => {
        const findings: Finding[] = [];
        for (const stack of STACKS) findings.push(...await scoreStack(stack));
        const verdict = judge(findings, loadIgnoreList(), STACKS);
        console.log(report(verdict).split("\n").map((l) => `      ${l}`).join("\n"));
        assert.ok(passed(verdict), report(verdict));
    });

    it("a regression in a manifest is a new finding (kube-score really scores what is written)", async () => {
        // The dev stack's objects, with the bot's resource limits and readiness probe removed.
        const objects = await stackObjects("dev");
        const bot = objects.find((o) => ["Deployment", "StatefulSet"].includes(o.kind) && o.metadata.name === "trading-bot")!;
        const container = bot.spec.template.spec.containers[0];
        delete container.resources.limits;
        delete container.readinessProbe;
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "kube-score-test-"));
        try {
            const verdict = judge(scoreFiles("dev", writeManifests(dir, objects)), loadIgnoreList(), ["dev"]);
            const unexpected = verdict.unexpected.map((f) => `${f.object} ${f.check}`);
            assert.ok(unexpected.includes(`${bot.kind}/trading-bot container-resources`), report(verdict));
            assert.ok(unexpected.includes(`${bot.kind}/trading-bot pod-probes`), report(verdict));
            assert.ok(!passed(verdict));
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });
});

describe("kube-score: what it scores and how findings are judged", () => {
    for (const stack of STACKS) {
        it(`${stack}: the manifests hold every object, and no secret value (each is a fixed dummy)`, async () => {
            const objects = await stackObjects(stack);
            const dir = fs.mkdtempSync(path.join(os.tmpdir(), "kube-score-test-"));
            try {
                const files = writeManifests(dir, objects);
                const text = files.map((f) => fs.readFileSync(f, "utf8")).join("\n");
                // The bot's workload: a Deployment, or a StatefulSet where each replica has a volume of its own.
                assert.ok(objects.some((o) => ["Deployment", "StatefulSet"].includes(o.kind) && o.metadata.name === "trading-bot"));
                for (const value of Object.values(TEST_SECRETS)) assert.ok(!text.includes(value), `${value} written`);
                assert.ok(!/generated-/.test(text), "a generated password was written");
                const secret = objects.find((o) => o.kind === "Secret" && o.metadata.name === "trading-bot-secrets")!;
                assert.ok(Object.keys(secret.stringData).length > 0);
                for (const value of Object.values(secret.stringData)) assert.strictEqual(value, REDACTED);
            } finally {
                fs.rmSync(dir, { recursive: true, force: true });
            }
        });
    }

    it("a finding no entry names is unexpected; an entry of another stack, check or container does not hide it", () => {
        const entries = [entry({ stacks: ["staging"] }), entry({ check: "deployment-replicas" }), entry({ path: "sidecar" }),
            entry({ object: "Deployment/trading-bot-2" }), entry({ object: "*/bot" }), entry({ object: "StatefulSet/trading-bot" })];
        const v = judge([finding({ path: "trading-bot" })], entries, ["dev"]);
        assert.deepStrictEqual(v.unexpected.map((f) => f.check), ["pod-networkpolicy"]);
        assert.ok(!passed(v));
    });

    it("a listed finding is ignored with its reason; */name names the object whatever its kind", () => {
        const v = judge([finding()], [entry()], ["dev"]);
        assert.deepStrictEqual([v.unexpected.length, v.stale.length, v.ignored[0].entry.reason], [0, 0, "opt-in"]);
        assert.ok(passed(v));
        const anyKind = entry({ object: "*/trading-bot", stacks: ["dev", "prod"] });
        const w = judge([finding(), finding({ stack: "prod", object: "StatefulSet/trading-bot" })], [anyKind], ["dev", "prod"]);
        assert.deepStrictEqual([w.ignored.length, w.unexpected.length, w.stale.length], [2, 0, 0]);
    });

    it("an entry that no longer matches a finding in one of its stacks is stale, and fails", () => {
        const v = judge([finding()], [entry({ stacks: ["dev", "staging"] })], ["dev", "staging", "prod"]);
        assert.deepStrictEqual(v.stale.map((s) => `${s.stack}: ${describeEntry(s.entry)}`),
            ["staging: pod-networkpolicy on Deployment/trading-bot"]);
        assert.ok(!passed(v));
        assert.match(report(v), /1 stale ignore entry/);
        // A stack that was not scored (npm run check -- ... --stack) does not make its entries stale.
        assert.ok(passed(judge([finding()], [entry({ stacks: ["dev", "staging"] })], ["dev"])));
    });

    it("the ignore list gives a reason for every entry and names only known stacks", () => {
        const entries = loadIgnoreList();
        assert.ok(entries.length > 0);
        for (const e of entries) assert.ok(e.reason.length > 10, `${describeEntry(e)}: reason too short`);
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "kube-score-test-"));
        try {
            const bad = (text: string) => {
                const file = path.join(dir, "ignore.yaml");
                fs.writeFileSync(file, text);
                return () => loadIgnoreList(file);
            };
            assert.throws(bad("ignore:\n  - {check: a, object: Deployment/x}\n"), /entry 1 has no 'reason'/);
            assert.throws(bad("ignore:\n  - {check: a, object: Deployment/x, reason: why, stacks: [qa]}\n"), /stacks must be/);
            assert.throws(bad("ignore:\n  - {check: a, object: Deployment/x, reason: why, stack: dev}\n"), /unknown keys: stack/);
            assert.throws(bad("ignore:\n  - {check: a, object: trading-bot, reason: why}\n"), /object must be Kind\/name or \*\/name/);
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });
});
