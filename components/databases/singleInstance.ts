import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { SharedSpec } from "../shared/spec";
import { OWNED_BY_PULUMI } from "../ownership";
import { BOT_POD_LABELS } from "../tradingBot/naming";
import { EPHEMERAL_STORAGE } from "../tradingBot/workload";
import { podPlacement } from "../placement";
import { RECREATE } from "../recreate";
import { secretChecksum } from "../secretChecksum";

/** One single-replica stateful server (PostgreSQL or Redis) with its PVC, Service, NetworkPolicy and (unless given one) Secret. */
export interface SingleInstanceArgs {
    settings: SharedSpec;
    namespace: pulumi.Input<string>;
    parentName: string;
    /** What it is ("postgres", "redis"); also its label. */
    component: string;
    /** Its Service name, which is the host the bot connects to. */
    host: string;
    image: string;
    uid: number;
    port: number;
    dataPath: string;
    env?: k8s.types.input.core.v1.EnvVar[];
    /** The container's command, when the image's own entrypoint is not enough. */
    command?: string[];
    /** The password: a value (kept in a Secret of its own) or a key of an existing Secret. */
    password: { value: pulumi.Input<string> } | { existingSecret: string; key: string };
    /** The environment variable(s) that carry the password. */
    passwordEnv: string | string[];
    /** Paths the server writes besides its data directory (the root filesystem is read-only). */
    writablePaths: string[];
    /** The server's own readiness check (exit 0 when it serves). */
    ready: string[];
    /** How long a first start (initialisation, loading data) may take before liveness counts. */
    startupSeconds: number;
}

/**
 * Labels that find an in-cluster database's pods: within its namespace the server is the only
 * pod of its name. The Service, the NetworkPolicy and the bot's egress select by these alone, so
 * they also find pods of a Deployment whose selector an older release of this program chose
 * (see ignoreChanges below).
 */
export function databasePods(component: string): Record<string, string> {
    return { "app.kubernetes.io/name": component };
}

/** The label an older release of this program derived from the stack's first bot. */
const INSTANCE_LABEL = 'metadata.labels["app.kubernetes.io/instance"]';

/** Labels that select one in-cluster database's pods for its Deployment. */
function databaseSelector(namespace: string, component: string): Record<string, string> {
    return { "app.kubernetes.io/name": component, "app.kubernetes.io/instance": `${namespace}-${component}` };
}

export function singleInstance(a: SingleInstanceArgs, opts: pulumi.CustomResourceOptions): void {
    const name = a.host;
    const logical = `${a.parentName}-${a.component}`;
    const selector = databaseSelector(a.settings.namespace, a.component);
    const labels = {
        ...selector,
        "app.kubernetes.io/part-of": "trading-bot",
        "app.kubernetes.io/managed-by": "pulumi",
        "trading-bot.io/environment": a.settings.environment,
    };
    const metadata = { name, namespace: a.namespace, labels, annotations: OWNED_BY_PULUMI };
    const byName = databasePods(a.component);

    const passwordRef = "value" in a.password
        ? {
            name: new k8s.core.v1.Secret(`${logical}-secret`, {
                metadata: { ...metadata, name: `${name}-credentials` },
                type: "Opaque",
                stringData: { password: pulumi.secret(a.password.value) },
            }, opts).metadata.name,
            key: "password",
        }
        : { name: a.password.existingSecret, key: a.password.key };
    const pvc = new k8s.core.v1.PersistentVolumeClaim(`${logical}-data`, {
        metadata: { ...metadata, name: `${name}-data` },
        spec: {
            accessModes: ["ReadWriteOnce"],
            storageClassName: a.settings.storage.className,
            resources: { requests: { storage: "1Gi" } },
        },
    }, {
        ...opts,
        // The claim keeps the instance label it was created with (an older release derived it
        // from the first bot): the label only informs, and pulumi-kubernetes 4.25 cannot update a
        // bound claim of a WaitForFirstConsumer class (it waits for Pending until it times out,
        // pulumi-kubernetes#4179), so a label change would fail the upgrade.
        ignoreChanges: [INSTANCE_LABEL],
    });
    const scratch = a.writablePaths.map((path, i) => ({ name: `scratch-${i}`, path }));
    // A new password rolls the server, which takes it up at start (a rotation).
    const annotations = "value" in a.password
        ? { "checksum/password": secretChecksum(`${logical}-password-checksum-key`, { password: a.password.value }, opts.parent) }
        : undefined;
    const check = { exec: { command: a.ready }, timeoutSeconds: 5 };
    new k8s.apps.v1.Deployment(`${logical}-deployment`, {
        metadata: { ...metadata, annotations: { ...metadata.annotations, ...RECREATE.annotations } },
        spec: {
            replicas: 1,
            // One writer on one volume: never two servers at once.
            strategy: RECREATE.strategy,
            selector: { matchLabels: selector },
            template: {
                metadata: { labels, annotations },
                spec: {
                    automountServiceAccountToken: false,
                    enableServiceLinks: false,
                    securityContext: {
                        runAsNonRoot: true, runAsUser: a.uid, runAsGroup: a.uid, fsGroup: a.uid,
                        seccompProfile: { type: "RuntimeDefault" },
                    },
                    ...podPlacement(a.settings),
                    containers: [{
                        name: a.component,
                        image: a.image,
                        command: a.command,
                        env: [
                            ...(a.env ?? []),
                            ...[a.passwordEnv].flat().map((env) => ({ name: env, valueFrom: { secretKeyRef: passwordRef } })),
                        ],
                        ports: [{ name: a.component, containerPort: a.port }],
                        startupProbe: { ...check, periodSeconds: 5, failureThreshold: Math.ceil(a.startupSeconds / 5) },
                        readinessProbe: { ...check, periodSeconds: 5, failureThreshold: 3 },
                        // Liveness asks less than readiness: a server busy with a long query or
                        // a rewrite of its log is not ready, but must not be killed for it.
                        livenessProbe: { tcpSocket: { port: a.port }, periodSeconds: 10, failureThreshold: 6, timeoutSeconds: 5 },
                        resources: {
                            requests: { cpu: "100m", memory: "256Mi", ...EPHEMERAL_STORAGE.requests },
                            limits: { cpu: "500m", memory: "256Mi", ...EPHEMERAL_STORAGE.limits },
                        },
                        securityContext: {
                            allowPrivilegeEscalation: false,
                            readOnlyRootFilesystem: true,
                            capabilities: { drop: ["ALL"] },
                            seccompProfile: { type: "RuntimeDefault" },
                        },
                        volumeMounts: [
                            { name: "data", mountPath: a.dataPath },
                            ...scratch.map((s) => ({ name: s.name, mountPath: s.path })),
                        ],
                    }],
                    volumes: [
                        { name: "data", persistentVolumeClaim: { claimName: pvc.metadata.name } },
                        ...scratch.map((s) => ({ name: s.name, emptyDir: { sizeLimit: "64Mi" } })),
                    ],
                },
            },
        },
    }, {
        ...opts,
        // A Deployment's selector cannot change (a change replaces it). Stacks deployed before the
        // databases had an owner of their own keep the selector (and matching pod label) their
        // first bot gave them; new stacks get the one above, which no bot edit changes.
        ignoreChanges: ["spec.selector", `spec.template.${INSTANCE_LABEL}`],
    });
    new k8s.core.v1.Service(`${logical}-service`, {
        metadata,
        spec: { type: "ClusterIP", selector: byName, ports: [{ name: a.component, port: a.port, targetPort: a.component }] },
    }, opts);
    // Only the stack's bots may connect; the server itself opens no connection.
    new k8s.networking.v1.NetworkPolicy(`${logical}-networkpolicy`, {
        metadata,
        spec: {
            podSelector: { matchLabels: byName },
            policyTypes: ["Ingress", "Egress"],
            ingress: [{ from: [{ podSelector: { matchLabels: BOT_POD_LABELS } }], ports: [{ protocol: "TCP", port: a.port }] }],
            egress: [],
        },
    }, opts);
}
