/** Small helpers to look at the live cluster from end-to-end tests. */
import * as assert from "assert";
import { Workspace } from "./workspace";

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
