import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import { Settings, SECRET_DATA_KEYS } from "../../config";
import { singleInstance } from "./singleInstance";

export interface DatabasePasswords {
    databasePassword: pulumi.Output<string>;
    redisPassword: pulumi.Output<string>;
}

/**
 * Generated passwords for the in-cluster databases (@pulumi/random): secret in the state, shared
 * by the databases and the bot's Secret. Generated before either exists, so neither waits on the other.
 */
export function generatePasswords(prefix: string): DatabasePasswords {
    const password = (what: string) =>
        new random.RandomPassword(`${prefix}-${what}-password`, { length: 32, special: false }).result;
    return { databasePassword: password("database"), redisPassword: password("redis") };
}

export interface InClusterDatabasesArgs {
    /**
     * The passwords, or the name of an existing Secret that holds them under the keys the bot reads
     * (database-password, redis-password) when the stack uses `existingSecret`.
     */
    credentials: { databasePassword: pulumi.Input<string>; redisPassword: pulumi.Input<string> } | { existingSecret: string };
    /** The stack's settings: namespace, database and Redis hosts, ports, names, storage class. */
    settings: Settings;
    /** The namespace to run in (an output, so the databases wait for it to exist). */
    namespace: pulumi.Input<string>;
}

/** PostgreSQL and Redis in the bot's namespace, for dev and staging. */
export class InClusterDatabases extends pulumi.ComponentResource {
    constructor(name: string, args: InClusterDatabasesArgs, opts?: pulumi.ComponentResourceOptions) {
        super("trading-bot:index:InClusterDatabases", name, {}, opts);
        const { settings } = args;
        const child = { parent: this };

        const common = { namespace: args.namespace, settings, parentName: name };
        const creds = args.credentials;
        const password = (value: "databasePassword" | "redisPassword") => "existingSecret" in creds
            ? { existingSecret: creds.existingSecret, key: SECRET_DATA_KEYS[value] }
            : { value: creds[value] };
        const db = settings.database;
        singleInstance({
            ...common,
            component: "postgres",
            host: db.host,
            image: "postgres:17.6-alpine",
            // The alpine image's postgres user.
            uid: 70,
            port: db.port,
            dataPath: "/var/lib/postgresql/data",
            env: [
                { name: "POSTGRES_DB", value: db.name },
                { name: "POSTGRES_USER", value: db.user },
                { name: "PGDATA", value: "/var/lib/postgresql/data/pgdata" },
                { name: "PGPORT", value: String(db.port) },
            ],
            password: password("databasePassword"),
            passwordEnv: "POSTGRES_PASSWORD",
            // The server writes its socket and lock files here.
            writablePaths: ["/var/run/postgresql", "/tmp"],
        }, child);

        const redis = settings.redis;
        singleInstance({
            ...common,
            component: "redis",
            host: redis.host,
            image: "redis:7.4-alpine",
            // The alpine image's redis user.
            uid: 999,
            port: redis.port,
            dataPath: "/data",
            args: ["redis-server", "--port", String(redis.port), "--requirepass", "$(REDIS_PASSWORD)", "--appendonly", "yes", "--dir", "/data"],
            password: password("redisPassword"),
            passwordEnv: "REDIS_PASSWORD",
            writablePaths: ["/tmp"],
        }, child);

        this.registerOutputs({});
    }
}

