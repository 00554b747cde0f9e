import * as pulumi from "@pulumi/pulumi";
import { BotSpec } from "./spec";
import { BOT_COMPONENT_LABELS, ENVIRONMENT_LABEL } from "../../contract";
import { OWNED_BY_PULUMI } from "../ownership";

/** Names and labels of everything one bot owns, derived from the bot's name (never hard-coded). */
export interface Naming {
    name: string;
    namespace: pulumi.Input<string>;
    configMap: string;
    secret: string;
    pvc: string;
    /** The headless Service that gives a StatefulSet's pods their identity. */
    peers: string;
    lease: string;
    /** Labels on every object the bot owns. */
    labels: Record<string, string>;
    /** The immutable subset that selects the bot's pods. */
    selector: Record<string, string>;
}

/** Labels every bot pod of a stack carries, whatever the bot: what the databases let in. */
export const BOT_POD_LABELS = {
    "app.kubernetes.io/name": "trading-bot",
    ...BOT_COMPONENT_LABELS,
} as const;

export function naming(spec: BotSpec): Naming {
    const selector = {
        "app.kubernetes.io/name": BOT_POD_LABELS["app.kubernetes.io/name"],
        "app.kubernetes.io/instance": spec.name,
        "app.kubernetes.io/component": BOT_POD_LABELS["app.kubernetes.io/component"],
    };
    return {
        name: spec.name,
        namespace: spec.namespace,
        configMap: `${spec.name}-config`,
        secret: spec.existingSecret || `${spec.name}-secrets`,
        pvc: `${spec.name}-data`,
        peers: `${spec.name}-peers`,
        lease: `${spec.name}-leader`,
        selector,
        labels: {
            ...selector,
            "app.kubernetes.io/part-of": "trading-bot",
            "app.kubernetes.io/managed-by": "pulumi",
            [ENVIRONMENT_LABEL]: spec.environment,
        },
    };
}

/** Metadata for a named object of the bot. */
export function meta(n: Naming, name: string, extra: { labels?: Record<string, string>; annotations?: Record<string, pulumi.Input<string>> } = {}) {
    return {
        name,
        namespace: n.namespace,
        labels: { ...n.labels, ...extra.labels },
        annotations: { ...OWNED_BY_PULUMI, ...extra.annotations },
    };
}
