import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import * as path from "path";
import { loadStack, Settings } from "./config";
import { SharedResources } from "./components/shared";
import { SecretArgs, TradingBot, TradingBotArgs } from "./components/tradingBot";
import { skipPromiseDebugTraces } from "./runtime/sdk";

/** How to reach one bot: everything Helm's NOTES.txt used to print. */
export interface BotOutputs {
    namespace: pulumi.Output<string>;
    serviceName: pulumi.Output<string>;
    serviceDns: pulumi.Output<string>;
    servicePort: number;
    portForwardCommand: pulumi.Output<string>;
    healthCheckCommand: string;
    logsCommand: pulumi.Output<string>;
    hpaCommand: pulumi.Output<string>;
    exchangeEndpoint: string;
    tradingEnabled: boolean;
}

/** What `pulumi stack output` shows: the first bot's outputs at the top level, and every bot by name. */
export interface StackOutputs extends BotOutputs {
    kubeContext: string;
    bots: Record<string, BotOutputs>;
}

/** The cluster named by the stack: an explicit provider, never the ambient current context. */
export function clusterProvider(settings: Settings): k8s.Provider {
    if (settings.renderYamlToDirectory) {
        // GitOps: write the manifests for Argo CD or Flux instead of talking to a cluster.
        return new k8s.Provider("cluster", {
            renderYamlToDirectory: settings.renderYamlToDirectory,
            enableConfigMapMutable: true,
            enableSecretMutable: true,
        });
    }
    return new k8s.Provider("cluster", {
        // The stack's cluster is this identifier, not the kubeconfig's server, CA or context name:
        // a regenerated kubeconfig for the same cluster is an update, never a replacement of the
        // provider (which would replace every object of the stack).
        clusterIdentifier: settings.clusterIdentifier,
        context: settings.kubeContext,
        // A path, not the file's content: the credentials stay out of the state.
        ...(settings.kubeconfig ? { kubeconfig: path.resolve(__dirname, settings.kubeconfig) } : {}),
        // ConfigMap and Secret change in place; pods roll through content checksums instead.
        enableConfigMapMutable: true,
        enableSecretMutable: true,
    });
}

/** Declares the whole stack. Config is validated first: invalid config creates nothing. */
export function defineStack(): StackOutputs {
    skipPromiseDebugTraces();
    const stack = loadStack();
    const provider = clusterProvider(stack.shared);

    // What the bots share has an owner of its own, so no bot edit touches it.
    const shared = new SharedResources("shared", {
        settings: stack.shared,
        botNames: stack.bots.map((b) => b.name),
        databasePasswords: stack.sharedSecrets,
    }, { provider });
    // The in-cluster databases' generated passwords reach each bot through its Secret unless the
    // bot sets its own.
    const passwords = shared.databasePasswords;
    const bots = stack.bots.map((settings, i) => new TradingBot(settings.name, botArgs(
        settings,
        { ...(passwords ?? {}), ...stack.secrets[i] },
        shared.namespaceResource?.metadata.name ?? settings.namespace,
    ), { provider }));

    const outputs = stack.bots.map((settings, i) => botOutputs(settings, bots[i]));
    return {
        ...outputs[0],
        kubeContext: stack.shared.kubeContext,
        bots: Object.fromEntries(stack.bots.map((settings, i) => [settings.name, outputs[i]])),
    };
}

/**
 * The stack's adapter: one bot's validated settings as the component's arguments. Every value is
 * given (the stack's config has its own defaults, in Pulumi.yaml); the stack's own concerns
 * (kubeContext, renderYamlToDirectory, the in-cluster databases' images...) stay here.
 */
export function botArgs(settings: Settings, secrets: SecretArgs, namespace: pulumi.Input<string>): TradingBotArgs {
    // Settings is the bot's resolved spec (TradingBotArgs with every argument given) plus the
    // stack's own concerns and the name, which the component takes apart.
    const {
        name, stack, kubeContext, kubeconfig, clusterIdentifier, renderYamlToDirectory, createNamespace, databaseImages, secretsSet,
        namespace: stackNamespace, ...spec
    } = settings;
    return { ...spec, namespace, secrets };
}

function botOutputs(settings: Settings, bot: TradingBot): BotOutputs {
    const kubectl = `kubectl --context ${settings.kubeContext}`;
    const port = bot.servicePort;
    return {
        namespace: bot.namespace,
        serviceName: bot.serviceName,
        serviceDns: pulumi.interpolate`${bot.serviceName}.${bot.namespace}.svc.cluster.local`,
        servicePort: port,
        portForwardCommand: pulumi.interpolate`${kubectl} -n ${bot.namespace} port-forward svc/${bot.serviceName} ${port}:${port}`,
        healthCheckCommand: `curl -fsS http://127.0.0.1:${port}/health`,
        logsCommand: pulumi.interpolate`${kubectl} -n ${bot.namespace} logs -f ${bot.workloadKind.toLowerCase()}/${bot.workloadName}`,
        hpaCommand: settings.autoscaling.enabled
            ? pulumi.interpolate`${kubectl} -n ${bot.namespace} get hpa ${bot.workloadName}`
            : pulumi.output("autoscaling is off for this stack"),
        exchangeEndpoint: settings.trading.exchangeEndpoint,
        tradingEnabled: settings.trading.enabled,
    };
}
