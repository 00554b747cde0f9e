import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { Settings } from "../../config";
import { createConfiguration, SecretValues } from "./configuration";
import { naming } from "./naming";
import { createNamespace } from "./namespace";
import { createIngress, createNetworkPolicy, createService } from "./network";
import { createRbac } from "./rbac";
import { createAutoscaler, createDisruptionBudget } from "./scaling";
import { createDataVolume } from "./storage";
import { createDeployment } from "./workload";

export { SecretValues } from "./configuration";

export interface TradingBotArgs {
    /** Validated stack settings (see config/schema.ts for every key, its default and meaning). */
    settings: Settings;
    /**
     * Values for the bot's Secret, as secret outputs: the Binance keys and the database and
     * Redis passwords. Ignored when `settings.existingSecret` names a Secret to use instead.
     */
    secrets: SecretValues;
    /**
     * A namespace another bot of the stack created, to share instead of creating one.
     * Defaults to creating the namespace when `settings.createNamespace`, else using the named one.
     */
    sharedNamespace?: k8s.core.v1.Namespace;
}

/**
 * The trading bot: namespace, RBAC, configuration, Secret, data volume, Deployment, Service and,
 * as the settings ask, Ingress, autoscaler, disruption budget and network policy.
 * The kubernetes provider flows down from the component's options.
 */
export class TradingBot extends pulumi.ComponentResource {
    readonly namespace: pulumi.Output<string>;
    /** The namespace this bot created, if it created one (other bots of the stack share it). */
    readonly namespaceResource?: k8s.core.v1.Namespace;
    readonly serviceName: pulumi.Output<string>;
    readonly servicePort: number;
    readonly deploymentName: pulumi.Output<string>;

    constructor(name: string, args: TradingBotArgs, opts?: pulumi.ComponentResourceOptions) {
        super("trading-bot:index:TradingBot", name, {}, opts);
        const { settings } = args;
        const n = naming(settings);
        const child: pulumi.CustomResourceOptions = { parent: this, deleteBeforeReplace: true };

        const namespace = args.sharedNamespace ?? createNamespace(settings, child);
        this.namespaceResource = args.sharedNamespace ? undefined : namespace;
        this.namespace = namespace ? namespace.metadata.name : pulumi.output(settings.namespace);
        // Everything else lives in the namespace: create it first, delete it last.
        const inNamespace: pulumi.CustomResourceOptions = { ...child, dependsOn: namespace ? [namespace] : [] };

        const serviceAccountName = createRbac(settings, n, inNamespace);
        const configuration = createConfiguration(settings, n, args.secrets, inNamespace);
        const pvcName = createDataVolume(settings, n, inNamespace);
        const deployment = createDeployment(settings, n, {
            serviceAccountName,
            configMapName: configuration.configMapName,
            secretName: configuration.secretName,
            checksums: configuration.checksums,
            pvcName,
        }, inNamespace);
        const service = createService(settings, n, inNamespace);
        createIngress(settings, n, service, inNamespace);
        createAutoscaler(settings, n, deployment, inNamespace);
        createDisruptionBudget(settings, n, inNamespace);
        createNetworkPolicy(settings, n, inNamespace);

        this.serviceName = service.metadata.name;
        this.servicePort = settings.containerPort;
        this.deploymentName = deployment.metadata.name;
        this.registerOutputs({
            namespace: this.namespace,
            serviceName: this.serviceName,
            deploymentName: this.deploymentName,
        });
    }
}
