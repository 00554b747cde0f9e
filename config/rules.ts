/**
 * Value checks for single settings. Each returns undefined when the value is valid, or what is
 * wrong with it and an example of a valid value (used in the suggested fix).
 */
import { cpuMillis, memoryBytes } from "../contract";

export type Check = (value: string) => { message: string; example: string } | undefined;

export const any: Check = () => undefined;

export function optional(check: Check): Check {
    return (value) => (value === "" ? undefined : check(value));
}

export function dns1123Label(max: number): Check {
    return (value) =>
        /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(value) && value.length <= max
            ? undefined
            : { message: `must be a DNS-1123 label: lower-case letters, digits and '-', starting and ending with a letter or digit, at most ${max} characters`, example: "trading-bot" };
}

export function dns1035Label(max: number): Check {
    return (value) =>
        /^[a-z]([-a-z0-9]*[a-z0-9])?$/.test(value) && value.length <= max
            ? undefined
            : { message: `must be a DNS-1035 label: lower-case letters, digits and '-', starting with a letter, at most ${max} characters`, example: "trading-bot" };
}

export const dns1123Subdomain: Check = (value) =>
    /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/.test(value) && value.length <= 253
        ? undefined
        : { message: "must be a DNS-1123 subdomain: lower-case letters, digits, '-' and '.'", example: "my-name" };

export const hostname: Check = (value) =>
    dns1123Subdomain(value) === undefined
        ? undefined
        : { message: "must be a host name (lower-case letters, digits, '-' and '.')", example: "db.example.com" };

export const identifier: Check = (value) =>
    /^[A-Za-z_][A-Za-z0-9_]{0,62}$/.test(value)
        ? undefined
        : { message: "must be an SQL identifier: letters, digits and '_', starting with a letter, at most 63 characters", example: "tradingbot" };

export const contextName: Check = (value) =>
    /^[A-Za-z0-9@._:/-]{1,253}$/.test(value)
        ? undefined
        : { message: "must be a kubeconfig context name (no spaces)", example: "my-cluster" };

export const imageRepository: Check = (value) =>
    /^[a-z0-9]+([._-][a-z0-9]+)*(:[0-9]+)?(\/[a-z0-9]+([._-]+[a-z0-9]+)*)*$/.test(value) && !value.includes("@")
        ? undefined
        : { message: "must be an image repository without tag or digest, e.g. ghcr.io/acme/trading-bot", example: "ghcr.io/acme/trading-bot" };

export const imageTag: Check = (value) =>
    value === "" || /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/.test(value)
        ? undefined
        : { message: "must be an image tag: letters, digits, '_', '.' and '-', at most 128 characters", example: "1.0.0" };

export const imageDigest: Check = (value) =>
    value === "" || /^sha256:[a-f0-9]{64}$/.test(value)
        ? undefined
        : { message: "must be sha256: followed by 64 lower-case hex digits", example: `sha256:${"0".repeat(64)}` };

export const httpsUrl: Check = (value) => {
    try {
        const url = new URL(value);
        if (url.protocol === "https:" && !url.username && !url.password) return undefined;
    } catch {
        // fall through
    }
    return { message: "must be an https:// URL without credentials", example: "https://testnet.binance.vision" };
};

export const cidr: Check = (value) => {
    const match = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/.exec(value);
    const ok = match !== null
        && match.slice(1, 5).every((o) => Number(o) <= 255)
        && Number(match[5]) <= 32;
    return ok ? undefined : { message: "must be an IPv4 CIDR such as 203.0.113.0/24", example: "0.0.0.0/0" };
};

export const cpuQuantity: Check = (value) => {
    const millis = cpuMillis(value);
    return millis !== undefined && millis >= 1 && millis <= 64000
        ? undefined
        : { message: "must be a CPU quantity between 1m and 64, e.g. 250m or 2", example: "250m" };
};

export const memoryQuantity: Check = (value) => {
    const bytes = memoryBytes(value);
    return bytes !== undefined && bytes >= 16 * 2 ** 20 && bytes <= 256 * 2 ** 30
        ? undefined
        : { message: "must be a memory quantity between 16Mi and 256Gi, e.g. 512Mi or 1Gi", example: "512Mi" };
};

export const storageQuantity: Check = (value) => {
    const bytes = memoryBytes(value);
    return bytes !== undefined && bytes >= 2 ** 20 && bytes <= 16 * 2 ** 40
        ? undefined
        : { message: "must be a storage quantity between 1Mi and 16Ti, e.g. 5Gi", example: "5Gi" };
};

/** The known key nearest to a mistyped one (edit distance at most 3), for "did you mean". */
export function closestKey(key: string, known: string[]): string | undefined {
    let best: string | undefined;
    let bestDistance = 4;
    for (const candidate of known) {
        const d = editDistance(key.toLowerCase(), candidate.toLowerCase());
        if (d < bestDistance) {
            best = candidate;
            bestDistance = d;
        }
    }
    return best;
}

function editDistance(a: string, b: string): number {
    const row = Array.from({ length: b.length + 1 }, (_, i) => i);
    for (let i = 1; i <= a.length; i++) {
        let previous = row[0];
        row[0] = i;
        for (let j = 1; j <= b.length; j++) {
            const current = row[j];
            row[j] = Math.min(row[j] + 1, row[j - 1] + 1, previous + (a[i - 1] === b[j - 1] ? 0 : 1));
            previous = current;
        }
    }
    return row[b.length];
}

/**
 * A stack file's placeholder, `<what to put here>`: the committed prod and staging stacks carry
 * them for what only the user knows (their cluster's context, their database hosts), so the
 * stack is refused, naming the key and what to set, until they are filled in.
 */
export const placeholder: Check = (value) =>
    /^<[^<>]+>$/.test(value.trim())
        ? { message: `is still the stack file's placeholder: set it to ${value.trim().slice(1, -1)}`, example: value.trim() }
        : undefined;

/** An image reference: repository[:tag][@digest]. */
export const imageReference: Check = (value) =>
    /^[a-z0-9]+([._-][a-z0-9]+)*(:[0-9]+)?(\/[a-z0-9]+([._-]+[a-z0-9]+)*)*(:[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?(@sha256:[a-f0-9]{64})?$/.test(value)
        ? undefined
        : { message: "must be an image reference such as postgres:17.6-alpine or registry.example.com/postgres@sha256:<64 hex>", example: "postgres:17.6-alpine" };

const LABEL_KEY = /^([a-z0-9]([-a-z0-9.]*[a-z0-9])?\/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/;
const LABEL_VALUE = /^([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?$/;

export const nodeSelectorItem: Check = (value) => {
    const [key, label, ...rest] = value.split("=");
    return rest.length === 0 && label !== undefined && LABEL_KEY.test(key) && LABEL_VALUE.test(label)
        ? undefined
        : { message: "must be a node label as key=value (e.g. node-pool=trading)", example: "node-pool=trading" };
};

const TOLERATION = /^([^=:]+)(=([^=:]*))?:(NoSchedule|PreferNoSchedule|NoExecute)$/;

export const tolerationItem: Check = (value) => {
    const m = TOLERATION.exec(value);
    return m && LABEL_KEY.test(m[1]) && LABEL_VALUE.test(m[3] ?? "")
        ? undefined
        : { message: "must be a taint as key=value:Effect or key:Effect, Effect one of NoSchedule, PreferNoSchedule, NoExecute", example: "dedicated=trading:NoSchedule" };
};

/** A valid toleration item (see tolerationItem) as its parts. */
export function parseToleration(value: string): { key: string; value?: string; effect: string } {
    const [, key, , tolerated, effect] = TOLERATION.exec(value)!;
    return tolerated === undefined ? { key, effect } : { key, value: tolerated, effect };
}

const NAMESPACE_PEER = "namespace:";

export const egressPeer: Check = (value) =>
    value.startsWith(NAMESPACE_PEER)
        ? dns1123Label(63)(value.slice(NAMESPACE_PEER.length))
        && { message: "must be namespace:<namespace name>", example: "namespace:databases" }
        : cidr(value) && { message: "must be an IPv4 CIDR (10.20.0.0/24) or namespace:<name>", example: "10.20.0.0/24" };

/** A valid egress item (see egressPeer) as a CIDR or a namespace. */
export function parseEgressPeer(value: string): { cidr: string } | { namespace: string } {
    return value.startsWith(NAMESPACE_PEER) ? { namespace: value.slice(NAMESPACE_PEER.length) } : { cidr: value };
}

export const pemCertificate: Check = (value) =>
    /-----BEGIN CERTIFICATE-----[\s\S]+-----END CERTIFICATE-----/.test(value)
        ? undefined
        : { message: "must be PEM certificate(s) (-----BEGIN CERTIFICATE----- ...)", example: '"$(cat ca.pem)"' };
