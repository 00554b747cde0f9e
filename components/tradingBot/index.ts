import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { usesVolumePerReplica } from "../contract";
import { BotSpec } from "./spec";
import { createConfiguration, SecretValues } from "./configuration";
import { naming } from "./naming";
import { createIngress, createNetworkPolicy, createPeersService, createService } from "./network";
import { createRbac } from "./rbac";
import { createAutoscaler, createDisruptionBudget } from "./scaling";
import { createDataVolume } from "./storage";
import { TRADING_BOT_TYPE } from "./type";
import { createWorkload } from "./workload";

export { SecretValues } from "./configuration";

export interface TradingBotArgs {
    /** Validated stack settings (see config/schema.ts for every key, its default and meaning). */
    settings: BotSpec;
    /**
     * Values for the bot's Secret, as secret outputs: the Binance keys and the database and
     * Redis passwords. Ignored when `settings.existingSecret` names a Secret to use instead.
     */
    secrets: SecretValues;
    /** The namespace resource, when the stack creates it: the bot's objects are created after it. */
    namespace?: k8s.core.v1.Namespace;
}

/**
 * The trading bot: RBAC, configuration, Secret, data volume(s), Deployment or StatefulSet, Service
 * and, as the settings ask, Ingress, autoscaler, disruption budget and network policy. Everything
 * it creates is its own: shared things (the namespace, the databases) belong to the stack.
 * The kubernetes provider flows down from the component's options.
 */
export class TradingBot extends pulumi.ComponentResource {
    readonly namespace: pulumi.Output<string>;
    readonly serviceName: pulumi.Output<string>;
    readonly servicePort: number;
    /** The Deployment's or StatefulSet's name. */
    readonly workloadName: pulumi.Output<string>;
    readonly workloadKind: "Deployment" | "StatefulSet";

    constructor(name: string, args: TradingBotArgs, opts?: pulumi.ComponentResourceOptions) {
        super(TRADING_BOT_TYPE, name, {}, opts);
        const { settings } = args;
        const n = naming(settings);
        // No deleteBeforeReplace here: the provider already deletes first when an object that
        // must be replaced keeps its name, and nothing else should ever be deleted first.
        const inNamespace: pulumi.CustomResourceOptions = { parent: this, dependsOn: args.namespace ? [args.namespace] : [] };

        const serviceAccountName = createRbac(settings, n, inNamespace);
        const configuration = createConfiguration(settings, n, args.secrets, inNamespace);
        const pvcName = createDataVolume(settings, n, inNamespace);
        const peersServiceName = usesVolumePerReplica(settings) ? createPeersService(settings, n, inNamespace) : undefined;
        const workload = createWorkload(settings, n, {
            serviceAccountName,
            configMapName: configuration.configMapName,
            tlsConfigMapName: configuration.tlsConfigMapName,
            secretName: configuration.secretName,
            checksums: configuration.checksums,
            pvcName,
            peersServiceName,
        }, inNamespace);
        const service = createService(settings, n, inNamespace);
        createIngress(settings, n, service, inNamespace);
        createAutoscaler(settings, n, workload, inNamespace);
        createDisruptionBudget(settings, n, inNamespace);
        createNetworkPolicy(settings, n, inNamespace);

        this.namespace = args.namespace ? args.namespace.metadata.name : pulumi.output(settings.namespace);
        this.serviceName = service.metadata.name;
        this.servicePort = settings.containerPort;
        this.workloadName = workload.name;
        this.workloadKind = workload.kind;
        this.registerOutputs({
            namespace: this.namespace,
            serviceName: this.serviceName,
            workloadName: this.workloadName,
        });
    }
}
