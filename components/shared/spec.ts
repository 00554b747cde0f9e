import { Environment, Toleration } from "../../contract";

/**
 * What a stack's shared resources are made of: the namespace and (dev, staging) the in-cluster
 * PostgreSQL and Redis. The stack's config layer (config/settings.ts) has all of it.
 */
export interface SharedSpec {
    namespace: string;
    /** Create the namespace (restricted Pod Security Standard enforced); false: it exists already. */
    createNamespace: boolean;
    environment: Environment;
    /** Run PostgreSQL and Redis in the namespace. */
    inClusterDatabases: boolean;
    /** An existing Secret holding the database passwords; empty: they are generated. */
    existingSecret: string;
    databaseImages: { postgres: string; redis: string };
    database: { host: string; port: number; name: string; user: string };
    redis: { host: string; port: number };
    storage: { className: string };
    placement: { nodeSelector: Record<string, string>; tolerations: Toleration[] };
}
