/**
 * A real validating admission webhook that holds chosen API calls of one namespace inside the API
 * server: a test uses it to open, every run, a moment that otherwise lasts milliseconds (a call in
 * flight when the API server dies, a status the controllers have not caught up with yet).
 *
 * It is an HTTPS server in the test process (a throw-away openssl certificate), registered with a
 * ValidatingWebhookConfiguration. It sees only its namespace and the calls its rules and CEL match
 * condition select; it allows every call, answering those it decides to hold later; and it fails
 * open (failurePolicy Ignore), so a call left unanswered never waits longer than the webhook's
 * 30 s timeout. Nothing in the program, the CLI, the provider or the cluster is changed.
 */
import * as assert from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as https from "https";
import { AddressInfo } from "net";
import * as os from "os";
import * as path from "path";
import { kubectlAsync, sleep } from "./reliability/support";
import { Workspace } from "./workspace";

/** A call the gate held. */
export interface HeldRequest {
    operation: string;
    resource: string;
    subResource?: string;
    name: string;
    user: string;
    /** When the gate received it (ms since the epoch). */
    at: number;
}

export interface GateSpec {
    /** Names the webhook configuration (with the namespace). */
    name: string;
    namespace: string;
    /** The webhook's rules: what the API server sends to the gate. */
    rules: object[];
    /** A CEL match condition narrowing the calls further (request, object, oldObject). */
    condition: string;
    /** For each call that comes: how long to hold it in seconds (0: answer at once; Infinity: until close). */
    hold(request: any, held: readonly HeldRequest[]): number;
}

export class AdmissionGate {
    /** Every call held so far, first first. */
    readonly held: HeldRequest[] = [];
    private probed = false;
    /** The answers of the calls still held, sent when the gate closes. */
    private readonly pending = new Set<() => void>();
    private readonly config: string;
    private readonly server: https.Server;
    private readonly tls = selfSignedCertificate();

    private constructor(private readonly ws: Workspace, private readonly spec: GateSpec) {
        this.config = `${spec.name}-${spec.namespace}`;
        this.server = https.createServer(this.tls, (req, res) => {
            let body = "";
            req.on("data", (d) => { body += d; });
            req.on("end", () => {
                const review = JSON.parse(body);
                const answer = () => {
                    this.pending.delete(answer);
                    res.end(JSON.stringify({
                        apiVersion: "admission.k8s.io/v1", kind: "AdmissionReview", response: { uid: review.request.uid, allowed: true },
                    }));
                };
                res.setHeader("Content-Type", "application/json");
                const seconds = this.consider(review.request);
                if (seconds <= 0) return answer();
                this.pending.add(answer);
                if (Number.isFinite(seconds)) setTimeout(answer, seconds * 1000).unref();
            });
        });
    }

    /** Starts the webhook server, registers it and waits until the API server calls it. */
    static async open(ws: Workspace, spec: GateSpec): Promise<AdmissionGate> {
        const gate = new AdmissionGate(ws, spec);
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

    /** Deregisters the webhook and answers what it holds (if the API server is still there to hear it). */
    async close(): Promise<void> {
        const deleted = this.ws.kubectl(["delete", "validatingwebhookconfiguration", this.config, "--ignore-not-found"], { allowFailure: true });
        if (deleted.code !== 0) {
            console.log(`        WARNING: the webhook configuration ${this.config} stays registered (it fails open, and the next ` +
                `run replaces it): ${deleted.stderr.trim()}`);
        }
        for (const answer of [...this.pending]) answer();
        this.server.closeAllConnections();
        await new Promise((resolve) => this.server.close(resolve));
    }

    /** Seconds since the gate began holding its first call. */
    heldFor(): number {
        return this.held.length ? (Date.now() - this.held[0].at) / 1000 : 0;
    }

    private consider(request: any): number {
        if (request.name?.startsWith(PROBE)) {
            this.probed = true;
            return 0;
        }
        const seconds = this.spec.hold(request, this.held);
        if (seconds > 0) {
            this.held.push({
                operation: request.operation, resource: request.resource.resource, subResource: request.subResource,
                name: request.name, user: request.userInfo?.username, at: Date.now(),
            });
        }
        return seconds;
    }

    private register(): void {
        const port = (this.server.address() as AddressInfo).port;
        const common = {
            clientConfig: { url: `https://127.0.0.1:${port}/`, caBundle: Buffer.from(this.tls.cert).toString("base64") },
            namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": this.spec.namespace } },
            admissionReviewVersions: ["v1"],
            sideEffects: "None",
            failurePolicy: "Ignore",
            timeoutSeconds: 30,
        };
        const webhook = {
            apiVersion: "admissionregistration.k8s.io/v1",
            kind: "ValidatingWebhookConfiguration",
            metadata: { name: this.config },
            webhooks: [
                { name: `${this.spec.name}.e2e.trading-bot.local`, rules: this.spec.rules, matchConditions: [{ name: "selected", expression: this.spec.condition }], ...common },
                // How the gate knows the API server has picked it up (see waitUntilCalled).
                {
                    name: `probe.${this.spec.name}.e2e.trading-bot.local`,
                    rules: [{ apiGroups: [""], apiVersions: ["v1"], resources: ["configmaps"], operations: ["CREATE"], scope: "Namespaced" }],
                    matchConditions: [{ name: "probes-only", expression: `request.dryRun == true && request.name.startsWith("${PROBE}")` }],
                    ...common,
                },
            ],
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
            assert.ok(Date.now() < deadline, `the API server never called the admission gate ${this.config}`);
            await kubectlAsync(this.ws, ["-n", this.spec.namespace, "create", "configmap", `${PROBE}-${Date.now()}`, "--dry-run=server"]);
            if (!this.probed) await sleep(200);
        }
    }
}

const PROBE = "admission-gate-probe";

/** A throw-away key and certificate for https://127.0.0.1 (the API server checks it against caBundle). */
function selfSignedCertificate(): { key: string; cert: string } {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "admission-gate-"));
    try {
        const r = spawnSync("openssl", [
            "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=admission-gate",
            "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", path.join(dir, "key.pem"), "-out", path.join(dir, "cert.pem"),
        ], { encoding: "utf8" });
        assert.strictEqual(r.status, 0, `openssl req: ${r.stderr}`);
        return { key: fs.readFileSync(path.join(dir, "key.pem"), "utf8"), cert: fs.readFileSync(path.join(dir, "cert.pem"), "utf8") };
    } finally {
        fs.rmSync(dir, { recursive: true, force: true });
    }
}
