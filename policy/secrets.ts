/**
 * Secret values belong in Secrets (from Pulumi secret config or an existing Secret), referenced
 * with secretKeyRef. A literal env value or a ConfigMap entry is plain text in the state, in
 * every preview, in `kubectl describe` and for everyone who may read ConfigMaps.
 *
 * Two heuristics, both on env literals (`env[].value` of every container) and ConfigMap entries:
 *  - the name looks like it holds a secret (password, secret, token, api key, private key,
 *    credentials...) and the value is a non-trivial literal;
 *  - the value looks like a credential whatever its name: a private key, a URL with a password,
 *    a JWT, a cloud or forge token, or a long random string such as an exchange API key.
 * Names that say what the value is about rather than being it (..._FILE, ..._PATH, ..._NAME,
 * ..._URL...) are not secret names: LEADER_ELECTION_LEASE_NAME, SECRET_NAME, TOKEN_FILE.
 * `allowedNames` in the policy config exempts further names (from the name heuristic and the
 * random-string one; known credential formats are always reported).
 */
import { objectPolicy } from "./define";
import { containersOf, describeObject, describeContainer, isUnknown, obj, str } from "./k8s";

/** Words that make a name secret wherever they appear in it (PGPASSWORD, apiSecret). */
const SECRET_FRAGMENTS = ["password", "passwd", "passphrase", "secret", "token", "apikey", "privatekey", "credential", "accesskey"];
/** Words that make a name secret only as a whole word (API_KEY, DB_PASS, but not MONKEY or PASSIVE). */
const SECRET_WORDS = new Set(["key", "keys", "pass", "pwd", "pw", "creds", "auth", "pin"]);
/** A last word that says the value is about a secret, not the secret itself. */
const REFERENCE_WORDS = new Set([
    "file", "path", "dir", "name", "names", "ref", "id", "url", "uri", "endpoint", "host", "port", "type", "mode",
    "length", "ttl", "timeout", "enabled", "algorithm", "header", "count", "version", "namespace", "expiry",
]);

/** The words of a name: camelCase, snake_case, kebab-case, dotted.names. */
function words(name: string): string[] {
    return name.replace(/([a-z0-9])([A-Z])/g, "$1 $2").split(/[^A-Za-z0-9]+/).filter(Boolean).map((w) => w.toLowerCase());
}

/** Whether a variable or key name looks like it holds a secret. */
export function isSecretName(name: string): boolean {
    const ws = words(name);
    if (ws.length === 0 || REFERENCE_WORDS.has(ws[ws.length - 1])) return false;
    const joined = ws.join("");
    return SECRET_FRAGMENTS.some((f) => joined.includes(f)) || ws.some((w) => SECRET_WORDS.has(w));
}

/** Values under a secret name that are not secrets: empty, booleans, $(VAR) references. */
function isTrivial(value: string): boolean {
    const v = value.trim();
    return v === "" || /^(true|false|yes|no|on|off|none|null|disabled|enabled)$/i.test(v) || /^(\$\([A-Za-z_][A-Za-z0-9_]*\))+$/.test(v);
}

const CREDENTIAL_PATTERNS: [RegExp, string][] = [
    [/-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY-----/, "a private key"],
    [/[a-z][a-z0-9+.-]*:\/\/[^\s/:@]+:(?!\$\()[^\s/@]+@/i, "a URL with a password"],
    [/\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}/, "a JSON Web Token"],
    [/\b(?:AKIA|ASIA)[0-9A-Z]{16}\b/, "an AWS access key"],
    [/\b(?:gh[pousr]_[A-Za-z0-9]{36,}|github_pat_[A-Za-z0-9_]{40,})\b/, "a GitHub token"],
    [/\bglpat-[A-Za-z0-9_-]{20,}\b/, "a GitLab token"],
    [/\bxox[abposr]-[A-Za-z0-9-]{10,}/, "a Slack token"],
    [/\bsk_live_[A-Za-z0-9]{20,}\b/, "a Stripe key"],
];

/**
 * Why a value looks like a credential whatever its name, or undefined. `randomTokens` false skips
 * the generic long-random-string heuristic (for names in allowedNames, e.g. a base64 CA bundle).
 */
export function credentialKind(value: string, randomTokens = true): string | undefined {
    for (const [pattern, kind] of CREDENTIAL_PATTERNS) {
        if (pattern.test(value)) return kind;
    }
    // A long random token, such as a 64-character exchange API key: one word, mixed-case letters
    // and digits, high entropy. Lower-case hex (checksums, digests) and prose do not match.
    const v = value.trim();
    if (randomTokens && v.length >= 32 && /^[A-Za-z0-9+/=_-]+$/.test(v) && /[a-z]/.test(v) && /[A-Z]/.test(v) && /[0-9]/.test(v)
        && entropy(v) >= 4) {
        return "a random token (an API key?)";
    }
    return undefined;
}

/** Shannon entropy in bits per character. */
function entropy(s: string): number {
    const counts = new Map<string, number>();
    for (const ch of s) counts.set(ch, (counts.get(ch) ?? 0) + 1);
    let bits = 0;
    for (const n of counts.values()) bits -= (n / s.length) * Math.log2(n / s.length);
    return bits;
}

/** What is wrong with a literal `name = value`, or undefined. */
function problem(name: string, value: string, allowed: string[]): string | undefined {
    const exempt = allowed.includes(name);
    const kind = credentialKind(value, !exempt);
    if (kind) return `holds what looks like ${kind}`;
    if (!exempt && isSecretName(name) && !isTrivial(value)) return "looks like a secret and holds a literal value";
    return undefined;
}

const noSecretLiterals = objectPolicy({
    name: "no-secret-literals",
    description: "No secret value in a container's env literals or in a ConfigMap: secrets come from Secrets through secretKeyRef.",
    enforcementLevel: "mandatory",
    remediationSteps: "Put the value in a Secret (Pulumi secret config, e.g. pulumi config set --secret trading-bot:binanceApiKey, or existingSecret) and read it with env[].valueFrom.secretKeyRef.",
    defaults: { allowedNames: [] as string[] },
    configSchema: {
        properties: {
            allowedNames: {
                type: "array", items: { type: "string" }, default: [],
                description: "Env variable and ConfigMap key names that look secret but are not. Their values are still checked for known credential formats (private keys, URLs with passwords, tokens), not for random-looking strings.",
            },
        },
    },
    check(o, report, config) {
        if (o.kind === "ConfigMap") {
            const data = o.props.data;
            if (isUnknown(data)) return;
            for (const [key, value] of Object.entries(obj(data))) {
                if (typeof value !== "string") continue;
                const p = problem(key, value, config.allowedNames);
                if (p) report(`${describeObject(o)} key ${key} ${p}: move it to a Secret and reference it with secretKeyRef`);
            }
            // binaryData is opaque; only its key names can tell.
            const binary = o.props.binaryData;
            for (const key of Object.keys(isUnknown(binary) ? {} : obj(binary))) {
                if (!config.allowedNames.includes(key) && isSecretName(key)) {
                    report(`${describeObject(o)} binaryData key ${key} looks like a secret: move it to a Secret`);
                }
            }
            return;
        }
        for (const c of containersOf(o)) {
            const env = c.container.env;
            if (!Array.isArray(env)) continue;
            for (const e of env) {
                const name = str(obj(e).name);
                const value = str(obj(e).value);
                if (typeof name !== "string" || typeof value !== "string") continue;
                const p = problem(name, value, config.allowedNames);
                if (p) report(`${describeContainer(o, c)}: env ${name} ${p}: use valueFrom.secretKeyRef instead of value`);
            }
        }
    },
});

export const secretPolicies = [noSecretLiterals];
