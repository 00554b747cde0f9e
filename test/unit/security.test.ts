/**
 * What keeps a bot that moves real money safe: hardened pods, least-privilege RBAC, secrets that
 * stay secret, and a replica count owned by exactly one controller.
 */
import * as assert from "assert";
import {
    byType, isSecretValue, one, RecordedResource, redactSecrets, revealSecrets, runProgram, stackConfig,
    StackRun, TEST_SECRETS, withTestSecrets, botWorkload,
} from "./harness";

const STACKS = ["dev", "staging", "prod"] as const;
const DEPLOYMENT = "kubernetes:apps/v1:Deployment";

async function evaluate(stack: string, overrides: Record<string, string> = {}): Promise<StackRun> {
    // Every stack with every secret set to a known test value, so a leak would be found.
    return runProgram(stack, withTestSecrets(stackConfig(stack, overrides)));
}

function podSpecs(resources: RecordedResource[]) {
    return [...byType(resources, DEPLOYMENT), ...byType(resources, "kubernetes:apps/v1:StatefulSet")]
        .map((d) => ({ name: d.name, spec: d.inputs.spec.template.spec }));
}

describe("security", () => {
    for (const stack of STACKS) {
        describe(stack, () => {
            let r: StackRun;
            before(async () => {
                r = await evaluate(stack);
            });

            it("every pod is hardened: non-root, read-only root, no escalation, drop ALL, seccomp", () => {
                for (const { name, spec } of podSpecs(r.resources)) {
                    assert.strictEqual(spec.securityContext.runAsNonRoot, true, name);
                    assert.strictEqual(spec.securityContext.seccompProfile.type, "RuntimeDefault", name);
                    assert.strictEqual(spec.automountServiceAccountToken !== undefined, true, `${name} decides token mounting`);
                    for (const c of spec.containers) {
                        const sc = c.securityContext;
                        assert.strictEqual(sc.allowPrivilegeEscalation, false, name);
                        assert.strictEqual(sc.readOnlyRootFilesystem, true, name);
                        assert.deepStrictEqual(sc.capabilities.drop, ["ALL"], name);
                        assert.ok(c.resources.requests.cpu && c.resources.requests.memory, `${name} sets requests`);
                        assert.ok(c.resources.limits.cpu && c.resources.limits.memory, `${name} sets limits`);
                        assert.ok(!/:latest$/.test(c.image) && /[:@]/.test(c.image), `${name} pins its image: ${c.image}`);
                    }
                }
            });

            it("the bot runs as UID/GID 1000 with fsGroup 1000 and writes only to its volumes", () => {
                const spec = botWorkload(r.resources).inputs.spec.template.spec;
                assert.deepStrictEqual(
                    [spec.securityContext.runAsUser, spec.securityContext.runAsGroup, spec.securityContext.fsGroup],
                    [1000, 1000, 1000]);
                const mounts = spec.containers[0].volumeMounts.map((m: any) => m.mountPath).sort();
                assert.deepStrictEqual(mounts, ["/app/data", "/app/logs", "/tmp"]);
                assert.deepStrictEqual(spec.volumes.find((v: any) => v.name === "tmp").emptyDir, { sizeLimit: "256Mi" });
            });

            it("the namespace enforces the restricted Pod Security Standard", () => {
                const ns = one(r.resources, "kubernetes:core/v1:Namespace").inputs;
                assert.strictEqual(ns.metadata.labels["pod-security.kubernetes.io/enforce"], "restricted");
            });

            it("RBAC: no wildcards; only the bot's own Lease, and only with leader election", () => {
                const role = one(r.resources, "kubernetes:rbac.authorization.k8s.io/v1:Role").inputs;
                const text = JSON.stringify(role.rules ?? []);
                assert.ok(!text.includes("*"), `wildcard in ${text}`);
                const deployment = botWorkload(r.resources).inputs.spec.template.spec;
                if (stack === "dev") {
                    assert.strictEqual(role.rules, undefined, "no rules: the bot does not talk to the API");
                    assert.strictEqual(deployment.automountServiceAccountToken, false);
                } else {
                    assert.deepStrictEqual(role.rules, [{
                        apiGroups: ["coordination.k8s.io"], resources: ["leases"],
                        resourceNames: ["trading-bot-leader"], verbs: ["get", "update", "patch"],
                    }]);
                    assert.strictEqual(deployment.automountServiceAccountToken, true);
                    const lease = one(r.resources, "kubernetes:coordination.k8s.io/v1:Lease").inputs;
                    assert.strictEqual(lease.metadata.name, "trading-bot-leader");
                    const env = one(r.resources, "kubernetes:core/v1:ConfigMap", "trading-bot-config").inputs.data;
                    assert.strictEqual(env.LEADER_ELECTION_LEASE_NAME, "trading-bot-leader");
                }
                const sa = one(r.resources, "kubernetes:core/v1:ServiceAccount").inputs;
                assert.strictEqual(sa.automountServiceAccountToken, false);
                const binding = one(r.resources, "kubernetes:rbac.authorization.k8s.io/v1:RoleBinding").inputs;
                assert.deepStrictEqual(binding.subjects, [{ kind: "ServiceAccount", name: "trading-bot", namespace: `trading-${stack}` }]);
            });

            it("secrets: Secret content is secret; no ConfigMap, env literal or annotation holds a secret value", () => {
                for (const secret of byType(r.resources, "kubernetes:core/v1:Secret")) {
                    assert.ok(isSecretValue(secret.inputs.stringData), `${secret.name} stringData is not secret`);
                }
                const visible = JSON.stringify(r.resources.map((res) => redactSecrets(res.inputs)));
                for (const value of Object.values(TEST_SECRETS)) {
                    assert.ok(!visible.includes(value), `secret value visible outside a secret: ${value.slice(0, 12)}...`);
                }
                for (const { spec } of podSpecs(r.resources)) {
                    for (const e of spec.containers[0].env ?? []) {
                        assert.ok(e.value === undefined || !/password|secret|key/i.test(e.name),
                            `env ${e.name} has a literal value`);
                    }
                }
            });

            it("the HPA alone owns the replica count when autoscaling is on", () => {
                const deployment = botWorkload(r.resources).inputs;
                const hpas = byType(r.resources, "kubernetes:autoscaling/v2:HorizontalPodAutoscaler");
                if (stack === "dev") {
                    assert.strictEqual(hpas.length, 0);
                    assert.strictEqual(deployment.spec.replicas, 1);
                } else {
                    assert.strictEqual(hpas.length, 1);
                    assert.ok(!("replicas" in deployment.spec), "spec.replicas would fight the HPA (pulumi-kubernetes#2491)");
                    assert.deepStrictEqual(hpas[0].inputs.spec.scaleTargetRef, { apiVersion: "apps/v1", kind: botWorkload(r.resources).inputs.kind, name: "trading-bot" });
                }
            });
        });
    }

    it("the Secret holds exactly the configured values", async () => {
        const r = await evaluate("prod");
        const data = revealSecrets(one(r.resources, "kubernetes:core/v1:Secret").inputs.stringData);
        assert.deepStrictEqual(data, {
            "binance-api-key": TEST_SECRETS.binanceApiKey,
            "binance-api-secret": TEST_SECRETS.binanceApiSecret,
            "database-password": TEST_SECRETS.databasePassword,
            "redis-password": TEST_SECRETS.redisPassword,
        });
    });

    it("existingSecret: no Secret is created and the pods read the named one", async () => {
        const r = await runProgram("prod", stackConfig("prod", { existingSecret: "sealed-trading-bot" }));
        assert.deepStrictEqual(byType(r.resources, "kubernetes:core/v1:Secret"), []);
        const env = botWorkload(r.resources).inputs.spec.template.spec.containers[0].env;
        const refs = env.filter((e: any) => e.valueFrom?.secretKeyRef).map((e: any) => e.valueFrom.secretKeyRef.name);
        assert.deepStrictEqual([...new Set(refs)], ["sealed-trading-bot"]);
    });

    it("existingSecret with in-cluster databases: they read their passwords from it too", async () => {
        const r = await runProgram("dev", stackConfig("dev", { existingSecret: "dev-secrets" }));
        assert.deepStrictEqual(byType(r.resources, "kubernetes:core/v1:Secret"), []);
        assert.deepStrictEqual(byType(r.resources, "random:index/randomPassword:RandomPassword"), []);
        const postgres = byType(r.resources, DEPLOYMENT).find((d) => d.inputs.metadata.name === "postgres")!;
        const env = postgres.inputs.spec.template.spec.containers[0].env;
        assert.deepStrictEqual(env.find((e: any) => e.name === "POSTGRES_PASSWORD").valueFrom.secretKeyRef,
            { name: "dev-secrets", key: "database-password" });
    });

    it("rotating a key changes the pod template (the pods roll) but not the checksum's secrecy", async () => {
        const before = await evaluate("prod");
        const after = await runProgram("prod", withTestSecrets(stackConfig("prod", { binanceApiKey: "rotated-key-0000" })));
        const annotations = (r: StackRun) => botWorkload(r.resources).inputs.spec.template.metadata.annotations;
        assert.notStrictEqual(annotations(before)["checksum/secret"], annotations(after)["checksum/secret"]);
        assert.strictEqual(annotations(before)["checksum/config"], annotations(after)["checksum/config"]);
        assert.ok(!isSecretValue(botWorkload(after.resources).inputs.spec), "the Deployment spec must stay reviewable");
    });

    it("a log level change changes only the config checksum", async () => {
        const before = await evaluate("dev");
        const after = await evaluate("dev", { logLevel: "info" });
        const annotations = (r: StackRun) => botWorkload(r.resources).inputs.spec.template.metadata.annotations;
        assert.notStrictEqual(annotations(before)["checksum/config"], annotations(after)["checksum/config"]);
        assert.strictEqual(annotations(before)["checksum/secret"], annotations(after)["checksum/secret"]);
    });

    it("NetworkPolicy: bot port from allowed namespaces only; egress DNS, PostgreSQL, Redis, HTTPS, API server", async () => {
        const r = await evaluate("prod");
        const policy = one(r.resources, "kubernetes:networking.k8s.io/v1:NetworkPolicy").inputs.spec;
        assert.deepStrictEqual(policy.policyTypes, ["Ingress", "Egress"]);
        assert.deepStrictEqual(policy.ingress[0].from[0].namespaceSelector.matchExpressions[0].values, ["trading-prod", "monitoring"]);
        assert.deepStrictEqual(policy.ingress[0].ports, [{ protocol: "TCP", port: 8000 }]);
        const ports = policy.egress.flatMap((rule: any) => rule.ports.map((p: any) => `${p.protocol}/${p.port}`));
        assert.deepStrictEqual(ports, ["UDP/53", "TCP/53", "TCP/5432", "TCP/6379", "TCP/443", "TCP/443", "TCP/6443"]);
    });
});
