/**
 * A Deployment that rolls out by Recreate (never two pods at once), and an await that knows when
 * such a rollout is really done.
 *
 * pulumi-kubernetes 4.25's built-in Deployment await can call a Recreate rollout done before the
 * new pod exists. With Recreate, the Deployment controller first scales the old ReplicaSet to zero
 * and waits for its pods to stop; only then does it create the new ReplicaSet and move the
 * Deployment's revision annotation. In between, the Deployment already reports the new
 * `observedGeneration` with the previous rollout's conditions (Available, Progressing
 * NewReplicaSetAvailable) and the old revision, and the provider takes the old, scaled-down
 * ReplicaSet for the finished one: `pulumi up` succeeds while the bot is stopped and its new pod
 * is not even created (seen on the real node, where the old bot takes seconds to stop; the
 * failure-injection test `test/e2e/rollout.test.ts` holds that moment open to show it).
 *
 * `pulumi.com/waitFor` replaces the built-in await with conditions the provider checks only once
 * the Deployment's `status.observedGeneration` is current: the rollout is done when the
 * Progressing condition says NewReplicaSetAvailable and as many replicas run the new template as
 * the Deployment asks for (`updatedReplicas` is absent while the new ReplicaSet does not exist, so
 * the stale conditions above no longer pass). Compared with the live `spec.replicas`, so a change
 * of replicas by an autoscaler does not matter.
 */

/** The provider's annotation for custom await conditions (pulumi-kubernetes 4.18 and later). */
export const AWAIT_ANNOTATION = "pulumi.com/waitFor";

/** Every condition must hold (a JSON array of expressions, as the annotation takes it). */
export const RECREATE_ROLLOUT_DONE: readonly string[] = [
    'jsonpath={.status.conditions[?(@.type=="Progressing")].reason}=NewReplicaSetAvailable',
    "jsonpath={$[?@.updatedReplicas == $.spec.replicas]}",
];

/** A Deployment's `spec.strategy` for Recreate, and the annotation its metadata needs with it. */
export const RECREATE = {
    strategy: { type: "Recreate" },
    annotations: { [AWAIT_ANNOTATION]: JSON.stringify(RECREATE_ROLLOUT_DONE) } as Record<string, string>,
} as const;
