import { Settings } from "../../config";
import { OWNED_BY_PULUMI } from "../ownership";

/** Names and labels of everything one bot owns, derived from the bot's name (never hard-coded). */
export interface Naming {
    name: string;
    namespace: string;
    configMap: string;
    secret: string;
    pvc: string;
    lease: string;
    /** Labels on every object the bot owns. */
    labels: Record<string, string>;
    /** The immutable subset that selects the bot's pods. */
    selector: Record<string, string>;
}

export function naming(settings: Settings): Naming {
    const selector = {
        "app.kubernetes.io/name": "trading-bot",
        "app.kubernetes.io/instance": settings.name,
        "app.kubernetes.io/component": "bot",
    };
    return {
        name: settings.name,
        namespace: settings.namespace,
        configMap: `${settings.name}-config`,
        secret: settings.existingSecret || `${settings.name}-secrets`,
        pvc: `${settings.name}-data`,
        lease: `${settings.name}-leader`,
        selector,
        labels: {
            ...selector,
            "app.kubernetes.io/part-of": "trading-bot",
            "app.kubernetes.io/managed-by": "pulumi",
            "trading-bot.io/environment": settings.environment,
        },
    };
}

/** Metadata for a named object of the bot. */
export function meta(n: Naming, name: string, extra: { labels?: Record<string, string>; annotations?: Record<string, string> } = {}) {
    return {
        name,
        namespace: n.namespace,
        labels: { ...n.labels, ...extra.labels },
        annotations: { ...OWNED_BY_PULUMI, ...extra.annotations },
    };
}
