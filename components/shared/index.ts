import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { SharedSpec } from "./spec";
import { DatabasePasswords, generatePasswords, InClusterDatabases } from "../databases";
import { TRADING_BOT_TYPE } from "../tradingBot/type";
import { createNamespace } from "./namespace";

export interface SharedResourcesArgs {
    /** The stack's own settings (its top-level keys): namespace, databases, environment. */
    settings: SharedSpec;
    /**
     * Names of the stack's bots. Before this component existed, the first bot of a stack owned
     * the namespace and the databases; whichever of these bots that was, its resources are adopted
     * (aliases) rather than replaced.
     */
    botNames: string[];
    /**
     * Passwords the stack sets itself for its in-cluster databases (`pulumi config set --secret
     * databasePassword`), e.g. to rotate them; the others are generated.
     */
    databasePasswords?: Partial<DatabasePasswords>;
}

/**
 * What every bot of a stack shares: the namespace, and (dev, staging) the in-cluster PostgreSQL
 * and Redis with their generated passwords. Its name never depends on a bot, so adding, removing,
 * renaming or reordering bots leaves all of it untouched.
 */
export class SharedResources extends pulumi.ComponentResource {
    readonly namespace: pulumi.Output<string>;
    /** The namespace, when the stack creates it: every bot's objects depend on it. */
    readonly namespaceResource?: k8s.core.v1.Namespace;
    /** Generated database passwords, when the stack runs in-cluster databases with no existingSecret. */
    readonly databasePasswords?: DatabasePasswords;

    constructor(name: string, args: SharedResourcesArgs, opts?: pulumi.ComponentResourceOptions) {
        super("trading-bot:index:SharedResources", name, {}, opts);
        const { settings, botNames } = args;
        const formerlyOfBot = (childName: (bot: string) => string, type: string) =>
            botNames.map((bot) => pulumi.createUrn(childName(bot), type, pulumi.createUrn(bot, TRADING_BOT_TYPE)));
        const formerlyAtRoot = (childName: (bot: string) => string, type: string) =>
            botNames.map((bot) => pulumi.createUrn(childName(bot), type));

        this.namespaceResource = createNamespace(`${name}-namespace`, settings, {
            parent: this,
            aliases: formerlyOfBot((bot) => `${bot}-namespace`, "kubernetes:core/v1:Namespace"),
        });
        this.namespace = this.namespaceResource?.metadata.name ?? pulumi.output(settings.namespace);

        if (settings.inClusterDatabases) {
            const databases = `${name}-databases`;
            this.databasePasswords = settings.existingSecret ? undefined : generatePasswords(databases, {
                parent: this,
                aliasesOf: (password) => formerlyAtRoot((bot) => `${bot}-databases-${password}`, "random:index/randomPassword:RandomPassword"),
                given: args.databasePasswords ?? {},
            });
            new InClusterDatabases(databases, {
                settings,
                namespace: this.namespace,
                credentials: this.databasePasswords ?? { existingSecret: settings.existingSecret },
            }, {
                parent: this,
                dependsOn: this.namespaceResource ? [this.namespaceResource] : [],
                // The children follow (their names start with this component's name).
                aliases: formerlyAtRoot((bot) => `${bot}-databases`, "trading-bot:index:InClusterDatabases"),
            });
        }
        this.registerOutputs({ namespace: this.namespace });
    }
}
