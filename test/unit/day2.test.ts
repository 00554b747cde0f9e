/**
 * What everyday operations and a cloud cluster ask of the plan (issue 11), decided under mocks:
 * shared resources owned by the stack and never by a bot, provider identity, storage that works on
 * zonal ReadWriteOnce classes, external databases named explicitly, TLS to Redis, NetworkPolicies
 * for the in-cluster databases, their probes. The live side (UIDs kept, previews) is in
 * test/e2e/day2.test.ts and test/e2e/upgrade.test.ts.
 */
import * as assert from "assert";
import {
    botDataClaim, botWorkload, byType, one, RecordedResource, runProgram, stackConfig, StackConfig, withTestSecrets,
} from "./harness";

const NP = "kubernetes:networking.k8s.io/v1:NetworkPolicy";
const DEPLOYMENT = "kubernetes:apps/v1:Deployment";

async function resources(stack: "dev" | "staging" | "prod", overrides: StackConfig = {}): Promise<RecordedResource[]> {
    const config = stackConfig(stack, overrides);
    return (await runProgram(stack, stack === "prod" ? withTestSecrets(config) : config)).resources;
}

const bots = (...names: string[]) => ({ bots: JSON.stringify(names.map((name) => ({ name }))) });

/** Everything not owned by a bot, as it would be planned: type, name, parent, options, inputs. */
function sharedPart(all: RecordedResource[], botNames: string[]): string[] {
    const ofBot = (r: RecordedResource) => botNames.some((b) => r.name === b || r.name.startsWith(`${b}-`));
    return all.filter((r) => !ofBot(r)).map((r) => JSON.stringify(r)).sort();
}

describe("day-2 safety: ownership, identity, cloud storage, external services", () => {
    describe("what the bots share belongs to the stack", () => {
        it("adding, removing, renaming or reordering bots leaves every shared resource as it was", async () => {
            const base = sharedPart(await resources("dev", bots("btc-usdt", "eth-usdt")), ["btc-usdt", "eth-usdt"]);
            assert.ok(base.some((r) => r.includes('"kubernetes:core/v1:Namespace"')), "the namespace is shared");
            assert.ok(base.filter((r) => r.includes('"kubernetes:apps/v1:Deployment"')).length === 2, "PostgreSQL and Redis are shared");
            for (const names of [["eth-usdt"], ["eth-usdt", "btc-usdt"], ["sol-usdt", "eth-usdt"], ["btc-usdt", "eth-usdt", "sol-usdt"]]) {
                const other = sharedPart(await resources("dev", bots(...names)), names);
                // The aliases name each bot that might have owned them before: compare without them.
                const strip = (list: string[]) => list.map((r) => r.replace(/"aliases":\[[^\]]*\],?/, "").replace(/,}/, "}"));
                assert.deepStrictEqual(strip(other), strip(base), `bots ${names.join(", ")}`);
            }
        });

        it("every bot's own resource is parented by that bot; shared ones by the stack's SharedResources", async () => {
            const all = await resources("dev", bots("btc-usdt", "eth-usdt"));
            for (const r of all) {
                const bot = ["btc-usdt", "eth-usdt"].find((b) => r.name.startsWith(`${b}-`));
                if (bot) assert.strictEqual(r.options.parent, `trading-bot:index:TradingBot::${bot}`, r.name);
            }
            assert.strictEqual(one(all, "kubernetes:core/v1:Namespace").options.parent, "trading-bot:index:SharedResources::shared");
            for (const password of byType(all, "random:index/randomPassword:RandomPassword").filter((r) => /^shared-databases-(database|redis)-password$/.test(r.name))) {
                assert.strictEqual(password.options.parent, "trading-bot:index:SharedResources::shared");
            }
            for (const d of byType(all, DEPLOYMENT).filter((r) => ["postgres", "redis"].includes(r.inputs.metadata.name))) {
                assert.strictEqual(d.options.parent, "trading-bot:index:InClusterDatabases::shared-databases");
            }
        });

        it("stacks deployed before keep their objects: aliases name where each shared resource was", async () => {
            const all = await resources("dev", bots("btc-usdt", "eth-usdt"));
            assert.deepStrictEqual(one(all, "kubernetes:core/v1:Namespace").options.aliases, [
                "urn:pulumi:dev::trading-bot::trading-bot:index:TradingBot$kubernetes:core/v1:Namespace::btc-usdt-namespace",
                "urn:pulumi:dev::trading-bot::trading-bot:index:TradingBot$kubernetes:core/v1:Namespace::eth-usdt-namespace",
            ]);
            assert.deepStrictEqual(one(all, "trading-bot:index:InClusterDatabases").options.aliases, [
                "urn:pulumi:dev::trading-bot::trading-bot:index:InClusterDatabases::btc-usdt-databases",
                "urn:pulumi:dev::trading-bot::trading-bot:index:InClusterDatabases::eth-usdt-databases",
            ]);
            // The database Deployment's selector cannot change: an older stack keeps the one it has.
            const postgres = byType(all, DEPLOYMENT).find((d) => d.inputs.metadata.name === "postgres")!;
            assert.deepStrictEqual(postgres.options.ignoreChanges,
                ["spec.selector", 'spec.template.metadata.labels["app.kubernetes.io/instance"]']);
            assert.ok(!JSON.stringify(postgres.inputs).includes("btc-usdt"), "no bot's name in the databases");
        });

        it("prod's namespace and data volumes are protected; dev's are not", async () => {
            const prod = await resources("prod");
            assert.strictEqual(one(prod, "kubernetes:core/v1:Namespace").options.protect, true);
            // Per-replica claims are not Pulumi resources: the StatefulSet keeps them on delete and scale-down.
            assert.deepStrictEqual(botWorkload(prod).inputs.spec.persistentVolumeClaimRetentionPolicy, { whenDeleted: "Retain", whenScaled: "Retain" });
            const shared = await resources("prod", { storageAccessMode: "ReadWriteMany" });
            assert.strictEqual(one(shared, "kubernetes:core/v1:PersistentVolumeClaim", "trading-bot-data").options.protect, true);
            const dev = await resources("dev");
            assert.strictEqual(one(dev, "kubernetes:core/v1:Namespace").options.protect, undefined);
        });
    });

    describe("a provider change never cascades into replacing the stack", () => {
        it("the provider has a stable clusterIdentifier: the stack's name unless configured", async () => {
            const provider = (all: RecordedResource[]) => one(all, "pulumi:providers:kubernetes").inputs;
            assert.strictEqual(provider(await resources("dev")).clusterIdentifier, "dev");
            assert.strictEqual(provider(await resources("dev", { clusterIdentifier: "eu-west-1-trading" })).clusterIdentifier, "eu-west-1-trading");
        });

        it("no resource asks to be deleted before it is replaced (the provider does so only for a same-named object)", async () => {
            for (const stack of ["dev", "staging", "prod"] as const) {
                const first = (await resources(stack)).filter((r) => r.options.deleteBeforeReplace);
                assert.deepStrictEqual(first.map((r) => r.name), [], stack);
            }
        });
    });

    describe("several replicas on zonal ReadWriteOnce storage", () => {
        it("prod: a StatefulSet with a 20Gi ReadWriteOnce fast-ssd claim per replica, a headless peers Service, the HPA on it", async () => {
            const all = await resources("prod");
            const sts = botWorkload(all);
            assert.strictEqual(sts.type, "kubernetes:apps/v1:StatefulSet");
            assert.deepStrictEqual(botDataClaim(all).spec, {
                accessModes: ["ReadWriteOnce"], storageClassName: "fast-ssd", resources: { requests: { storage: "20Gi" } },
            });
            assert.deepStrictEqual(byType(all, "kubernetes:core/v1:PersistentVolumeClaim"), []);
            const peers = byType(all, "kubernetes:core/v1:Service").find((s) => s.inputs.metadata.name === sts.inputs.spec.serviceName)!;
            assert.strictEqual(peers.inputs.spec.clusterIP, "None");
            assert.deepStrictEqual(peers.inputs.spec.selector, sts.inputs.spec.selector.matchLabels);
            assert.deepStrictEqual(one(all, "kubernetes:autoscaling/v2:HorizontalPodAutoscaler").inputs.spec.scaleTargetRef,
                { apiVersion: "apps/v1", kind: "StatefulSet", name: "trading-bot" });
            assert.ok(!("replicas" in sts.inputs.spec), "the HPA owns the replica count");
            const volumes = sts.inputs.spec.template.spec.volumes.map((v: any) => v.name);
            assert.ok(!volumes.includes("data"), "the data volume comes from the claim template");
        });

        it("a class that really offers ReadWriteMany keeps one shared claim and a Deployment", async () => {
            const all = await resources("staging", { storageAccessMode: "ReadWriteMany" });
            assert.strictEqual(botWorkload(all).type, DEPLOYMENT);
            assert.deepStrictEqual(one(all, "kubernetes:core/v1:PersistentVolumeClaim", "trading-bot-data").inputs.spec.accessModes, ["ReadWriteMany"]);
        });

        it("one replica keeps a Deployment with its claim (dev)", async () => {
            const all = await resources("dev");
            assert.strictEqual(botWorkload(all).type, DEPLOYMENT);
            assert.deepStrictEqual(botDataClaim(all).spec.accessModes, ["ReadWriteOnce"]);
        });
    });

    describe("external services are named, and reached over TLS in prod", () => {
        it("prod points the bot at the hosts the stack names, with TLS to Redis", async () => {
            const config = one(await resources("prod"), "kubernetes:core/v1:ConfigMap", "trading-bot-config").inputs.data;
            assert.strictEqual(config.DATABASE_HOST, "postgres.db.example.internal");
            assert.strictEqual(config.REDIS_HOST, "redis.cache.example.internal");
            assert.strictEqual(config.REDIS_TLS, "true");
            assert.strictEqual(config.REDIS_TLS_SERVER_NAME, "redis.cache.example.internal");
            assert.strictEqual(config.REDIS_TLS_CA_FILE, undefined);
        });

        it("a private CA for Redis is mounted from a ConfigMap of its own and named to the bot", async () => {
            const pem = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----";
            const all = await resources("prod", { redisTlsCaCert: pem, redisTlsServerName: "redis.internal" });
            assert.strictEqual(one(all, "kubernetes:core/v1:ConfigMap", "trading-bot-tls").inputs.data["redis-ca.crt"], pem);
            const config = one(all, "kubernetes:core/v1:ConfigMap", "trading-bot-config").inputs.data;
            assert.deepStrictEqual([config.REDIS_TLS_SERVER_NAME, config.REDIS_TLS_CA_FILE], ["redis.internal", "/app/tls/redis-ca.crt"]);
            const pod = botWorkload(all).inputs.spec.template.spec;
            assert.deepStrictEqual(pod.volumes.find((v: any) => v.name === "tls"), { name: "tls", configMap: { name: "trading-bot-tls" } });
            assert.deepStrictEqual(pod.containers[0].volumeMounts.find((m: any) => m.name === "tls"), { name: "tls", mountPath: "/app/tls", readOnly: true });
        });
    });

    describe("network", () => {
        for (const stack of ["dev", "staging"] as const) {
            it(`${stack}: the in-cluster PostgreSQL and Redis accept connections only from the stack's bots, and open none`, async () => {
                const all = await resources(stack);
                for (const [name, port] of [["postgres", 5432], ["redis", 6379]] as const) {
                    const policy = byType(all, NP).find((p) => p.inputs.metadata.name === name);
                    assert.ok(policy, `no NetworkPolicy for ${name}`);
                    assert.deepStrictEqual(policy.inputs.spec, {
                        podSelector: { matchLabels: { "app.kubernetes.io/name": name } },
                        policyTypes: ["Ingress", "Egress"],
                        ingress: [{
                            from: [{ podSelector: { matchLabels: { "app.kubernetes.io/name": "trading-bot", "app.kubernetes.io/component": "bot" } } }],
                            ports: [{ protocol: "TCP", port }],
                        }],
                        egress: [],
                    });
                }
            });
        }

        it("prod's egress goes to the declared database and Redis addresses, never 0.0.0.0/0 on their ports", async () => {
            const policy = one(await resources("prod"), NP).inputs.spec;
            const to = (port: number) => policy.egress.filter((r: any) => r.ports.some((p: any) => p.port === port)).flatMap((r: any) => r.to);
            assert.deepStrictEqual(to(5432), [{ ipBlock: { cidr: "10.20.0.0/24" } }]);
            assert.deepStrictEqual(to(6379), [{ ipBlock: { cidr: "10.20.1.0/24" } }]);
            const withNamespace = one(await resources("prod", { databaseEgressTo: '["namespace:databases"]' }), NP).inputs.spec;
            assert.deepStrictEqual(withNamespace.egress[1].to, [{ namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "databases" } } }]);
        });

        it("with in-cluster databases the bot's egress reaches exactly their pods", async () => {
            const policy = one(await resources("staging", { networkPolicyEnabled: "true" }), NP, "trading-bot-networkpolicy").inputs.spec;
            assert.deepStrictEqual(policy.egress[1].to, [{ podSelector: { matchLabels: { "app.kubernetes.io/name": "postgres" } } }]);
            assert.deepStrictEqual(policy.egress[2].to, [{ podSelector: { matchLabels: { "app.kubernetes.io/name": "redis" } } }]);
        });
    });

    describe("database pods", () => {
        it("readiness is the server's own check, a startup probe covers initialisation, liveness differs from readiness", async () => {
            const all = await resources("dev");
            for (const [name, check] of [["postgres", "pg_isready"], ["redis", "redis-cli"]] as const) {
                const c = byType(all, DEPLOYMENT).find((d) => d.inputs.metadata.name === name)!.inputs.spec.template.spec.containers[0];
                assert.ok(c.readinessProbe.exec.command.join(" ").includes(check), `${name} readiness: ${JSON.stringify(c.readinessProbe)}`);
                assert.deepStrictEqual(c.startupProbe.exec, c.readinessProbe.exec);
                assert.ok(c.startupProbe.periodSeconds * c.startupProbe.failureThreshold >= 120);
                assert.deepStrictEqual(c.livenessProbe.tcpSocket, { port: name === "postgres" ? 5432 : 6379 });
            }
        });

        it("a password the stack sets rotates the in-cluster database's: both sides get it, and the server's pod rolls", async () => {
            const pods = async (overrides: StackConfig) => {
                const all = await resources("dev", overrides);
                const template = (name: string) => byType(all, DEPLOYMENT).find((d) => d.inputs.metadata.name === name)!.inputs.spec.template;
                return { all, postgres: template("postgres"), bot: template("trading-bot") };
            };
            const generated = await pods({});
            const rotated = await pods({ databasePassword: "rotated-db-password-123" });
            // The server's Secret and the bot's hold the same, stack-set value; nothing is generated for it.
            const reveal = (r: RecordedResource) => JSON.stringify(r.inputs.stringData);
            assert.match(reveal(one(rotated.all, "kubernetes:core/v1:Secret", "shared-databases-postgres-secret")), /rotated-db-password-123/);
            assert.match(reveal(one(rotated.all, "kubernetes:core/v1:Secret", "trading-bot-secrets")), /rotated-db-password-123/);
            assert.ok(!byType(rotated.all, "random:index/randomPassword:RandomPassword").some((r) => r.name === "shared-databases-database-password"));
            // Both pods roll: their password checksums change, and stay free of the value.
            for (const which of ["postgres", "bot"] as const) {
                const key = which === "postgres" ? "checksum/password" : "checksum/secret";
                const before = generated[which].metadata.annotations[key];
                const after = rotated[which].metadata.annotations[key];
                assert.match(after, /^[0-9a-f]{64}$/);
                assert.notStrictEqual(after, before, `${which} does not roll`);
            }
        });

        it("Redis's password is not on its command line", async () => {
            const redis = byType(await resources("dev"), DEPLOYMENT).find((d) => d.inputs.metadata.name === "redis")!;
            const c = redis.inputs.spec.template.spec.containers[0];
            const commandLine = [...(c.command ?? []), ...(c.args ?? [])].join(" ");
            assert.ok(!/requirepass\s+\$\(|--requirepass/.test(commandLine), commandLine);
            // It reaches redis-server on standard input, expanded by the shell from the environment.
            assert.match(commandLine, /redis-server - .*<<EOF\nrequirepass \$REDIS_PASSWORD\nEOF/);
            assert.ok(c.env.some((e: any) => e.name === "REDISCLI_AUTH" && e.valueFrom.secretKeyRef));
        });
    });

    it("a release that never becomes ready fails `up` within rolloutTimeoutSeconds: the workload and its Service wait that long", async () => {
        const all = await resources("dev", { rolloutTimeoutSeconds: "120" });
        for (const r of [botWorkload(all), one(all, "kubernetes:core/v1:Service", "trading-bot-service")]) {
            assert.deepStrictEqual(r.options.customTimeouts, { create: "120s", update: "120s" }, r.name);
        }
    });

    it("nodeSelector and tolerations place every pod of the stack, bots and databases alike", async () => {
        const all = await resources("dev", {
            nodeSelector: '["trading-bot.local/node=real"]', tolerations: '["trading-bot.local/real-node=true:NoSchedule"]',
        });
        const pods = byType(all, DEPLOYMENT).map((d) => d.inputs.spec.template.spec);
        assert.strictEqual(pods.length, 3);
        for (const pod of pods) {
            assert.deepStrictEqual(pod.nodeSelector, { "trading-bot.local/node": "real" });
            assert.deepStrictEqual(pod.tolerations, [{ key: "trading-bot.local/real-node", operator: "Equal", value: "true", effect: "NoSchedule" }]);
        }
    });
});
