/**
 * The local cluster's real node (local/cluster/node.sh), with plain kubectl: a pod really runs in
 * containerd on it, gets an address from its CNI bridge, passes an HTTP readiness probe, and is
 * reached from another pod through a ClusterIP Service (kube-proxy) by its DNS names (CoreDNS);
 * `kubectl logs`, `exec` and `port-forward` reach the container through the kubelet.
 * Skipped, with the reason, when `npm run cluster -- up` could not start the real node.
 */
import * as assert from "assert";
import { spawn, spawnSync } from "child_process";
import * as fs from "fs";
import * as http from "http";
import * as path from "path";
import { REAL_NODE, REAL_NODE_PLACEMENT, skipWithoutRealNode, waitFor } from "./cluster";
import { clusterKubeconfig, KUBECTL, PROJECT_DIR, TOOLCHAIN_BIN } from "./workspace";

const NS = `e2e-realnode-${process.pid}`;
const NODE_SH = "local/cluster/node.sh";

/** A variable a shell script sets, e.g. a pin of local/toolchain/versions.sh. */
function shellVar(name: string, file = "local/toolchain/versions.sh"): string {
    const text = fs.readFileSync(path.join(PROJECT_DIR, file), "utf8");
    const m = new RegExp(`^${name}="?([^"\\s]+)"?$`, "m").exec(text);
    assert.ok(m, `${file} sets no ${name}`);
    return m[1];
}
const pinned = (name: string): string => shellVar(name);
/** The image build-node.sh builds for these tests. */
const helloImage = (): string => pinned("NODE_HELLO_IMAGE");

/** What the real node may have left on the machine: its processes, mounts, links, iptables chains, cgroups. */
function nodeLeftovers(): string[] {
    const found: string[] = [];
    const nodeDir = path.join(PROJECT_DIR, ".local", "cluster", "node") + "/";
    const programs = /^(containerd|containerd-shim-runc-v2|kubelet|kube-proxy|coredns|apiserver-proxy)$/;
    for (const pid of fs.readdirSync("/proc").filter((d) => /^\d+$/.test(d))) {
        let argv: string[];
        try {
            argv = fs.readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0");
        } catch {
            continue;
        }
        const ours = argv[0].startsWith(TOOLCHAIN_BIN + "/") && programs.test(path.basename(argv[0]));
        // The containers' own processes (the hello-server and pause images' entrypoints).
        if (ours || argv[0] === "/hello-server" || argv[0] === "/pause") found.push(`process ${pid}: ${argv.join(" ").slice(0, 120)}`);
    }
    for (const line of fs.readFileSync("/proc/self/mountinfo", "utf8").split("\n")) {
        const mountPoint = line.split(" ")[4];
        if (mountPoint?.startsWith(nodeDir)) found.push(`mount ${mountPoint}`);
    }
    const links = spawnSync("ip", ["-o", "link", "show"], { encoding: "utf8" }).stdout;
    for (const name of [shellVar("NODE_BRIDGE", NODE_SH), shellVar("NODE_LINK", NODE_SH)]) {
        if (new RegExp(`: ${name}[:@]`).test(links)) found.push(`link ${name}`);
    }
    for (const save of ["iptables-save", "ip6tables-save"]) {
        const rules = spawnSync(save, { encoding: "utf8" }).stdout ?? "";
        found.push(...rules.split("\n").filter((l) => /^:(KUBE|CNI)-|-j (KUBE|CNI)-/.test(l)).map((l) => `${save}: ${l}`));
    }
    for (const controller of fs.readdirSync("/sys/fs/cgroup")) {
        if (fs.existsSync(`/sys/fs/cgroup/${controller}/kubepods`)) found.push(`cgroup /sys/fs/cgroup/${controller}/kubepods`);
    }
    return found;
}

function helloPod(name: string, labels: Record<string, string>, placement: object = REAL_NODE_PLACEMENT): object {
    return {
        apiVersion: "v1",
        kind: "Pod",
        metadata: { name, namespace: NS, labels },
        spec: {
            ...placement,
            terminationGracePeriodSeconds: 2,
            containers: [{
                name: "hello",
                image: helloImage(),
                imagePullPolicy: "Never",
                ports: [{ containerPort: 8080 }],
                readinessProbe: { httpGet: { path: "/", port: 8080 }, periodSeconds: 1 },
                // What the namespace's `restricted` Pod Security level demands.
                securityContext: {
                    runAsNonRoot: true,
                    allowPrivilegeEscalation: false,
                    readOnlyRootFilesystem: true,
                    capabilities: { drop: ["ALL"] },
                    seccompProfile: { type: "RuntimeDefault" },
                },
            }],
        },
    };
}

describe("real node: kubelet, containerd, CNI, kube-proxy and CoreDNS (plain kubectl)", function () {
    this.timeout(300_000);
    let kubeconfig = "";

    function kubectl(args: string[], input?: string): string {
        const r = spawnSync(KUBECTL, ["--kubeconfig", kubeconfig, ...args], { encoding: "utf8", input, timeout: 120_000 });
        if (r.status !== 0) throw new Error(`kubectl ${args.join(" ")} exited ${r.status}:\n${r.stdout}\n${r.stderr}`);
        return r.stdout;
    }
    const pod = (name: string): any => JSON.parse(kubectl(["-n", NS, "get", "pod", name, "-o", "json"]));
    const ready = (p: any): boolean => (p.status.conditions ?? []).some((c: any) => c.type === "Ready" && c.status === "True");

    before(function () {
        skipWithoutRealNode(this);
        kubeconfig = clusterKubeconfig();
        const node = JSON.parse(kubectl(["get", "node", REAL_NODE.name, "-o", "json"]));
        assert.ok(ready(node), `node ${REAL_NODE.name} is not Ready although node.sh reported it ready`);
        kubectl(["create", "namespace", NS]);
        kubectl(["label", "namespace", NS, "pod-security.kubernetes.io/enforce=restricted"]);
    });

    after(function () {
        if (kubeconfig) spawnSync(KUBECTL, ["--kubeconfig", kubeconfig, "delete", "namespace", NS, "--wait=true", "--timeout=120s"]);
    });

    it("the node is the kubelet's own, labelled and tainted so only pods that ask run there", () => {
        const node = JSON.parse(kubectl(["get", "node", REAL_NODE.name, "-o", "json"]));
        assert.strictEqual(node.metadata.labels[REAL_NODE.label.key], REAL_NODE.label.value);
        // Zonal volumes (the fast-ssd class) take the zone of the node their first pod runs on.
        assert.ok(node.metadata.labels["topology.kubernetes.io/zone"], "the real node has no zone");
        assert.deepStrictEqual(node.spec.taints?.filter((t: any) => t.key === REAL_NODE.taint.key),
            [{ key: REAL_NODE.taint.key, value: REAL_NODE.taint.value, effect: REAL_NODE.taint.effect }]);
        assert.strictEqual(node.metadata.annotations?.["kwok.x-k8s.io/node"], undefined, "kwok must not manage the real node");
        assert.strictEqual(node.status.nodeInfo.kubeletVersion, `v${pinned("KUBERNETES_VERSION")}`);
        assert.strictEqual(node.status.nodeInfo.containerRuntimeVersion, `containerd://${pinned("CONTAINERD_VERSION")}`);
        const internal = node.status.addresses.find((a: any) => a.type === "InternalIP")?.address;
        assert.ok(internal && !internal.startsWith("127."), `the node's InternalIP ${internal} must not be loopback`);
    });

    it("a pod tolerating the taint runs in containerd on the real node, with a pod IP, and passes its readiness probe", () => {
        kubectl(["apply", "-f", "-"], JSON.stringify(helloPod("hello", { app: "hello" })));
        waitFor("pod hello to be Ready", () => ready(pod("hello")), 120);
        const p = pod("hello");
        assert.strictEqual(p.spec.nodeName, REAL_NODE.name);
        assert.strictEqual(p.status.phase, "Running");
        const range = shellVar("NODE_POD_CIDR", NODE_SH);
        assert.ok(p.status.podIP?.startsWith(range.replace(/0\/24$/, "")), `pod IP ${p.status.podIP} is not from the real node's CNI range ${range}`);
        assert.match(p.status.containerStatuses[0].containerID, /^containerd:\/\//);
        assert.ok(p.status.containerStatuses[0].state.running, "the container is not running");
    });

    it("a pod without the toleration is kept off the real node", () => {
        kubectl(["apply", "-f", "-"], JSON.stringify(helloPod("untolerated", { app: "untolerated" }, { nodeSelector: REAL_NODE_PLACEMENT.nodeSelector })));
        waitFor("the scheduler to report pod untolerated unschedulable", () => {
            const cond = (pod("untolerated").status.conditions ?? []).find((c: any) => c.type === "PodScheduled");
            return cond?.status === "False" && /untolerated taint/.test(cond.message ?? "");
        }, 60);
        assert.strictEqual(pod("untolerated").spec.nodeName, undefined);
        kubectl(["-n", NS, "delete", "pod", "untolerated", "--wait=false"]);
    });

    it("a second pod reaches the first through a ClusterIP Service by its DNS names (kube-proxy, CoreDNS); kubectl exec runs in it", () => {
        kubectl(["-n", NS, "expose", "pod", "hello", "--name", "hello", "--port", "80", "--target-port", "8080"]);
        const client: any = helloPod("client", { app: "client" });
        // Go's TLS reads its roots from here: the API server's CA, mounted with the service-account token.
        client.spec.containers[0].env = [{ name: "SSL_CERT_FILE", value: "/var/run/secrets/kubernetes.io/serviceaccount/ca.crt" }];
        kubectl(["apply", "-f", "-"], JSON.stringify(client));
        waitFor("pod client to be Ready", () => ready(pod("client")), 120);
        const clusterIP = JSON.parse(kubectl(["-n", NS, "get", "service", "hello", "-o", "json"])).spec.clusterIP;
        for (const url of [`http://hello.${NS}.svc.cluster.local/`, "http://hello/", `http://${clusterIP}/`]) {
            let out = "";
            waitFor(`${url} to answer from pod client`, () => {
                const r = spawnSync(KUBECTL, ["--kubeconfig", kubeconfig, "-n", NS, "exec", "client", "--", "/hello-server", "get", url],
                    { encoding: "utf8", timeout: 30_000 });
                out = `${r.stdout}${r.stderr}`;
                return r.status === 0;
            }, 60);
            assert.strictEqual(out.trim(), "hello from hello", `${url} answered: ${out}`);
        }
    });

    it("pods reach the API server through the `kubernetes` Service (its advertise address, on the node)", () => {
        let out = "";
        waitFor("https://kubernetes.default.svc/version to answer from pod client", () => {
            const r = spawnSync(KUBECTL, ["--kubeconfig", kubeconfig, "-n", NS, "exec", "client", "--", "/hello-server", "get",
                "https://kubernetes.default.svc/version"], { encoding: "utf8", timeout: 30_000 });
            out = `${r.stdout}${r.stderr}`;
            return r.status === 0;
        }, 60);
        assert.strictEqual(JSON.parse(out).gitVersion, `v${pinned("KUBERNETES_VERSION")}`, out);
    });

    it("kubectl logs shows the container's output; kubectl port-forward reaches its port", async () => {
        assert.match(kubectl(["-n", NS, "logs", "hello"]), /hello-server hello listening on :8080/);
        const forward = spawn(KUBECTL, ["--kubeconfig", kubeconfig, "-n", NS, "port-forward", "pod/hello", "0:8080"]);
        try {
            const port = await new Promise<number>((resolve, reject) => {
                let seen = "";
                forward.stdout.on("data", (d) => {
                    seen += d;
                    const m = /Forwarding from 127\.0\.0\.1:(\d+)/.exec(seen);
                    if (m) resolve(Number(m[1]));
                });
                forward.stderr.on("data", (d) => { seen += d; });
                forward.on("exit", (code) => reject(new Error(`kubectl port-forward exited ${code}: ${seen}`)));
                setTimeout(() => reject(new Error(`kubectl port-forward did not start: ${seen}`)), 30_000);
            });
            const body = await new Promise<string>((resolve, reject) => {
                http.get(`http://127.0.0.1:${port}/`, (res) => {
                    let b = "";
                    res.on("data", (d) => { b += d; });
                    res.on("end", () => resolve(b));
                }).on("error", reject);
            });
            assert.strictEqual(body.trim(), "hello from hello");
        } finally {
            forward.kill();
        }
    });

    it("`npm run cluster -- node down` leaves no process, mount, link, iptables chain or cgroup behind; `node up` runs the pods again", () => {
        const cluster = (command: string): void => {
            const r = spawnSync("bash", [path.join(PROJECT_DIR, "local/cluster/cluster.sh"), "node", command], { encoding: "utf8", timeout: 300_000 });
            assert.strictEqual(r.status, 0, `cluster.sh node ${command} exited ${r.status}:\n${r.stdout}\n${r.stderr}`);
        };
        assert.ok(nodeLeftovers().length > 0, "the running node shows none of the things the check looks for: the check would prove nothing");
        cluster("down");
        try {
            assert.deepStrictEqual(nodeLeftovers(), []);
        } finally {
            cluster("up");
        }
        waitFor("pod hello to be Ready again", () => ready(pod("hello")), 120);
        let out = "";
        waitFor("the Service to answer pod client again", () => {
            const r = spawnSync(KUBECTL, ["--kubeconfig", kubeconfig, "-n", NS, "exec", "client", "--", "/hello-server", "get", "http://hello/"],
                { encoding: "utf8", timeout: 30_000 });
            out = r.stdout;
            return r.status === 0;
        }, 120);
        assert.strictEqual(out.trim(), "hello from hello");
    });
});
