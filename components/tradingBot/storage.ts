import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { Settings } from "../../config";
import { meta, Naming } from "./naming";

/** The claim for trading data and logs, or undefined when persistence is off (an emptyDir then). */
export function createDataVolume(
    settings: Settings, n: Naming, opts: pulumi.CustomResourceOptions,
): pulumi.Output<string> | undefined {
    if (!settings.storage.enabled) return undefined;
    const backup = settings.storage.backup
        ? { labels: { "trading-bot.io/backup": "enabled" }, annotations: { "trading-bot.io/backup-schedule": "daily" } }
        : {};
    const pvc = new k8s.core.v1.PersistentVolumeClaim(`${n.name}-data`, {
        metadata: meta(n, n.pvc, backup),
        spec: {
            accessModes: [settings.storage.accessMode],
            storageClassName: settings.storage.className,
            resources: { requests: { storage: settings.storage.size } },
        },
    }, { ...opts, protect: settings.environment === "prod" });
    return pvc.metadata.name;
}
