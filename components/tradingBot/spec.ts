import * as pulumi from "@pulumi/pulumi";
import { EgressPeer, Environment, SecretKey, Toleration } from "../../contract";
import { Known } from "../inputs";

/**
 * Everything one bot is made of, every default applied: what the builders read. TradingBotArgs
 * (args.ts) resolves into it; the stack's config layer extends its known form (config/settings.ts).
 * Values the builders only pass on into objects are `pulumi.Input`s; values that decide which
 * objects exist and how they are shaped are plain.
 */
export interface BotSpec {
    /** Prefixes every object the bot owns. */
    name: string;
    namespace: pulumi.Input<string>;
    environment: Environment;
    image: {
        repository: pulumi.Input<string>;
        tag: pulumi.Input<string>;
        /** sha256:<64 hex>; when set it pins the image and wins over the tag. */
        digest: string;
        pullPolicy: string;
        pullSecrets: string[];
    };
    replicas: number;
    autoscaling: { enabled: boolean; minReplicas: number; maxReplicas: number; targetCPU: number; targetMemory: number };
    resources: {
        cpuRequest: pulumi.Input<string>;
        memoryRequest: pulumi.Input<string>;
        cpuLimit: pulumi.Input<string>;
        memoryLimit: pulumi.Input<string>;
    };
    containerPort: number;
    logLevel: pulumi.Input<string>;
    terminationGracePeriodSeconds: number;
    preStopSleepSeconds: number;
    rolloutTimeoutSeconds: number;
    leaderElection: boolean;
    highAvailability: boolean;
    /** Where the pods may run. */
    placement: { nodeSelector: Record<string, string>; tolerations: Toleration[] };
    networkPolicy: {
        enabled: boolean;
        allowedIngressNamespaces: string[];
        exchangeEgressCidrs: string[];
        databaseEgressTo: EgressPeer[];
        redisEgressTo: EgressPeer[];
        apiServerEgressCidrs: string[];
    };
    storage: { enabled: boolean; size: pulumi.Input<string>; className: pulumi.Input<string>; accessMode: string; backup: boolean };
    ingress: { enabled: boolean; host: string; className: string; clusterIssuer: string };
    /** The databases run in the namespace (their pods are what the NetworkPolicy lets the bot reach). */
    inClusterDatabases: boolean;
    database: { host: pulumi.Input<string>; port: number; name: pulumi.Input<string>; user: pulumi.Input<string>; sslMode: string };
    redis: { host: pulumi.Input<string>; port: number; db: number; tls: boolean; tlsServerName: string; tlsCaCert: string };
    trading: {
        enabled: boolean;
        maxPositions: number;
        riskPerTrade: number;
        stopLossPercentage: number;
        takeProfitPercentage: number;
        exchangeEndpoint: pulumi.Input<string>;
    };
    /** An existing Secret with the bot's keys; empty: the bot creates its own. */
    existingSecret: string;
}

/** A BotSpec whose values are all known (the stack's config layer has nothing else). */
export type KnownBotSpec = Known<BotSpec>;

/** What the safety rules look at: the spec, and which secret values are given (never the values). */
export interface RuleSubject extends BotSpec {
    secretsSet: Record<SecretKey, boolean>;
}
