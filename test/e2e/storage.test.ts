/**
 * The local cluster's storage classes behave like a cloud's (issue 11), with plain kubectl in a
 * namespace of its own: `fast-ssd` is zonal block storage (ReadWriteOnce only, each volume pinned
 * to the zone its first pod was scheduled to), `standard` a regional file service that still
 * offers ReadWriteMany, and every volume is writable by the UID/GID the bot runs as (1000), since
 * the kubelet applies no fsGroup to the provisioner's hostPath volumes.
 */
import * as assert from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { waitFor } from "./cluster";
import { clusterKubeconfig, KUBECTL } from "./workspace";

const NS = "e2e-storage";
const ZONE = "topology.kubernetes.io/zone";
const OWNER = 1000;

function kubectl(args: string[], input?: string): string {
    const r = spawnSync(KUBECTL, ["--kubeconfig", clusterKubeconfig(), ...args], { encoding: "utf8", input });
    if (r.status !== 0) throw new Error(`kubectl ${args.join(" ")} exited ${r.status}:\n${r.stdout}\n${r.stderr}`);
    return r.stdout;
}
const get = (...args: string[]) => JSON.parse(kubectl([...args, "-o", "json"]));
const apply = (...objects: object[]) => kubectl(["apply", "-f", "-"], JSON.stringify({ apiVersion: "v1", kind: "List", items: objects }));

function claim(name: string, storageClassName: string, accessMode: string): object {
    return {
        apiVersion: "v1", kind: "PersistentVolumeClaim", metadata: { name, namespace: NS },
        spec: { storageClassName, accessModes: [accessMode], resources: { requests: { storage: "1Gi" } } },
    };
}

/** A pod on one of kwok's nodes (optionally in a given zone) that mounts the claim. */
function pod(name: string, claimName: string, options: { zone?: string; runAs?: number; fsGroup?: number } = {}): object {
    const runAs = options.runAs ?? OWNER;
    return {
        apiVersion: "v1", kind: "Pod", metadata: { name, namespace: NS },
        spec: {
            nodeSelector: { type: "kwok", ...(options.zone ? { [ZONE]: options.zone } : {}) },
            securityContext: {
                runAsNonRoot: true, runAsUser: runAs, runAsGroup: runAs, seccompProfile: { type: "RuntimeDefault" },
                ...(options.fsGroup !== undefined ? { fsGroup: options.fsGroup } : {}),
            },
            containers: [{
                name: "app", image: "registry.invalid/storage-probe:1", volumeMounts: [{ name: "data", mountPath: "/data" }],
                securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ["ALL"] } },
            }],
            volumes: [{ name: "data", persistentVolumeClaim: { claimName } }],
        },
    };
}

/** The claim's PV once the claim is Bound. */
function boundVolume(name: string): any {
    waitFor(`claim ${name} to bind`, () => get("-n", NS, "get", "pvc", name).status.phase === "Bound", 90);
    return get("get", "pv", get("-n", NS, "get", "pvc", name).spec.volumeName);
}

function scheduledNode(podName: string): string | undefined {
    return get("-n", NS, "get", "pod", podName).spec.nodeName;
}

/** The volume's directory on this machine (all the local cluster's nodes are this machine). */
function volumeDir(pv: any): string {
    const dir = pv.spec.hostPath?.path ?? pv.spec.local?.path;
    assert.ok(dir && fs.statSync(dir).isDirectory(), `PV ${pv.metadata.name} has no directory on this machine: ${JSON.stringify(pv.spec)}`);
    return dir;
}

/** The directory is owned by UID 1000 and the given group, mode 2775, and a pod's process can write to it. */
function assertOwnedAndWritable(dir: string, gid: number, writer = { uid: OWNER, gid: OWNER }): void {
    const st = fs.statSync(dir);
    assert.deepStrictEqual({ uid: st.uid, gid: st.gid, mode: (st.mode & 0o7777).toString(8) },
        { uid: OWNER, gid, mode: "2775" }, `owner and mode of ${dir}`);
    if (process.getuid?.() !== 0) {
        console.log(`      (not root: cannot write to ${dir} as UID ${writer.uid} to check it; owner and mode checked only)`);
        return;
    }
    // As the pod's process would: its UID and GID, the fsGroup (the volume's group) as supplementary group.
    const probe = path.join(dir, `write-probe-${writer.uid}`);
    const r = spawnSync("setpriv", [`--reuid=${writer.uid}`, `--regid=${writer.gid}`, `--groups=${gid}`, "touch", probe], { encoding: "utf8" });
    assert.strictEqual(r.status, 0, `UID ${writer.uid} cannot write to ${dir}: ${r.stderr}${r.error ?? ""}`);
    // setgid: files created in the volume keep its group, as under the kubelet's fsGroup.
    assert.deepStrictEqual([fs.statSync(probe).uid, fs.statSync(probe).gid], [writer.uid, gid], `owner of ${probe}`);
}

describe("storage classes on the local cluster behave like a cloud's (kubectl only)", function () {
    let zones: string[];

    before(() => {
        kubectl(["delete", "namespace", NS, "--ignore-not-found", "--wait=true", "--timeout=120s"]);
        zones = [...new Set<string>(get("get", "nodes", "-l", "type=kwok").items.map((n: any) => n.metadata.labels[ZONE]))]
            .filter(Boolean).sort();
        assert.ok(zones.length >= 2, `kwok's nodes are in fewer than two zones: ${zones.join(", ")}`);
        kubectl(["create", "namespace", NS]);
    });

    after(() => {
        kubectl(["delete", "namespace", NS, "--ignore-not-found", "--wait=true", "--timeout=120s"]);
    });

    it("fast-ssd refuses ReadWriteMany: the claim stays Pending with a ProvisioningFailed warning naming the mode", () => {
        apply(claim("fast-rwx", "fast-ssd", "ReadWriteMany"), pod("fast-rwx", "fast-rwx"));
        let failures: any[] = [];
        waitFor("a ProvisioningFailed event on claim fast-rwx", () => {
            failures = get("-n", NS, "get", "events").items.filter((e: any) =>
                e.involvedObject.kind === "PersistentVolumeClaim" && e.involvedObject.name === "fast-rwx" && e.reason === "ProvisioningFailed");
            return failures.length > 0;
        }, 90);
        const message = failures[0].message;
        assert.strictEqual(failures[0].type, "Warning", message);
        for (const word of ["fast-ssd", "ReadWriteMany", "ReadWriteOnce"]) assert.ok(message.includes(word), `"${word}" not in: ${message}`);
        const pvc = get("-n", NS, "get", "pvc", "fast-rwx");
        // The scheduler did pick a node: the claim was really handed to the provisioner, which refused it.
        assert.ok(pvc.metadata.annotations?.["volume.kubernetes.io/selected-node"], "no node was selected for the claim");
        assert.strictEqual(pvc.status.phase, "Pending");
        assert.strictEqual(pvc.spec.volumeName, undefined);
        assert.strictEqual(scheduledNode("fast-rwx"), undefined, "the pod was scheduled without its volume");
    });

    it("fast-ssd binds ReadWriteOnce to a volume pinned to the pod's zone; a pod in another zone cannot use it", () => {
        const [zone, other] = [zones[1], zones[0]];
        apply(claim("fast-rwo", "fast-ssd", "ReadWriteOnce"), pod("fast-rwo", "fast-rwo", { zone }));
        const pv = boundVolume("fast-rwo");
        assert.deepStrictEqual(pv.spec.nodeAffinity?.required?.nodeSelectorTerms,
            [{ matchExpressions: [{ key: ZONE, operator: "In", values: [zone] }] }], `node affinity of ${pv.metadata.name}`);
        waitFor("pod fast-rwo to be scheduled", () => scheduledNode("fast-rwo") !== undefined, 60);
        assert.strictEqual(get("get", "node", scheduledNode("fast-rwo")!).metadata.labels[ZONE], zone);

        apply(pod("fast-rwo-elsewhere", "fast-rwo", { zone: other }));
        let message = "";
        waitFor(`pod fast-rwo-elsewhere (zone ${other}) to be found unschedulable`, () => {
            const p = get("-n", NS, "get", "pod", "fast-rwo-elsewhere");
            message = p.status.conditions?.find((c: any) => c.type === "PodScheduled" && c.status === "False")?.message ?? "";
            return message !== "";
        }, 60);
        assert.match(message, /didn't match PersistentVolume's node affinity/);
        assert.strictEqual(scheduledNode("fast-rwo-elsewhere"), undefined);
    });

    it("a provisioned volume's directory is owned by 1000:1000 (mode 2775) and writable by UID 1000", () => {
        assertOwnedAndWritable(volumeDir(boundVolume("fast-rwo")), OWNER);
    });

    it("a volume's group is the fsGroup of the pod it was provisioned for (as the kubelet sets it): PostgreSQL's UID 70 can write", () => {
        apply(claim("std-fsgroup", "standard", "ReadWriteOnce"), pod("std-fsgroup", "std-fsgroup", { runAs: 70, fsGroup: 70 }));
        assertOwnedAndWritable(volumeDir(boundVolume("std-fsgroup")), 70, { uid: 70, gid: 70 });
    });

    it("standard still binds ReadWriteMany, reachable from every zone (no node affinity)", () => {
        apply(claim("std-rwx", "standard", "ReadWriteMany"),
            pod("std-rwx-a", "std-rwx", { zone: zones[0] }), pod("std-rwx-b", "std-rwx", { zone: zones[1] }));
        const pv = boundVolume("std-rwx");
        assert.deepStrictEqual(pv.spec.accessModes, ["ReadWriteMany"]);
        assert.strictEqual(pv.spec.nodeAffinity, undefined, `node affinity of ${pv.metadata.name}`);
        waitFor("both pods of std-rwx to be scheduled", () =>
            scheduledNode("std-rwx-a") !== undefined && scheduledNode("std-rwx-b") !== undefined, 60);
    });
});
