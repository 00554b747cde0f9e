import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { ENVIRONMENT_LABEL } from "../../contract";
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

/** What the builders share: the objects' metadata, the Deployment's selector and the pods' labels. */
interface DatabaseObjects {
    selector: Record<string, string>;
    labels: Record<string, string>;
    metadata: { name: string; namespace: pulumi.Input<string>; labels: Record<string, string>; annotations: Record<string, string> };
}

function databaseObjects(a: SingleInstanceArgs): DatabaseObjects {
    const selector = databaseSelector(a.settings.namespace, a.component);
    const labels = {
        ...selector,
        "app.kubernetes.io/part-of": "trading-bot",
        "app.kubernetes.io/managed-by": "pulumi",
        [ENVIRONMENT_LABEL]: a.settings.environment,
    };
    return { selector, labels, metadata: { name: a.host, namespace: a.namespace, labels, annotations: OWNED_BY_PULUMI } };
}

/** The server's container: its own readiness check, a startup probe for a first start, a lighter liveness. */
function databaseContainer(a: SingleInstanceArgs, passwordRef: { name: pulumi.Input<string>; key: string }): k8s.types.input.core.v1.Container {
    const check = { exec: { command: a.ready }, timeoutSeconds: 5 };
    return {
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
            ...a.writablePaths.map((path, i) => ({ name: `scratch-${i}`, mountPath: path })),
        ],
    };
}

/** The server's Deployment: one replica, Recreate (one writer on one volume), its claim and scratch space. */
export function databaseDeploymentArgs(
    a: SingleInstanceArgs,
    inputs: { passwordRef: { name: pulumi.Input<string>; key: string }; claimName: pulumi.Input<string>; podAnnotations?: Record<string, pulumi.Input<string>> },
): k8s.apps.v1.DeploymentArgs {
    const { selector, labels, metadata } = databaseObjects(a);
    return {
        metadata: { ...metadata, annotations: { ...metadata.annotations, ...RECREATE.annotations } },
        spec: {
            replicas: 1,
            // One writer on one volume: never two servers at once.
            strategy: RECREATE.strategy,
            selector: { matchLabels: selector },
            template: {
                metadata: { labels, annotations: inputs.podAnnotations },
                spec: {
                    automountServiceAccountToken: false,
                    enableServiceLinks: false,
                    securityContext: {
                        runAsNonRoot: true, runAsUser: a.uid, runAsGroup: a.uid, fsGroup: a.uid,
                        seccompProfile: { type: "RuntimeDefault" },
                    },
                    ...podPlacement(a.settings),
                    containers: [databaseContainer(a, inputs.passwordRef)],
                    volumes: [
                        { name: "data", persistentVolumeClaim: { claimName: inputs.claimName } },
                        ...a.writablePaths.map((_, i) => ({ name: `scratch-${i}`, emptyDir: { sizeLimit: "64Mi" } })),
                    ],
                },
            },
        },
    };
}

/** The Service the bot connects to (its name is the host), selecting the server's pods by name. */
export function databaseServiceArgs(a: SingleInstanceArgs): k8s.core.v1.ServiceArgs {
    return {
        metadata: databaseObjects(a).metadata,
        spec: { type: "ClusterIP", selector: databasePods(a.component), ports: [{ name: a.component, port: a.port, targetPort: a.component }] },
    };
}

/** Only the stack's bots may connect; the server itself opens no connection. */
export function databaseNetworkPolicyArgs(a: SingleInstanceArgs): k8s.networking.v1.NetworkPolicyArgs {
    return {
        metadata: databaseObjects(a).metadata,
        spec: {
            podSelector: { matchLabels: databasePods(a.component) },
            policyTypes: ["Ingress", "Egress"],
            ingress: [{ from: [{ podSelector: { matchLabels: BOT_POD_LABELS } }], ports: [{ protocol: "TCP", port: a.port }] }],
            egress: [],
        },
    };
}

/** Registers the server's objects (the specs come from the builders above). */
export function singleInstance(a: SingleInstanceArgs, opts: pulumi.CustomResourceOptions): void {
    const name = a.host;
    const logical = `${a.parentName}-${a.component}`;
    const { metadata } = databaseObjects(a);

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
    // A new password rolls the server, which takes it up at start (a rotation).
    const podAnnotations = "value" in a.password
        ? { "checksum/password": secretChecksum(`${logical}-password-checksum-key`, { password: a.password.value }, opts.parent) }
        : undefined;
    new k8s.apps.v1.Deployment(`${logical}-deployment`, databaseDeploymentArgs(a, { passwordRef, claimName: pvc.metadata.name, podAnnotations }), {
        ...opts,
        // A Deployment's selector cannot change (a change replaces it). Stacks deployed before the
        // databases had an owner of their own keep the selector (and matching pod label) their
        // first bot gave them; new stacks get the one above, which no bot edit changes.
        ignoreChanges: ["spec.selector", `spec.template.${INSTANCE_LABEL}`],
    });
    new k8s.core.v1.Service(`${logical}-service`, databaseServiceArgs(a), opts);
    new k8s.networking.v1.NetworkPolicy(`${logical}-networkpolicy`, databaseNetworkPolicyArgs(a), opts);
}
