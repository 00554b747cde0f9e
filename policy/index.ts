/**
 * The trading bot's policy pack. Every `pulumi preview` and `pulumi up` in CI and in the local
 * check runs it (`--policy-pack policy`); a mandatory violation fails the command with the
 * policy's message, an advisory one is printed as a warning.
 *
 * Configure it with `--policy-pack-config <file.json>`, e.g. to declare the stack's environment
 * (so no object can be labelled otherwise) or to change a level:
 *   { "environment-label": { "environment": "prod" },
 *     "requests-close-to-limits": { "enforcementLevel": "disabled" } }
 * Each policy's options are in its configSchema (policy/*.ts).
 */
import { PolicyPack } from "@pulumi/policy";
import { PACK_NAME, policies } from "./policies";

new PolicyPack(PACK_NAME, {
    policies,
    // Each policy sets its own level; this is only the fallback for one that would not.
    enforcementLevel: "mandatory",
    description: "Hardened pods, pinned images, no plain-text secrets, and trading-bot safety (prod-only trading, leader election, NetworkPolicy and PodDisruptionBudget in prod).",
});
