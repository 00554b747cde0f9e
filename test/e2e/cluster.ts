/** Small helpers to look at the live cluster from end-to-end tests. */
import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import { PROJECT_DIR, Workspace } from "./workspace";

/** The bot's pods that are not being deleted. */
export function botPods(ws: Workspace, namespace: string, instance = "trading-bot"): any[] {
    const pods = ws.kubectlJson(["-n", namespace, "get", "pods", "-l", `app.kubernetes.io/instance=${instance},app.kubernetes.io/component=bot`]);
    return pods.items.filter((p: any) => !p.metadata.deletionTimestamp);
}

/** Polls `check` (synchronously, with a short sleep) until it holds or the timeout passes. */
export function waitFor(what: string, check: () => boolean, timeoutSeconds = 120): void {
    const deadline = Date.now() + timeoutSeconds * 1000;
    while (Date.now() < deadline) {
        if (check()) return;
        Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 1000);
    }
    assert.fail(`timed out after ${timeoutSeconds} s waiting for ${what}`);
}

/** Fails if any of the secret values (or their base64 form) occurs in `text`. */
export function assertNoSecretIn(where: string, text: string, secrets: string[]): void {
    for (const secret of secrets) {
        const forms = [secret, Buffer.from(secret).toString("base64")];
        for (const form of forms) {
            assert.ok(!text.includes(form), `a secret value (${secret.slice(0, 8)}...) appears in the ${where}`);
        }
    }
}

/**
 * The local cluster's real node (local/cluster/node.sh: kubelet, containerd, CNI, kube-proxy,
 * CoreDNS). It is tainted and labelled so that only pods asking for it run there; the kwok nodes
 * serve the rest. node.sh's REAL_NODE_NAME, REAL_NODE_LABEL and REAL_NODE_TAINT hold the same
 * strings: change them together.
 */
export const REAL_NODE = {
    name: "real-node",
    label: { key: "trading-bot.local/node", value: "real" },
    taint: { key: "trading-bot.local/real-node", value: "true", effect: "NoSchedule" },
} as const;

/** What pods need to run on the real node: its label as nodeSelector, a toleration of its taint. */
export const REAL_NODE_PLACEMENT = {
    nodeSelector: { [REAL_NODE.label.key]: REAL_NODE.label.value },
    tolerations: [{ key: REAL_NODE.taint.key, operator: "Equal", value: REAL_NODE.taint.value, effect: REAL_NODE.taint.effect }],
};

/** The same placement as the stacks' `nodeSelector` and `tolerations` config items (key=value, key=value:Effect). */
export const REAL_NODE_STACK_CONFIG = {
    nodeSelector: [`${REAL_NODE.label.key}=${REAL_NODE.label.value}`],
    tolerations: [`${REAL_NODE.taint.key}=${REAL_NODE.taint.value}:${REAL_NODE.taint.effect}`],
};

/** In a suite's `before`: skips the suite, printing why, when the real node is not running. */
export function skipWithoutRealNode(suite: Mocha.Context): void {
    const reason = realNodeUnavailable();
    if (reason) {
        console.log(`    skipped: ${reason}`);
        suite.skip();
    }
}

/**
 * Why the real node is not there (as `npm run cluster -- up` recorded it in
 * .local/cluster/node/status), or undefined when it is running. Suites that need it skip with
 * this reason.
 */
function realNodeUnavailable(): string | undefined {
    const file = path.join(PROJECT_DIR, ".local", "cluster", "node", "status");
    if (!fs.existsSync(file)) return `the local cluster's real node was not started (${file} is missing): run 'npm run cluster -- up'`;
    const state = fs.readFileSync(file, "utf8").split("\n")[0].trim();
    return state === "ready" ? undefined : `the local cluster's real node is ${state}`;
}
