/**
 * Holds the first dry-run request a namespace receives inside the API server, so that a test can
 * kill the API server while that request is in flight.
 *
 * A preview asks the API server about its objects with server-side dry runs, all within a few
 * hundred milliseconds: a kill aimed by watching the preview's output lands before or after them
 * by chance. The gate is a real validating admission webhook (an HTTPS server in this process,
 * registered with a ValidatingWebhookConfiguration) that answers every call at once except the
 * first dry run of an object in its namespace, which it leaves unanswered until closed (or until
 * the API server gives up on it after the webhook's 30 s timeout and lets the call through).
 * While it holds that call, the preview is waiting on the API server: the fault lands mid-request
 * every time. Nothing in the program, the CLI or the provider is changed.
 *
 * It sees only dry runs in its namespace (a CEL match condition), and it fails open
 * (failurePolicy Ignore), so an unanswered call never blocks anyone for longer than its timeout.
 */
import * as assert from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as https from "https";
import { AddressInfo } from "net";
import * as os from "os";
import * as path from "path";
import { Workspace } from "../workspace";
import { kubectlAsync, sleep } from "./support";

/** What the gate caught: the request the preview is waiting on. */
export interface HeldRequest {
    operation: string;
    resource: string;
    name: string;
    user: string;
}

export class DryRunGate {
    /** The request being held, once one came. */
    held: HeldRequest | undefined;
    private heldAt = 0;
    private probed = false;
    /** The answers of the held calls, sent when the gate closes. */
    private readonly pending: (() => void)[] = [];
    private readonly config: string;
    private readonly server: https.Server;

    private constructor(private readonly ws: Workspace, readonly namespace: string, private readonly tls: { key: string; cert: string }) {
        this.config = `dry-run-gate-${namespace}`;
        this.server = https.createServer(tls, (req, res) => {
            let body = "";
            req.on("data", (d) => { body += d; });
            req.on("end", () => {
                const review = JSON.parse(body);
                const answer = () => res.end(JSON.stringify({
                    apiVersion: "admission.k8s.io/v1", kind: "AdmissionReview", response: { uid: review.request.uid, allowed: true },
                }));
                res.setHeader("Content-Type", "application/json");
                if (this.consider(review.request)) this.pending.push(answer);
                else answer();
            });
        });
    }

    /** Starts the webhook server, registers it for `namespace` and waits until the API server calls it. */
    static async open(ws: Workspace, namespace: string): Promise<DryRunGate> {
        const gate = new DryRunGate(ws, namespace, selfSignedCertificate());
        await new Promise<void>((resolve) => gate.server.listen(0, "127.0.0.1", resolve));
        gate.server.unref(); // a gate a failed test left open never keeps the test process alive
        try {
            gate.register();
            await gate.waitUntilCalled();
        } catch (e) {
            await gate.close();
            throw e;
        }
        return gate;
    }

    /** Deregisters the webhook and answers what it held (if the API server is still there to hear it). */
    async close(): Promise<void> {
        const deleted = this.ws.kubectl(["delete", "validatingwebhookconfiguration", this.config, "--ignore-not-found"], { allowFailure: true });
        if (deleted.code !== 0) {
            console.log(`        WARNING: the webhook configuration ${this.config} stays registered (it fails open, and the next ` +
                `run replaces it): ${deleted.stderr.trim()}`);
        }
        for (const answer of this.pending.splice(0)) answer();
        this.server.closeAllConnections();
        await new Promise((resolve) => this.server.close(resolve));
    }

    /** Seconds since the gate began holding a call. */
    heldFor(): number {
        return (Date.now() - this.heldAt) / 1000;
    }

    /** Whether to hold this call (only dry runs come): the first of an object, not the gate's own probes. */
    private consider(request: any): boolean {
        if (request.name?.startsWith(PROBE)) {
            this.probed = true;
            return false;
        }
        if (this.held) return false;
        this.heldAt = Date.now();
        this.held = {
            operation: request.operation, resource: request.resource.resource, name: request.name, user: request.userInfo?.username,
        };
        return true;
    }

    private register(): void {
        const port = (this.server.address() as AddressInfo).port;
        const webhook = {
            apiVersion: "admissionregistration.k8s.io/v1",
            kind: "ValidatingWebhookConfiguration",
            metadata: { name: this.config },
            webhooks: [{
                name: "dry-run-gate.e2e.trading-bot.local",
                clientConfig: { url: `https://127.0.0.1:${port}/`, caBundle: Buffer.from(this.tls.cert).toString("base64") },
                rules: [{ apiGroups: ["*"], apiVersions: ["*"], resources: ["*"], operations: ["CREATE", "UPDATE"], scope: "Namespaced" }],
                namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": this.namespace } },
                matchConditions: [{ name: "dry-runs-only", expression: "request.dryRun == true" }],
                admissionReviewVersions: ["v1"],
                sideEffects: "None",
                failurePolicy: "Ignore",
                timeoutSeconds: 30,
            }],
        };
        this.ws.kubectl(["apply", "-f", "-"], { input: JSON.stringify(webhook) });
    }

    /**
     * The API server picks up a new webhook configuration asynchronously: dry-run creates of a
     * probe ConfigMap until one reaches the gate. Asynchronous, so this process can answer them.
     */
    private async waitUntilCalled(): Promise<void> {
        const deadline = Date.now() + 30_000;
        while (!this.probed) {
            assert.ok(Date.now() < deadline, `the API server never called the dry-run gate in ${this.namespace}`);
            await kubectlAsync(this.ws, ["-n", this.namespace, "create", "configmap", `${PROBE}-${Date.now()}`, "--dry-run=server"]);
            if (!this.probed) await sleep(200);
        }
    }
}

const PROBE = "dry-run-gate-probe";

/** A throw-away key and certificate for https://127.0.0.1 (the API server checks it against caBundle). */
function selfSignedCertificate(): { key: string; cert: string } {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "dry-run-gate-"));
    try {
        const r = spawnSync("openssl", [
            "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=dry-run-gate",
            "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", path.join(dir, "key.pem"), "-out", path.join(dir, "cert.pem"),
        ], { encoding: "utf8" });
        assert.strictEqual(r.status, 0, `openssl req: ${r.stderr}`);
        return { key: fs.readFileSync(path.join(dir, "key.pem"), "utf8"), cert: fs.readFileSync(path.join(dir, "cert.pem"), "utf8") };
    } finally {
        fs.rmSync(dir, { recursive: true, force: true });
    }
}
