import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { runsSeveralReplicas, SECRET_DATA_KEYS, usesVolumePerReplica } from "../../contract";
import { BotSpec } from "./spec";
import { concat } from "../inputs";
import { podPlacement } from "../placement";
import { RECREATE } from "../recreate";
import { meta, Naming } from "./naming";

type PodSpec = k8s.types.input.core.v1.PodSpec;
type Container = k8s.types.input.core.v1.Container;

export const RUN_AS = 1000;

/**
 * Node disk a container may use besides its volumes (its /tmp emptyDir, its stdout log): asked for,
 * so the scheduler counts it, and bounded, so a runaway writer evicts its own pod instead of
 * filling the node's disk under every other pod.
 */
export const EPHEMERAL_STORAGE = {
    requests: { "ephemeral-storage": "128Mi" },
    limits: { "ephemeral-storage": "1Gi" },
} as const;

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
    tlsConfigMapName?: pulumi.Input<string>;
    secretName: pulumi.Input<string>;
    checksums: pulumi.Input<Record<string, pulumi.Input<string>>>;
    /** The shared data claim (a Deployment's), if any. */
    pvcName?: pulumi.Input<string>;
    /** The headless Service of a StatefulSet. */
    peersServiceName?: pulumi.Input<string>;
}

/** Which Secret keys the bot must find: the Binance keys only when it trades. */
function secretEnv(spec: BotSpec, secretName: pulumi.Input<string>): k8s.types.input.core.v1.EnvVar[] {
    const required = {
        BINANCE_API_KEY: [SECRET_DATA_KEYS.binanceApiKey, spec.trading.enabled],
        BINANCE_API_SECRET: [SECRET_DATA_KEYS.binanceApiSecret, spec.trading.enabled],
        DATABASE_PASSWORD: [SECRET_DATA_KEYS.databasePassword, true],
        REDIS_PASSWORD: [SECRET_DATA_KEYS.redisPassword, true],
    } as const;
    return Object.entries(required).map(([env, [key, needed]]) => ({
        name: env,
        valueFrom: { secretKeyRef: { name: secretName, key, optional: !needed } },
    }));
}

/** The image reference the pods run: repository@digest when pinned by digest, else repository:tag. */
export function imageRef(image: BotSpec["image"]): pulumi.Input<string> {
    return image.digest ? concat(image.repository, "@", image.digest) : concat(image.repository, ":", image.tag);
}

export function botContainer(spec: BotSpec, inputs: WorkloadInputs): Container {
    return {
        name: "trading-bot",
        image: imageRef(spec.image),
        imagePullPolicy: spec.image.pullPolicy,
        ports: [{ name: "http", containerPort: spec.containerPort, protocol: "TCP" }],
        envFrom: [{ configMapRef: { name: inputs.configMapName } }],
        env: [
            { name: "POD_NAME", valueFrom: { fieldRef: { fieldPath: "metadata.name" } } },
            { name: "POD_NAMESPACE", valueFrom: { fieldRef: { fieldPath: "metadata.namespace" } } },
            // With the name, the replica's identity in the Lease: a StatefulSet's replacement pod
            // reuses the name and must not count as the holder it replaces.
            { name: "POD_UID", valueFrom: { fieldRef: { fieldPath: "metadata.uid" } } },
            ...secretEnv(spec, inputs.secretName),
        ],
        resources: {
            requests: { cpu: spec.resources.cpuRequest, memory: spec.resources.memoryRequest, ...EPHEMERAL_STORAGE.requests },
            limits: { cpu: spec.resources.cpuLimit, memory: spec.resources.memoryLimit, ...EPHEMERAL_STORAGE.limits },
        },
        // The startup probe gives a slow start (exchange sync) time before liveness counts.
        startupProbe: { httpGet: { port: "http", path: "/health" }, periodSeconds: 5, failureThreshold: 30, timeoutSeconds: 3 },
        livenessProbe: { httpGet: { port: "http", path: "/health" }, periodSeconds: 10, failureThreshold: 3, timeoutSeconds: 3 },
        readinessProbe: { httpGet: { port: "http", path: "/ready" }, periodSeconds: 5, failureThreshold: 3, timeoutSeconds: 3 },
        // Leave the Service's endpoints before SIGTERM arrives; the rest of the grace period is
        // the bot's to cancel open orders and flush state.
        lifecycle: { preStop: { sleep: { seconds: spec.preStopSleepSeconds } } },
        securityContext: containerSecurityContext,
        volumeMounts: [
            { name: "data", mountPath: "/app/data", subPath: "data" },
            { name: "data", mountPath: "/app/logs", subPath: "logs" },
            { name: "tmp", mountPath: "/tmp" },
            ...(inputs.tlsConfigMapName ? [{ name: "tls", mountPath: TLS_DIR, readOnly: true }] : []),
        ],
    };
}

/** Where the bot finds the CA certificates of its TLS connections (mounted from the ConfigMap). */
export const TLS_DIR = "/app/tls";
export const REDIS_CA_FILE = "redis-ca.crt";

/**
 * Spreads replicas: wherever several may run they prefer different nodes (a lost node then takes
 * one replica, not all, while a one-node cluster still schedules them); highAvailability (prod)
 * spreads them over zones and requires different nodes.
 */
function spread(spec: BotSpec, n: Naming): Partial<PodSpec> {
    if (!runsSeveralReplicas(spec)) return {};
    const preferOtherNodes = {
        affinity: {
            podAntiAffinity: {
                preferredDuringSchedulingIgnoredDuringExecution: [{
                    weight: 100,
                    podAffinityTerm: { topologyKey: "kubernetes.io/hostname", labelSelector: { matchLabels: n.selector } },
                }],
            },
        },
    };
    if (!spec.highAvailability) return preferOtherNodes;
    return {
        ...preferOtherNodes,
        topologySpreadConstraints: [
            // Nodes the pods cannot run on (tainted for other work, or outside the nodeSelector)
            // do not count, or a cluster with such nodes could never satisfy the spread.
            { maxSkew: 1, topologyKey: "topology.kubernetes.io/zone", whenUnsatisfiable: "ScheduleAnyway", labelSelector: { matchLabels: n.selector }, nodeTaintsPolicy: "Honor" },
            { maxSkew: 1, topologyKey: "kubernetes.io/hostname", whenUnsatisfiable: "DoNotSchedule", labelSelector: { matchLabels: n.selector }, nodeTaintsPolicy: "Honor" },
        ],
    };
}

export function podAnnotations(spec: BotSpec): Record<string, string> {
    return {
        "prometheus.io/scrape": "true",
        "prometheus.io/port": String(spec.containerPort),
        "prometheus.io/path": "/metrics",
        ...(spec.storage.backup ? { "backup.velero.io/backup-volumes": "data" } : {}),
    };
}

/**
 * How long `pulumi up` waits for the bot: its workload's rollout, and the Service that waits for
 * the bot's ready endpoints (else a release that never becomes ready holds a first deploy for the
 * provider's default 10 minutes).
 */
export function rolloutTimeouts(spec: BotSpec): pulumi.CustomTimeouts {
    const timeout = `${spec.rolloutTimeoutSeconds}s`;
    return { create: timeout, update: timeout };
}

/** The bot's workload: a Deployment, or a StatefulSet where each replica needs a volume of its own. */
export interface Workload {
    kind: "Deployment" | "StatefulSet";
    name: pulumi.Output<string>;
}

type ObjectMeta = k8s.types.input.meta.v1.ObjectMeta;

/** The pod template of the bot's workload (pure: no resource is registered). */
export function podTemplate(spec: BotSpec, n: Naming, inputs: WorkloadInputs): k8s.types.input.core.v1.PodTemplateSpec {
    const annotations = pulumi.output(inputs.checksums).apply((c) => ({ ...podAnnotations(spec), ...c }));
    return {
        metadata: { labels: n.labels, annotations },
        spec: {
            serviceAccountName: inputs.serviceAccountName,
            automountServiceAccountToken: spec.leaderElection,
            enableServiceLinks: false,
            terminationGracePeriodSeconds: spec.terminationGracePeriodSeconds,
            securityContext: podSecurityContext,
            imagePullSecrets: spec.image.pullSecrets.map((name) => ({ name })),
            containers: [botContainer(spec, inputs)],
            volumes: [
                ...(usesVolumePerReplica(spec) ? [] : [inputs.pvcName
                    ? { name: "data", persistentVolumeClaim: { claimName: inputs.pvcName } }
                    : { name: "data", emptyDir: { sizeLimit: spec.storage.size } }]),
                { name: "tmp", emptyDir: { sizeLimit: "256Mi" } },
                ...(inputs.tlsConfigMapName ? [{ name: "tls", configMap: { name: inputs.tlsConfigMapName } }] : []),
            ],
            ...podPlacement(spec),
            ...spread(spec, n),
        },
    };
}

/**
 * When the HPA owns the replica count the workload must not set it, or every `pulumi up` would
 * fight the autoscaler over spec.replicas (pulumi-kubernetes#2491).
 */
function fixedReplicas(spec: BotSpec): { replicas?: number } {
    return spec.autoscaling.enabled ? {} : { replicas: spec.replicas };
}

/**
 * The StatefulSet of a bot whose replicas each need a volume of their own (pure). Zonal block
 * storage (gp3, pd-ssd, Premium SSD) is ReadWriteOnce and lives in one zone: each replica gets its
 * own claim, bound in the zone its pod is scheduled to.
 */
export function statefulSetArgs(
    spec: BotSpec, n: Naming, inputs: WorkloadInputs,
): { metadata: ObjectMeta; spec: k8s.types.input.apps.v1.StatefulSetSpec } {
    return {
        metadata: meta(n, n.name),
        spec: {
            ...fixedReplicas(spec),
            serviceName: inputs.peersServiceName!,
            // Replicas start and stop side by side: only the Lease holder trades, so there is
            // no ordering to keep, and a lost node must not hold the others back.
            podManagementPolicy: "Parallel",
            // One pod at a time, each replaced only once the one before is ready again.
            updateStrategy: { type: "RollingUpdate" },
            revisionHistoryLimit: 5,
            minReadySeconds: 5,
            // Trading data outlives the StatefulSet and a scale-down: delete claims by hand.
            persistentVolumeClaimRetentionPolicy: { whenDeleted: "Retain", whenScaled: "Retain" },
            selector: { matchLabels: n.selector },
            template: podTemplate(spec, n, inputs),
            volumeClaimTemplates: [{
                metadata: {
                    name: "data",
                    labels: { ...n.labels, ...dataVolumeMetadata(spec).labels },
                    annotations: dataVolumeMetadata(spec).annotations,
                },
                spec: {
                    accessModes: [spec.storage.accessMode],
                    storageClassName: spec.storage.className,
                    resources: { requests: { storage: spec.storage.size } },
                },
            }],
        },
    };
}

/**
 * The Deployment of a bot (pure). A bot without leader election must never run twice, not even
 * during a rollout: Recreate. With leader election a new pod may start before the old one stops;
 * only the leader trades.
 */
export function deploymentArgs(
    spec: BotSpec, n: Naming, inputs: WorkloadInputs,
): { metadata: ObjectMeta; spec: k8s.types.input.apps.v1.DeploymentSpec } {
    const rollout = spec.leaderElection
        ? { strategy: { type: "RollingUpdate", rollingUpdate: { maxSurge: 1, maxUnavailable: 0 } }, annotations: {} }
        : RECREATE;
    return {
        metadata: meta(n, n.name, { annotations: rollout.annotations }),
        spec: {
            ...fixedReplicas(spec),
            revisionHistoryLimit: 5,
            progressDeadlineSeconds: spec.rolloutTimeoutSeconds,
            selector: { matchLabels: n.selector },
            strategy: rollout.strategy,
            template: podTemplate(spec, n, inputs),
        },
    };
}

/** Registers the bot's workload: a StatefulSet where each replica needs a volume of its own, else a Deployment. */
export function createWorkload(
    spec: BotSpec, n: Naming, inputs: WorkloadInputs, opts: pulumi.CustomResourceOptions,
): Workload {
    const options = { ...opts, customTimeouts: rolloutTimeouts(spec) };
    if (usesVolumePerReplica(spec)) {
        const statefulSet = new k8s.apps.v1.StatefulSet(`${n.name}-statefulset`, statefulSetArgs(spec, n, inputs), options);
        return { kind: "StatefulSet", name: statefulSet.metadata.name };
    }
    const deployment = new k8s.apps.v1.Deployment(`${n.name}-deployment`, deploymentArgs(spec, n, inputs), options);
    return { kind: "Deployment", name: deployment.metadata.name };
}

/** Backup labels and annotations of a data volume (Velero), when backups are on. */
export function dataVolumeMetadata(spec: BotSpec): { labels?: Record<string, string>; annotations?: Record<string, string> } {
    return spec.storage.backup
        ? { labels: { "trading-bot.io/backup": "enabled" }, annotations: { "trading-bot.io/backup-schedule": "daily" } }
        : {};
}
