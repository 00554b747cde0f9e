import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import * as path from "path";
import { loadStack, Settings } from "./config";
import { generatePasswords, InClusterDatabases } from "./components/databases";
import { SecretValues, TradingBot } from "./components/tradingBot";

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
        context: settings.kubeContext,
        // A path, not the file's content: the credentials stay out of the state.
        ...(settings.kubeconfig ? { kubeconfig: path.resolve(__dirname, settings.kubeconfig) } : {}),
        // ConfigMap and Secret change in place; pods roll through content checksums instead.
        enableConfigMapMutable: true,
        enableSecretMutable: true,
    });
}

const SKIPS_PROMISE_TRACES = Symbol.for("trading-bot.skipsPromiseTraces");

/**
 * Registration speed. The SDK records a stack trace for each of its internal promises (several per
 * resource), kept only to explain leaked promises when PULUMI_DEBUG_PROMISE_LEAKS is set; under
 * source-map-support every such trace is source-mapped frame by frame, which costs more than all
 * the rest of a registration (100 bots: three quarters of the program's run). Those traces are left empty
 * unless leak debugging is on. Every other stack trace (errors, the source position Pulumi records
 * for each resource) is formatted and mapped as before.
 */
function skipPromiseDebugTraces(): void {
    const format = Error.prepareStackTrace;
    if (!format || process.env.PULUMI_DEBUG_PROMISE_LEAKS || SKIPS_PROMISE_TRACES in format) return;
    Error.prepareStackTrace = Object.assign(
        (error: Error, frames: NodeJS.CallSite[]) =>
            frames[0]?.getFunctionName() === "debuggablePromise" ? "" : format(error, frames),
        { [SKIPS_PROMISE_TRACES]: true },
    );
}

/** Declares the whole stack. Config is validated first: invalid config creates nothing. */
export function defineStack(): StackOutputs {
    skipPromiseDebugTraces();
    const stack = loadStack();
    const [first] = stack.bots;
    const provider = clusterProvider(first);

    // In-cluster databases (dev, staging) are shared by the stack's bots; their generated
    // passwords reach each bot through its Secret unless the bot sets its own.
    const passwords = first.inClusterDatabases && !first.existingSecret
        ? generatePasswords(`${first.name}-databases`) : undefined;
    const secretsOf = (i: number): SecretValues => ({
        ...(passwords ? { databasePassword: passwords.databasePassword, redisPassword: passwords.redisPassword } : {}),
        ...stack.secrets[i],
    });

    const owner = new TradingBot(first.name, { settings: first, secrets: secretsOf(0) }, { provider });
    const bots = [owner, ...stack.bots.slice(1).map((settings, i) =>
        new TradingBot(settings.name, {
            settings, secrets: secretsOf(i + 1), sharedNamespace: owner.namespaceResource,
        }, { provider }))];

    if (first.inClusterDatabases) {
        const own = secretsOf(0);
        new InClusterDatabases(`${first.name}-databases`, {
            settings: first,
            namespace: owner.namespace,
            credentials: passwords
                ? { databasePassword: own.databasePassword!, redisPassword: own.redisPassword! }
                : { existingSecret: first.existingSecret },
        }, { provider });
    }

    const outputs = stack.bots.map((settings, i) => botOutputs(settings, bots[i]));
    return {
        ...outputs[0],
        kubeContext: first.kubeContext,
        bots: Object.fromEntries(stack.bots.map((settings, i) => [settings.name, outputs[i]])),
    };
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
        logsCommand: pulumi.interpolate`${kubectl} -n ${bot.namespace} logs -f deployment/${bot.deploymentName}`,
        hpaCommand: settings.autoscaling.enabled
            ? pulumi.interpolate`${kubectl} -n ${bot.namespace} get hpa ${bot.deploymentName}`
            : pulumi.output("autoscaling is off for this stack"),
        exchangeEndpoint: settings.trading.exchangeEndpoint,
        tradingEnabled: settings.trading.enabled,
    };
}
