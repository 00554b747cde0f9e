import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import * as path from "path";
import { loadSettings, readSecrets, Settings } from "./config";
import { generatePasswords, InClusterDatabases } from "./components/databases";
import { SecretValues, TradingBot } from "./components/tradingBot";

/** What `pulumi stack output` shows: everything Helm's NOTES.txt used to print. */
export interface StackOutputs {
    namespace: pulumi.Output<string>;
    kubeContext: string;
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

/** The cluster named by the stack: an explicit provider, never the ambient current context. */
export function clusterProvider(settings: Settings): k8s.Provider {
    return new k8s.Provider("cluster", {
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
    const settings = loadSettings();
    const provider = clusterProvider(settings);

    const secrets: SecretValues = readSecrets(settings);
    const passwords = settings.inClusterDatabases ? generatePasswords(`${settings.name}-databases`) : undefined;
    if (passwords && !settings.existingSecret) {
        // Passwords set in config win over generated ones.
        secrets.databasePassword ??= passwords.databasePassword;
        secrets.redisPassword ??= passwords.redisPassword;
    }

    const bot = new TradingBot(settings.name, { settings, secrets }, { provider });
    if (passwords) {
        new InClusterDatabases(`${settings.name}-databases`, {
            settings,
            namespace: bot.namespace,
            databasePassword: secrets.databasePassword ?? passwords.databasePassword,
            redisPassword: secrets.redisPassword ?? passwords.redisPassword,
        }, { provider });
    }
    return stackOutputs(settings, bot);
}

function stackOutputs(settings: Settings, bot: TradingBot): StackOutputs {
    const kubectl = `kubectl --context ${settings.kubeContext}`;
    const port = bot.servicePort;
    return {
        namespace: bot.namespace,
        kubeContext: settings.kubeContext,
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
