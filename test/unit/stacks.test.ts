/**
 * Each stack, evaluated under mocks with its own Pulumi.<stack>.yaml, deploys exactly the seed
 * chart's values, and exactly the resources recorded in test/expected/<stack>.json.
 * After an intended change, refresh those files with `npm run test:update-expected` and review the diff.
 */
import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import {
    byType, one, PROJECT_DIR, redactSecrets, revealSecrets, runProgram, stackConfig, StackRun,
    TEST_SECRETS, withTestSecrets, botWorkload, botDataClaim,
} from "./harness";
import { AWAIT_ANNOTATION, RECREATE_ROLLOUT_DONE } from "../../components/recreate";

const STACKS = ["dev", "staging", "prod"] as const;
type StackName = (typeof STACKS)[number];

const runs = new Map<StackName, StackRun>();
async function run(stack: StackName): Promise<StackRun> {
    if (!runs.has(stack)) {
        // prod sets no secrets in its committed file; an operator sets them. Tests use fake ones.
        const config = stack === "prod" ? withTestSecrets(stackConfig(stack)) : stackConfig(stack);
        runs.set(stack, await runProgram(stack, config));
    }
    return runs.get(stack)!;
}

const DEPLOYMENT = "kubernetes:apps/v1:Deployment";
const HPA = "kubernetes:autoscaling/v2:HorizontalPodAutoscaler";
const PVC = "kubernetes:core/v1:PersistentVolumeClaim";
const CONFIG_MAP = "kubernetes:core/v1:ConfigMap";

function botDeployment(r: StackRun) {
    return botWorkload(r.resources).inputs;
}
function botContainer(r: StackRun) {
    return botDeployment(r).spec.template.spec.containers[0];
}
function botConfig(r: StackRun): Record<string, string> {
    return one(r.resources, CONFIG_MAP, "trading-bot-config").inputs.data;
}

describe("stacks evaluate to the seed chart's values", () => {
    it("dev: 1 replica, no autoscaling, 250m/512Mi, debug, trading off, 5Gi, in-cluster databases", async () => {
        const r = await run("dev");
        const deployment = botDeployment(r);
        assert.strictEqual(deployment.spec.replicas, 1);
        assert.strictEqual(deployment.metadata.namespace, "trading-dev");
        assert.deepStrictEqual(byType(r.resources, HPA), []);
        assert.deepStrictEqual(botContainer(r).resources, {
            requests: { cpu: "250m", memory: "512Mi", "ephemeral-storage": "128Mi" },
            limits: { cpu: "250m", memory: "512Mi", "ephemeral-storage": "1Gi" },
        });
        assert.strictEqual(botConfig(r).LOG_LEVEL, "debug");
        assert.strictEqual(botConfig(r).TRADING_ENABLED, "false");
        assert.strictEqual(botConfig(r).EXCHANGE_ENDPOINT, "https://testnet.binance.vision");
        const data = one(r.resources, PVC, "trading-bot-data").inputs.spec;
        assert.deepStrictEqual(data.resources.requests, { storage: "5Gi" });
        assert.strictEqual(data.storageClassName, "standard");
        // PostgreSQL and Redis run in the namespace, with generated passwords.
        const names = byType(r.resources, DEPLOYMENT).map((d) => d.inputs.metadata.name).sort();
        assert.deepStrictEqual(names, ["postgres", "redis", "trading-bot"]);
        // Two passwords, and the keys of three checksums that roll pods on a new password (the bot's, each database's).
        assert.strictEqual(byType(r.resources, "random:index/randomPassword:RandomPassword").length, 5);
        const secret = revealSecrets(one(r.resources, "kubernetes:core/v1:Secret", "trading-bot-secrets").inputs.stringData);
        assert.deepStrictEqual(Object.keys(secret).sort(), ["database-password", "redis-password"]);
        // Single instance without leader election: never two pods at once, even while rolling.
        assert.deepStrictEqual(deployment.spec.strategy, { type: "Recreate" });
        // ...and `up` waits for the new pod, not the provider's built-in await (components/recreate.ts).
        for (const d of byType(r.resources, DEPLOYMENT)) {
            assert.deepStrictEqual(d.inputs.spec.strategy, { type: "Recreate" }, d.name);
            assert.deepStrictEqual(JSON.parse(d.inputs.metadata.annotations[AWAIT_ANNOTATION]), RECREATE_ROLLOUT_DONE, d.name);
        }
    });

    it("staging: autoscaling 2-4, 400m/768Mi, info, trading off, 8Gi, leader election", async () => {
        const r = await run("staging");
        const hpa = one(r.resources, HPA).inputs.spec;
        assert.strictEqual(hpa.minReplicas, 2);
        assert.strictEqual(hpa.maxReplicas, 4);
        assert.deepStrictEqual(botContainer(r).resources.requests, { cpu: "400m", memory: "768Mi", "ephemeral-storage": "128Mi" });
        assert.strictEqual(botConfig(r).LOG_LEVEL, "info");
        assert.strictEqual(botConfig(r).TRADING_ENABLED, "false");
        assert.strictEqual(botConfig(r).LEADER_ELECTION_ENABLED, "true");
        // Two replicas on ReadWriteOnce storage: a volume each, from the StatefulSet's claim template.
        assert.strictEqual(botWorkload(r.resources).type, "kubernetes:apps/v1:StatefulSet");
        assert.deepStrictEqual(byType(r.resources, PVC).map((p) => p.inputs.metadata.name).sort(), ["postgres-data", "redis-data"]);
        assert.deepStrictEqual(botDataClaim(r.resources).spec.accessModes, ["ReadWriteOnce"]);
        assert.deepStrictEqual(botDataClaim(r.resources).spec.resources.requests, { storage: "8Gi" });
        assert.ok(one(r.resources, "kubernetes:policy/v1:PodDisruptionBudget"));
    });

    it("prod: autoscaling 3-10, 500m/1Gi, TLS database, trading on, 20Gi fast-ssd, HA, backups", async () => {
        const r = await run("prod");
        const hpa = one(r.resources, HPA).inputs.spec;
        assert.strictEqual(hpa.minReplicas, 3);
        assert.strictEqual(hpa.maxReplicas, 10);
        assert.deepStrictEqual(hpa.metrics.map((m: any) => [m.resource.name, m.resource.target.averageUtilization]),
            [["cpu", 70], ["memory", 80]]);
        assert.deepStrictEqual(botContainer(r).resources.requests, { cpu: "500m", memory: "1Gi", "ephemeral-storage": "128Mi" });
        const config = botConfig(r);
        assert.strictEqual(config.DATABASE_SSL_MODE, "require");
        assert.strictEqual(config.TRADING_ENABLED, "true");
        assert.strictEqual(config.EXCHANGE_ENDPOINT, "https://api.binance.com");
        const pvc = botDataClaim(r.resources);
        assert.deepStrictEqual(pvc.spec.accessModes, ["ReadWriteOnce"]);
        assert.deepStrictEqual(pvc.spec.resources.requests, { storage: "20Gi" });
        assert.strictEqual(pvc.spec.storageClassName, "fast-ssd");
        assert.strictEqual(pvc.metadata.labels["trading-bot.io/backup"], "enabled");
        const pod = botDeployment(r).spec.template;
        assert.strictEqual(pod.metadata.annotations["backup.velero.io/backup-volumes"], "data");
        assert.ok(pod.spec.affinity.podAntiAffinity);
        assert.deepStrictEqual(pod.spec.topologySpreadConstraints.map((c: any) => c.topologyKey),
            ["topology.kubernetes.io/zone", "kubernetes.io/hostname"]);
        assert.ok(one(r.resources, "kubernetes:policy/v1:PodDisruptionBudget"));
        assert.ok(one(r.resources, "kubernetes:networking.k8s.io/v1:NetworkPolicy"));
        // External databases: nothing runs PostgreSQL or Redis here.
        assert.deepStrictEqual(byType(r.resources, DEPLOYMENT).map((d) => d.inputs.metadata.name), []);
        assert.strictEqual(botWorkload(r.resources).type, "kubernetes:apps/v1:StatefulSet");
    });

    for (const stack of STACKS) {
        it(`${stack}: every stack probes /health, /ready and exposes /metrics to Prometheus on 8000`, async () => {
            const r = await run(stack);
            const c = botContainer(r);
            assert.strictEqual(c.livenessProbe.httpGet.path, "/health");
            assert.strictEqual(c.readinessProbe.httpGet.path, "/ready");
            assert.strictEqual(c.startupProbe.httpGet.path, "/health");
            assert.deepStrictEqual(c.ports, [{ name: "http", containerPort: 8000, protocol: "TCP" }]);
            const annotations = botDeployment(r).spec.template.metadata.annotations;
            assert.strictEqual(annotations["prometheus.io/scrape"], "true");
            assert.strictEqual(annotations["prometheus.io/port"], "8000");
            assert.strictEqual(annotations["prometheus.io/path"], "/metrics");
            const service = one(r.resources, "kubernetes:core/v1:Service", "trading-bot-service").inputs.spec;
            assert.strictEqual(service.type, "ClusterIP");
            assert.strictEqual(service.ports[0].port, 8000);
        });

        it(`${stack}: outputs replace NOTES.txt and hold no secret`, async () => {
            const r = await run(stack);
            const ns = `trading-${stack}`;
            assert.strictEqual(r.outputs.namespace, ns);
            assert.strictEqual(r.outputs.serviceDns, `trading-bot.${ns}.svc.cluster.local`);
            assert.strictEqual(r.outputs.servicePort, 8000);
            assert.match(String(r.outputs.portForwardCommand), new RegExp(`-n ${ns} port-forward svc/trading-bot 8000:8000$`));
            const kind = stack === "dev" ? "deployment" : "statefulset";
            assert.match(String(r.outputs.logsCommand), new RegExp(`-n ${ns} logs -f ${kind}/trading-bot$`));
            assert.strictEqual(r.outputs.healthCheckCommand, "curl -fsS http://127.0.0.1:8000/health");
            assert.deepStrictEqual(r.secretOutputs, []);
            const text = JSON.stringify(r.outputs);
            for (const value of Object.values(TEST_SECRETS)) assert.ok(!text.includes(value));
        });

        it(`${stack}: deploys exactly test/expected/${stack}.json`, async () => {
            const r = await run(stack);
            const actual = r.resources
                .map((res) => ({ type: res.type, name: res.name, options: res.options, inputs: redactSecrets(res.inputs) }))
                .sort((a, b) => `${a.type} ${a.name}`.localeCompare(`${b.type} ${b.name}`));
            const file = path.join(PROJECT_DIR, "test", "expected", `${stack}.json`);
            // The dev kubeconfig path is absolute; the checkout's location is not part of the plan.
            const text = JSON.stringify(actual, null, 2).split(PROJECT_DIR).join("<project>") + "\n";
            if (process.env.UPDATE_EXPECTED === "1") {
                fs.writeFileSync(file, text);
            }
            assert.ok(fs.existsSync(file), `missing ${file}: run npm run test:update-expected`);
            const expected = JSON.parse(fs.readFileSync(file, "utf8"));
            assert.deepStrictEqual(JSON.parse(text), expected,
                `${stack} deploys something else than test/expected/${stack}.json; if intended, run npm run test:update-expected and review the diff`);
            for (const value of Object.values(TEST_SECRETS)) {
                assert.ok(!text.includes(value), `a secret value is visible in the ${stack} resources`);
            }
        });
    }
});
