import * as k8s from "@pulumi/kubernetes";
import { Toleration } from "../contract";

/** Where a stack's pods may run (nodeSelector, tolerations), for every pod of the stack alike. */
export function podPlacement(settings: { placement: { nodeSelector: Record<string, string>; tolerations: Toleration[] } }): Partial<k8s.types.input.core.v1.PodSpec> {
    const { nodeSelector, tolerations } = settings.placement;
    return {
        ...(Object.keys(nodeSelector).length ? { nodeSelector } : {}),
        ...(tolerations.length
            ? {
                tolerations: tolerations.map((t) => t.value === undefined
                    ? { key: t.key, operator: "Exists", effect: t.effect }
                    : { key: t.key, operator: "Equal", value: t.value, effect: t.effect }),
            }
            : {}),
    };
}
