/**
 * The dev stack as real containers on the local cluster's real node (kubelet, containerd, runc):
 * the real Pulumi engine deploys it; the tests look at the bot, PostgreSQL and Redis as the
 * kubelet and the runtime run them: probes, readiness that follows the databases, the runtime's
 * enforcement of the security context, password rotation, and a Recreate rollout's graceful stop.
 * Skipped, with the reason, when `npm run cluster -- up` could not start the real node.
 */
import * as assert from "assert";
import { ChildProcess, execFile, spawn, spawnSync } from "child_process";
import * as fs from "fs";
import * as http from "http";
import * as path from "path";
import { promisify } from "util";
import { TEST_SECRETS } from "../unit/harness";
import { assertNoSecretIn, botPods, REAL_NODE, REAL_NODE_STACK_CONFIG, skipWithoutRealNode, waitFor } from "./cluster";
import { isReady, sleep } from "./reliability/support";
import { KUBECTL, PROJECT_DIR, PULUMI, TOOLCHAIN_BIN, Workspace } from "./workspace";

const STACK = "dev";
// A namespace per run: the shared cluster may run this file twice at once.
const NS = `e2e-realbot-${process.pid}`;
/** The bot's container (components/tradingBot/workload.ts) and the uid:gid the pod runs it as. */
const BOT_CONTAINER = "trading-bot";
const BOT_ID = "1000";
const run = promisify(execFile);

/** containerd's own CLI on the real node's socket (local/cluster/node.sh), in the kubelet's namespace. */
const CTR = [path.join(TOOLCHAIN_BIN, "ctr"), "--address", path.join(PROJECT_DIR, ".local", "cluster", "node", "containerd.sock"), "--namespace", "k8s.io"];

/** The ids of the bot containers of this namespace that runc runs right now, as containerd reports them. */
async function runningBotContainers(): Promise<string[]> {
    const filter = `labels."io.kubernetes.pod.namespace"==${NS},labels."io.kubernetes.container.name"==${BOT_CONTAINER}`;
    const [containers, tasks] = await Promise.all([
        run(CTR[0], [...CTR.slice(1), "containers", "ls", "-q", filter]),
        run(CTR[0], [...CTR.slice(1), "tasks", "ls"]),
    ]);
    const ours = new Set(containers.stdout.split("\n").map((l) => l.trim()).filter(Boolean));
    return tasks.stdout.split("\n").slice(1).map((l) => l.trim().split(/\s+/))
        .filter(([id, , status]) => ours.has(id) && status === "RUNNING").map(([id]) => id);
}

/** The host pid of a running container's first process (its task in containerd). */
function containerPid(containerID: string): number {
    const id = containerID.replace(/^containerd:\/\//, "");
    const r = spawnSync(CTR[0], [...CTR.slice(1), "tasks", "ls"], { encoding: "utf8" });
    const line = r.stdout.split("\n").map((l) => l.trim().split(/\s+/)).find(([task]) => task === id);
    assert.ok(line && line[2] === "RUNNING", `containerd runs no task for container ${id}:\n${r.stdout}${r.stderr}`);
    return Number(line[1]);
}

/** One field of /proc/<pid>/status, e.g. Uid, CapEff. */
function procStatus(pid: number, field: string): string {
    const m = new RegExp(`^${field}:\\s*(.*)$`, "m").exec(fs.readFileSync(`/proc/${pid}/status`, "utf8"));
    assert.ok(m, `/proc/${pid}/status has no ${field}`);
    return m[1].trim();
}

/**
 * Writes a file at `file` inside the container (through /proc/<pid>/root, which resolves in the
 * container's own mount namespace, so its read-only root and its volumes apply), as uid:gid
 * `user` with no capability, or as the host's root when `user` is "root". Returns the error, if any.
 */
function writeInContainer(pid: number, file: string, user: string | "root"): string | undefined {
    const target = `/proc/${pid}/root${file}`;
    const write = ["sh", "-c", 'printf probe > "$1" && rm -f "$1"', "sh", target];
    const argv = user === "root" ? write
        : ["setpriv", `--reuid=${user}`, `--regid=${user}`, "--clear-groups", "--inh-caps=-all", "--bounding-set=-all", ...write];
    const r = spawnSync(argv[0], argv.slice(1), { encoding: "utf8" });
    return r.status === 0 ? undefined : `${r.stderr.trim()} (exit ${r.status})`;
}

interface Forward { port: number; process: ChildProcess; }

/** Starts `kubectl port-forward` (argv without the kubectl) and waits for its local port. */
function portForward(ws: Workspace, args: string[]): Promise<Forward> {
    const child = spawn(KUBECTL, ["--kubeconfig", ws.kubeconfig, ...args]);
    return new Promise<Forward>((resolve, reject) => {
        let seen = "";
        child.stdout.on("data", (d) => {
            seen += d;
            const m = /Forwarding from 127\.0\.0\.1:(\d+)/.exec(seen);
            if (m) resolve({ port: Number(m[1]), process: child });
        });
        child.stderr.on("data", (d) => { seen += d; });
        child.on("exit", (code) => reject(new Error(`kubectl ${args.join(" ")} exited ${code}: ${seen}`)));
        setTimeout(() => { child.kill(); reject(new Error(`kubectl ${args.join(" ")} did not start: ${seen}`)); }, 30_000);
    });
}

function get(port: number, urlPath: string): Promise<{ status: number; body: string }> {
    return new Promise((resolve, reject) => {
        http.get({ host: "127.0.0.1", port, path: urlPath, timeout: 10_000 }, (res) => {
            let body = "";
            res.on("data", (d) => { body += d; });
            res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
        }).on("error", reject);
    });
}

async function until<T>(what: string, seconds: number, probe: () => Promise<T | undefined>): Promise<T> {
    const deadline = Date.now() + seconds * 1000;
    let last: unknown;
    while (Date.now() < deadline) {
        try {
            const v = await probe();
            if (v !== undefined) return v;
        } catch (e) {
            last = e;
        }
        await sleep(500);
    }
    assert.fail(`timed out after ${seconds} s waiting for ${what}${last ? ` (last error: ${last})` : ""}`);
}

const FIRST_TEST = "up runs the bot, PostgreSQL and Redis as containers on the real node; every probe passes once they are Ready";

describe("dev stack as real containers on the real node (real engine, kubelet, containerd)", function () {
    this.timeout(900_000);
    let ws: Workspace | undefined;
    let outputs: any;
    /** Set once the first up succeeded: the later tests need the running stack. */
    let deployed = false;

    const kube = () => ws as Workspace;
    const pods = (component: string): any[] => kube().kubectlJson(["-n", NS, "get", "pods", "-l", `app.kubernetes.io/name=${component}`]).items
        .filter((p: any) => !p.metadata.deletionTimestamp);
    const botPod = (): any => {
        const found = botPods(kube(), NS);
        assert.strictEqual(found.length, 1, `expected one bot pod, found ${found.map((p: any) => p.metadata.name).join(", ")}`);
        return found[0];
    };
    /** The kubelet's probe-failure events in the namespace. */
    const unhealthy = (): any[] => kube().kubectlJson(["-n", NS, "get", "events", "--field-selector", "reason=Unhealthy"]).items;
    const up = (extra: string[] = []) => kube().pulumi(["up", "--stack", STACK, "--yes", "--skip-preview", ...extra]);
    /** The bot's /ready, through a port-forward to its pod (the Service would skip an unready pod). */
    const botReady = async (): Promise<{ status: number; body: string }> => {
        const forward = await portForward(kube(), ["-n", NS, "port-forward", `pod/${botPod().metadata.name}`, "0:8000"]);
        try {
            return await get(forward.port, "/ready");
        } finally {
            forward.process.kill();
        }
    };

    before(function () {
        skipWithoutRealNode(this);
        ws = new Workspace("realbot");
        // Kept on the real node, as the committed dev stack file places it.
        ws.initStack(STACK, {
            namespace: NS,
            // An update whose bot never becomes Ready fails in two minutes, not dev's ten (the
            // progress deadline; a create waits for the provider's own ten-minute timeout).
            rolloutTimeoutSeconds: "120",
            nodeSelector: JSON.stringify(REAL_NODE_STACK_CONFIG.nodeSelector),
            tolerations: JSON.stringify(REAL_NODE_STACK_CONFIG.tolerations),
        }, { binanceApiKey: TEST_SECRETS.binanceApiKey, binanceApiSecret: TEST_SECRETS.binanceApiSecret });
    });

    beforeEach(function () {
        if (!deployed && this.currentTest?.title !== FIRST_TEST) {
            console.log("    skipped: the stack did not deploy (see the first test's failure)");
            this.skip();
        }
    });

    after(function () {
        if (!ws) return;
        ws.kubectl(["-n", NS, "scale", "deployment/postgres", "--replicas=1"], { allowFailure: true });
        ws.pulumi(["destroy", "--stack", STACK, "--yes", "--skip-preview"], { allowFailure: true });
        ws.kubectl(["delete", "namespace", NS, "--ignore-not-found", "--wait=true", "--timeout=120s"], { allowFailure: true });
        ws.remove();
    });

    it(FIRST_TEST, async () => {
        up();
        deployed = true;
        outputs = JSON.parse(kube().pulumi(["stack", "output", "--stack", STACK, "--json"]).stdout);
        const all = [botPod(), ...pods("postgres"), ...pods("redis")];
        assert.strictEqual(all.length, 3, all.map((p) => p.metadata.name).join(", "));
        const readySince: Record<string, number> = {};
        for (const pod of all) {
            const name = pod.metadata.name;
            assert.strictEqual(pod.spec.nodeName, REAL_NODE.name, `${name} runs on ${pod.spec.nodeName}`);
            assert.strictEqual(pod.status.phase, "Running", name);
            assert.ok(isReady(pod), `${name} is not Ready`);
            for (const c of pod.status.containerStatuses) {
                assert.match(c.containerID, /^containerd:\/\//, `${name}/${c.name}`);
                assert.ok(c.state.running && c.ready, `${name}/${c.name} is not running and ready`);
                assert.strictEqual(c.restartCount, 0, `${name}/${c.name} restarted`);
            }
            readySince[name] = Date.parse(pod.status.conditions.find((c: any) => c.type === "Ready").lastTransitionTime);
        }
        // Several probe periods (5 s) of every probe, then no kubelet probe failure after Ready.
        await sleep(20_000);
        const late = unhealthy().filter((e: any) => readySince[e.involvedObject.name] !== undefined &&
            Date.parse(e.lastTimestamp ?? e.eventTime ?? e.series?.lastObservedTime) >= readySince[e.involvedObject.name]);
        assert.deepStrictEqual(late.map((e: any) => `${e.involvedObject.name}: ${e.message}`), []);
        for (const pod of all) {
            const now = kube().kubectlJson(["-n", NS, "get", "pod", pod.metadata.name]);
            assert.ok(isReady(now), `${pod.metadata.name} is no longer Ready`);
            assert.ok(now.status.containerStatuses.every((c: any) => c.restartCount === 0), `${pod.metadata.name} restarted`);
        }
    });

    it("the bot reports ready once PostgreSQL and Redis accept the generated passwords, in its log and on /ready and /metrics", async () => {
        const log = kube().kubectl(["-n", NS, "logs", botPod().metadata.name]).stdout;
        assert.match(log, /ready: PostgreSQL and Redis accept the credentials/);
        const r = await botReady();
        assert.strictEqual(r.status, 200, r.body);
    });

    it("the stack outputs' portForwardCommand and healthCheckCommand reach /health and /metrics", async () => {
        // The commands as the outputs give them, with the workspace's kubeconfig (the context is the stack's own).
        const argv = String(outputs.portForwardCommand).split(" ");
        assert.strictEqual(argv[0], "kubectl", outputs.portForwardCommand);
        const forward = await portForward(kube(), argv.slice(1));
        try {
            const curl = (command: string) => spawnSync("sh", ["-c", command], { encoding: "utf8", timeout: 30_000 });
            const health = curl(outputs.healthCheckCommand);
            assert.strictEqual(health.status, 0, `${outputs.healthCheckCommand}: ${health.stdout}${health.stderr}`);
            const metricsCommand = String(outputs.healthCheckCommand).replace(/\/health$/, "/metrics");
            assert.notStrictEqual(metricsCommand, outputs.healthCheckCommand);
            const metrics = curl(metricsCommand);
            assert.strictEqual(metrics.status, 0, `${metricsCommand}: ${metrics.stderr}`);
            assert.match(metrics.stdout, /^trading_bot_ready 1$/m, metrics.stdout);
        } finally {
            forward.process.kill();
        }
    });

    it("without PostgreSQL the bot's /ready is 503 and its pod leaves Ready; with it back, both recover", async () => {
        kube().kubectl(["-n", NS, "scale", "deployment/postgres", "--replicas=0"]);
        try {
            const down = await until("the bot's /ready to fail", 90, async () => {
                const r = await botReady();
                return r.status === 503 ? r : undefined;
            });
            assert.match(down.body, /postgres/, down.body);
            assert.doesNotMatch(down.body, /redis/, down.body);
            waitFor("the bot pod's Ready condition to go False", () => !isReady(botPod()), 60);
            // The kubelet reports the failed probe: the same events the first test finds none of.
            const name = botPod().metadata.name;
            waitFor("the kubelet's Unhealthy event for the bot", () => unhealthy().some((e: any) =>
                e.involvedObject.name === name && /Readiness probe failed: HTTP probe failed with statuscode: 503/.test(e.message)), 30);
        } finally {
            kube().kubectl(["-n", NS, "scale", "deployment/postgres", "--replicas=1"]);
        }
        try {
            waitFor("the bot pod to be Ready again", () => isReady(botPod()), 180);
        } catch (e) {
            // The real node is small (2 CPUs): another stack may have taken postgres' place meanwhile.
            const why = pods("postgres").map((p) => `${p.metadata.name}: ${p.status.phase} ${JSON.stringify(p.status.conditions ?? [])}`);
            throw new Error(`${(e as Error).message}; postgres: ${why.join("; ")}`);
        }
        const r = await botReady();
        assert.strictEqual(r.status, 200, r.body);
        assert.strictEqual(botPod().status.containerStatuses[0].restartCount, 0, "the bot was restarted instead of waiting for the database");
    });

    it("the runtime enforces the security context: uid/gid 1000, no capability, read-only root, writable data, logs and /tmp", () => {
        // The bot's image holds only its binary (no shell to exec): the checks run from the host,
        // on the container's process (found through containerd) and through its mount namespace.
        const pod = botPod();
        const pid = containerPid(pod.status.containerStatuses.find((c: any) => c.name === BOT_CONTAINER).containerID);
        assert.match(fs.readFileSync(`/proc/${pid}/cmdline`, "utf8"), /^\/usr\/local\/bin\/trading-bot\0/);
        assert.deepStrictEqual(procStatus(pid, "Uid").split(/\s+/), [BOT_ID, BOT_ID, BOT_ID, BOT_ID]);
        assert.deepStrictEqual(procStatus(pid, "Gid").split(/\s+/), [BOT_ID, BOT_ID, BOT_ID, BOT_ID]);
        for (const caps of ["CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb"]) {
            assert.strictEqual(BigInt(`0x${procStatus(pid, caps)}`), 0n, `${caps} is ${procStatus(pid, caps)}`);
        }
        assert.strictEqual(procStatus(pid, "NoNewPrivs"), "1", "allowPrivilegeEscalation: false is not enforced");
        assert.strictEqual(procStatus(pid, "Seccomp"), "2", "no seccomp filter (RuntimeDefault)");
        // Even the host's root cannot write there: the root filesystem is mounted read-only.
        for (const user of [BOT_ID, "root"]) {
            const error = writeInContainer(pid, "/probe", user) ?? "the write succeeded";
            assert.match(error, /Read-only file system/, `write to / as ${user}: ${error}`);
        }
        for (const dir of ["/app/data", "/app/logs", "/tmp"]) {
            assert.strictEqual(writeInContainer(pid, `${dir}/probe`, BOT_ID), undefined, `write to ${dir} as ${BOT_ID}`);
        }
    });

    it("rotating a secret (binanceApiKey) rolls the bot; the new container gets the new value, which stays out of the state", () => {
        const old = botPod();
        const rotated = `rotated-${process.pid}-binance-key`;
        // The documented path: the value comes on stdin, never on a command line.
        kube().pulumi(["config", "set", "--secret", "trading-bot:binanceApiKey", "--stack", STACK], { input: rotated });
        up();
        const now = botPod();
        assert.notStrictEqual(now.metadata.name, old.metadata.name, "the bot pod did not roll");
        assert.ok(isReady(now), `${now.metadata.name} is not Ready`);
        const pid = containerPid(now.status.containerStatuses.find((c: any) => c.name === BOT_CONTAINER).containerID);
        const environ = fs.readFileSync(`/proc/${pid}/environ`, "utf8").split("\0");
        assert.ok(environ.includes(`BINANCE_API_KEY=${rotated}`), "the running container does not have the new key");
        assertNoSecretIn("state", kube().backendText(), [rotated]);
        assertNoSecretIn("CLI output", kube().transcript.join("\n"), [rotated]);
    });

    it("a Recreate rollout never runs two bot containers at once; the old one stops on SIGTERM within its grace period", async () => {
        const old = botPod();
        const grace = old.spec.terminationGracePeriodSeconds;
        const logs = spawn(KUBECTL, ["--kubeconfig", kube().kubeconfig, "-n", NS, "logs", "-f", old.metadata.name]);
        let oldLog = "";
        logs.stdout.on("data", (d) => { oldLog += d; });
        // The old pod's last status, as the kubelet reports it before the pod object goes away.
        const watch = spawn(KUBECTL, ["--kubeconfig", kube().kubeconfig, "-n", NS, "get", "pod", old.metadata.name, "--watch", "--output-watch-events", "-o", "json"]);
        let watched = "";
        watch.stdout.on("data", (d) => { watched += d; });

        const seen = new Set<string>();
        let most = 0;
        let samples = 0;
        try {
            kube().pulumi(["config", "set", "trading-bot:logLevel", "info", "--stack", STACK]);
            let done = false;
            const upDone = new Promise<void>((resolve, reject) => {
                // As Workspace.pulumi runs it, but in the background while the sampler runs.
                const child = spawn(PULUMI, ["up", "--stack", STACK, "--yes", "--skip-preview", "--non-interactive",
                    "--policy-pack", path.join(PROJECT_DIR, "policy")], { cwd: kube().dir, env: kube().env() });
                let out = "";
                child.stdout.on("data", (d) => { out += d; });
                child.stderr.on("data", (d) => { out += d; });
                child.on("exit", (code) => {
                    done = true;
                    kube().transcript.push(`$ pulumi up (rollout)\n${out}`);
                    if (code === 0) resolve(); else reject(new Error(`pulumi up exited ${code}:\n${out}`));
                });
            });
            // Awaited below; a sampler failure must not leave its rejection unhandled.
            upDone.catch(() => undefined);
            while (!done) {
                const running = await runningBotContainers();
                running.forEach((id) => seen.add(id));
                most = Math.max(most, running.length);
                samples++;
                await sleep(200);
            }
            await upDone;
        } finally {
            // Left running, they would keep mocha from exiting.
            logs.kill();
            watch.kill();
        }
        assert.ok(seen.size >= 2, `the sampler saw ${seen.size} bot container(s) in ${samples} samples: it proves nothing`);
        assert.strictEqual(most, 1, `two bot containers ran at once (${samples} samples)`);

        const events = watched.split(/\n(?=\{)/).filter((t) => t.trim()).map((t) => JSON.parse(t).object);
        const last = events.reverse().find((p: any) => p.status.containerStatuses?.[0]?.state?.terminated);
        assert.ok(last, `no terminated status of ${old.metadata.name} seen`);
        const terminated = last.status.containerStatuses[0].state.terminated;
        assert.strictEqual(terminated.exitCode, 0, JSON.stringify(terminated));
        // deletionTimestamp is the deletion request plus the grace period: the container ended before it.
        const deadline = Date.parse(last.metadata.deletionTimestamp);
        const finished = Date.parse(terminated.finishedAt);
        assert.ok(finished <= deadline, `the container ended at ${terminated.finishedAt}, after its grace period (${grace} s) ran out at ${last.metadata.deletionTimestamp}`);
        assert.match(oldLog, /shutting down/, oldLog);
        assert.match(oldLog, /msg=stopped/, oldLog);
        const now = botPod();
        assert.notStrictEqual(now.metadata.name, old.metadata.name);
        assert.ok(isReady(now));
    });

    it("rotating the generated PostgreSQL password (pulumi up --replace) rolls the bot; the new password works, the old one is refused", () => {
        // The program sets the same new password on PostgreSQL's Secret and the bot's, both pods roll,
        // and the image's entrypoint applies POSTGRES_PASSWORD at start.
        const state = JSON.parse(kube().pulumi(["stack", "export", "--stack", STACK]).stdout);
        const urn = state.deployment.resources.map((r: any) => r.urn)
            .find((u: string) => u.endsWith("random:index/randomPassword:RandomPassword::shared-databases-database-password"));
        assert.ok(urn, "the stack has no generated database password");
        const password = () => Buffer.from(kube().kubectlJson(["-n", NS, "get", "secret", "trading-bot-secrets"]).data["database-password"], "base64").toString();
        const oldPassword = password();
        const old = botPod();
        up(["--replace", urn]);
        const newPassword = password();
        assert.notStrictEqual(newPassword, oldPassword, "the password did not change");
        // `up` returns once the rolled pod is Ready (components/recreate.ts), not before.
        const now = botPod();
        assert.notStrictEqual(now.metadata.name, old.metadata.name, "the bot pod did not roll");
        assert.ok(isReady(now), `${now.metadata.name} is not Ready`);
        // psql in the postgres pod, over TCP (password auth; the local socket trusts), the password on stdin.
        const psql = (pw: string) => kube().kubectl(["-n", NS, "exec", "-i", "deployment/postgres", "--", "sh", "-c",
            'PGPASSWORD="$(cat)" psql -h 127.0.0.1 -U "$POSTGRES_USER" -d "$POSTGRES_DB" -tAc "select 1"'], { allowFailure: true, input: pw });
        const accepted = psql(newPassword);
        assert.strictEqual(accepted.code, 0, `the new password is refused: ${accepted.stderr}`);
        const refused = psql(oldPassword);
        assert.notStrictEqual(refused.code, 0, "PostgreSQL still accepts the old password");
        assert.match(refused.stderr, /password authentication failed/, refused.stderr);
    });
});
