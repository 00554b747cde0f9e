/**
 * Leader election between real bot containers on the local cluster's real node (the stand-in
 * bot, local/images/bot, doing client-go leader election with its pod's service-account token),
 * deployed by the real Pulumi engine from a dev-based stack with three replicas:
 * - exactly one pod reports `trading_bot_leader 1` at every sample, and the Lease names it;
 * - deleting the leader hands leadership to another pod within the lease duration;
 * - with the Lease rule gone from the bot's Role (an operator's mistake) no pod leads, and each
 *   says it is forbidden; `pulumi up --refresh` restores the Role and a leader is elected again.
 * Skipped, with the reason, when `npm run cluster -- up` could not start the real node.
 */
import * as assert from "assert";
import { execFile, spawn } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { promisify } from "util";
import { TEST_SECRETS } from "../unit/harness";
import { REAL_NODE, REAL_NODE_STACK_CONFIG, skipWithoutRealNode, waitFor } from "./cluster";
import { sleep } from "./reliability/support";
import { KUBECTL, PROJECT_DIR, Workspace } from "./workspace";

const STACK = "dev";
// A namespace per run: the shared cluster may run the same file twice at once.
const NS = `e2e-leader-${process.pid}`;
const BOT = "trading-bot";
const REPLICAS = 3;
/** Samples of the leadership windows: one a second. */
const WINDOW_SAMPLES = 20;

/** A `<name> = <n> * time.Second` constant of the bot's leader election (local/images/bot/leader.go). */
function botSeconds(name: string): number {
    const file = path.join(PROJECT_DIR, "local/images/bot/leader.go");
    const m = new RegExp(`^\\s*${name}\\s*=\\s*(\\d+)\\s*\\*\\s*time\\.Second`, "m").exec(fs.readFileSync(file, "utf8"));
    assert.ok(m, `${file} sets no ${name}`);
    return Number(m[1]);
}
const LEASE_DURATION = botSeconds("leaseDuration");
// A candidate retries every retryPeriod, jittered up to 2.2x (client-go's JitterFactor 1.2), and
// one sample takes up to a couple of seconds on this shared machine.
const MARGIN = 2.2 * botSeconds("retryPeriod") + 2;

const execFileAsync = promisify(execFile);

interface Reading { pod: string; uid: string; terminating: boolean; leader?: number; error?: string }
/** holder and lease: the Lease's holderIdentity and leaseDurationSeconds (1 once released). */
interface Sample { at: number; readings: Reading[]; holder: string; lease: string }

const leaders = (s: Sample) => s.readings.filter((r) => r.leader === 1);
/** A replica's identity in the Lease: its pod's name and uid (a StatefulSet's replacement reuses the name). */
const identity = (r: Reading) => `${r.pod}_${r.uid}`;
const show = (s: Sample) => `holder=${s.holder || "(none)"}/${s.lease}s ` +
    s.readings.map((r) => `${r.pod}${r.terminating ? "(terminating)" : ""}=${r.leader ?? `? ${r.error}`}`).join(" ");

describe("leader election between real bot pods on the real node (real engine, three replicas)", function () {
    this.timeout(900_000);
    let ws: Workspace | undefined;
    let lease = "";
    let port = "";

    async function kubectlAsync(args: string[]): Promise<string> {
        const { stdout } = await execFileAsync(KUBECTL, ["--kubeconfig", ws!.kubeconfig, ...args], { timeout: 15_000, maxBuffer: 16 * 1024 * 1024 });
        return stdout;
    }

    /** The bot's pods (with those being deleted, when asked), each one's /metrics through the API server's pod proxy, and the Lease. */
    async function sample(withTerminating = false): Promise<Sample> {
        const at = Date.now();
        const pods = ws!.kubectlJson(["-n", NS, "get", "pods", "-l", `app.kubernetes.io/instance=${BOT},app.kubernetes.io/component=bot`]).items
            .filter((p: any) => withTerminating || !p.metadata.deletionTimestamp);
        const [readings, holder]: [Reading[], any] = await Promise.all([
            Promise.all(pods.map(async (p: any): Promise<Reading> => {
                const reading = { pod: p.metadata.name, uid: p.metadata.uid, terminating: !!p.metadata.deletionTimestamp };
                try {
                    // A short timeout: the proxy hangs on the address of a pod whose process has ended,
                    // and a slow sample would blur the timings.
                    const text = await kubectlAsync(["--request-timeout=2s", "get", "--raw", `/api/v1/namespaces/${NS}/pods/${p.metadata.name}:${port}/proxy/metrics`]);
                    const m = /^trading_bot_leader (\d+)$/m.exec(text);
                    return m ? { ...reading, leader: Number(m[1]) } : { ...reading, error: "no trading_bot_leader in /metrics" };
                } catch (e) {
                    const why = String((e as Error).message).split("\n").filter((l) => l.trim() && !l.startsWith("Command failed")).pop();
                    return { ...reading, error: why ?? "no answer" };
                }
            })),
            kubectlAsync(["-n", NS, "get", "lease", lease, "-o", "json"]).then((text) => JSON.parse(text).spec),
        ]);
        return { at, readings, holder: holder.holderIdentity ?? "", lease: String(holder.leaseDurationSeconds ?? "") };
    }

    /** Samples once a second until `done` holds (returns the samples) or `seconds` pass (fails). */
    async function sampleUntil(what: string, seconds: number, done: (s: Sample) => boolean, withTerminating = false): Promise<Sample[]> {
        const samples: Sample[] = [];
        const deadline = Date.now() + seconds * 1000;
        while (Date.now() < deadline) {
            const s = await sample(withTerminating);
            samples.push(s);
            if (done(s)) return samples;
            await sleep(s.at + 1000 - Date.now());
        }
        // Why a pod does not answer (e.g. no IP yet: the API server's proxy says "address not allowed").
        const pods = ws!.kubectl(["-n", NS, "get", "pods", "-o", "wide"], { allowFailure: true }).stdout;
        const events = ws!.kubectl(["-n", NS, "get", "events", "--sort-by=.lastTimestamp"], { allowFailure: true }).stdout.split("\n").slice(-15).join("\n");
        assert.fail(`timed out after ${seconds} s waiting for ${what}; last samples:\n${samples.slice(-5).map(show).join("\n")}\n${pods}\n${events}`);
    }

    /** WINDOW_SAMPLES samples, one a second. */
    async function window(): Promise<Sample[]> {
        const samples: Sample[] = [];
        for (let i = 0; i < WINDOW_SAMPLES; i++) {
            const s = await sample();
            samples.push(s);
            await sleep(s.at + 1000 - Date.now());
        }
        return samples;
    }

    const allAnswer = (s: Sample) => s.readings.length === REPLICAS && s.readings.every((r) => r.leader !== undefined);
    const oneLeader = (s: Sample) => allAnswer(s) && leaders(s).length === 1 && s.holder === identity(leaders(s)[0]);

    before(function () {
        skipWithoutRealNode(this);
        ws = new Workspace("leader");
        ws.initStack(STACK, {
            namespace: NS,
            replicas: String(REPLICAS),
            leaderElectionEnabled: "true",
            // The dev stack file's placement, which initStack lifts by default.
            nodeSelector: JSON.stringify(REAL_NODE_STACK_CONFIG.nodeSelector),
            tolerations: JSON.stringify(REAL_NODE_STACK_CONFIG.tolerations),
            // Three replicas share the real node's two CPUs with the other suites' pods.
            cpuRequest: "100m",
        }, {
            binanceApiKey: TEST_SECRETS.binanceApiKey,
            binanceApiSecret: TEST_SECRETS.binanceApiSecret,
        });
    });

    after(function () {
        if (!ws) return;
        // Leave nothing behind even when a test failed half-way; the claims of a StatefulSet
        // outlive it, the namespace takes them.
        ws.pulumi(["destroy", "--stack", STACK, "--yes", "--skip-preview"], { allowFailure: true });
        ws.kubectl(["delete", "namespace", NS, "--ignore-not-found", "--wait=true", "--timeout=180s"], { allowFailure: true });
        ws.remove();
    });

    it(`up runs ${REPLICAS} bot pods on the real node, competing for the program's Lease`, () => {
        const started = Date.now();
        ws!.pulumi(["up", "--stack", STACK, "--yes", "--skip-preview"]);
        console.log(`      pulumi up: ${((Date.now() - started) / 1000).toFixed(0)} s`);
        const config = ws!.kubectlJson(["-n", NS, "get", "configmap", `${BOT}-config`]).data;
        assert.strictEqual(config.LEADER_ELECTION_ENABLED, "true");
        lease = config.LEADER_ELECTION_LEASE_NAME;
        port = config.HTTP_PORT;
        assert.ok(lease && port, `the bot's ConfigMap names no Lease or port: ${JSON.stringify(config)}`);
        const set = ws!.kubectlJson(["-n", NS, "get", "statefulset", BOT]);
        assert.strictEqual(set.status.readyReplicas, REPLICAS);
        const pods = ws!.kubectlJson(["-n", NS, "get", "pods", "-l", `app.kubernetes.io/instance=${BOT},app.kubernetes.io/component=bot`]).items;
        assert.strictEqual(pods.length, REPLICAS);
        for (const p of pods) assert.strictEqual(p.spec.nodeName, REAL_NODE.name, `${p.metadata.name} runs on ${p.spec.nodeName}`);
        // The program creates the Lease; the bot may only get and update it.
        ws!.kubectlJson(["-n", NS, "get", "lease", lease]);
    });

    it(`exactly one pod reports leadership at each of ${WINDOW_SAMPLES} samples over ${WINDOW_SAMPLES} s, and the Lease names it`, async () => {
        await sampleUntil("a leader", LEASE_DURATION + MARGIN, oneLeader);
        const samples = await window();
        for (const s of samples) {
            assert.ok(allAnswer(s), `not every pod answered: ${show(s)}`);
            assert.strictEqual(leaders(s).length, 1, `not exactly one leader: ${show(s)}`);
            assert.strictEqual(s.holder, identity(leaders(s)[0]), `the Lease names another pod than the one leading: ${show(s)}`);
        }
        const held = ws!.kubectlJson(["-n", NS, "get", "lease", lease]).spec;
        // The bot writes its own lease duration into the Lease: the constant these checks use.
        assert.strictEqual(held.leaseDurationSeconds, LEASE_DURATION);
        console.log(`      ${[...new Set(samples.map((s) => leaders(s)[0].pod))].join(", ")} led at all ${samples.length} samples ` +
            `(${samples.map((s) => s.readings.length).reduce((a, b) => a + b, 0)} scrapes); Lease ${lease} held by ${held.holderIdentity}`);
    });

    it("deleting the leader pod hands leadership to another pod within the lease duration", async () => {
        const [before] = await sampleUntil("a leader", LEASE_DURATION + MARGIN, oneLeader);
        const old = leaders(before)[0];
        const preStop = ws!.kubectlJson(["-n", NS, "get", "pod", old.pod]).spec.containers[0].lifecycle?.preStop?.sleep?.seconds ?? 0;
        // Its own account of the handover (its log ends with the pod).
        const oldLog: string[] = [];
        const follow = spawn(KUBECTL, ["--kubeconfig", ws!.kubeconfig, "-n", NS, "logs", "-f", "--tail=0", old.pod, "-c", BOT]);
        follow.stdout.on("data", (d) => oldLog.push(String(d)));
        follow.stderr.on("data", (d) => oldLog.push(String(d)));
        const deleted = Date.now();
        ws!.kubectl(["-n", NS, "delete", "pod", old.pod, "--wait=false"]);
        // The old pod leads on through its preStop sleep, then releases the Lease on SIGTERM.
        let lastOldLead = deleted;
        // Another pod: a surviving replica, or the StatefulSet's replacement (same name, so the same
        // identity; a new uid) when it starts before a survivor's next retry.
        const samples = await sampleUntil(`another pod than ${old.pod} to lead`, preStop + LEASE_DURATION + MARGIN, (s) => {
            if (s.readings.some((r) => r.uid === old.uid && r.leader === 1)) lastOldLead = s.at;
            const now = leaders(s);
            return now.length === 1 && now[0].uid !== old.uid && s.holder === identity(now[0]);
        }, true).finally(() => follow.kill());
        const said = oldLog.join("").split("\n").filter((l) => /leader election|lease|shutting down|stopped/i.test(l));
        console.log(`      ${old.pod} said:\n        ${said.join("\n        ")}`);
        const states = samples.filter((x, i) => i === 0 || show(x) !== show(samples[i - 1]));
        console.log(`      handover:\n        ${states.map((x) => `+${((x.at - deleted) / 1000).toFixed(1)} s ${show(x)}`).join("\n        ")}`);
        for (const s of samples) assert.ok(leaders(s).length <= 1, `two pods lead at once: ${show(s)}`);
        const handed = samples[samples.length - 1];
        const gap = (handed.at - lastOldLead) / 1000;
        const total = (handed.at - deleted) / 1000;
        const heir = leaders(handed)[0];
        console.log(`      ${old.pod} deleted; ${heir.pod} (${heir.pod === old.pod ? "its replacement" : "a surviving replica"}) leads ${total.toFixed(1)} s later, ` +
            `${gap.toFixed(1)} s after the old leader last reported leading (preStop ${preStop} s, lease duration ${LEASE_DURATION} s)`);
        // The same, to the millisecond: when the old bot stopped leading (its log) and the new one took the Lease (acquireTime).
        const stopped = /time=(\S+) .*leader election: not leading/.exec(said.join("\n"))?.[1];
        const acquired = ws!.kubectlJson(["-n", NS, "get", "lease", lease]).spec.acquireTime;
        if (stopped) console.log(`      ${old.pod} stopped leading at ${stopped}; ${handed.holder} took the Lease at ${acquired}: ` +
            `${((Date.parse(acquired) - Date.parse(stopped)) / 1000).toFixed(2)} s without a leader`);
        assert.ok(gap <= LEASE_DURATION + MARGIN, `no leader for ${gap.toFixed(1)} s, more than the lease duration ${LEASE_DURATION} s + ${MARGIN} s`);
        // The StatefulSet replaces the deleted pod; still one leader among all replicas.
        await sampleUntil(`${REPLICAS} pods with one leader`, 120, oneLeader);
    });

    it("a bot whose Role lacks the Lease rule never becomes leader and says it is forbidden; `pulumi up --refresh` restores it", async () => {
        const role = ws!.kubectlJson(["-n", NS, "get", "role", BOT]);
        const rules = role.rules ?? [];
        assert.ok(rules.some((r: any) => r.resources?.includes("leases") && r.resourceNames?.includes(lease)),
            `the Role has no rule for Lease ${lease} to remove: ${JSON.stringify(rules)}`);
        const canGet = () => ws!.kubectl(["auth", "can-i", "get", `leases.coordination.k8s.io/${lease}`, "-n", NS,
            `--as=system:serviceaccount:${NS}:${role.metadata.name}`], { allowFailure: true }).stdout.trim();
        assert.strictEqual(canGet(), "yes");

        const [before] = await sampleUntil("a leader", LEASE_DURATION + MARGIN, oneLeader);

        // An operator's mistake: the rule removed from the live Role, behind the program's back.
        ws!.kubectl(["-n", NS, "patch", "role", BOT, "--type=json", "-p", JSON.stringify([{ op: "remove", path: "/rules" }])]);
        waitFor("the bot's account to lose access to its Lease", () => canGet() === "no", 30);
        // A new election must happen: the leader goes (it cannot release the Lease, nor its successor take it).
        ws!.kubectl(["-n", NS, "delete", "pod", leaders(before)[0].pod, "--wait=false"]);
        const removed = Date.now();
        // Past the old leader's preStop, SIGTERM and its Lease's expiry: a working bot would lead by then.
        const preStop = ws!.kubectlJson(["-n", NS, "get", "statefulset", BOT]).spec.template.spec.containers[0].lifecycle?.preStop?.sleep?.seconds ?? 0;
        const samples: Sample[] = [];
        while (Date.now() - removed < (preStop + LEASE_DURATION + MARGIN) * 1000 || samples.length < WINDOW_SAMPLES) {
            const s = await sample();
            samples.push(s);
            assert.strictEqual(leaders(s).length, 0, `a pod leads without the Role's Lease rule: ${show(s)}`);
            await sleep(s.at + 1000 - Date.now());
        }
        // Every replica, the replaced one too, answered by the end and said why it does not lead.
        const last = await sampleUntil(`${REPLICAS} pods answering`, 120, allAnswer);
        assert.strictEqual(leaders(last[last.length - 1]).length, 0, show(last[last.length - 1]));
        for (const r of last[last.length - 1].readings) {
            const log = ws!.kubectl(["-n", NS, "logs", r.pod, "-c", BOT]).stdout;
            const why = log.split("\n").find((l) => /leader election: cannot get the Lease/.test(l));
            assert.ok(why, `${r.pod} does not say why it does not lead:\n${log.slice(-2000)}`);
            assert.match(why, /is forbidden: User .*system:serviceaccount:.* cannot get resource .*leases/, `${r.pod}: ${why}`);
            if (r === last[last.length - 1].readings[0]) console.log(`      ${r.pod}: ${why.slice(0, 400)}`);
        }
        console.log(`      no leader at any of ${samples.length} samples over ${((Date.now() - removed) / 1000).toFixed(0)} s without the rule`);

        // The program owns the Role: a refresh sees the drift and the update puts the rule back.
        ws!.pulumi(["up", "--refresh", "--stack", STACK, "--yes", "--skip-preview"]);
        const restored = Date.now();
        assert.deepStrictEqual(ws!.kubectlJson(["-n", NS, "get", "role", BOT]).rules, rules);
        assert.strictEqual(canGet(), "yes");
        await sampleUntil("a leader once the Role is restored", LEASE_DURATION + MARGIN, oneLeader);
        console.log(`      Role restored by pulumi up --refresh; a leader ${((Date.now() - restored) / 1000).toFixed(1)} s later`);
    });

    it("destroy removes the stack; its namespace is gone", () => {
        ws!.pulumi(["destroy", "--stack", STACK, "--yes", "--skip-preview"]);
        // The StatefulSet's claims are kept by design; deleting the namespace takes them.
        ws!.kubectl(["delete", "namespace", NS, "--ignore-not-found", "--wait=true", "--timeout=180s"]);
        waitFor(`namespace ${NS} to be gone`, () => ws!.kubectl(["get", "namespace", NS], { allowFailure: true }).code !== 0, 180);
    });
});
