import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { Settings } from "../../config";
import { OWNED_BY_PULUMI } from "../ownership";

/** One single-replica stateful server (PostgreSQL or Redis) with its PVC, Service and (unless given one) Secret. */
export interface SingleInstanceArgs {
    settings: Settings;
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
    args?: string[];
    /** The password: a value (kept in a Secret of its own) or a key of an existing Secret. */
    password: { value: pulumi.Input<string> } | { existingSecret: string; key: string };
    passwordEnv: string;
    /** Paths the server writes besides its data directory (the root filesystem is read-only). */
    writablePaths: string[];
}

export function singleInstance(a: SingleInstanceArgs, opts: pulumi.CustomResourceOptions): void {
    const name = a.host;
    const logical = `${a.parentName}-${a.component}`;
    const selector = { "app.kubernetes.io/name": a.component, "app.kubernetes.io/instance": `${a.settings.name}-${a.component}` };
    const labels = {
        ...selector,
        "app.kubernetes.io/part-of": "trading-bot",
        "app.kubernetes.io/managed-by": "pulumi",
        "trading-bot.io/environment": a.settings.environment,
    };
    const metadata = { name, namespace: a.namespace, labels, annotations: OWNED_BY_PULUMI };

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
    }, opts);
    const scratch = a.writablePaths.map((path, i) => ({ name: `scratch-${i}`, path }));
    new k8s.apps.v1.Deployment(`${logical}-deployment`, {
        metadata,
        spec: {
            replicas: 1,
            // One writer on one volume: never two servers at once.
            strategy: { type: "Recreate" },
            selector: { matchLabels: selector },
            template: {
                metadata: { labels },
                spec: {
                    automountServiceAccountToken: false,
                    enableServiceLinks: false,
                    securityContext: {
                        runAsNonRoot: true, runAsUser: a.uid, runAsGroup: a.uid, fsGroup: a.uid,
                        seccompProfile: { type: "RuntimeDefault" },
                    },
                    containers: [{
                        name: a.component,
                        image: a.image,
                        args: a.args,
                        env: [
                            ...(a.env ?? []),
                            { name: a.passwordEnv, valueFrom: { secretKeyRef: passwordRef } },
                        ],
                        ports: [{ name: a.component, containerPort: a.port }],
                        readinessProbe: { tcpSocket: { port: a.port }, periodSeconds: 5 },
                        livenessProbe: { tcpSocket: { port: a.port }, periodSeconds: 10, failureThreshold: 6 },
                        resources: {
                            requests: { cpu: "100m", memory: "256Mi" },
                            limits: { cpu: "500m", memory: "256Mi" },
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
    }, opts);
    new k8s.core.v1.Service(`${logical}-service`, {
        metadata,
        spec: { type: "ClusterIP", selector, ports: [{ name: a.component, port: a.port, targetPort: a.component }] },
    }, opts);
}
