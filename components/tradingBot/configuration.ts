import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { createHash } from "crypto";
import { BOT_ENV, SecretKey, SECRET_DATA_KEYS } from "../../contract";
import { SecretArgs } from "./args";
import { BotSpec } from "./spec";
import { mapInput } from "../inputs";
import { secretChecksum } from "../secretChecksum";
import { meta, Naming } from "./naming";
import { REDIS_CA_FILE, TLS_DIR } from "./workload";


/** The bot's non-sensitive spec, as the environment variables it reads. */
export function configData(spec: BotSpec, n: Naming): Record<string, pulumi.Input<string>> {
    const t = spec.trading;
    return {
        ENVIRONMENT: spec.environment,
        LOG_LEVEL: spec.logLevel,
        HTTP_PORT: String(spec.containerPort),
        DATABASE_HOST: spec.database.host,
        DATABASE_PORT: String(spec.database.port),
        DATABASE_NAME: spec.database.name,
        DATABASE_USER: spec.database.user,
        DATABASE_SSL_MODE: spec.database.sslMode,
        REDIS_HOST: spec.redis.host,
        REDIS_PORT: String(spec.redis.port),
        REDIS_DB: String(spec.redis.db),
        REDIS_TLS: String(spec.redis.tls),
        ...(spec.redis.tls ? { REDIS_TLS_SERVER_NAME: spec.redis.tlsServerName || spec.redis.host } : {}),
        ...(spec.redis.tls && spec.redis.tlsCaCert ? { REDIS_TLS_CA_FILE: `${TLS_DIR}/${REDIS_CA_FILE}` } : {}),
        [BOT_ENV.tradingEnabled]: String(t.enabled),
        MAX_POSITIONS: String(t.maxPositions),
        RISK_PER_TRADE: String(t.riskPerTrade),
        STOP_LOSS_PERCENTAGE: String(t.stopLossPercentage),
        TAKE_PROFIT_PERCENTAGE: String(t.takeProfitPercentage),
        [BOT_ENV.exchangeEndpoint]: t.exchangeEndpoint,
        EXCHANGE_TESTNET: mapInput(t.exchangeEndpoint, (e) => String(e.includes("testnet"))),
        [BOT_ENV.leaderElectionEnabled]: String(spec.leaderElection),
        [BOT_ENV.leaderElectionLeaseName]: spec.leaderElection ? n.lease : "",
        DATA_DIR: "/app/data",
        LOG_DIR: "/app/logs",
    };
}

export function checksum(value: string): string {
    return createHash("sha256").update(value).digest("hex");
}

/** The checksum of the ConfigMap's data: plain when every value is known now. */
function dataChecksum(data: Record<string, pulumi.Input<string>>): pulumi.Input<string> {
    const known = Object.values(data).every((v) => typeof v === "string");
    return known
        ? checksum(JSON.stringify(data))
        : pulumi.output(data).apply((d) => checksum(JSON.stringify(d)));
}

export interface Configuration {
    configMapName: pulumi.Output<string>;
    /** The ConfigMap with the CA certificates the bot trusts for Redis, when the stack names some. */
    tlsConfigMapName?: pulumi.Output<string>;
    /** Name of the Secret the pods read (created here, or the existing one). */
    secretName: pulumi.Output<string>;
    /** Pod template annotations that change, and so roll the pods, when the content changes. */
    checksums: pulumi.Input<Record<string, pulumi.Input<string>>>;
}

/**
 * ConfigMap and Secret. Both are updated in place (the provider is mutable for them) and the
 * pods roll through content checksums, so rotating a key rolls the pods without replacing anything.
 */
export function createConfiguration(
    spec: BotSpec, n: Naming, secrets: SecretArgs, opts: pulumi.CustomResourceOptions,
): Configuration {
    const data = configData(spec, n);
    const configMap = new k8s.core.v1.ConfigMap(`${n.name}-config`, {
        metadata: meta(n, n.configMap),
        data,
    }, opts);
    const checksums: Record<string, pulumi.Input<string>> = {
        "checksum/config": dataChecksum(data),
    };
    // Certificates are files, not environment: a ConfigMap of their own, mounted.
    const tlsConfigMapName = spec.redis.tls && spec.redis.tlsCaCert
        ? new k8s.core.v1.ConfigMap(`${n.name}-tls`, {
            metadata: meta(n, `${n.name}-tls`),
            data: { [REDIS_CA_FILE]: spec.redis.tlsCaCert },
        }, opts).metadata.name
        : undefined;
    if (tlsConfigMapName) checksums["checksum/tls"] = checksum(spec.redis.tlsCaCert);

    if (spec.existingSecret) {
        return { configMapName: configMap.metadata.name, tlsConfigMapName, secretName: pulumi.output(spec.existingSecret), checksums };
    }

    const stringData: Record<string, pulumi.Input<string>> = {};
    for (const [key, dataKey] of Object.entries(SECRET_DATA_KEYS) as [SecretKey, string][]) {
        const value = secrets[key];
        if (value !== undefined) stringData[dataKey] = value;
    }
    const secret = new k8s.core.v1.Secret(`${n.name}-secrets`, {
        metadata: meta(n, n.secret),
        type: "Opaque",
        stringData: pulumi.secret(stringData),
    }, opts);
    checksums["checksum/secret"] = secretChecksum(`${n.name}-secret-checksum-key`, stringData, opts.parent);
    return { configMapName: configMap.metadata.name, tlsConfigMapName, secretName: secret.metadata.name, checksums };
}
