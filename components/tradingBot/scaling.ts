import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { runsSeveralReplicas } from "../contract";
import { BotSpec } from "./spec";
import { meta, Naming } from "./naming";
import { Workload } from "./workload";

/** CPU- and memory-based HorizontalPodAutoscaler (autoscaling/v2), when autoscaling is on. */
export function createAutoscaler(
    settings: BotSpec, n: Naming, workload: Workload, opts: pulumi.CustomResourceOptions,
): void {
    if (!settings.autoscaling.enabled) return;
    const utilization = (name: string, averageUtilization: number) => ({
        type: "Resource",
        resource: { name, target: { type: "Utilization", averageUtilization } },
    });
    new k8s.autoscaling.v2.HorizontalPodAutoscaler(`${n.name}-hpa`, {
        metadata: meta(n, n.name),
        spec: {
            scaleTargetRef: { apiVersion: "apps/v1", kind: workload.kind, name: workload.name },
            minReplicas: settings.autoscaling.minReplicas,
            maxReplicas: settings.autoscaling.maxReplicas,
            metrics: [
                utilization("cpu", settings.autoscaling.targetCPU),
                utilization("memory", settings.autoscaling.targetMemory),
            ],
        },
    }, opts);
}

/** Lets drains evict one pod at a time, wherever the bot may run more than one. */
export function createDisruptionBudget(settings: BotSpec, n: Naming, opts: pulumi.CustomResourceOptions): void {
    if (!runsSeveralReplicas(settings)) return;
    new k8s.policy.v1.PodDisruptionBudget(`${n.name}-pdb`, {
        metadata: meta(n, n.name),
        spec: { maxUnavailable: 1, selector: { matchLabels: n.selector } },
    }, opts);
}
