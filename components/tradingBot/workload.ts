import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { Settings, SECRET_DATA_KEYS } from "../../config";
import { meta, Naming } from "./naming";

type PodSpec = k8s.types.input.core.v1.PodSpec;
type Container = k8s.types.input.core.v1.Container;

export const RUN_AS = 1000;

/** Pod-level hardening: non-root UID/GID 1000, fsGroup for the data volume, seccomp RuntimeDefault. */
export const podSecurityContext: k8s.types.input.core.v1.PodSecurityContext = {
    runAsNonRoot: true,
    runAsUser: RUN_AS,
    runAsGroup: RUN_AS,
    fsGroup: RUN_AS,
    fsGroupChangePolicy: "OnRootMismatch",
    seccompProfile: { type: "RuntimeDefault" },
};

/** Container-level hardening, as the `restricted` Pod Security Standard asks, plus a read-only root. */
export const containerSecurityContext: k8s.types.input.core.v1.SecurityContext = {
    runAsNonRoot: true,
    runAsUser: RUN_AS,
    runAsGroup: RUN_AS,
    allowPrivilegeEscalation: false,
    privileged: false,
    readOnlyRootFilesystem: true,
    capabilities: { drop: ["ALL"] },
    seccompProfile: { type: "RuntimeDefault" },
};

export interface WorkloadInputs {
    serviceAccountName: pulumi.Input<string>;
    configMapName: pulumi.Input<string>;
    secretName: pulumi.Input<string>;
    checksums: pulumi.Input<Record<string, pulumi.Input<string>>>;
    pvcName?: pulumi.Input<string>;
}

/** Which Secret keys the bot must find: the Binance keys only when it trades. */
function secretEnv(settings: Settings, secretName: pulumi.Input<string>): k8s.types.input.core.v1.EnvVar[] {
    const required = {
        BINANCE_API_KEY: [SECRET_DATA_KEYS.binanceApiKey, settings.trading.enabled],
        BINANCE_API_SECRET: [SECRET_DATA_KEYS.binanceApiSecret, settings.trading.enabled],
        DATABASE_PASSWORD: [SECRET_DATA_KEYS.databasePassword, true],
        REDIS_PASSWORD: [SECRET_DATA_KEYS.redisPassword, true],
    } as const;
    return Object.entries(required).map(([env, [key, needed]]) => ({
        name: env,
        valueFrom: { secretKeyRef: { name: secretName, key, optional: !needed } },
    }));
}

export function botContainer(settings: Settings, n: Naming, inputs: WorkloadInputs): Container {
    return {
        name: "trading-bot",
        image: settings.imageRef,
        imagePullPolicy: settings.image.pullPolicy,
        ports: [{ name: "http", containerPort: settings.containerPort, protocol: "TCP" }],
        envFrom: [{ configMapRef: { name: inputs.configMapName } }],
        env: [
            { name: "POD_NAME", valueFrom: { fieldRef: { fieldPath: "metadata.name" } } },
            { name: "POD_NAMESPACE", valueFrom: { fieldRef: { fieldPath: "metadata.namespace" } } },
            ...secretEnv(settings, inputs.secretName),
        ],
        resources: {
            requests: { cpu: settings.resources.cpuRequest, memory: settings.resources.memoryRequest },
            limits: { cpu: settings.resources.cpuLimit, memory: settings.resources.memoryLimit },
        },
        // The startup probe gives a slow start (exchange sync) time before liveness counts.
        startupProbe: { httpGet: { port: "http", path: "/health" }, periodSeconds: 5, failureThreshold: 30, timeoutSeconds: 3 },
        livenessProbe: { httpGet: { port: "http", path: "/health" }, periodSeconds: 10, failureThreshold: 3, timeoutSeconds: 3 },
        readinessProbe: { httpGet: { port: "http", path: "/ready" }, periodSeconds: 5, failureThreshold: 3, timeoutSeconds: 3 },
        // Leave the Service's endpoints before SIGTERM arrives; the rest of the grace period is
        // the bot's to cancel open orders and flush state.
        lifecycle: { preStop: { sleep: { seconds: settings.preStopSleepSeconds } } },
        securityContext: containerSecurityContext,
        volumeMounts: [
            { name: "data", mountPath: "/app/data", subPath: "data" },
            { name: "data", mountPath: "/app/logs", subPath: "logs" },
            { name: "tmp", mountPath: "/tmp" },
        ],
    };
}

/** Spreads replicas over nodes and zones, for prod. */
function placement(settings: Settings, n: Naming): Partial<PodSpec> {
    if (!settings.highAvailability) return {};
    return {
        affinity: {
            podAntiAffinity: {
                preferredDuringSchedulingIgnoredDuringExecution: [{
                    weight: 100,
                    podAffinityTerm: { topologyKey: "kubernetes.io/hostname", labelSelector: { matchLabels: n.selector } },
                }],
            },
        },
        topologySpreadConstraints: [
            { maxSkew: 1, topologyKey: "topology.kubernetes.io/zone", whenUnsatisfiable: "ScheduleAnyway", labelSelector: { matchLabels: n.selector } },
            { maxSkew: 1, topologyKey: "kubernetes.io/hostname", whenUnsatisfiable: "DoNotSchedule", labelSelector: { matchLabels: n.selector } },
        ],
    };
}

export function podAnnotations(settings: Settings): Record<string, string> {
    return {
        "prometheus.io/scrape": "true",
        "prometheus.io/port": String(settings.containerPort),
        "prometheus.io/path": "/metrics",
        ...(settings.storage.backup ? { "backup.velero.io/backup-volumes": "data" } : {}),
    };
}

export function createDeployment(
    settings: Settings, n: Naming, inputs: WorkloadInputs, opts: pulumi.CustomResourceOptions,
): k8s.apps.v1.Deployment {
    const timeout = `${settings.rolloutTimeoutSeconds}s`;
    // A bot without leader election must never run twice, not even during a rollout: Recreate.
    // With leader election a new pod may start before the old one stops; only the leader trades.
    const strategy = settings.leaderElection
        ? { type: "RollingUpdate", rollingUpdate: { maxSurge: 1, maxUnavailable: 0 } }
        : { type: "Recreate" };
    const annotations = pulumi.output(inputs.checksums).apply((c) => ({ ...podAnnotations(settings), ...c }));

    return new k8s.apps.v1.Deployment(`${n.name}-deployment`, {
        metadata: meta(n, n.name),
        spec: {
            // When the HPA owns the replica count the Deployment must not set it, or every
            // `pulumi up` would fight the autoscaler over spec.replicas (pulumi-kubernetes#2491).
            ...(settings.autoscaling.enabled ? {} : { replicas: settings.replicas }),
            revisionHistoryLimit: 5,
            progressDeadlineSeconds: settings.rolloutTimeoutSeconds,
            selector: { matchLabels: n.selector },
            strategy,
            template: {
                metadata: { labels: n.labels, annotations },
                spec: {
                    serviceAccountName: inputs.serviceAccountName,
                    automountServiceAccountToken: settings.leaderElection,
                    enableServiceLinks: false,
                    terminationGracePeriodSeconds: settings.terminationGracePeriodSeconds,
                    securityContext: podSecurityContext,
                    imagePullSecrets: settings.image.pullSecrets.map((name) => ({ name })),
                    containers: [botContainer(settings, n, inputs)],
                    volumes: [
                        inputs.pvcName
                            ? { name: "data", persistentVolumeClaim: { claimName: inputs.pvcName } }
                            : { name: "data", emptyDir: { sizeLimit: settings.storage.size } },
                        { name: "tmp", emptyDir: { sizeLimit: "256Mi" } },
                    ],
                    ...placement(settings, n),
                },
            },
        },
    }, { ...opts, customTimeouts: { create: timeout, update: timeout } });
}
