/**
 * staging and prod deploy too (test passphrase, test secret values), each into its own namespace
 * on the local cluster, and each stack's values are visible on the live objects. The bot's
 * ServiceAccount can do exactly what its Role grants.
 */
import * as assert from "assert";
import { TEST_SECRETS } from "../unit/harness";
import { assertNoSecretIn, botPods, waitFor } from "./cluster";
import { Workspace } from "./workspace";

interface EnvCase {
    stack: "staging" | "prod";
    namespace: string;
    secrets: Record<string, string>;
    check: (ws: Workspace, ns: string) => void;
}

const CASES: EnvCase[] = [
    {
        stack: "staging",
        namespace: "e2e-staging",
        secrets: {},
        check: (ws, ns) => {
            const hpa = ws.kubectlJson(["-n", ns, "get", "hpa", "trading-bot"]);
            assert.deepStrictEqual([hpa.spec.minReplicas, hpa.spec.maxReplicas], [2, 4]);
            // The HPA, not Pulumi, brings the StatefulSet to its minimum.
            waitFor("the HPA to scale the bot to 2 ready pods", () =>
                ws.kubectlJson(["-n", ns, "get", "statefulset", "trading-bot"]).status.readyReplicas === 2);
            const container = botPods(ws, ns)[0].spec.containers[0];
            assert.deepStrictEqual(container.resources.requests, { cpu: "400m", memory: "768Mi", "ephemeral-storage": "128Mi" });
            // A ReadWriteOnce volume per replica, as on a cloud's block storage.
            assertVolumePerReplica(ws, ns, 2, "8Gi", "standard");
            assert.ok(ws.kubectlJson(["-n", ns, "get", "pdb", "trading-bot"]));
        },
    },
    {
        stack: "prod",
        namespace: "e2e-prod",
        secrets: { ...TEST_SECRETS },
        check: (ws, ns) => {
            const hpa = ws.kubectlJson(["-n", ns, "get", "hpa", "trading-bot"]);
            assert.deepStrictEqual([hpa.spec.minReplicas, hpa.spec.maxReplicas], [3, 10]);
            waitFor("the HPA to scale the bot to 3 ready pods", () =>
                ws.kubectlJson(["-n", ns, "get", "statefulset", "trading-bot"]).status.readyReplicas === 3);
            const pods = botPods(ws, ns);
            assert.deepStrictEqual(pods[0].spec.containers[0].resources.requests, { cpu: "500m", memory: "1Gi", "ephemeral-storage": "128Mi" });
            // Spread over the three nodes, in three zones.
            assert.strictEqual(new Set(pods.map((p: any) => p.spec.nodeName)).size, 3);
            // fast-ssd is zonal ReadWriteOnce storage locally as on a cloud: a volume per replica,
            // each pinned to the zone of the pod that uses it.
            assertVolumePerReplica(ws, ns, 3, "20Gi", "fast-ssd");
            const config = ws.kubectlJson(["-n", ns, "get", "configmap", "trading-bot-config"]).data;
            assert.deepStrictEqual([config.TRADING_ENABLED, config.DATABASE_SSL_MODE, config.EXCHANGE_ENDPOINT],
                ["true", "require", "https://api.binance.com"]);
            assert.ok(ws.kubectlJson(["-n", ns, "get", "networkpolicy", "trading-bot"]));
            assert.ok(ws.kubectlJson(["-n", ns, "get", "pdb", "trading-bot"]));
        },
    },
];

/**
 * The StatefulSet's claims data-trading-bot-<i>: each Bound with the size and class asked, and
 * each pod on a node in the zone its volume is pinned to (when the class pins volumes to zones).
 */
function assertVolumePerReplica(ws: Workspace, ns: string, replicas: number, size: string, storageClass: string): void {
    const zoneOf = (node: string) => ws.kubectlJson(["get", "node", node]).metadata.labels["topology.kubernetes.io/zone"];
    for (let i = 0; i < replicas; i++) {
        const pvc = ws.kubectlJson(["-n", ns, "get", "pvc", `data-trading-bot-${i}`]);
        assert.deepStrictEqual([pvc.status.phase, pvc.status.capacity.storage, pvc.spec.storageClassName, pvc.spec.accessModes],
            ["Bound", size, storageClass, ["ReadWriteOnce"]]);
        const pv = ws.kubectlJson(["get", "pv", pvc.spec.volumeName]);
        const pod = ws.kubectlJson(["-n", ns, "get", "pod", `trading-bot-${i}`]);
        const zones = (pv.spec.nodeAffinity?.required?.nodeSelectorTerms ?? [])
            .flatMap((t: any) => t.matchExpressions ?? [])
            .filter((e: any) => e.key === "topology.kubernetes.io/zone")
            .flatMap((e: any) => e.values);
        if (zones.length) assert.deepStrictEqual(zones, [zoneOf(pod.spec.nodeName)], `pod trading-bot-${i} runs outside its volume's zone`);
        else assert.notStrictEqual(storageClass, "fast-ssd", "fast-ssd volumes are pinned to a zone");
    }
}

for (const c of CASES) {
    describe(`${c.stack} stack on the local cluster`, function () {
        let ws: Workspace;

        before(() => {
            ws = new Workspace(c.stack);
            // Its placeholders (prod's database hosts and addresses) are filled in as a user would.
            ws.initStack(c.stack, { namespace: c.namespace }, c.secrets);
        });

        after(() => {
            if (!ws) return;
            // prod protects its data volume from deletion; the test lifts that to clean up.
            ws.pulumi(["state", "unprotect", "--all", "--stack", c.stack, "--yes"], { allowFailure: true });
            ws.pulumi(["destroy", "--stack", c.stack, "--yes", "--skip-preview", "--remove"], { allowFailure: true });
            ws.remove();
        });

        it(`deploys with the ${c.stack} values visible on the live objects`, () => {
            ws.pulumi(["up", "--stack", c.stack, "--yes", "--skip-preview"]);
            c.check(ws, c.namespace);
            ws.pulumi(["preview", "--stack", c.stack, "--expect-no-changes"]);
        });

        if (c.stack === "staging") {
            it("RBAC is real: the ServiceAccount may renew its own Lease and nothing else", () => {
                const as = `system:serviceaccount:${c.namespace}:trading-bot`;
                const can = (...args: string[]) =>
                    ws.kubectl(["auth", "can-i", "--as", as, "-n", c.namespace, ...args], { allowFailure: true }).stdout.trim();
                assert.strictEqual(can("get", "leases/trading-bot-leader"), "yes");
                assert.strictEqual(can("update", "leases/trading-bot-leader"), "yes");
                assert.strictEqual(can("patch", "leases/trading-bot-leader"), "yes");
                for (const denied of [
                    ["create", "leases"], ["delete", "leases/trading-bot-leader"], ["get", "leases/someone-else"],
                    ["get", "secrets"], ["list", "pods"], ["get", "configmaps"], ["create", "pods"],
                    ["update", "deployments"], ["list", "leases"], ["get", "leases", "-n", "kube-system"],
                ]) {
                    assert.strictEqual(can(...denied), "no", `the bot may ${denied.join(" ")}`);
                }
            });
        }

        it("no plaintext secret in the state, CLI output, stack file or live ConfigMaps", () => {
            const values = Object.values(c.secrets);
            if (values.length === 0) return;
            assertNoSecretIn("state", ws.backendText(), values);
            assertNoSecretIn("CLI output", ws.transcript.join("\n"), values);
            assertNoSecretIn("stack file", ws.stackFileText(c.stack), values);
            assertNoSecretIn("ConfigMaps", ws.kubectl(["-n", c.namespace, "get", "configmaps", "-o", "yaml"]).stdout, values);
        });
    });
}
