import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { EgressPeer } from "../../contract";
import { BotSpec } from "./spec";
import { databasePods } from "../databases/singleInstance";
import { concat, mapInput } from "../inputs";
import { meta, Naming } from "./naming";
import { rolloutTimeouts } from "./workload";

type ObjectMeta = k8s.types.input.meta.v1.ObjectMeta;

/** The bot's ClusterIP Service, scraped by Prometheus (pure). */
export function serviceArgs(spec: BotSpec, n: Naming): { metadata: ObjectMeta; spec: k8s.types.input.core.v1.ServiceSpec } {
    return {
        metadata: meta(n, n.name, {
            annotations: {
                "prometheus.io/scrape": "true",
                "prometheus.io/port": String(spec.containerPort),
                "prometheus.io/path": "/metrics",
            },
        }),
        spec: {
            type: "ClusterIP",
            selector: n.selector,
            ports: [{ name: "http", port: spec.containerPort, targetPort: "http", protocol: "TCP" }],
        },
    };
}

export function createService(spec: BotSpec, n: Naming, opts: pulumi.CustomResourceOptions): k8s.core.v1.Service {
    return new k8s.core.v1.Service(`${n.name}-service`, serviceArgs(spec, n), { ...opts, customTimeouts: rolloutTimeouts(spec) });
}

/**
 * The headless Service a StatefulSet names as its `serviceName`: it gives each replica a stable
 * DNS name (<pod>.<bot>-peers). Clients use the ClusterIP Service above.
 */
export function createPeersService(spec: BotSpec, n: Naming, opts: pulumi.CustomResourceOptions): pulumi.Output<string> {
    return new k8s.core.v1.Service(`${n.name}-peers`, {
        metadata: meta(n, n.peers),
        spec: {
            clusterIP: "None",
            selector: n.selector,
            ports: [{ name: "http", port: spec.containerPort, targetPort: "http", protocol: "TCP" }],
        },
    }, opts).metadata.name;
}

/** Response headers the ingress controller adds to every response. */
export const SECURITY_HEADERS = {
    "Strict-Transport-Security": "max-age=31536000; includeSubDomains",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Content-Security-Policy": "default-src 'none'; frame-ancestors 'none'",
};

/** Optional TLS Ingress: certificate from cert-manager, HTTPS only, security headers. */
export function createIngress(
    spec: BotSpec, n: Naming, service: k8s.core.v1.Service, opts: pulumi.CustomResourceOptions,
): void {
    if (!spec.ingress.enabled) return;
    const headersName = `${n.name}-security-headers`;
    const headers = new k8s.core.v1.ConfigMap(headersName, {
        metadata: meta(n, headersName),
        data: SECURITY_HEADERS,
    }, opts);
    new k8s.networking.v1.Ingress(`${n.name}-ingress`, {
        metadata: meta(n, n.name, {
            annotations: {
                "cert-manager.io/cluster-issuer": spec.ingress.clusterIssuer,
                "nginx.ingress.kubernetes.io/ssl-redirect": "true",
                "nginx.ingress.kubernetes.io/force-ssl-redirect": "true",
                "nginx.ingress.kubernetes.io/custom-headers": concat(n.namespace, "/", headersName),
            },
        }),
        spec: {
            ingressClassName: spec.ingress.className,
            tls: [{ hosts: [spec.ingress.host], secretName: `${n.name}-tls` }],
            rules: [{
                host: spec.ingress.host,
                http: {
                    paths: [{
                        path: "/",
                        pathType: "Prefix",
                        backend: { service: { name: service.metadata.name, port: { name: "http" } } },
                    }],
                },
            }],
        },
    }, { ...opts, dependsOn: [headers, ...asArray(opts.dependsOn)] });
}

function asArray(deps: pulumi.CustomResourceOptions["dependsOn"]): pulumi.Input<pulumi.Resource>[] {
    if (deps === undefined) return [];
    return Array.isArray(deps) ? deps : [deps as pulumi.Input<pulumi.Resource>];
}

type NetworkPolicyRule = k8s.types.input.networking.v1.NetworkPolicyEgressRule;
type NetworkPolicyPeer = k8s.types.input.networking.v1.NetworkPolicyPeer;

function peer(p: EgressPeer): NetworkPolicyPeer {
    return "cidr" in p
        ? { ipBlock: { cidr: p.cidr } }
        : { namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": p.namespace } } };
}

/**
 * Egress the bot needs, each to where the user declared it is: DNS, PostgreSQL and Redis (the
 * in-cluster servers by their pods, external ones by databaseEgressTo/redisEgressTo), HTTPS to
 * the exchange, and the API server for its Lease.
 */
export function egressRules(spec: BotSpec): NetworkPolicyRule[] {
    const tcp = (port: number) => ({ protocol: "TCP", port });
    const database = (component: string, declared: EgressPeer[]): NetworkPolicyPeer[] => spec.inClusterDatabases
        ? [{ podSelector: { matchLabels: databasePods(component) } }]
        : declared.map(peer);
    const np = spec.networkPolicy;
    const rules: NetworkPolicyRule[] = [
        {
            to: [{ namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "kube-system" } } }],
            ports: [{ protocol: "UDP", port: 53 }, tcp(53)],
        },
        { to: database("postgres", np.databaseEgressTo), ports: [tcp(spec.database.port)] },
        { to: database("redis", np.redisEgressTo), ports: [tcp(spec.redis.port)] },
        { to: np.exchangeEgressCidrs.map((cidr) => ({ ipBlock: { cidr } })), ports: [tcp(443)] },
    ];
    if (spec.leaderElection) {
        // The API server behind the `kubernetes` Service listens on 443 or 6443 depending on the cluster.
        rules.push({ to: np.apiServerEgressCidrs.map((cidr) => ({ ipBlock: { cidr } })), ports: [tcp(443), tcp(6443)] });
    }
    return rules;
}

/**
 * The bot's NetworkPolicy (pure): ingress to its port from its own namespace and
 * allowedIngressNamespaces, egress only where egressRules says.
 */
export function networkPolicyArgs(spec: BotSpec, n: Naming): { metadata: ObjectMeta; spec: k8s.types.input.networking.v1.NetworkPolicySpec } {
    const namespaces = mapInput(n.namespace, (own) => [...new Set([own, ...spec.networkPolicy.allowedIngressNamespaces])]);
    return {
        metadata: meta(n, n.name),
        spec: {
            podSelector: { matchLabels: n.selector },
            policyTypes: ["Ingress", "Egress"],
            ingress: [{
                from: [{
                    namespaceSelector: {
                        matchExpressions: [{ key: "kubernetes.io/metadata.name", operator: "In", values: namespaces }],
                    },
                }],
                ports: [{ protocol: "TCP", port: spec.containerPort }],
            }],
            egress: egressRules(spec),
        },
    };
}

export function createNetworkPolicy(spec: BotSpec, n: Naming, opts: pulumi.CustomResourceOptions): void {
    if (!spec.networkPolicy.enabled) return;
    new k8s.networking.v1.NetworkPolicy(`${n.name}-networkpolicy`, networkPolicyArgs(spec, n), opts);
}
