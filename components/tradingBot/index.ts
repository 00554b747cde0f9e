import * as pulumi from "@pulumi/pulumi";
import { usesVolumePerReplica } from "../../contract";
import { BotSpec } from "./spec";
import { resolveArgs, secretsGiven, TradingBotArgs } from "./args";
import { checkOnceKnown, InvalidTradingBotArgsError, violations } from "./rules";
import { plain } from "../inputs";
import { createConfiguration } from "./configuration";
import { naming } from "./naming";
import { createIngress, createNetworkPolicy, createPeersService, createService } from "./network";
import { createRbac } from "./rbac";
import { createAutoscaler, createDisruptionBudget } from "./scaling";
import { createDataVolume } from "./storage";
import { TRADING_BOT_TYPE } from "./type";
import { createWorkload } from "./workload";

export {
    AutoscalingArgs, DatabaseArgs, DEFAULTS, ImageArgs, IngressArgs, NetworkPolicyArgs, RedisArgs, ResourceArgs, resolveArgs,
    SecretArgs, StorageArgs, TradingArgs, TradingBotArgs,
} from "./args";
export { ArgumentName, BOT_RULES, Change, checkOnceKnown, InvalidTradingBotArgsError, Rule, Violation, violations } from "./rules";
export { BotSpec, RuleSubject } from "./spec";

/**
 * Whether a value the rules may read is not known yet (an Output or a Promise somewhere in it):
 * the rules then run again once it is, at deploy time. No rule reads the namespace.
 */
function outputsTheRulesRead(spec: BotSpec): boolean {
    const unknown = (value: unknown): boolean => plain(value) === undefined
        || (typeof value === "object" && value !== null && Object.values(value).some(unknown));
    const { namespace, ...read } = spec;
    return unknown(read);
}

/**
 * The trading bot: RBAC, configuration, Secret, data volume(s), Deployment or StatefulSet, Service
 * and, as its arguments ask, Ingress, autoscaler, disruption budget and network policy. Everything
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

    /**
     * Every object is named after `name` (a DNS-1035 label of at most 40 characters). Throws an
     * InvalidTradingBotArgsError naming every broken safety rule (BOT_RULES) before anything is
     * registered; values given as Outputs are checked once known, failing the deployment.
     */
    constructor(name: string, args: TradingBotArgs, opts?: pulumi.ComponentResourceOptions) {
        const spec = resolveArgs(name, args);
        const subject = { ...spec, secretsSet: secretsGiven(args.secrets) };
        const broken = violations(subject);
        if (broken.length) throw new InvalidTradingBotArgsError(name, broken, subject);
        super(TRADING_BOT_TYPE, name, {}, opts);
        const n = naming(spec);
        // No deleteBeforeReplace here: the provider already deletes first when an object that
        // must be replaced keeps its name, and nothing else should ever be deleted first. The
        // namespace's Output (when given one) makes every object wait for the namespace.
        const inNamespace: pulumi.CustomResourceOptions = { parent: this };

        const serviceAccountName = createRbac(spec, n, inNamespace);
        const configuration = createConfiguration(spec, n, args.secrets ?? {}, inNamespace);
        const pvcName = createDataVolume(spec, n, inNamespace);
        const peersServiceName = usesVolumePerReplica(spec) ? createPeersService(spec, n, inNamespace) : undefined;
        const workload = createWorkload(spec, n, {
            serviceAccountName,
            configMapName: configuration.configMapName,
            tlsConfigMapName: configuration.tlsConfigMapName,
            secretName: configuration.secretName,
            checksums: configuration.checksums,
            pvcName,
            peersServiceName,
        }, inNamespace);
        const service = createService(spec, n, inNamespace);
        createIngress(spec, n, service, inNamespace);
        createAutoscaler(spec, n, workload, inNamespace);
        createDisruptionBudget(spec, n, inNamespace);
        createNetworkPolicy(spec, n, inNamespace);

        this.namespace = pulumi.output(spec.namespace);
        this.serviceName = service.metadata.name;
        this.servicePort = spec.containerPort;
        this.workloadName = workload.name;
        this.workloadKind = workload.kind;
        this.registerOutputs({
            namespace: this.namespace,
            serviceName: this.serviceName,
            workloadName: this.workloadName,
            ...(outputsTheRulesRead(spec) ? { argumentsChecked: checkOnceKnown(name, subject) } : {}),
        });
    }
}
