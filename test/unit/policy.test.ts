/**
 * The policy pack (policy/): every policy passes a compliant object and reports a violating one
 * with its message, called directly with the arguments the engine would pass; and every
 * committed stack, evaluated under mocks, passes every mandatory policy.
 *
 * The policies come from policy/policies.ts, which only uses @pulumi/policy's types: nothing here
 * starts the pack's gRPC server (policy/index.ts does, when the engine runs it).
 */
import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import type {
    PolicyResource, ResourceValidationArgs, ResourceValidationPolicy, StackValidationArgs, StackValidationPolicy,
} from "../../policy/define";
// Type-only: makes the root type-check cover the pack's entry point without running it.
import type * as _entryPoint from "../../policy/index";
import { credentialKind, isSecretName } from "../../policy/secrets";
import { materialize, parseImage, quantity, UNKNOWN } from "../../policy/k8s";
import { policies } from "../../policy/policies";
import { InvalidConfigError, parseStack } from "../../config";
import { PROJECT_DIR, revealSecrets, runProgram, stackConfig, withTestSecrets } from "./harness";

type AnyPolicy = ResourceValidationPolicy | StackValidationPolicy;

const T = {
    deployment: "kubernetes:apps/v1:Deployment",
    statefulSet: "kubernetes:apps/v1:StatefulSet",
    daemonSet: "kubernetes:apps/v1:DaemonSet",
    cronJob: "kubernetes:batch/v1:CronJob",
    pod: "kubernetes:core/v1:Pod",
    configMap: "kubernetes:core/v1:ConfigMap",
    namespace: "kubernetes:core/v1:Namespace",
    service: "kubernetes:core/v1:Service",
    hpa: "kubernetes:autoscaling/v2:HorizontalPodAutoscaler",
    lease: "kubernetes:coordination.k8s.io/v1:Lease",
    pdb: "kubernetes:policy/v1:PodDisruptionBudget",
    networkPolicy: "kubernetes:networking.k8s.io/v1:NetworkPolicy",
} as const;

// --- Calling the policies as the engine does --------------------------------------------------

function policy(name: string): AnyPolicy {
    const found = policies.find((p) => p.name === name);
    if (!found) throw new Error(`no policy ${name}`);
    return found;
}

interface Res { type: string; props: Record<string, any>; name?: string }

const OPTIONS = {
    protect: false, ignoreChanges: [], aliases: [], additionalSecretOutputs: [],
    customTimeouts: { createSeconds: 0, updateSeconds: 0, deleteSeconds: 0 },
};

function urnOf(r: Res, i: number): string {
    return `urn:pulumi:test::trading-bot::${r.type}::${r.name ?? `r${i}`}`;
}

interface Context { config?: Record<string, unknown>; tags?: Record<string, string> }

/** The messages a resource policy reports for one resource. */
function validateResource(p: AnyPolicy, r: Res, ctx: Context = {}): string[] {
    const validate = (p as ResourceValidationPolicy).validateResource;
    assert.ok(validate, `${p.name} is not a resource policy`);
    const messages: string[] = [];
    const args: ResourceValidationArgs = {
        type: r.type, props: r.props, urn: urnOf(r, 0), name: r.name ?? "r0", opts: OPTIONS,
        stackTags: new Map(Object.entries(ctx.tags ?? {})),
        isType: () => false, asType: () => undefined,
        getConfig: <C extends object>() => (ctx.config ?? {}) as C,
        notApplicable: (reason?: string): never => { throw new Error(`not applicable: ${reason}`); },
    };
    for (const v of Array.isArray(validate) ? validate : [validate]) {
        void v(args, (message) => messages.push(message));
    }
    return messages;
}

/** The messages a stack policy reports for a set of resources. */
function validateStack(p: AnyPolicy, resources: Res[], ctx: Context = {}): string[] {
    const validate = (p as StackValidationPolicy).validateStack;
    assert.ok(validate, `${p.name} is not a stack policy`);
    const messages: string[] = [];
    const args: StackValidationArgs = {
        resources: resources.map((r, i): PolicyResource => ({
            type: r.type, props: r.props, urn: urnOf(r, i), name: r.name ?? `r${i}`, opts: OPTIONS,
            dependencies: [], propertyDependencies: {}, isType: () => false, asType: () => undefined,
        })),
        stackTags: new Map(Object.entries(ctx.tags ?? {})),
        getConfig: <C extends object>() => (ctx.config ?? {}) as C,
        notApplicable: (reason?: string): never => { throw new Error(`not applicable: ${reason}`); },
    };
    void validate(args, (message) => messages.push(message));
    return messages;
}

function validate(p: AnyPolicy, input: Res | Res[], ctx?: Context): string[] {
    return "validateStack" in p ? validateStack(p, Array.isArray(input) ? input : [input], ctx)
        : (Array.isArray(input) ? input : [input]).flatMap((r) => validateResource(p, r, ctx));
}

/** Which policies have been seen passing and violating: each needs both (checked last). */
const exercised = new Map<string, { passes: number; violations: number }>();
function seen(name: string) {
    if (!exercised.has(name)) exercised.set(name, { passes: 0, violations: 0 });
    return exercised.get(name)!;
}

function passes(name: string, input: Res | Res[], ctx?: Context): void {
    const messages = validate(policy(name), input, ctx);
    assert.deepStrictEqual(messages, [], `${name} should pass`);
    seen(name).passes++;
}

/** Asserts that the policy reports exactly one violation per pattern, each matching it. */
function violates(name: string, input: Res | Res[], patterns: RegExp | RegExp[], ctx?: Context): string[] {
    const messages = validate(policy(name), input, ctx);
    const expected = Array.isArray(patterns) ? patterns : [patterns];
    assert.strictEqual(messages.length, expected.length, `${name}: expected ${expected.length} violation(s), got ${JSON.stringify(messages, null, 1)}`);
    expected.forEach((pattern, i) => assert.match(messages[i], pattern));
    seen(name).violations++;
    return messages;
}

// --- Fixtures: the objects the program creates, compliant; tests break one thing each ---------

type Env = "dev" | "staging" | "prod";
const NAMESPACE: Record<Env, string> = { dev: "trading-dev", staging: "trading-staging", prod: "trading-prod" };
const SELECTOR = { "app.kubernetes.io/name": "trading-bot", "app.kubernetes.io/instance": "trading-bot", "app.kubernetes.io/component": "bot" };

function labels(env: Env | undefined, extra: Record<string, string> = {}): Record<string, string> {
    return { ...SELECTOR, "app.kubernetes.io/part-of": "trading-bot", ...(env ? { "trading-bot.io/environment": env } : {}), ...extra };
}

function meta(env: Env, name: string, extra: Record<string, any> = {}) {
    return { name, namespace: NAMESPACE[env], labels: labels(env), ...extra };
}

function container(overrides: Record<string, any> = {}): Record<string, any> {
    return {
        name: "trading-bot",
        image: "ghcr.io/example/trading-bot:1.0.0",
        envFrom: [{ configMapRef: { name: "trading-bot-config" } }],
        env: [
            { name: "POD_NAME", valueFrom: { fieldRef: { fieldPath: "metadata.name" } } },
            { name: "BINANCE_API_KEY", valueFrom: { secretKeyRef: { name: "trading-bot-secrets", key: "binance-api-key" } } },
        ],
        resources: { requests: { cpu: "250m", memory: "512Mi" }, limits: { cpu: "250m", memory: "512Mi" } },
        securityContext: {
            runAsNonRoot: true, runAsUser: 1000, runAsGroup: 1000, allowPrivilegeEscalation: false, privileged: false,
            readOnlyRootFilesystem: true, capabilities: { drop: ["ALL"] }, seccompProfile: { type: "RuntimeDefault" },
        },
        ...overrides,
    };
}

interface DeploymentOptions { replicas?: number; strategy?: Record<string, any>; name?: string; podLabels?: Record<string, string> }

function deployment(env: Env, o: DeploymentOptions = {}): Res {
    const name = o.name ?? "trading-bot";
    const podLabels = o.podLabels ?? labels(env);
    return {
        type: T.deployment, name: `${name}-deployment`,
        props: {
            apiVersion: "apps/v1", kind: "Deployment",
            metadata: { ...meta(env, name), labels: podLabels },
            spec: {
                ...(o.replicas !== undefined ? { replicas: o.replicas } : {}),
                strategy: o.strategy ?? { type: "Recreate" },
                selector: { matchLabels: SELECTOR },
                template: {
                    metadata: { labels: podLabels },
                    spec: {
                        securityContext: { runAsNonRoot: true, runAsUser: 1000, fsGroup: 1000, seccompProfile: { type: "RuntimeDefault" } },
                        containers: [container()],
                    },
                },
            },
        },
    };
}

/** The pod template's first container, to break one field of it. */
function firstContainer(d: Res): Record<string, any> {
    return d.props.spec.template.spec.containers[0];
}

function configMap(env: Env, data: Record<string, string>, name = "trading-bot-config"): Res {
    return { type: T.configMap, name, props: { apiVersion: "v1", kind: "ConfigMap", metadata: meta(env, name), data } };
}

function botConfig(env: Env, overrides: Record<string, string> = {}): Res {
    const leader = env !== "dev";
    return configMap(env, {
        ENVIRONMENT: env, LOG_LEVEL: "info", DATABASE_HOST: "postgres", DATABASE_USER: "tradingbot",
        TRADING_ENABLED: String(env === "prod"),
        LEADER_ELECTION_ENABLED: String(leader), LEADER_ELECTION_LEASE_NAME: leader ? "trading-bot-leader" : "",
        DATA_DIR: "/app/data", ...overrides,
    });
}

function hpa(env: Env, maxReplicas: number, target = "trading-bot"): Res {
    return {
        type: T.hpa, name: "trading-bot-hpa",
        props: {
            apiVersion: "autoscaling/v2", kind: "HorizontalPodAutoscaler", metadata: meta(env, "trading-bot"),
            spec: { scaleTargetRef: { apiVersion: "apps/v1", kind: "Deployment", name: target }, minReplicas: Math.min(2, maxReplicas), maxReplicas },
        },
    };
}

function lease(env: Env, name = "trading-bot-leader"): Res {
    return { type: T.lease, name: "trading-bot-lease", props: { apiVersion: "coordination.k8s.io/v1", kind: "Lease", metadata: meta(env, name), spec: {} } };
}

function pdb(env: Env, selector: Record<string, any> = { matchLabels: SELECTOR }): Res {
    return {
        type: T.pdb, name: "trading-bot-pdb",
        props: { apiVersion: "policy/v1", kind: "PodDisruptionBudget", metadata: meta(env, "trading-bot"), spec: { maxUnavailable: 1, selector } },
    };
}

function networkPolicy(env: Env, policyTypes: string[] = ["Ingress", "Egress"], namespace = NAMESPACE[env]): Res {
    return {
        type: T.networkPolicy, name: "trading-bot-networkpolicy",
        props: {
            apiVersion: "networking.k8s.io/v1", kind: "NetworkPolicy", metadata: { ...meta(env, "trading-bot"), namespace },
            spec: { podSelector: { matchLabels: SELECTOR }, policyTypes, ingress: [{}], egress: [{}] },
        },
    };
}

/** A prod bot as the committed prod stack deploys it: autoscaled, leader-elected, fenced, budgeted. */
function prodStack(): Res[] {
    return [deployment("prod"), botConfig("prod"), hpa("prod", 10), lease("prod"), pdb("prod"), networkPolicy("prod")];
}

// --- Policies ---------------------------------------------------------------------------------

describe("policy pack", () => {
    describe("environment-label", () => {
        it("passes an object labelled dev, staging or prod", () => {
            for (const env of ["dev", "staging", "prod"] as const) passes("environment-label", deployment(env));
        });
        it("ignores what is not a Kubernetes object (providers, components, random passwords)", () => {
            passes("environment-label", { type: "pulumi:providers:kubernetes", props: { context: "x" } });
            passes("environment-label", { type: "random:index/randomPassword:RandomPassword", props: { length: 32 } });
            passes("environment-label", { type: "trading-bot:index:TradingBot", props: {} });
        });
        it("reports an object without the label", () => {
            const d = deployment("dev");
            d.props.metadata.labels = labels(undefined);
            violates("environment-label", d, /^Deployment trading-dev\/trading-bot has no trading-bot\.io\/environment label/);
        });
        it("reports a label that is not an environment", () => {
            const d = deployment("dev");
            d.props.metadata.labels["trading-bot.io/environment"] = "production";
            violates("environment-label", d, /trading-bot\.io\/environment=production, which is not dev, staging or prod/);
        });
        it("reports a label that differs from the declared environment (policy config or stack tag)", () => {
            violates("environment-label", deployment("dev"), /labelled trading-bot\.io\/environment=dev but this stack is prod/,
                { config: { environment: "prod" } });
            violates("environment-label", deployment("dev"), /but this stack is prod/, { tags: { "trading-bot:environment": "prod" } });
            passes("environment-label", deployment("prod"), { config: { environment: "prod" } });
        });
        it("skips exempt kinds", () => {
            const d = deployment("dev");
            d.props.metadata.labels = {};
            passes("environment-label", d, { config: { exemptKinds: ["Deployment"] } });
        });
    });

    describe("single-environment", () => {
        it("passes a stack whose objects agree", () => {
            passes("single-environment", prodStack());
        });
        it("reports a stack that mixes environments", () => {
            violates("single-environment", [...prodStack(), configMap("dev", { A: "b" }, "stray")],
                /the stack mixes environments \(prod: .*; dev: ConfigMap trading-dev\/stray\)/);
        });
    });

    describe("run-as-non-root", () => {
        it("passes a non-root container, also when only the pod says runAsNonRoot (as PostgreSQL's does)", () => {
            passes("run-as-non-root", deployment("dev"));
            const d = deployment("dev");
            delete firstContainer(d).securityContext.runAsNonRoot;
            delete firstContainer(d).securityContext.runAsUser;
            passes("run-as-non-root", d);
        });
        it("reports UID 0", () => {
            const d = deployment("dev");
            firstContainer(d).securityContext.runAsUser = 0;
            violates("run-as-non-root", d, /container trading-bot runs as UID 0 \(root\)/);
        });
        it("reports a container that may run as root (runAsNonRoot nowhere), init containers included", () => {
            const d = deployment("dev");
            delete firstContainer(d).securityContext.runAsNonRoot;
            delete d.props.spec.template.spec.securityContext.runAsNonRoot;
            d.props.spec.template.spec.initContainers = [container({ name: "migrate", securityContext: { readOnlyRootFilesystem: true } })];
            violates("run-as-non-root", d, [/container trading-bot may run as root/, /init container migrate may run as root/]);
        });
        it("checks bare Pods and CronJobs too", () => {
            const pod: Res = { type: T.pod, props: { metadata: meta("dev", "debug"), spec: { containers: [container({ securityContext: {} })] } } };
            violates("run-as-non-root", pod, /^Pod trading-dev\/debug, container trading-bot may run as root/);
            const cron: Res = {
                type: T.cronJob,
                props: { metadata: meta("dev", "report"), spec: { jobTemplate: { spec: { template: { spec: { containers: [container({ securityContext: { runAsUser: 0 } })] } } } } } },
            };
            violates("run-as-non-root", cron, /^CronJob trading-dev\/report, container trading-bot runs as UID 0/);
        });
    });

    describe("read-only-root-filesystem", () => {
        it("passes a read-only root filesystem", () => {
            passes("read-only-root-filesystem", deployment("prod"));
        });
        it("reports a writable or unset root filesystem", () => {
            const d = deployment("dev");
            firstContainer(d).securityContext.readOnlyRootFilesystem = false;
            violates("read-only-root-filesystem", d, /container trading-bot has a writable root filesystem: set securityContext\.readOnlyRootFilesystem: true/);
            delete firstContainer(d).securityContext.readOnlyRootFilesystem;
            violates("read-only-root-filesystem", d, /writable root filesystem/);
        });
    });

    describe("drop-all-capabilities", () => {
        it("passes drop ALL, with NET_BIND_SERVICE at most added back", () => {
            passes("drop-all-capabilities", deployment("dev"));
            const d = deployment("dev");
            firstContainer(d).securityContext.capabilities.add = ["NET_BIND_SERVICE"];
            passes("drop-all-capabilities", d);
        });
        it("reports capabilities not dropped, or added back", () => {
            const d = deployment("dev");
            firstContainer(d).securityContext.capabilities = { drop: ["NET_RAW"] };
            violates("drop-all-capabilities", d, /keeps the runtime's default Linux capabilities: set securityContext\.capabilities\.drop: \["ALL"\]/);
            firstContainer(d).securityContext.capabilities = { drop: ["ALL"], add: ["SYS_ADMIN", "NET_BIND_SERVICE"] };
            violates("drop-all-capabilities", d, /adds capabilities SYS_ADMIN back/);
            passes("drop-all-capabilities", d, { config: { allowedCapabilities: ["SYS_ADMIN", "NET_BIND_SERVICE"] } });
        });
    });

    describe("no-privilege-escalation", () => {
        it("passes allowPrivilegeEscalation false", () => {
            passes("no-privilege-escalation", deployment("dev"));
        });
        it("reports escalation allowed (explicitly or by default) and privileged containers", () => {
            const d = deployment("dev");
            delete firstContainer(d).securityContext.allowPrivilegeEscalation;
            violates("no-privilege-escalation", d, /allows privilege escalation: set securityContext\.allowPrivilegeEscalation: false/);
            firstContainer(d).securityContext.allowPrivilegeEscalation = false;
            firstContainer(d).securityContext.privileged = true;
            violates("no-privilege-escalation", d, /is privileged \(full access to the node\)/);
        });
    });

    describe("resource-requests-and-limits", () => {
        it("passes CPU and memory requests and limits", () => {
            passes("resource-requests-and-limits", deployment("dev"));
        });
        it("reports each missing request and limit", () => {
            const d = deployment("dev");
            firstContainer(d).resources = { requests: { cpu: "250m" }, limits: { memory: "512Mi" } };
            violates("resource-requests-and-limits", d,
                /container trading-bot does not set resources\.requests\.memory, resources\.limits\.cpu: every container needs CPU and memory requests and limits/);
            delete firstContainer(d).resources;
            violates("resource-requests-and-limits", d, /requests\.cpu, resources\.requests\.memory, resources\.limits\.cpu, resources\.limits\.memory/);
        });
    });

    describe("requests-close-to-limits (advisory)", () => {
        it("passes equal requests and limits, and a CPU burst up to 5x (PostgreSQL's 100m/500m)", () => {
            passes("requests-close-to-limits", deployment("prod"));
            const d = deployment("dev");
            firstContainer(d).resources = { requests: { cpu: "100m", memory: "256Mi" }, limits: { cpu: "500m", memory: "256Mi" } };
            passes("requests-close-to-limits", d);
        });
        it("reports a limit far above the request (configurable)", () => {
            const d = deployment("dev");
            firstContainer(d).resources = { requests: { cpu: "250m", memory: "256Mi" }, limits: { cpu: "250m", memory: "1Gi" } };
            violates("requests-close-to-limits", d, /requests 256Mi memory but may use up to 1Gi \(4x, more than 2x\)/);
            passes("requests-close-to-limits", d, { config: { maxMemoryRatio: 4 } });
        });
    });

    describe("no-latest-or-untagged-images", () => {
        it("passes version tags and digests (and any non-latest tag outside prod)", () => {
            passes("no-latest-or-untagged-images", deployment("prod"));
            const d = deployment("prod");
            firstContainer(d).image = `ghcr.io/example/trading-bot@sha256:${"a".repeat(64)}`;
            passes("no-latest-or-untagged-images", d);
            firstContainer(d).image = "postgres:17.6-alpine";
            passes("no-latest-or-untagged-images", d);
            const dev = deployment("dev");
            firstContainer(dev).image = "ghcr.io/example/trading-bot:main";
            passes("no-latest-or-untagged-images", dev);
        });
        it("reports latest and untagged images in every environment", () => {
            const d = deployment("dev");
            firstContainer(d).image = "ghcr.io/example/trading-bot:latest";
            violates("no-latest-or-untagged-images", d, /image ghcr\.io\/example\/trading-bot:latest uses the moving tag latest/);
            firstContainer(d).image = "localhost:5000/trading-bot";
            violates("no-latest-or-untagged-images", d, /image localhost:5000\/trading-bot has no tag, which means latest/);
            firstContainer(d).image = "redis@sha256:abc";
            violates("no-latest-or-untagged-images", d, /has a malformed digest/);
        });
        it("reports a prod image whose tag is not a version", () => {
            const d = deployment("prod");
            firstContainer(d).image = "ghcr.io/example/trading-bot:main";
            violates("no-latest-or-untagged-images", d, /prod needs a version tag \(e\.g\. 1\.4\.2\) or a digest; main is not a version/);
        });
    });

    describe("prod-images-pinned-by-digest (advisory)", () => {
        it("passes a digest in prod, and tags outside prod", () => {
            const d = deployment("prod");
            firstContainer(d).image = `ghcr.io/example/trading-bot:1.0.0@sha256:${"b".repeat(64)}`;
            passes("prod-images-pinned-by-digest", d);
            passes("prod-images-pinned-by-digest", deployment("staging"));
            // latest and untagged images are the mandatory policy's to report, not this one's.
            firstContainer(d).image = "ghcr.io/example/trading-bot:latest";
            passes("prod-images-pinned-by-digest", d);
        });
        it("reports a prod image pinned by tag only", () => {
            violates("prod-images-pinned-by-digest", deployment("prod"), /image ghcr\.io\/example\/trading-bot:1\.0\.0 is pinned by tag only/);
        });
    });

    describe("no-secret-literals", () => {
        it("passes secretKeyRef, non-secret literals and names that only refer to secrets", () => {
            const d = deployment("dev");
            firstContainer(d).env.push(
                { name: "LOG_LEVEL", value: "debug" },
                { name: "LEADER_ELECTION_LEASE_NAME", value: "trading-bot-leader" },
                { name: "SECRET_NAME", value: "trading-bot-secrets" },
                { name: "TOKEN_FILE", value: "/var/run/secrets/token" },
                { name: "REDIS_ARGS_PASSWORD", value: "$(REDIS_PASSWORD)" },
                { name: "BINANCE_API_SECRET", value: "" },
                { name: "IMAGE_DIGEST", value: `sha256:${"c".repeat(64)}` },
            );
            passes("no-secret-literals", d);
            passes("no-secret-literals", botConfig("prod"));
            // The Ingress' security headers ConfigMap of the program.
            passes("no-secret-literals", configMap("prod", {
                "Strict-Transport-Security": "max-age=31536000; includeSubDomains", "Content-Security-Policy": "default-src 'none'",
            }, "trading-bot-security-headers"));
        });
        it("reports a secret-looking env literal", () => {
            const d = deployment("dev");
            firstContainer(d).env.push({ name: "BINANCE_API_KEY", value: "test-binance-key-9f8e7d6c5b4a" });
            violates("no-secret-literals", d, /container trading-bot: env BINANCE_API_KEY looks like a secret and holds a literal value: use valueFrom\.secretKeyRef/);
            passes("no-secret-literals", d, { config: { allowedNames: ["BINANCE_API_KEY"] } });
        });
        it("reports secrets in a ConfigMap: by key name, and by value whatever the name", () => {
            violates("no-secret-literals", botConfig("dev", { REDIS_PASSWORD: "hunter2hunter2" }),
                /^ConfigMap trading-dev\/trading-bot-config key REDIS_PASSWORD looks like a secret and holds a literal value: move it to a Secret/);
            violates("no-secret-literals", botConfig("dev", { DATABASE_URL: "postgres://tradingbot:s3cret@db:5432/tradingbot" }),
                /key DATABASE_URL holds what looks like a URL with a password/);
            violates("no-secret-literals", botConfig("dev", { EXCHANGE: "vmPUZE6mv9SD5VNHk4HlWFsOr6aKE2zvsw0MuIgwCIPy6utIco14y7Ju91duEh8A" }),
                /key EXCHANGE holds what looks like a random token/);
        });
        it("recognises secret names and credential values", () => {
            for (const name of ["DATABASE_PASSWORD", "PGPASSWORD", "apiSecret", "BINANCE_API_KEY", "auth-token", "DB_PASS", "private.key"]) {
                assert.ok(isSecretName(name), name);
            }
            for (const name of ["LOG_LEVEL", "LEADER_ELECTION_LEASE_NAME", "KEY_FILE", "MONKEY", "PASSIVE_MODE", "DATABASE_USER", "TOKEN_URL"]) {
                assert.ok(!isSecretName(name), name);
            }
            assert.match(credentialKind("-----BEGIN RSA PRIVATE KEY-----\nMIIE...") ?? "", /private key/);
            assert.match(credentialKind("AKIAIOSFODNN7EXAMPLE") ?? "", /AWS/);
            assert.strictEqual(credentialKind("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"), undefined);
            assert.strictEqual(credentialKind("https://testnet.binance.vision"), undefined);
        });
    });

    describe("live-trading-only-in-prod", () => {
        const name = "live-trading-only-in-prod";
        const LIVE = "https://api.binance.com";
        const TESTNET = "https://testnet.binance.vision";
        it("passes live trading in prod, testnet trading in dev and staging, and trading off anywhere", () => {
            passes(name, botConfig("prod", { EXCHANGE_ENDPOINT: LIVE }));
            passes(name, botConfig("dev", { TRADING_ENABLED: "true", EXCHANGE_ENDPOINT: TESTNET }));
            passes(name, botConfig("staging", { TRADING_ENABLED: "true", EXCHANGE_ENDPOINT: "https://testnet.binancefuture.com" }));
            passes(name, botConfig("staging", { EXCHANGE_ENDPOINT: LIVE }));
            passes(name, deployment("prod"));
        });
        it("reports trading outside prod on the live exchange or an endpoint not known to be a testnet, in the ConfigMap or an env literal", () => {
            violates(name, botConfig("dev", { TRADING_ENABLED: "true", EXCHANGE_ENDPOINT: LIVE }),
                /^ConfigMap trading-dev\/trading-bot-config sets TRADING_ENABLED=true: the dev environment trades only on an exchange testnet \(https:\/\/testnet\.binance\.vision\), not on https:\/\/api\.binance\.com: live trading is for prod; pulumi config rm trading-bot:exchangeEndpoint/);
            violates(name, botConfig("staging", { TRADING_ENABLED: "true", EXCHANGE_ENDPOINT: "https://proxy.example.com" }), /not on https:\/\/proxy\.example\.com/);
            violates(name, botConfig("staging", { TRADING_ENABLED: "true" }), /not on an exchange not named/);
            const d = deployment("staging");
            firstContainer(d).env.push({ name: "TRADING_ENABLED", value: "True" });
            violates(name, d, /container trading-bot \(env literal\) sets TRADING_ENABLED=True: the staging environment trades only on an exchange testnet/);
            firstContainer(d).env.push({ name: "EXCHANGE_ENDPOINT", value: TESTNET });
            passes(name, d);
        });
        it("reports trading from an object not known to be prod (no environment label)", () => {
            const cm = botConfig("prod", { EXCHANGE_ENDPOINT: TESTNET });
            cm.props.metadata.labels = labels(undefined);
            violates(name, cm, /an object not known to be prod must not trade at all/);
        });
        it("agrees with the program's config on every environment, trading switch and endpoint (one rule, contract/)", () => {
            const verdicts: string[] = [];
            for (const env of ["dev", "staging", "prod"] as const) {
                for (const trading of ["true", "false"]) {
                    for (const endpoint of [LIVE, TESTNET, "https://testnet.binancefuture.com", "https://proxy.example.com"]) {
                        const raw = withTestSecrets(stackConfig(env, { tradingEnabled: trading, exchangeEndpoint: endpoint }));
                        let configAccepts = true;
                        try {
                            parseStack(env, raw);
                        } catch (e) {
                            if (!(e instanceof InvalidConfigError)) throw e;
                            configAccepts = !e.problems.some((p) => p.key === "trading-bot:exchangeEndpoint");
                        }
                        const messages = validate(policy(name), botConfig(env, { TRADING_ENABLED: trading, EXCHANGE_ENDPOINT: endpoint }));
                        verdicts.push(`${env} trading=${trading} ${endpoint}: config ${configAccepts ? "accepts" : "refuses"}, pack ${messages.length ? "refuses" : "passes"}`);
                        assert.strictEqual(messages.length === 0, configAccepts, verdicts[verdicts.length - 1]);
                    }
                }
            }
            // Not vacuous: both verdicts occur.
            assert.ok(verdicts.some((v) => v.includes("config refuses")) && verdicts.some((v) => v.includes("config accepts")));
        });
        it("lets policy config forbid testnet trading too", () => {
            violates(name, botConfig("staging", { TRADING_ENABLED: "true", EXCHANGE_ENDPOINT: TESTNET }),
                /the staging environment must not trade at all/, { config: { testnetEnvironments: ["dev"] } });
        });
    });

    describe("leader-election-for-several-replicas", () => {
        const name = "leader-election-for-several-replicas";
        it("passes a single bot without leader election that rolls out with Recreate (dev)", () => {
            passes(name, [deployment("dev", { replicas: 1 }), botConfig("dev")]);
        });
        it("passes several replicas or autoscaling with leader election and the Lease (staging, prod)", () => {
            passes(name, [deployment("staging", { replicas: 2, strategy: { type: "RollingUpdate" } }), botConfig("staging"), lease("staging")]);
            passes(name, prodStack());
        });
        it("passes several replicas of what is not the bot (PostgreSQL, Redis)", () => {
            const postgresLabels = { "app.kubernetes.io/name": "postgres", "trading-bot.io/environment": "dev" };
            passes(name, [deployment("dev", { name: "postgres", replicas: 3, podLabels: postgresLabels })]);
        });
        it("reports several replicas, or an autoscaler, without leader election", () => {
            violates(name, [deployment("dev", { replicas: 3 }), botConfig("dev")],
                /^Deployment trading-dev\/trading-bot is a trading bot with 3 replicas but without leader election \(LEADER_ELECTION_ENABLED is not true\): every replica would place the same orders/);
            violates(name, [deployment("staging"), botConfig("staging", { LEADER_ELECTION_ENABLED: "false" }), hpa("staging", 4), lease("staging")],
                /is a trading bot with autoscaled up to 4 replicas by HorizontalPodAutoscaler trading-bot but without leader election/);
            violates(name, [{ ...deployment("dev"), type: T.daemonSet }, botConfig("dev")], /a DaemonSet runs one pod per node/);
        });
        it("reports leader election without its Lease", () => {
            violates(name, [deployment("prod"), botConfig("prod"), hpa("prod", 10)],
                /has no Lease trading-bot-leader in its namespace to elect the leader on/);
            violates(name, [deployment("prod"), botConfig("prod"), hpa("prod", 10), lease("prod", "other-lease")], /no Lease trading-bot-leader/);
        });
        it("reports a single bot without leader election whose rollout overlaps (RollingUpdate with surge)", () => {
            violates(name, [deployment("dev", { strategy: { type: "RollingUpdate" } }), botConfig("dev")],
                /is a trading bot without leader election that rolls out with RollingUpdate with maxSurge 25%: the new pod starts trading before the old one stops/);
            passes(name, [deployment("dev", { strategy: { type: "RollingUpdate", rollingUpdate: { maxSurge: 0, maxUnavailable: 1 } } }), botConfig("dev")]);
        });
        it("counts an autoscaler capped at one replica as a single replica", () => {
            passes(name, [deployment("dev"), botConfig("dev"), hpa("dev", 1)]);
        });
        it("reads an env literal over the ConfigMap, as the kubelet does", () => {
            const d = deployment("dev", { replicas: 2 });
            firstContainer(d).env.push({ name: "LEADER_ELECTION_ENABLED", value: "true" });
            passes(name, [d, botConfig("dev"), lease("dev")]);
            const off = deployment("staging", { replicas: 2 });
            firstContainer(off).env.push({ name: "LEADER_ELECTION_ENABLED", value: "false" });
            violates(name, [off, botConfig("staging"), lease("staging")], /without leader election/);
        });
    });

    describe("prod-network-policy", () => {
        it("passes prod pods selected by a NetworkPolicy restricting ingress and egress; non-prod needs none", () => {
            passes("prod-network-policy", prodStack());
            passes("prod-network-policy", [deployment("staging"), botConfig("staging")]);
        });
        it("reports prod pods without one", () => {
            violates("prod-network-policy", prodStack().filter((r) => r.type !== T.networkPolicy),
                /^Deployment trading-prod\/trading-bot runs in prod without a NetworkPolicy restricting ingress and egress of its pods/);
        });
        it("reports a NetworkPolicy that restricts ingress only, or sits in another namespace", () => {
            const stack = prodStack().filter((r) => r.type !== T.networkPolicy);
            violates("prod-network-policy", [...stack, networkPolicy("prod", ["Ingress"])], /restricting egress of its pods/);
            violates("prod-network-policy", [...stack, networkPolicy("prod", ["Ingress", "Egress"], "other")], /restricting ingress and egress/);
        });
    });

    describe("prod-disruption-budget", () => {
        it("passes a prod workload with several replicas and a PodDisruptionBudget; single replicas need none", () => {
            passes("prod-disruption-budget", prodStack());
            passes("prod-disruption-budget", [deployment("prod", { replicas: 1 }), botConfig("prod")]);
            passes("prod-disruption-budget", [deployment("staging", { replicas: 2 }), botConfig("staging"), lease("staging")]);
        });
        it("reports one missing, or selecting other pods", () => {
            const stack = prodStack().filter((r) => r.type !== T.pdb);
            violates("prod-disruption-budget", stack,
                /^Deployment trading-prod\/trading-bot runs in prod with autoscaled up to 10 replicas by HorizontalPodAutoscaler trading-bot but no PodDisruptionBudget selects its pods/);
            violates("prod-disruption-budget", [...stack, pdb("prod", { matchLabels: { "app.kubernetes.io/name": "redis" } })], /no PodDisruptionBudget/);
        });
    });

    describe("prod-several-replicas (advisory)", () => {
        it("passes autoscaling or several replicas in prod, and single replicas elsewhere", () => {
            passes("prod-several-replicas", prodStack());
            passes("prod-several-replicas", [deployment("dev", { replicas: 1 })]);
        });
        it("reports a single replica in prod", () => {
            violates("prod-several-replicas", [deployment("prod", { replicas: 1 })], /^Deployment trading-prod\/trading-bot runs a single replica in prod/);
        });
    });

    describe("preview: values not known yet", () => {
        it("materialize turns the engine's unknowns (and its throwing proxy) into UNKNOWN", () => {
            // eslint-disable-next-line @typescript-eslint/no-require-imports
            const { unknownCheckingProxy } = require("../../policy/node_modules/@pulumi/policy/proxy");
            const unknown = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";
            const props = unknownCheckingProxy({ a: unknown, b: [1, unknown], c: { d: "x" } });
            assert.throws(() => props.a, /can't be known during preview/);
            assert.deepStrictEqual(materialize(props), { a: UNKNOWN, b: [1, UNKNOWN], c: { d: "x" } });
        });
        it("an unknown field suspends only the checks that need it", () => {
            const unknown = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";
            const d = deployment("prod");
            firstContainer(d).image = unknown;
            firstContainer(d).securityContext.readOnlyRootFilesystem = false;
            passes("no-latest-or-untagged-images", d);
            violates("read-only-root-filesystem", d, /writable root filesystem/);
            const stack = prodStack();
            stack[0].props.spec.template.spec.containers[0].envFrom[0].configMapRef.name = unknown;
            passes("leader-election-for-several-replicas", stack.filter((r) => r.type !== T.lease));
        });
        it("objects whose labels are not known yet wait for up instead of getting the prod rules", () => {
            const unknown = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";
            const cm = botConfig("dev", { TRADING_ENABLED: "true" });
            cm.props.metadata.labels = unknown;
            passes("live-trading-only-in-prod", cm);
            passes("environment-label", cm);
            const d = deployment("prod", { replicas: 1 });
            d.props.metadata = unknown;
            d.props.spec.template.metadata.labels = unknown;
            passes("prod-network-policy", [d]);
            passes("prod-images-pinned-by-digest", d);
        });
    });

    describe("helpers", () => {
        it("parses images and quantities like Kubernetes", () => {
            assert.deepStrictEqual(parseImage("registry:5000/org/app:1.2@sha256:ab"), { repository: "registry:5000/org/app", tag: "1.2", digest: "sha256:ab" });
            assert.deepStrictEqual(parseImage("redis"), { repository: "redis", tag: undefined, digest: undefined });
            assert.strictEqual(quantity("250m"), 0.25);
            assert.strictEqual(quantity("1Gi"), 2 ** 30);
            assert.strictEqual(quantity("1e3"), 1000);
            assert.strictEqual(quantity("lots"), undefined);
        });
    });

    // --- The pack as a whole --------------------------------------------------------------

    describe("the pack", () => {
        it("names every policy once, with a description, a level and config defaults", () => {
            const names = policies.map((p) => p.name);
            assert.strictEqual(new Set(names).size, names.length, `duplicate policy names: ${names}`);
            for (const p of policies) {
                assert.match(p.name, /^[a-z0-9]+(-[a-z0-9]+)*$/, p.name);
                assert.ok(p.description.length > 20, p.name);
                assert.ok(p.enforcementLevel === "mandatory" || p.enforcementLevel === "advisory", `${p.name}: ${p.enforcementLevel}`);
                for (const [key, schema] of Object.entries(p.configSchema?.properties ?? {})) {
                    assert.ok(typeof schema === "object" && "default" in schema, `${p.name}.${key} has no default`);
                }
            }
        });

        it("pins @pulumi/pulumi to the project's version, and the pack's install is locked", () => {
            const root = JSON.parse(fs.readFileSync(path.join(PROJECT_DIR, "package.json"), "utf8"));
            const pack = JSON.parse(fs.readFileSync(path.join(PROJECT_DIR, "policy", "package.json"), "utf8"));
            assert.strictEqual(pack.dependencies["@pulumi/pulumi"], root.dependencies["@pulumi/pulumi"]);
            assert.match(pack.dependencies["@pulumi/policy"], /^\^1\.(2[1-9]|[3-9]\d)/);
            assert.ok(pack.version, "PolicyPack refuses a package.json without a version");
            assert.ok(fs.existsSync(path.join(PROJECT_DIR, "policy", "package-lock.json")));
            assert.match(fs.readFileSync(path.join(PROJECT_DIR, "policy", "PulumiPolicy.yaml"), "utf8"), /runtime:\s*\n\s*name: nodejs/);
        });
    });

    describe("the committed stacks pass every mandatory policy", () => {
        const EXPECTED_ADVISORIES: Record<Env, RegExp[]> = {
            dev: [],
            staging: [],
            // The committed prod stack pins imageTag 1.0.0 and no digest: a reminder, not a block.
            prod: [/^prod-images-pinned-by-digest: StatefulSet trading-prod\/trading-bot, container trading-bot image ghcr\.io\/example\/trading-bot:1\.0\.0 is pinned by tag only/],
        };
        for (const stack of ["dev", "staging", "prod"] as const) {
            it(`${stack}: no mandatory violation; advisories as expected`, async () => {
                // As stacks.test.ts evaluates them: prod with the test secrets an operator would set.
                const config = stack === "prod" ? withTestSecrets(stackConfig(stack)) : stackConfig(stack);
                const run = await runProgram(stack, config);
                // What the engine hands the pack: the inputs, with secrets as plain values.
                const resources: Res[] = run.resources.map((r) => ({ type: r.type, name: r.name, props: revealSecrets(r.inputs) }));
                // The stack declares its environment, as CI would (policy config or stack tag).
                const ctx: Context = { tags: { "trading-bot:environment": stack } };
                const findings: { level: string; message: string }[] = [];
                for (const p of policies) {
                    for (const message of validate(p, resources, ctx)) {
                        findings.push({ level: p.enforcementLevel ?? "advisory", message: `${p.name}: ${message}` });
                    }
                }
                assert.deepStrictEqual(findings.filter((f) => f.level === "mandatory").map((f) => f.message), []);
                const advisories = findings.filter((f) => f.level === "advisory").map((f) => f.message);
                assert.strictEqual(advisories.length, EXPECTED_ADVISORIES[stack].length, JSON.stringify(advisories, null, 1));
                EXPECTED_ADVISORIES[stack].forEach((pattern, i) => assert.match(advisories[i], pattern));
                assert.ok(resources.some((r) => r.type === T.deployment || r.type === "kubernetes:apps/v1:StatefulSet"), "the stack deploys the bot");
            });
        }
    });

    // Last: mocha runs a describe's own tests before its nested describes, so this one is nested too.
    describe("coverage", () => {
        it("every policy has at least one passing and one violating test", () => {
            const missing = policies
                .map((p) => ({ name: p.name, ...(exercised.get(p.name) ?? { passes: 0, violations: 0 }) }))
                .filter((e) => e.passes === 0 || e.violations === 0)
                .map((e) => `${e.name} (${e.passes} passing, ${e.violations} violating)`);
            assert.deepStrictEqual(missing, []);
        });
    });
});

// Keep the type-only import of the entry point (the root type-check then covers it).
export type EntryPoint = typeof _entryPoint;
