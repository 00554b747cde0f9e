/**
 * Reliability and security, end to end: the real Pulumi engine and providers against the local
 * cluster, each test printing what it tried.
 *
 *   Bad input         every case of test/unit/invalidConfigs.ts, set with `pulumi config set` on a
 *                     deployed stack and refused by `pulumi up`, with state and cluster unchanged
 *   Security          no secret value anywhere it must not be; RBAC enumerated against the real
 *                     authorizer; live pods hardened; the namespace enforces `restricted`
 *   Failed rollout    a release that never becomes ready fails within rolloutTimeoutSeconds while
 *                     the previous version keeps serving; rollback is one command
 *   Interrupted       `pulumi up` SIGKILLed mid-flight (first deploy and update), then the
 *                     documented recovery: cancel, refresh --clear-pending-creates, up
 *   Lost API server   the API server killed during a preview (while an admission webhook holds the
 *                     preview's first dry run: reliability/dryRunGate.ts) and during an up; state
 *                     intact; after it returns the next up converges (last: it disturbs the shared cluster)
 *
 * Bad input, security and the failed rollout share the dev, staging and prod stacks deployed once
 * in before() (bad input also uses a second dev stack, to run two dev cases at a time); the
 * interrupted deploys and the lost API server share one more dev stack.
 */
import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import { TEST_SECRETS } from "../unit/harness";
import { INVALID_CONFIGS, InvalidConfig } from "../unit/invalidConfigs";
import { assertNoSecretIn, botPods, waitFor } from "./cluster";
import { AdmissionGate } from "./admissionGate";
import { openDryRunGate } from "./reliability/dryRunGate";
import {
    AccessQuestion, alive, apiServerRunning, assertSameState, BackgroundPulumi, cli, cliAsync, exportState, foreignPulumiRuns, isReady,
    KUBECTL, liveObjects, liveSnapshot, log, managedLive, RBAC_RESOURCES, RBAC_VERBS,
    readyEndpoints, roleAllows, seconds, sleep, startCluster, stateDigest, stateObjects, stateResources,
    stopApiServer, subjectAccess, unrecorded, until,
} from "./reliability/support";
import { Workspace } from "./workspace";

type StackName = "dev" | "staging" | "prod";

interface Deployed {
    /** dev, dev2 (a second dev stack, so bad-input cases of dev run on two stacks at once), staging, prod. */
    key: string;
    stack: StackName;
    ns: string;
    ws: Workspace;
    /** The known test values set as secret config (what must never leak). */
    secrets: Record<string, string>;
    /** Bot pods once the stack has settled (the HPA's minimum in staging and prod). */
    pods: number;
    /** The bot's workload kind. */
    workload: "deployment" | "statefulset";
    /** Config beyond the namespace. */
    config?: Record<string, string>;
}

const BINANCE = { binanceApiKey: TEST_SECRETS.binanceApiKey, binanceApiSecret: TEST_SECRETS.binanceApiSecret };
const SETUP: Omit<Deployed, "ws">[] = [
    { key: "dev", stack: "dev", ns: "e2e-rel-dev", secrets: BINANCE, pods: 1, workload: "deployment" },
    { key: "dev2", stack: "dev", ns: "e2e-rel-dev2", secrets: BINANCE, pods: 1, workload: "deployment" },
    // Staging on a shared ReadWriteMany volume (the local `standard` class offers it): a Deployment,
    // whose surge-based rolling update the failed-rollout case is about.
    {
        key: "staging", stack: "staging", ns: "e2e-rel-staging", secrets: BINANCE, pods: 2, workload: "deployment",
        config: { storageAccessMode: "ReadWriteMany" },
    },
    { key: "prod", stack: "prod", ns: "e2e-rel-prod", secrets: { ...TEST_SECRETS }, pods: 3, workload: "statefulset" },
];
const SECRET_KEYS = ["binanceApiKey", "binanceApiSecret", "databasePassword", "redisPassword"];
const INT_STACK = "dev";
const INT_NS = "e2e-rel-interrupt";
const INT_REPLICAS = 2;
const GOOD_TAG = "1.0.0";
/** An image tag the local cluster runs but never reports ready (local/cluster/addons/kwok-stages.yaml). */
const NEVER_READY = "never-ready";

const deployed: Record<string, Deployed> = {};
let interrupt: Workspace | undefined;

/** Waits until the stack has settled: the workload rolled out, the expected pods Ready. */
function settled(d: Deployed): void {
    waitFor(`${d.key}: ${d.pods} ready bot pods`, () => {
        const dep = d.ws.kubectlJson(["-n", d.ns, "get", d.workload, "trading-bot"]);
        const s = dep.status ?? {};
        return s.observedGeneration === dep.metadata.generation && s.readyReplicas === d.pods
            && s.updatedReplicas === d.pods && s.replicas === d.pods;
    }, 180);
}

describe("Reliability and security on the local cluster (real engine, real providers)", function () {
    before(async function () {
        assert.ok(apiServerRunning(), "the local cluster is not running: bash local/cluster/cluster.sh up");
        const start = Date.now();
        for (const s of SETUP) {
            const ws = new Workspace(`rel-${s.key}`);
            deployed[s.key] = { ...s, ws };
            ws.initStack(s.stack, { namespace: s.ns, ...s.config }, s.secrets);
        }
        // The deploys side by side.
        const ups = Object.values(deployed).map((d) => new BackgroundPulumi(d.ws, ["up", "--stack", d.stack, "--yes", "--skip-preview"]));
        const results = await Promise.all(ups.map((u) => u.result(600)));
        for (const [i, d] of Object.values(deployed).entries()) {
            assert.strictEqual(results[i].code, 0, `pulumi up --stack ${d.stack}:\n${results[i].output}`);
            settled(d);
            console.log(`    set-up: ${d.key} (stack ${d.stack}) deployed into ${d.ns} with test secrets ${Object.keys(d.secrets).join(", ")} set with --secret`);
        }
        console.log(`    set-up: ${seconds(start)}`);
    });

    after(async function () {
        this.timeout(600_000);
        if (!apiServerRunning()) console.log(`    clean-up: bringing the API server back (${startCluster().toFixed(1)} s)`);
        const start = Date.now();
        const leftovers = await BackgroundPulumi.stopLeftovers();
        if (leftovers.length) console.log(`    clean-up: killed ${leftovers.length} pulumi run(s) a failed test left running`);
        const all: [Workspace, string, string][] = [
            ...Object.values(deployed).map((d) => [d.ws, d.stack, d.ns] as [Workspace, string, string]),
            ...(interrupt ? [[interrupt, INT_STACK, INT_NS] as [Workspace, string, string]] : []),
        ];
        // prod protects its data volume; lift that to clean up. Destroys run side by side.
        for (const [ws, stack] of all) {
            if (leftovers.includes(ws)) cli(ws, ["cancel", "--yes", "--stack", stack], { allowFailure: true });
            cli(ws, ["state", "unprotect", "--all", "--yes", "--stack", stack], { allowFailure: true });
        }
        const destroys = all.map(([ws, stack]) => new BackgroundPulumi(ws, ["destroy", "--yes", "--skip-preview", "--stack", stack]));
        const results = await Promise.all(destroys.map((d) => d.result(300).catch((e) => ({ code: -1, output: String(e) }))));
        for (const [i, [ws, stack, ns]] of all.entries()) {
            if (results[i].code !== 0) console.log(`    clean-up: destroy of ${stack} (${ns}) failed:\n${results[i].output.slice(-2000)}`);
            // Whatever a failed test left behind.
            ws.kubectl(["delete", "namespace", ns, "--ignore-not-found", "--wait=false"], { allowFailure: true });
            ws.remove();
        }
        console.log(`    clean-up: ${results.filter((r) => r.code === 0).length} of ${all.length} stacks destroyed, ` +
            `namespaces ${all.map((a) => a[2]).join(", ")} deleted (${seconds(start)})`);
    });

    // -----------------------------------------------------------------------------------------
    describe("Bad input: each invalid configuration is refused; state and cluster unchanged", function () {
        interface Baseline { live: Record<string, string>; state: any[]; digest: string }
        interface Outcome { tried: string[]; code: number; out: string; seconds: number; state: { resources: any[]; pending: any[] }; live: Record<string, string> }
        interface Deferred<T> { promise: Promise<T>; resolve: (v: T) => void; reject: (e: unknown) => void }
        const deferred = <T>(): Deferred<T> => {
            let resolve!: (v: T) => void;
            let reject!: (e: unknown) => void;
            const promise = new Promise<T>((res, rej) => { resolve = res; reject = rej; });
            promise.catch(() => undefined); // reported by the test that awaits it
            return { promise, resolve, reject };
        };
        const PLAINTEXT_SECRET = "plaintext-binance-key-0a1b2c";
        // dev's cases alternate between the two dev stacks; each stack runs its cases one by one,
        // the four stacks side by side. Each test below reports its case's outcome.
        let devTurn = 0;
        const assigned = INVALID_CONFIGS.map((c) => ({ c, key: c.stack === "dev" ? (devTurn++ % 2 ? "dev2" : "dev") : c.stack }));
        const outcomes = new Map<InvalidConfig, Deferred<Outcome>>(INVALID_CONFIGS.map((c) => [c, deferred<Outcome>()]));
        const finals = new Map<string, Deferred<{ digest: string; preview: string; live: Record<string, string> }>>();
        const baselines = new Map<string, Baseline>();
        const tally = { tried: 0, clean: 0, byProgram: 0, byCli: 0, cliTypes: [] as string[] };
        let workers: Promise<unknown> = Promise.resolve();

        /** Sets one key the way a user would: secrets with --secret on stdin, lists item by item. */
        async function setKey(d: Deployed, key: string, value: string): Promise<string> {
            const k = `trading-bot:${key}`;
            if (SECRET_KEYS.includes(key)) {
                if (value === "[plaintext secret]") {
                    // What the program sees of a secret key set without --secret.
                    await cliAsync(d.ws, ["config", "set", k, "--stack", d.stack, "--", PLAINTEXT_SECRET]);
                    return `pulumi config set ${k} ${PLAINTEXT_SECRET}`;
                }
                await cliAsync(d.ws, ["config", "set", "--secret", k, "--stack", d.stack], { input: value });
                return `pulumi config set --secret ${k} <${JSON.stringify(value)} on stdin>`;
            }
            if (value.startsWith("[")) {
                const items = JSON.parse(value) as string[];
                await cliAsync(d.ws, ["config", "rm", k, "--stack", d.stack], { allowFailure: true });
                for (const [i, item] of items.entries()) {
                    await cliAsync(d.ws, ["config", "set", "--path", `${k}[${i}]`, "--stack", d.stack, "--", item]);
                }
                return items.map((item, i) => `pulumi config set --path '${k}[${i}]' ${item}`).join("; ");
            }
            await cliAsync(d.ws, ["config", "set", k, "--stack", d.stack, "--", value]);
            return `pulumi config set ${k} ${JSON.stringify(value)}`;
        }

        async function tryCase(d: Deployed, c: InvalidConfig): Promise<Outcome> {
            const file = path.join(d.ws.dir, `Pulumi.${d.stack}.yaml`);
            const original = fs.readFileSync(file, "utf8");
            const tried: string[] = [];
            const start = Date.now();
            let r: { code: number; stdout: string; stderr: string };
            try {
                // The unit tests start dev and staging from the committed stack files, which set no
                // Binance keys; these stacks have test ones.
                if (d.stack !== "prod" && ["binanceApiKey", "binanceApiSecret"].includes(c.key)) {
                    for (const k of ["binanceApiKey", "binanceApiSecret"].filter((k) => !(k in c.set))) {
                        await cliAsync(d.ws, ["config", "rm", `trading-bot:${k}`, "--stack", d.stack]);
                        tried.push(`pulumi config rm trading-bot:${k}`);
                    }
                }
                for (const [key, value] of Object.entries(c.set)) tried.push(await setKey(d, key, value));
                r = await cliAsync(d.ws, ["up", "--stack", d.stack, "--yes", "--skip-preview"], { allowFailure: true });
            } finally {
                fs.writeFileSync(file, original);
            }
            tried.push(`pulumi up --yes --skip-preview --stack ${d.stack}`);
            return {
                tried, code: r.code, out: r.stdout + r.stderr, seconds: (Date.now() - start) / 1000,
                state: stateResources(d.ws, d.stack), live: await liveSnapshot(d.ws, d.ns),
            };
        }

        before(async function () {
            const start = Date.now();
            for (const d of Object.values(deployed)) settled(d);
            await Promise.all(Object.values(deployed).map(async (d) => {
                const state = stateResources(d.ws, d.stack);
                assert.deepStrictEqual(state.pending, []);
                const [live, digest] = await Promise.all([liveSnapshot(d.ws, d.ns), stateDigest(d.ws, d.stack)]);
                baselines.set(d.key, { live, state: state.resources, digest });
                finals.set(d.key, deferred());
            }));
            workers = Promise.all(Object.values(deployed).map(async (d) => {
                for (const { c } of assigned.filter((a) => a.key === d.key)) {
                    await tryCase(d, c).then(outcomes.get(c)!.resolve, outcomes.get(c)!.reject);
                }
                const final = finals.get(d.key)!;
                try {
                    const digest = await stateDigest(d.ws, d.stack);
                    const preview = await cliAsync(d.ws, ["preview", "--stack", d.stack, "--expect-no-changes"], { allowFailure: true });
                    final.resolve({ digest, preview: preview.code === 0 ? "" : preview.stdout + preview.stderr, live: await liveSnapshot(d.ws, d.ns) });
                } catch (e) {
                    final.reject(e);
                }
            }));
            console.log(`      baselines of ${baselines.size} stacks (${seconds(start)}); their cases run side by side, one at a time per stack`);
        });

        after(async () => {
            await workers;
            const line = `${tally.tried} invalid inputs tried, ${tally.clean} refused cleanly`;
            console.log(`\n    ${line}`);
            console.log(`      ${tally.byProgram} refused by the program (the error names the key, the value and the fix)`);
            console.log(`      ${tally.byCli} refused by the Pulumi CLI before the program ran, because the value does not ` +
                `have the type Pulumi.yaml declares (${tally.cliTypes.join(", ")}): its error names the key and the ` +
                `expected type, not the value nor a fix`);
            console.log(`      every refusal: exit code 1, the stack's state and every live object in its namespace unchanged\n`);
        });

        for (const { c, key } of assigned) {
            it(`${c.stack}: ${c.what} (${JSON.stringify(c.set)})`, async function () {
                tally.tried++;
                const d = deployed[key];
                const o = await outcomes.get(c)!.promise;
                const base = baselines.get(d.key)!;
                log(`[${d.key}] tried: ${o.tried.join("; ")}`);
                assert.notStrictEqual(o.code, 0, `pulumi up accepted it:\n${o.out}`);
                assert.ok(!o.out.includes(PLAINTEXT_SECRET), "the error shows the value of a secret key");

                const typeError = o.out.match(/Stack '\w+' with configuration key '([\w.[\]]+)' must be of type '([^']+)'/);
                if (typeError) {
                    assert.ok(typeError[1] in c.set, `the CLI names ${typeError[1]}, not one of the keys set`);
                    log(`refused by the Pulumi CLI (type check, the program did not run): ${typeError[0]}`);
                    tally.byCli++;
                    tally.cliTypes.push(`${typeError[1]}=${JSON.stringify(c.set[typeError[1]])} is not ${typeError[2]}`);
                } else {
                    const problem = `trading-bot:${c.key} = ${c.value}`;
                    const at = o.out.indexOf(problem);
                    assert.ok(at >= 0, `the error does not name ${problem}:\n${o.out}`);
                    const lines = o.out.slice(at).split("\n");
                    const fix = lines.find((l) => l.trim().startsWith("fix:"))?.trim() ?? "";
                    assert.ok(fix.includes(c.fix), `the fix "${fix}" does not include "${c.fix}"`);
                    assert.ok(fix.includes(`--stack ${c.stack}`), `the fix does not name the stack: ${fix}`);
                    assert.match(o.out, /configuration problems?; nothing was deployed/);
                    log(`refused by the program: ${lines[0].trim()}\n  ${fix}`);
                    tally.byProgram++;
                }
                assert.deepStrictEqual(o.state.pending, [], "pending operations in the state");
                assertSameState(o.state.resources, base.state, c.what);
                assert.deepStrictEqual(o.live, base.live, "the cluster changed");
                log(`state (${o.state.resources.length} resources) and cluster (${Object.keys(base.live).length} objects in ${d.ns}) ` +
                    `unchanged (${o.seconds.toFixed(1)} s)`);
                tally.clean++;
            });
        }

        for (const key of SETUP.map((s) => s.key)) {
            it(`${key}: after its cases, not one value of the state changed and the stack is still converged`, async function () {
                const d = deployed[key];
                const final = await finals.get(key)!.promise;
                const base = baselines.get(key)!;
                assert.strictEqual(final.digest, base.digest, "the state (secret values included) changed");
                assert.strictEqual(final.preview, "", `pulumi preview --expect-no-changes failed:\n${final.preview}`);
                assert.deepStrictEqual(final.live, base.live);
                log(`${d.ns}: stack export --show-secrets digest unchanged; pulumi preview --expect-no-changes passes`);
            });
        }
    });

    // -----------------------------------------------------------------------------------------
    describe("Security", function () {
        for (const stack of ["dev", "staging", "prod"] as StackName[]) {
            it(`${stack}: no secret value in the state, any CLI output, the stack file, live ConfigMaps or annotations`, function () {
                const d = deployed[stack];
                const { ws, ns } = d;
                // More of what users run and see, all recorded for the search.
                cli(ws, ["preview", "--diff", "--stack", stack]);
                cli(ws, ["stack", "output", "--json", "--stack", stack]);
                cli(ws, ["stack", "export", "--stack", stack]);
                cli(ws, ["config", "--stack", stack]);
                cli(ws, ["stack", "history", "--stack", stack]);

                // Every value of every live Secret (the test values and the generated passwords),
                // read without recording it.
                const objects = liveObjects(ws, ns);
                const liveSecrets = objects.filter((o) => o.kind === "Secret");
                const values = new Set(Object.values(d.secrets));
                for (const s of liveSecrets) {
                    for (const v of Object.values<string>(s.data ?? {})) {
                        const text = Buffer.from(v, "base64").toString("utf8");
                        if (text.length >= 8) values.add(text);
                    }
                }
                // They really were deployed: the bot's Secret holds the test values.
                const bot = liveSecrets.find((s: any) => s.metadata.name === "trading-bot-secrets");
                assert.strictEqual(Buffer.from(bot.data["binance-api-key"], "base64").toString(), TEST_SECRETS.binanceApiKey);
                if (stack === "prod") {
                    assert.strictEqual(Buffer.from(bot.data["database-password"], "base64").toString(), TEST_SECRETS.databasePassword);
                }

                const nonSecret = objects.filter((o) => o.kind !== "Secret");
                const metadata = objects.map((o) => ({ kind: o.kind, name: o.metadata.name, labels: o.metadata.labels, annotations: o.metadata.annotations }));
                const events = unrecorded(ws, KUBECTL, ["--kubeconfig", ws.kubeconfig, "-n", ns, "get", "events", "-o", "json"]);
                const places: [string, string][] = [
                    ["state (every file of the backend: stack, history, backups)", ws.backendText()],
                    ["CLI output (every command of this stack's workspace)", ws.transcript.join("\n")],
                    ["stack file", ws.stackFileText(stack)],
                    ["live ConfigMaps", JSON.stringify(objects.filter((o) => o.kind === "ConfigMap"))],
                    ["live labels and annotations (Secrets included)", JSON.stringify(metadata)],
                    ["live objects other than Secrets (pod specs and env included)", JSON.stringify(nonSecret)],
                    ["events", events],
                ];
                for (const [where, text] of places) assertNoSecretIn(where, text, [...values]);
                log(`searched for ${values.size} distinct secret values (the ${Object.keys(d.secrets).length} test values set with ` +
                    `--secret and every other value of the live Secrets, i.e. generated passwords), each as is and base64-encoded:`);
                for (const [where, text] of places) log(`  ${where}: ${text.length} bytes, 0 hits`);
            });
        }

        for (const stack of ["dev", "staging", "prod"] as StackName[]) {
            it(`${stack}: RBAC: the bot's ServiceAccount can do exactly what its Role grants`, function () {
                const { ws, ns } = deployed[stack];
                const role = ws.kubectlJson(["-n", ns, "get", "role", "trading-bot"]);
                const rules = role.rules ?? [];
                assert.ok(!JSON.stringify(rules).includes("*"), `the Role uses a wildcard: ${JSON.stringify(rules)}`);
                const binding = ws.kubectlJson(["-n", ns, "get", "rolebinding", "trading-bot"]);
                assert.deepStrictEqual(binding.subjects, [{ kind: "ServiceAccount", name: "trading-bot", namespace: ns }]);
                // Each resource unnamed and by the name of the bot's own object of that kind, in the
                // bot's namespace and in kube-system (cluster-scoped ones once).
                const ownName: Record<string, string> = {
                    leases: "trading-bot-leader", configmaps: "trading-bot-config", secrets: "trading-bot-secrets",
                    persistentvolumeclaims: "trading-bot-data", namespaces: ns,
                };
                const questions: AccessQuestion[] = [];
                for (const [resource, [, namespaced]] of Object.entries(RBAC_RESOURCES)) {
                    for (const verb of RBAC_VERBS) {
                        for (const name of [undefined, ownName[resource] ?? "trading-bot"]) {
                            for (const namespace of namespaced ? [ns, "kube-system"] : [undefined]) {
                                questions.push({ verb, resource, name, namespace });
                            }
                        }
                    }
                }
                const answers = subjectAccess(ws, ns, "trading-bot", questions);
                const expected = questions.map((q) => (q.namespace === undefined || q.namespace === ns) && roleAllows(rules, q));
                const show = (q: AccessQuestion) => `${q.verb} ${q.resource}${q.name ? `/${q.name}` : ""}${q.namespace ? ` -n ${q.namespace}` : ""}`;
                const allowed = questions.filter((_, i) => answers[i]).map(show);
                const wrong = questions.filter((_, i) => answers[i] !== expected[i]).map((q, i) => `${show(q)}: ${answers[i] ? "allowed" : "denied"}`);
                assert.deepStrictEqual(wrong, [], "the authorizer and the Role disagree");
                log(`Role rules: ${JSON.stringify(rules)}`);
                log(`asked the API server (SubjectAccessReview as system:serviceaccount:${ns}:trading-bot) ` +
                    `${questions.length} questions: ${RBAC_VERBS.length} verbs x ${Object.keys(RBAC_RESOURCES).length} resources, ` +
                    `unnamed and by name, in ${ns} and kube-system`);
                log(`allowed: ${allowed.length ? allowed.join(", ") : "nothing"}`);
                // The same through impersonation, the way kubectl users check it.
                const leader = ws.kubectl(["auth", "can-i", "get", "leases/trading-bot-leader", "-n", ns,
                    "--as", `system:serviceaccount:${ns}:trading-bot`], { allowFailure: true }).stdout.trim();
                assert.strictEqual(leader, rules.length ? "yes" : "no");
                const secrets = ws.kubectl(["auth", "can-i", "list", "secrets", "-n", ns,
                    "--as", `system:serviceaccount:${ns}:trading-bot`], { allowFailure: true }).stdout.trim();
                assert.strictEqual(secrets, "no");
                // The API token is mounted only where the bot has something to do with it.
                const pod = botPods(ws, ns)[0];
                assert.strictEqual(pod.spec.automountServiceAccountToken, rules.length > 0);
                log(`kubectl auth can-i get leases/trading-bot-leader: ${leader}; kubectl auth can-i list secrets: ${secrets}; ` +
                    `token mounted in the pods: ${rules.length > 0}`);
            });
        }

        for (const stack of ["dev", "staging", "prod"] as StackName[]) {
            it(`${stack}: live pods run hardened and the namespace enforces the restricted Pod Security Standard`, function () {
                const { ws, ns } = deployed[stack];
                const pods = ws.kubectlJson(["-n", ns, "get", "pods"]).items.filter((p: any) => !p.metadata.deletionTimestamp);
                assert.ok(pods.length > 0);
                for (const pod of pods) {
                    const psc = pod.spec.securityContext ?? {};
                    for (const c of [...(pod.spec.initContainers ?? []), ...pod.spec.containers]) {
                        const sc = c.securityContext ?? {};
                        const where = `${pod.metadata.name}/${c.name}`;
                        assert.strictEqual(sc.runAsNonRoot ?? psc.runAsNonRoot, true, `${where}: runAsNonRoot`);
                        assert.notStrictEqual(sc.runAsUser ?? psc.runAsUser, 0, `${where}: runs as root`);
                        assert.strictEqual(sc.readOnlyRootFilesystem, true, `${where}: readOnlyRootFilesystem`);
                        assert.strictEqual(sc.allowPrivilegeEscalation, false, `${where}: allowPrivilegeEscalation`);
                        assert.notStrictEqual(sc.privileged, true, `${where}: privileged`);
                        assert.ok((sc.capabilities?.drop ?? []).includes("ALL"), `${where}: does not drop ALL capabilities`);
                        assert.deepStrictEqual(sc.capabilities?.add ?? [], [], `${where}: adds capabilities`);
                        assert.strictEqual((sc.seccompProfile ?? psc.seccompProfile)?.type, "RuntimeDefault", `${where}: seccomp`);
                    }
                    const c = pod.spec.containers[0].securityContext;
                    log(`${pod.metadata.name}: runAsNonRoot, uid ${c.runAsUser ?? psc.runAsUser}, readOnlyRootFilesystem, ` +
                        `no privilege escalation, drop ${c.capabilities.drop.join(",")}, seccomp ${(c.seccompProfile ?? psc.seccompProfile).type}`);
                }
                const labels = ws.kubectlJson(["get", "namespace", ns]).metadata.labels;
                assert.strictEqual(labels["pod-security.kubernetes.io/enforce"], "restricted");
                log(`namespace ${ns}: pod-security.kubernetes.io/enforce=${labels["pod-security.kubernetes.io/enforce"]}`);

                const run = (name: string, securityContext: object) => ws.kubectl(["-n", ns, "run", name, "--image=busybox:1.36",
                    "--restart=Never", "--dry-run=server", "-o", "name",
                    `--overrides=${JSON.stringify({ spec: { containers: [{ name, image: "busybox:1.36", securityContext }] } })}`],
                { allowFailure: true });
                const hardenedContext = {
                    runAsNonRoot: true, runAsUser: 1000, allowPrivilegeEscalation: false,
                    capabilities: { drop: ["ALL"] }, seccompProfile: { type: "RuntimeDefault" },
                };
                // Compliant in every other way, so the refusal is for privileged alone.
                const privileged = run("rel-privileged", { ...hardenedContext, allowPrivilegeEscalation: true, privileged: true });
                assert.notStrictEqual(privileged.code, 0, "the API server admitted a privileged pod");
                assert.match(privileged.stderr, /violates PodSecurity "restricted:latest"/);
                assert.match(privileged.stderr, /privileged/);
                log(`kubectl run --dry-run=server of a pod with securityContext.privileged=true (allowPrivilegeEscalation must then be true): refused: ${privileged.stderr.trim().split("\n")[0]}`);
                // The control: a pod that meets the standard is admitted.
                const hardened = run("rel-hardened", hardenedContext);
                assert.strictEqual(hardened.code, 0, hardened.stderr);
                log(`the same with a hardened securityContext: admitted (${hardened.stdout.trim()}, dry run)`);
            });
        }
    });

    // -----------------------------------------------------------------------------------------
    describe("Failed rollout (staging: 2 leader-elected replicas, RollingUpdate maxSurge 1 maxUnavailable 0)", function () {
        let previousTag = "";
        let previousPods: string[] = [];

        it(`a release that never becomes ready: up fails within rolloutTimeoutSeconds (60), naming the condition; the previous version keeps serving`, async function () {
            const { ws, ns, stack } = deployed.staging;
            cli(ws, ["config", "set", "trading-bot:rolloutTimeoutSeconds", "60", "--stack", stack]);
            cli(ws, ["up", "--stack", stack, "--yes", "--skip-preview"]);
            const dep = ws.kubectlJson(["-n", ns, "get", "deployment", "trading-bot"]);
            assert.strictEqual(dep.spec.progressDeadlineSeconds, 60);
            assert.deepStrictEqual(dep.spec.strategy, { type: "RollingUpdate", rollingUpdate: { maxSurge: 1, maxUnavailable: 0 } });
            settled(deployed.staging);
            const old = botPods(ws, ns);
            previousPods = old.map((p) => p.metadata.name).sort();
            previousTag = old[0].spec.containers[0].image.split(":").pop();
            log(`serving: ${previousPods.join(", ")} (image tag ${previousTag}), both Ready; rolloutTimeoutSeconds 60`);

            cli(ws, ["config", "set", "trading-bot:imageTag", NEVER_READY, "--stack", stack]);
            const up = new BackgroundPulumi(ws, ["up", "--stack", stack, "--yes", "--skip-preview"]);
            log(`pulumi up with imageTag ${NEVER_READY} (its pods start but never pass the readiness probe)...`);
            let samples = 0;
            let minOldReady = Infinity;
            let minEndpoints = Infinity;
            let newPodSeen = "";
            while (up.running) {
                const pods = botPods(ws, ns);
                const oldReady = previousPods.filter((n) => pods.some((p) => p.metadata.name === n && isReady(p))).length;
                const endpoints = readyEndpoints(ws, ns, "trading-bot").length;
                const fresh = pods.find((p) => p.spec.containers[0].image.endsWith(`:${NEVER_READY}`));
                if (fresh) {
                    assert.ok(!isReady(fresh), `${fresh.metadata.name} became Ready`);
                    newPodSeen ||= `${fresh.metadata.name} (${fresh.status.phase}, Ready=False: ${fresh.status.conditions?.find((c: any) => c.type === "Ready")?.message})`;
                }
                minOldReady = Math.min(minOldReady, oldReady);
                minEndpoints = Math.min(minEndpoints, endpoints);
                samples++;
                await sleep(2000);
            }
            const r = await up.result(10);
            log(`up exited ${r.code} after ${r.seconds.toFixed(1)} s; sampled the cluster ${samples} times while it ran:`);
            log(`  old pods Ready: at least ${minOldReady} of ${previousPods.length}; Service trading-bot ready endpoints: at least ${minEndpoints}`);
            log(`  the new pod: ${newPodSeen || "never seen"}`);
            assert.notStrictEqual(r.code, 0, r.output);
            assert.ok(r.seconds >= 60 && r.seconds <= 60 + 45, `up failed after ${r.seconds} s, not at the 60 s timeout`);
            assert.ok(newPodSeen, "the new version's pod never appeared");
            assert.strictEqual(minOldReady, previousPods.length, "an old pod stopped serving during the failed rollout");
            assert.ok(minEndpoints >= previousPods.length, "the Service lost ready endpoints");
            // The pod's failing condition and the timeout; the Deployment's ProgressDeadlineExceeded
            // too when the controller's 60 s deadline passes before Pulumi's.
            for (const condition of [/containers with unready status: \[trading-bot\]/, /timed out waiting to be Ready/]) {
                assert.match(r.output, condition);
            }
            const errors = r.output.split("\n").filter((l) => /^\s+(\*|error:)/.test(l)).map((l) => l.trim());
            log(`the error names the failing condition:\n  ${[...new Set(errors)].slice(0, 6).join("\n  ")}`);

            // After the failure: the previous version still serves, the state is consistent.
            const after = botPods(ws, ns);
            assert.deepStrictEqual(previousPods.filter((n) => after.some((p) => p.metadata.name === n && isReady(p))), previousPods);
            assert.ok(readyEndpoints(ws, ns, "trading-bot").length >= previousPods.length);
            assert.deepStrictEqual(exportState(ws, stack).deployment.pending_operations ?? [], []);
            log(`after the failure: ${previousPods.join(", ")} still Ready behind the Service; no pending operation in the state`);
        });

        it("rollback is one command, `pulumi up --yes -c trading-bot:imageTag=<previous tag>`, and converges", function () {
            const { ws, ns, stack } = deployed.staging;
            assert.ok(previousTag, "the previous test did not run");
            const start = Date.now();
            cli(ws, ["up", "--stack", stack, "--yes", "--config", `trading-bot:imageTag=${previousTag}`]);
            log(`pulumi up --stack ${stack} --yes --config trading-bot:imageTag=${previousTag}: done in ${seconds(start)}`);
            waitFor("the never-ready pod to be gone", () => botPods(ws, ns).every((p) => !p.spec.containers[0].image.endsWith(`:${NEVER_READY}`)), 120);
            settled(deployed.staging);
            const pods = botPods(ws, ns);
            assert.ok(pods.every((p) => p.spec.containers[0].image.endsWith(`:${previousTag}`) && isReady(p)));
            assert.match(ws.stackFileText(stack), new RegExp(`trading-bot:imageTag: "?${previousTag.replace(/\./g, "\\.")}"?`));
            cli(ws, ["preview", "--stack", stack, "--expect-no-changes"]);
            assert.deepStrictEqual(exportState(ws, stack).deployment.pending_operations ?? [], []);
            const same = pods.map((p) => p.metadata.name).sort();
            assert.deepStrictEqual(same, previousPods, "the previous version's pods were replaced");
            log(`converged: ${pods.length} Ready pods on ${previousTag} (${same.join(", ")}: the same pods that served ` +
                `throughout, never restarted); the stack file records imageTag ${previousTag}; preview --expect-no-changes passes`);
        });
    });

    // -----------------------------------------------------------------------------------------
    /** State and cluster agree: no pending operation, no orphan, no duplicate, one ready version. */
    function assertConverged(ws: Workspace, tag: string): void {
        cli(ws, ["preview", "--stack", INT_STACK, "--expect-no-changes"]);
        const exported = exportState(ws, INT_STACK);
        assert.deepStrictEqual(exported.deployment.pending_operations ?? [], [], "pending operations left");
        const inState = stateObjects(exported).sort();
        const urns = (exported.deployment.resources ?? []).map((r: any) => r.urn);
        assert.strictEqual(new Set(urns).size, urns.length, "a URN appears twice in the state");
        assert.strictEqual(new Set(inState).size, inState.length, "two resources of the state manage one object");
        const live = managedLive(ws, INT_NS);
        assert.deepStrictEqual(live, inState, "managed objects in the cluster and resources in the state differ");
        waitFor(`${INT_REPLICAS} Ready pods of one version of the bot`, () => {
            const pods = botPods(ws, INT_NS);
            return pods.length === INT_REPLICAS && pods.every((p) => isReady(p) && p.spec.containers[0].image.endsWith(`:${tag}`));
        }, 120);
        const replicaSets = ws.kubectlJson(["-n", INT_NS, "get", "replicasets", "-l", "app.kubernetes.io/instance=trading-bot"]).items;
        assert.strictEqual(replicaSets.filter((rs: any) => rs.spec.replicas > 0).length, 1, "more than one active ReplicaSet");
        log(`converged: ${inState.length} Kubernetes objects in the state = ${live.length} managed objects live ` +
            `(0 orphans, 0 duplicates), no pending operation, ${INT_REPLICAS} Ready pods on ${tag} from one ReplicaSet, preview --expect-no-changes passes`);
    }

    async function killMidFlight(ws: Workspace, what: string, inFlight: () => boolean): Promise<void> {
        const up = new BackgroundPulumi(ws, ["up", "--stack", INT_STACK, "--yes", "--skip-preview"]);
        await until(what, () => inFlight() || !up.running, 120, 300);
        await sleep(1000);
        assert.ok(up.running, `pulumi up ended before it could be killed:\n${up.output()}`);
        const pids = up.killTree();
        const r = await up.result(30);
        await until("every killed process to be gone", () => pids.every((p) => !alive(p)), 15, 100);
        assert.strictEqual(r.signal, "SIGKILL");
        const last = r.output.trim().split("\n").filter((l) => /kubernetes:|random:/.test(l)).slice(-3).map((l) => l.trim());
        log(`SIGKILLed pulumi up after ${r.seconds.toFixed(1)} s (${what}), with everything it started: ` +
            `${pids.length} processes (CLI, language host, node, providers), none left\n  its last lines: ${last.join("\n  ")}`);
    }

    /** The pending operations of an exported state. */
    function pendingOf(exported: any): { type: string; name: string }[] {
        const ops = exported.deployment.pending_operations ?? [];
        return ops.map((o: any) => ({ type: o.type, name: String(o.resource.urn).split("::").pop() }));
    }

    /** The pending operations the killed run left, printed. */
    function loggedPendingOf(exported: any): { type: string; name: string }[] {
        const pending = pendingOf(exported);
        log(`the state records ${pending.length} pending operations: ${pending.map((p) => `${p.type} ${p.name}`).join(", ")}`);
        return pending;
    }

    /** The documented recovery, then a good release: the next up must converge. */
    function recoverThenDeployGoodTag(ws: Workspace): void {
        recover(ws);
        cli(ws, ["config", "set", "trading-bot:imageTag", GOOD_TAG, "--stack", INT_STACK]);
        const start = Date.now();
        cli(ws, ["up", "--yes", "--stack", INT_STACK]);
        log(`imageTag ${GOOD_TAG}, then pulumi up --yes: done in ${seconds(start)}`);
        assertConverged(ws, GOOD_TAG);
    }

    /** The documented recovery after an interrupted deploy. */
    function recover(ws: Workspace): void {
        const locked = cli(ws, ["up", "--stack", INT_STACK, "--yes", "--skip-preview"], { allowFailure: true });
        assert.notStrictEqual(locked.code, 0);
        assert.match(locked.stderr + locked.stdout, /the stack is currently locked by 1 lock\(s\)/);
        assert.match(locked.stderr + locked.stdout, /pulumi cancel/);
        log(`pulumi up now: refused, "the stack is currently locked by 1 lock(s) ... delete the lock file with \`pulumi cancel\`"`);
        const cancel = cli(ws, ["cancel", "--yes", "--stack", INT_STACK]);
        assert.match(cancel.stdout, /has been canceled/);
        cli(ws, ["refresh", "--yes", "--clear-pending-creates", "--stack", INT_STACK]);
        assert.deepStrictEqual(pendingOf(exportState(ws, INT_STACK)), []);
        log(`recovery: pulumi cancel --yes (removes the dead run's lock); pulumi refresh --yes --clear-pending-creates ` +
            `(state re-read from the cluster, pending operations cleared)`);
    }

    describe("Interrupted deploy: pulumi up SIGKILLed mid-flight, then the documented recovery", function () {
        before(function () {
            interrupt = new Workspace("rel-interrupt");
            // Pods of this tag never become ready, so the deploy is reliably still in flight when
            // killed. Two leader-elected replicas, RollingUpdate, as in staging and prod.
            interrupt.initStack(INT_STACK, {
                namespace: INT_NS, imageTag: NEVER_READY, rolloutTimeoutSeconds: "60",
                replicas: String(INT_REPLICAS), leaderElectionEnabled: "true", storageAccessMode: "ReadWriteMany",
            });
        });

        it("killed during the first deploy: after the recovery, the next up converges, adopting what the killed run created", async function () {
            const ws = interrupt!;
            await killMidFlight(ws, "the bot's Deployment and pod exist: its create is in flight",
                () => botPods(ws, INT_NS).length > 0);
            const exported = exportState(ws, INT_STACK);
            const pending = loggedPendingOf(exported);
            assert.ok(pending.some((p) => p.type === "creating" && p.name === "trading-bot-deployment"), "no pending create of the Deployment");
            const uids = Object.fromEntries(liveObjects(ws, INT_NS).map((o) => [`${o.kind}/${o.metadata.name}`, o.metadata.uid]));
            const createdBeforeKill = managedLive(ws, INT_NS);
            const inState = stateObjects(exported);
            const untracked = createdBeforeKill.filter((k) => !inState.includes(k));
            log(`live after the kill: ${createdBeforeKill.length} managed objects, ${untracked.length} of them not in the state ` +
                `(orphans unless the recovery adopts them): ${untracked.join(", ")}`);

            recoverThenDeployGoodTag(ws);
            const liveAfter = liveObjects(ws, INT_NS);
            const kept = createdBeforeKill.filter((k) => uids[k] && liveAfter.some((o) => `${o.kind}/${o.metadata.name}` === k && o.metadata.uid === uids[k]));
            assert.deepStrictEqual(kept, createdBeforeKill, "objects the killed run created were deleted and re-created");
            log(`all ${kept.length} objects the killed run had created were adopted (same uid), none re-created`);
        });

        it("killed during an update (a rollout in progress): after the recovery, the next up converges", async function () {
            const ws = interrupt!;
            // A pod template no ReplicaSet had before (logLevel changes its config checksum): when a
            // release returns to an old template, pulumi-kubernetes 4.25 may take the old ReplicaSet,
            // still at 0 replicas, for the finished rollout and end the update at once (see README).
            cli(ws, ["config", "set", "trading-bot:imageTag", NEVER_READY, "--stack", INT_STACK]);
            cli(ws, ["config", "set", "trading-bot:logLevel", "warning", "--stack", INT_STACK]);
            await killMidFlight(ws, "the Deployment was updated: a pod of the new version exists",
                () => botPods(ws, INT_NS).some((p) => p.spec.containers[0].image.endsWith(`:${NEVER_READY}`)));
            const pending = loggedPendingOf(exportState(ws, INT_STACK));
            assert.ok(pending.some((p) => p.type === "updating" && p.name === "trading-bot-deployment"), "no pending update of the Deployment");
            recoverThenDeployGoodTag(ws);
        });
    });

    // -----------------------------------------------------------------------------------------
    describe("Lost API server (kills the shared cluster's kube-apiserver: runs last)", function () {
        /** Others deploying to the shared cluster would fail with it: give their runs a minute to end. */
        async function quietCluster(): Promise<void> {
            const start = Date.now();
            while (foreignPulumiRuns().length && Date.now() - start < 90_000) await sleep(3000);
            if (Date.now() - start > 1000) log(`waited ${seconds(start)} for other pulumi runs on the shared cluster` +
                `${foreignPulumiRuns().length ? " (still running: they may fail)" : ""}`);
        }
        async function stopIt(): Promise<void> {
            const pid = await stopApiServer();
            log(`killed kube-apiserver (pid ${pid}, SIGKILL)`);
        }
        function restart(): void {
            const start = Date.now();
            const took = startCluster();
            // Back means schedulable too: the fake nodes Ready, without the taints the node
            // lifecycle controller puts on nodes whose heartbeats it missed.
            waitFor("the nodes to be Ready and untainted", () => interrupt!.kubectlJson(["get", "nodes"]).items.every((n: any) =>
                n.status.conditions.some((c: any) => c.type === "Ready" && c.status === "True")
                && !(n.spec.taints ?? []).some((t: any) => t.key.startsWith("node.kubernetes.io/"))), 120);
            log(`brought it back with \`npm run cluster -- up\` (local/cluster/cluster.sh up): ${took.toFixed(1)} s, ` +
                `nodes Ready after ${seconds(start)}`);
        }
        /** What the CLI reports when the API server is gone: a reset connection, a refused one, or both. */
        const unreachable = /connection reset by peer|connect: connection refused|cluster is unreachable/;

        let gate: AdmissionGate | undefined;
        async function closeGate(): Promise<void> {
            await gate?.close();
            gate = undefined;
        }

        afterEach(async function () {
            // A failed test must not leave the shared cluster without its API server, nor the gate registered.
            try {
                if (!apiServerRunning()) restart();
            } finally {
                await closeGate();
            }
        });

        it("during a preview: a clear error, no state written; `preview --refresh` and `up` fail clearly while it is down", async function () {
            const ws = interrupt!;
            assert.ok(ws, "the interrupted-deploy stack is missing");
            cli(ws, ["config", "set", "trading-bot:logLevel", "info", "--stack", INT_STACK]);
            const state = stateResources(ws, INT_STACK);
            const digest = await stateDigest(ws, INT_STACK);
            const live = await liveSnapshot(ws, INT_NS);

            // The preview's dry runs all come within a few hundred milliseconds: the gate (an
            // admission webhook) holds the first one inside the API server, which is killed while
            // the preview waits on it.
            await quietCluster();
            gate = await openDryRunGate(ws, INT_NS);
            const run = new BackgroundPulumi(ws, ["preview", "--stack", INT_STACK]);
            await until("the preview's first dry run to reach the API server", () => gate!.held.length > 0 || !run.running, 120, 50);
            assert.ok(run.running, `the preview ended without a dry run reaching the API server:\n${run.output()}`);
            const held = gate.held[0];
            await stopIt();
            assert.ok(gate.heldFor() < 25, `the kill came ${gate.heldFor().toFixed(1)} s after the gate held the dry run: ` +
                "the API server may have given up on the webhook (timeoutSeconds 30) and let the preview go on");
            const preview = await run.result(180);
            assert.notStrictEqual(preview.code, 0, preview.output);
            assert.match(preview.output, unreachable);
            const err = preview.output.split("\n").find((l) => unreachable.test(l))!.trim();
            log(`pulumi preview (logLevel info) was waiting on ${held.operation} ${held.resource}/${held.name} (dry run, as ${held.user}) ` +
                `when the API server was killed; it exited ${preview.code} after ${preview.seconds.toFixed(1)} s: ${err.slice(0, 300)}`);

            // While it is down.
            const plain = cli(ws, ["preview", "--stack", INT_STACK], { allowFailure: true });
            log(`pulumi preview started while it is down: exit ${plain.code}` + (plain.code === 0
                ? " (LIMITATION: pulumi-kubernetes previews an unreachable cluster from the state alone, without an error; " +
                  "`preview --refresh` below does report it)"
                : `: ${(plain.stdout + plain.stderr).split("\n").find((l) => unreachable.test(l))?.trim()}`));
            const refreshing = cli(ws, ["preview", "--refresh", "--stack", INT_STACK], { allowFailure: true });
            assert.notStrictEqual(refreshing.code, 0);
            assert.match(refreshing.stdout + refreshing.stderr, /unreachable/);
            log(`pulumi preview --refresh: exit ${refreshing.code}: ` +
                `${(refreshing.stdout + refreshing.stderr).split("\n").find((l) => /error: .*unreachable/.test(l))?.trim().slice(0, 200)}`);
            const upDown = cli(ws, ["up", "--stack", INT_STACK, "--yes", "--skip-preview"], { allowFailure: true });
            assert.notStrictEqual(upDown.code, 0);
            assert.match(upDown.stdout + upDown.stderr, unreachable);
            log(`pulumi up: exit ${upDown.code}: ${(upDown.stdout + upDown.stderr).split("\n").find((l) => /error: .*(unreachable|refused)/.test(l))?.trim().slice(0, 200)}`);

            const after = stateResources(ws, INT_STACK);
            assert.deepStrictEqual(after.pending, []);
            assertSameState(after.resources, state.resources, "after the failed preview and up");
            assert.strictEqual(await stateDigest(ws, INT_STACK), digest);
            restart();
            await closeGate();
            assert.deepStrictEqual(await liveSnapshot(ws, INT_NS), live, "the cluster changed");
            log("the state is unchanged (not one value) and so is every live object");
        });

        it("during an up: a clear error, a valid state; after it returns the next up converges", async function () {
            const ws = interrupt!;
            await quietCluster();
            const up = new BackgroundPulumi(ws, ["up", "--stack", INT_STACK, "--yes", "--skip-preview"]);
            await until("the up to change the cluster (the ConfigMap has LOG_LEVEL=info)", () =>
                ws.kubectlJson(["-n", INT_NS, "get", "configmap", "trading-bot-config"]).data.LOG_LEVEL === "info" || !up.running, 120, 100);
            assert.ok(up.running, `the up ended before the API server could be stopped:\n${up.output()}`);
            const killedAt = Date.now();
            await stopIt();
            const r = await up.result(300);
            assert.notStrictEqual(r.code, 0, r.output);
            assert.match(r.output, unreachable);
            const err = r.output.split("\n").find((l) => unreachable.test(l))!.trim();
            log(`pulumi up (logLevel info: ConfigMap updated, Deployment rolling) exited ${r.code}, ${seconds(killedAt)} after the kill: ${err.slice(0, 300)}`);

            const exported = exportState(ws, INT_STACK);
            assert.ok(Array.isArray(exported.deployment.resources) && exported.deployment.resources.length > 0);
            assert.deepStrictEqual(exported.deployment.pending_operations ?? [], []);
            log(`pulumi stack export: valid, ${exported.deployment.resources.length} resources, no pending operation`);

            restart();
            const start = Date.now();
            cli(ws, ["up", "--stack", INT_STACK, "--yes", "--skip-preview"]);
            log(`pulumi up: done in ${seconds(start)}`);
            assertConverged(ws, GOOD_TAG);
            assert.strictEqual(ws.kubectlJson(["-n", INT_NS, "get", "configmap", "trading-bot-config"]).data.LOG_LEVEL, "info");
        });
    });
});
