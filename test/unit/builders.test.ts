/**
 * The pure builders: the object specs of the bot's workload, Service, autoscaler and
 * NetworkPolicy, computed from a resolved TradingBotArgs without registering anything (no mocks).
 */
import * as assert from "assert";
import { resolveArgs, TradingBotArgs } from "../../components/tradingBot";
import { naming } from "../../components/tradingBot/naming";
import { egressRules, networkPolicyArgs, serviceArgs } from "../../components/tradingBot/network";
import { disruptionBudgetArgs, hpaArgs } from "../../components/tradingBot/scaling";
import { deploymentArgs, statefulSetArgs, WorkloadInputs } from "../../components/tradingBot/workload";
import { AWAIT_ANNOTATION, RECREATE_ROLLOUT_DONE } from "../../components/recreate";
import {
    databaseDeploymentArgs, databaseNetworkPolicyArgs, databaseServiceArgs, SingleInstanceArgs,
} from "../../components/databases/singleInstance";

const INPUTS: WorkloadInputs = {
    serviceAccountName: "bot", configMapName: "bot-config", secretName: "bot-secrets", checksums: {}, pvcName: "bot-data",
};
const EXTERNAL = { database: { host: "db.internal" }, redis: { host: "redis.internal" } };

function bot(args: Partial<TradingBotArgs> = {}) {
    const spec = resolveArgs("bot", { namespace: "trading", ...EXTERNAL, ...args });
    return { spec, n: naming(spec) };
}

describe("pure builders (no resource, no mocks)", () => {
    it("Deployment: one bot without leader election rolls out by Recreate and waits for the new pod", () => {
        const { spec, n } = bot();
        const d = deploymentArgs(spec, n, INPUTS);
        assert.deepStrictEqual(d.spec.strategy, { type: "Recreate" });
        assert.ok((d.metadata.annotations as Record<string, string>)[AWAIT_ANNOTATION]);
        assert.strictEqual(d.spec.replicas, 1);
        assert.strictEqual(d.metadata.name, "bot");
        assert.strictEqual(d.metadata.namespace, "trading");
        assert.deepStrictEqual(d.spec.selector, { matchLabels: n.selector });
        const pod = d.spec.template as any;
        assert.strictEqual(pod.spec.automountServiceAccountToken, false);
        assert.deepStrictEqual(pod.spec.volumes[0], { name: "data", persistentVolumeClaim: { claimName: "bot-data" } });
        assert.strictEqual(pod.spec.containers[0].image, "ghcr.io/example/trading-bot:1.0.0");
    });

    it("Deployment: with leader election a RollingUpdate surges one pod; under an HPA it sets no replicas", () => {
        const { spec, n } = bot({ leaderElection: true, autoscaling: { enabled: true, maxReplicas: 3 }, storage: { accessMode: "ReadWriteMany" } });
        const d = deploymentArgs(spec, n, INPUTS);
        assert.deepStrictEqual(d.spec.strategy, { type: "RollingUpdate", rollingUpdate: { maxSurge: 1, maxUnavailable: 0 } });
        assert.ok(!(AWAIT_ANNOTATION in (d.metadata.annotations as object)));
        assert.ok(!("replicas" in d.spec));
        assert.ok((d.spec.template as any).spec.affinity.podAntiAffinity, "several replicas prefer different nodes");
    });

    it("StatefulSet: a volume per replica from its claim template, pods side by side", () => {
        const { spec, n } = bot({ replicas: 3, leaderElection: true, storage: { size: "20Gi", className: "fast-ssd" } });
        const s = statefulSetArgs(spec, n, { ...INPUTS, pvcName: undefined, peersServiceName: "bot-peers" });
        assert.strictEqual(s.spec.replicas, 3);
        assert.strictEqual(s.spec.podManagementPolicy, "Parallel");
        assert.strictEqual(s.spec.serviceName, "bot-peers");
        const claim = (s.spec.volumeClaimTemplates as any[])[0];
        assert.deepStrictEqual(claim.spec, { accessModes: ["ReadWriteOnce"], storageClassName: "fast-ssd", resources: { requests: { storage: "20Gi" } } });
        assert.ok(!(s.spec.template as any).spec.volumes.some((v: any) => v.name === "data"), "the claim template is the data volume");
    });

    it("Service and HPA", () => {
        const { spec, n } = bot({ containerPort: 9000, autoscaling: { enabled: true, minReplicas: 2, maxReplicas: 6, targetCPU: 60 } });
        const svc = serviceArgs(spec, n);
        assert.deepStrictEqual(svc.spec.ports, [{ name: "http", port: 9000, targetPort: "http", protocol: "TCP" }]);
        assert.strictEqual((svc.metadata.annotations as Record<string, string>)["prometheus.io/port"], "9000");
        const hpa = hpaArgs(spec, n, { kind: "StatefulSet", name: "bot" });
        assert.deepStrictEqual(hpa.spec.scaleTargetRef, { apiVersion: "apps/v1", kind: "StatefulSet", name: "bot" });
        assert.strictEqual(hpa.spec.minReplicas, 2);
        assert.strictEqual(hpa.spec.maxReplicas, 6);
        assert.deepStrictEqual((hpa.spec.metrics as any[]).map((m) => [m.resource.name, m.resource.target.averageUtilization]), [["cpu", 60], ["memory", 80]]);
        assert.deepStrictEqual(disruptionBudgetArgs(n).spec, { maxUnavailable: 1, selector: { matchLabels: n.selector } });
    });

    it("NetworkPolicy: ingress from the own and allowed namespaces, egress only where declared", () => {
        const { spec, n } = bot({
            leaderElection: true,
            networkPolicy: {
                enabled: true, allowedIngressNamespaces: ["monitoring", "trading"],
                databaseEgressTo: [{ cidr: "10.20.0.0/24" }], redisEgressTo: [{ namespace: "cache" }],
                exchangeEgressCidrs: ["203.0.113.0/24"], apiServerEgressCidrs: ["10.0.0.1/32"],
            },
        });
        const np = networkPolicyArgs(spec, n);
        assert.deepStrictEqual((np.spec.ingress as any[])[0].from[0].namespaceSelector.matchExpressions[0].values, ["trading", "monitoring"]);
        const egress = egressRules(spec) as any[];
        assert.deepStrictEqual(egress.map((r) => r.to), [
            [{ namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "kube-system" } } }],
            [{ ipBlock: { cidr: "10.20.0.0/24" } }],
            [{ namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "cache" } } }],
            [{ ipBlock: { cidr: "203.0.113.0/24" } }],
            [{ ipBlock: { cidr: "10.0.0.1/32" } }],
        ]);
        assert.deepStrictEqual(egress[4].ports, [{ protocol: "TCP", port: 443 }, { protocol: "TCP", port: 6443 }]);
        // In-cluster databases are reached by their pods, wherever the declared peers point.
        const inCluster = bot({ inClusterDatabases: true, database: {}, redis: {}, networkPolicy: { enabled: true } });
        assert.deepStrictEqual((egressRules(inCluster.spec) as any[])[1].to, [{ podSelector: { matchLabels: { "app.kubernetes.io/name": "postgres" } } }]);
        assert.strictEqual((egressRules(inCluster.spec) as any[]).length, 4, "no API server egress without leader election");
    });

    describe("an in-cluster database (components/databases/singleInstance.ts)", () => {
        const db: SingleInstanceArgs = {
            settings: {
                namespace: "trading", createNamespace: true, environment: "dev", inClusterDatabases: true, existingSecret: "",
                databaseImages: { postgres: "postgres:17", redis: "redis:7" }, database: { host: "postgres", port: 5432, name: "db", user: "u" },
                redis: { host: "redis", port: 6379 }, storage: { className: "standard" }, placement: { nodeSelector: {}, tolerations: [] },
            },
            namespace: "trading", parentName: "shared-databases", component: "postgres", host: "postgres", image: "postgres:17",
            uid: 70, port: 5432, dataPath: "/data", password: { value: "x" }, passwordEnv: "POSTGRES_PASSWORD",
            writablePaths: ["/tmp"], ready: ["pg_isready"], startupSeconds: 150,
        };
        it("Deployment: one server, Recreate awaited until the new pod runs; its own readiness, a startup probe, a lighter liveness", () => {
            const d = databaseDeploymentArgs(db, { passwordRef: { name: "postgres-credentials", key: "password" }, claimName: "postgres-data" }) as any;
            assert.strictEqual(d.spec.replicas, 1);
            assert.deepStrictEqual(d.spec.strategy, { type: "Recreate" });
            assert.deepStrictEqual(JSON.parse(d.metadata.annotations[AWAIT_ANNOTATION]), RECREATE_ROLLOUT_DONE);
            const c = d.spec.template.spec.containers[0];
            assert.deepStrictEqual(c.readinessProbe.exec.command, ["pg_isready"]);
            assert.deepStrictEqual(c.startupProbe.exec.command, ["pg_isready"]);
            assert.strictEqual(c.startupProbe.failureThreshold * c.startupProbe.periodSeconds, 150);
            assert.deepStrictEqual(c.livenessProbe.tcpSocket, { port: 5432 });
            assert.deepStrictEqual(c.env.find((e: any) => e.name === "POSTGRES_PASSWORD").valueFrom.secretKeyRef, { name: "postgres-credentials", key: "password" });
            assert.strictEqual(c.securityContext.readOnlyRootFilesystem, true);
            assert.deepStrictEqual(d.spec.template.spec.volumes.map((v: any) => v.name), ["data", "scratch-0"]);
        });
        it("Service and NetworkPolicy find the server by name; only the bot's pods may connect, on its port", () => {
            const svc = databaseServiceArgs(db) as any;
            assert.deepStrictEqual(svc.spec.selector, { "app.kubernetes.io/name": "postgres" });
            assert.strictEqual(svc.metadata.name, "postgres");
            const np = databaseNetworkPolicyArgs(db) as any;
            assert.deepStrictEqual(np.spec.podSelector.matchLabels, { "app.kubernetes.io/name": "postgres" });
            assert.deepStrictEqual(np.spec.ingress[0].ports, [{ protocol: "TCP", port: 5432 }]);
            assert.deepStrictEqual(np.spec.egress, []);
        });
    });
});
