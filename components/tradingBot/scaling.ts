import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { runsSeveralReplicas } from "../../contract";
import { BotSpec } from "./spec";
import { meta, Naming } from "./naming";
import { Workload } from "./workload";

type ObjectMeta = k8s.types.input.meta.v1.ObjectMeta;

/** The CPU- and memory-based HorizontalPodAutoscaler (autoscaling/v2) of the bot's workload (pure). */
export function hpaArgs(
    spec: BotSpec, n: Naming, workload: { kind: Workload["kind"]; name: pulumi.Input<string> },
): { metadata: ObjectMeta; spec: k8s.types.input.autoscaling.v2.HorizontalPodAutoscalerSpec } {
    const utilization = (name: string, averageUtilization: number) => ({
        type: "Resource",
        resource: { name, target: { type: "Utilization", averageUtilization } },
    });
    return {
        metadata: meta(n, n.name),
        spec: {
            scaleTargetRef: { apiVersion: "apps/v1", kind: workload.kind, name: workload.name },
            minReplicas: spec.autoscaling.minReplicas,
            maxReplicas: spec.autoscaling.maxReplicas,
            metrics: [
                utilization("cpu", spec.autoscaling.targetCPU),
                utilization("memory", spec.autoscaling.targetMemory),
            ],
        },
    };
}

/** The autoscaler, when autoscaling is on. */
export function createAutoscaler(
    spec: BotSpec, n: Naming, workload: Workload, opts: pulumi.CustomResourceOptions,
): void {
    if (!spec.autoscaling.enabled) return;
    new k8s.autoscaling.v2.HorizontalPodAutoscaler(`${n.name}-hpa`, hpaArgs(spec, n, workload), opts);
}

/** Lets drains evict one pod at a time (pure). */
export function disruptionBudgetArgs(n: Naming): { metadata: ObjectMeta; spec: k8s.types.input.policy.v1.PodDisruptionBudgetSpec } {
    return { metadata: meta(n, n.name), spec: { maxUnavailable: 1, selector: { matchLabels: n.selector } } };
}

/** The disruption budget, wherever the bot may run more than one pod. */
export function createDisruptionBudget(spec: BotSpec, n: Naming, opts: pulumi.CustomResourceOptions): void {
    if (!runsSeveralReplicas(spec)) return;
    new k8s.policy.v1.PodDisruptionBudget(`${n.name}-pdb`, disruptionBudgetArgs(n), opts);
}
