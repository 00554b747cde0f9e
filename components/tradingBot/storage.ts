import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { usesVolumePerReplica } from "../../contract";
import { BotSpec } from "./spec";
import { meta, Naming } from "./naming";
import { dataVolumeMetadata } from "./workload";

/**
 * The claim for trading data and logs that the bot's pods share, or undefined when there is none:
 * persistence off (an emptyDir then), or a volume per replica (the StatefulSet's claim template).
 */
export function createDataVolume(
    spec: BotSpec, n: Naming, opts: pulumi.CustomResourceOptions,
): pulumi.Output<string> | undefined {
    if (!spec.storage.enabled || usesVolumePerReplica(spec)) return undefined;
    const pvc = new k8s.core.v1.PersistentVolumeClaim(`${n.name}-data`, {
        metadata: meta(n, n.pvc, dataVolumeMetadata(spec)),
        spec: {
            accessModes: [spec.storage.accessMode],
            storageClassName: spec.storage.className,
            resources: { requests: { storage: spec.storage.size } },
        },
    }, { ...opts, protect: spec.environment === "prod" });
    return pvc.metadata.name;
}
