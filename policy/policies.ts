/**
 * Every policy of the pack, in the order the engine reports them. index.ts serves them; the unit
 * tests (test/unit/policy.test.ts) call their validators directly.
 */
import type { Policies } from "@pulumi/policy";
import { environmentPolicies } from "./environment";
import { hardeningPolicies } from "./hardening";
import { imagePolicies } from "./images";
import { leaderElectionPolicies } from "./leaderElection";
import { prodPolicies } from "./prod";
import { resourcePolicies } from "./resources";
import { secretPolicies } from "./secrets";
import { tradingPolicies } from "./trading";

export const PACK_NAME = "trading-bot";

export const policies: Policies = [
    ...environmentPolicies,
    ...hardeningPolicies,
    ...resourcePolicies,
    ...imagePolicies,
    ...secretPolicies,
    ...tradingPolicies,
    ...leaderElectionPolicies,
    ...prodPolicies,
];
