import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import { SECRET_DATA_KEYS } from "../../contract";
import { SharedSpec } from "../shared/spec";
import { singleInstance } from "./singleInstance";

export interface DatabasePasswords {
    databasePassword: pulumi.Output<string>;
    redisPassword: pulumi.Output<string>;
}

/**
 * Generated passwords for the in-cluster databases (@pulumi/random): secret in the state, shared
 * by the databases and the bot's Secret. Generated before either exists, so neither waits on the other.
 * A password the stack sets itself (`given`) is used instead, so setting it rotates it.
 */
export function generatePasswords(
    prefix: string,
    opts: { parent: pulumi.Resource; aliasesOf: (password: string) => pulumi.Input<string>[]; given: Partial<DatabasePasswords> },
): DatabasePasswords {
    const password = (what: string) => new random.RandomPassword(`${prefix}-${what}-password`, { length: 32, special: false }, {
        parent: opts.parent, aliases: opts.aliasesOf(`${what}-password`),
    }).result;
    return {
        databasePassword: opts.given.databasePassword ?? password("database"),
        redisPassword: opts.given.redisPassword ?? password("redis"),
    };
}

export interface InClusterDatabasesArgs {
    /**
     * The passwords, or the name of an existing Secret that holds them under the keys the bot reads
     * (database-password, redis-password) when the stack uses `existingSecret`.
     */
    credentials: { databasePassword: pulumi.Input<string>; redisPassword: pulumi.Input<string> } | { existingSecret: string };
    /** The stack's settings: database and Redis hosts, ports, names, images, storage class, placement. */
    settings: SharedSpec;
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
            image: settings.databaseImages.postgres,
            // The postgres user of the official alpine image (and of the local cluster's image).
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
            // The server's own check: accepting connections, not just a listening socket.
            ready: ["pg_isready", "--host", "127.0.0.1", "--port", String(db.port), "--username", db.user, "--dbname", db.name],
            // First start runs initdb and creates the database: give it time before liveness counts.
            startupSeconds: 150,
        }, child);

        const redis = settings.redis;
        singleInstance({
            ...common,
            component: "redis",
            host: redis.host,
            image: settings.databaseImages.redis,
            // The redis user of the official alpine image (and of the local cluster's image).
            uid: 999,
            port: redis.port,
            dataPath: "/data",
            // The password reaches redis-server through its standard input (a here-document from
            // the shell's builtins), never its command line, where any process could read it.
            command: ["/bin/sh", "-c",
                `exec redis-server - --port ${redis.port} --appendonly yes --dir /data <<EOF\nrequirepass $REDIS_PASSWORD\nEOF\n`],
            password: password("redisPassword"),
            // redis-cli reads REDISCLI_AUTH for the readiness check.
            passwordEnv: ["REDIS_PASSWORD", "REDISCLI_AUTH"],
            writablePaths: ["/tmp"],
            // redis-cli exits 0 on an error reply too: compare the answer.
            ready: ["/bin/sh", "-c", `[ "$(redis-cli -h 127.0.0.1 -p ${redis.port} ping)" = PONG ]`],
            // Loading a large append-only file on start takes a while.
            startupSeconds: 150,
        }, child);

        this.registerOutputs({});
    }
}

