/**
 * Holds the first dry-run request a namespace receives inside the API server, so that a test can
 * kill the API server while that request is in flight.
 *
 * A preview asks the API server about its objects with server-side dry runs, all within a few
 * hundred milliseconds: a kill aimed by watching the preview's output lands before or after them
 * by chance. The gate (an admission webhook, ../admissionGate.ts) answers every call at once
 * except the first dry run of an object in its namespace, which it leaves unanswered until closed
 * (or until the API server gives up on it after the webhook's 30 s timeout and lets the call
 * through). While it holds that call, the preview is waiting on the API server: the fault lands
 * mid-request every time.
 */
import { AdmissionGate } from "../admissionGate";
import { Workspace } from "../workspace";

export function openDryRunGate(ws: Workspace, namespace: string): Promise<AdmissionGate> {
    return AdmissionGate.open(ws, {
        name: "dry-run-gate",
        namespace,
        rules: [{ apiGroups: ["*"], apiVersions: ["*"], resources: ["*"], operations: ["CREATE", "UPDATE"], scope: "Namespaced" }],
        condition: "request.dryRun == true",
        hold: (_request, held) => held.length === 0 ? Infinity : 0,
    });
}
