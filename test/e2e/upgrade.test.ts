/**
 * Upgrading an existing stack to this checkout's program replaces and deletes nothing: the
 * previous release of the program (a git commit) deploys dev stacks with in-cluster databases (two
 * bots; one bot without a bots list); then the same stacks (same backend, same stack file) run this
 * checkout's program.
 * The preview shows zero replaces and zero deletes (its steps are printed), and after `up` every
 * object keeps its UID; only the pods of a Deployment that the upgrade updates may roll.
 */
import * as assert from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { CONFIG_KEYS } from "../../config/schema";
import { programFiles } from "../../scripts/programFiles";
import {
    assertSameUids, awaitNamespaceGone, deployAll, destroyAll, isReplace, kindOf, liveUids, log, nameOf, ownedBy, preview, printSteps, runNamespace, setBots, STACK,
} from "./day2/support";
import { PROJECT_DIR, Workspace } from "./workspace";

/**
 * The previous release: the last commit before the stack-level ownership of the namespace and
 * databases (issue 11). Stacks deployed by it must upgrade in place. Move it forward only to a
 * commit that users have deployed.
 */
const PREVIOUS_RELEASE = "9b6310b";

/** The stacks upgraded, each in its own namespace, deployed side by side. */
interface Upgrade {
    what: string;
    namespace: string;
    /** The `bots` list; empty: one bot from the top-level keys, named `name` (default trading-bot). */
    bots: string[];
    previous?: Workspace;
    current?: Workspace;
}
const UPGRADES: Upgrade[] = [
    { what: "a two-bot stack", namespace: runNamespace("e2e-upgrade"), bots: ["btc-usdt", "eth-usdt"] },
    // The stack `npm start` deploys: no `bots` list.
    { what: "a one-bot stack without a bots list", namespace: runNamespace("e2e-upgrade-single"), bots: [] },
];

function git(args: string[], input?: Buffer): Buffer {
    const r = spawnSync("git", ["-C", PROJECT_DIR, ...args], { input, maxBuffer: 256 * 1024 * 1024 });
    if (r.status !== 0) throw new Error(`git ${args.join(" ")} exited ${r.status}: ${r.stderr}`);
    return r.stdout;
}

/**
 * Turns a workspace into a checkout of `commit`: this checkout's program files are removed (so no
 * newer file lingers), then the files of `commit`'s program and its dev stack file are written
 * (without the committed passphrase salt, as Workspace does).
 */
function checkOut(ws: Workspace, commit: string): void {
    for (const file of programFiles(ws.dir)) fs.rmSync(path.join(ws.dir, file), { force: true });
    const files = [...programFilesAt(commit), "Pulumi.dev.yaml"];
    const archive = git(["archive", "--format=tar", commit, "--", ...files]);
    const tar = spawnSync("tar", ["-x", "-C", ws.dir], { input: archive });
    assert.strictEqual(tar.status, 0, `tar: ${tar.stderr}`);
    const stackFile = path.join(ws.dir, "Pulumi.dev.yaml");
    fs.writeFileSync(stackFile, fs.readFileSync(stackFile, "utf8").replace(/^encryptionsalt:.*\n?/m, ""));
}

/**
 * The program's files and folders at `commit`: the list it kept by hand then (tools/program-files.txt,
 * its path in those releases), else as scripts/programFiles.ts reads them.
 */
function programFilesAt(commit: string): string[] {
    const listed = spawnSync("git", ["-C", PROJECT_DIR, "show", `${commit}:tools/program-files.txt`], { encoding: "utf8" });
    if (listed.status === 0) return listed.stdout.split("\n").map((l) => l.trim()).filter((l) => l && !l.startsWith("#"));
    const tree = fs.mkdtempSync(path.join(os.tmpdir(), "trading-bot-release-"));
    try {
        const tar = spawnSync("tar", ["-x", "-C", tree], { input: git(["archive", "--format=tar", commit]) });
        assert.strictEqual(tar.status, 0, `tar: ${tar.stderr}`);
        return programFiles(tree);
    } finally {
        fs.rmSync(tree, { recursive: true, force: true });
    }
}

/**
 * The stack as a user of the previous release set it up: only keys that release knows (it refuses
 * any other, so Workspace.initStack's settings for this checkout's keys cannot be used).
 */
function initPreviousReleaseStack(ws: Workspace, namespace: string, bots: string[]): void {
    awaitNamespaceGone(ws, namespace);
    ws.pulumi(["stack", "init", STACK]);
    const config = { kubeContext: "trading-bot-local", kubeconfig: ws.kubeconfig, namespace, leaderElectionEnabled: "true" };
    ws.pulumi(["config", "set-all", "--stack", STACK, ...Object.entries(config).flatMap(([k, v]) => ["--plaintext", `trading-bot:${k}=${v}`])]);
    if (bots.length) setBots(ws, bots);
}

describe(`upgrading stacks deployed by the previous release (${PREVIOUS_RELEASE}) to this checkout (real engine, local cluster)`, function () {
    before(async function () {
        const exists = spawnSync("git", ["-C", PROJECT_DIR, "cat-file", "-e", `${PREVIOUS_RELEASE}^{commit}`]);
        if (exists.status !== 0) {
            log(`SKIPPED: commit ${PREVIOUS_RELEASE} is not in this clone's history (a shallow clone?); fetch it to run the upgrade test`);
            this.skip();
        }
        const started = Date.now();
        for (const u of UPGRADES) {
            u.previous = new Workspace("upgrade-previous");
            checkOut(u.previous, PREVIOUS_RELEASE);
            initPreviousReleaseStack(u.previous, u.namespace, u.bots);
        }
        // The previous release deploys the way a user ran it: plain `pulumi up`.
        await deployAll(UPGRADES.map((u) => u.previous!));
        log(`the previous release deployed ${UPGRADES.length} stacks in ${((Date.now() - started) / 1000).toFixed(1)} s`);

        // The same stacks, now run from this checkout: the backend (the state) and the stack file
        // (the user's config, with the salt its secrets are encrypted under) come along.
        for (const u of UPGRADES) {
            u.current = new Workspace("upgrade-current");
            fs.rmSync(u.current.backend, { recursive: true });
            fs.symlinkSync(u.previous!.backend, u.current.backend);
            fs.copyFileSync(path.join(u.previous!.dir, "Pulumi.dev.yaml"), path.join(u.current.dir, "Pulumi.dev.yaml"));
        }
    });

    after(async () => {
        // Either workspace reaches the state; the current code destroys what either deployed.
        await destroyAll(UPGRADES.map((u) => ({ ws: u.current ?? u.previous, namespace: u.namespace })));
        for (const u of UPGRADES) if (u.current) u.previous?.remove();
    });

    for (const u of UPGRADES) {
        it(`${u.what}: the preview of the upgrade replaces nothing and deletes nothing, and \`up\` keeps every object`, () => {
            const ws = u.current!;
            const bots = u.bots.length ? u.bots : [CONFIG_KEYS.name.default];
            const before = liveUids(ws, u.namespace);
            for (const k of [`Namespace/${u.namespace}`, ...bots.flatMap((b) => [`PersistentVolumeClaim/${b}-data`, `Secret/${b}-secrets`])]) {
                assert.ok(before.has(k), `the previous release did not create ${k}`);
            }

            const { changed } = preview(ws);
            printSteps(`upgrade ${u.what} ${PREVIOUS_RELEASE} -> this checkout`, changed);
            const destructive = changed.filter((s) => isReplace(s) || s.op === "delete");
            assert.deepStrictEqual(destructive.map((s) => `${s.op} ${s.what}`), [], "the upgrade must replace and delete nothing");

            ws.pulumi(["up", "--stack", STACK, "--yes", "--skip-preview"]);
            // A workload the upgrade updates may roll its pods (new ReplicaSet, new pods); nothing else may be re-created.
            const rolled = changed.filter((s) => s.kubernetes && s.op === "update" && ["Deployment", "StatefulSet"].includes(kindOf(s.what))).map((s) => s.name);
            const mayRoll = (k: string) => ["Pod", "ReplicaSet", "ControllerRevision"].includes(kindOf(k)) && rolled.some((d) => ownedBy(d, nameOf(k)));
            const kept = assertSameUids(before, liveUids(ws, u.namespace), (k) => !mayRoll(k), "after the upgrade");
            log(`kept their UIDs: ${kept.length} objects${rolled.length ? `; updated workloads that may roll their pods: ${rolled.join(", ")}` : ""}`);
            ws.pulumi(["preview", "--stack", STACK, "--expect-no-changes"]);
        });
    }
});
