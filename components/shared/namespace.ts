import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { ENVIRONMENT_LABEL } from "../../contract";
import { SharedSpec } from "./spec";
import { OWNED_BY_PULUMI } from "../ownership";

/**
 * The stack's namespace, created with the `restricted` Pod Security Standard enforced (like
 * `helm install --create-namespace`, but hardened); undefined when an existing one is used.
 * Deleting it deletes everything in it, so prod's is protected.
 */
export function createNamespace(
    name: string, settings: SharedSpec, opts: pulumi.CustomResourceOptions,
): k8s.core.v1.Namespace | undefined {
    if (!settings.createNamespace) return undefined;
    return new k8s.core.v1.Namespace(name, {
        metadata: {
            name: settings.namespace,
            annotations: OWNED_BY_PULUMI,
            labels: {
                "app.kubernetes.io/part-of": "trading-bot",
                "app.kubernetes.io/managed-by": "pulumi",
                [ENVIRONMENT_LABEL]: settings.environment,
                "pod-security.kubernetes.io/enforce": "restricted",
                "pod-security.kubernetes.io/enforce-version": "latest",
                "pod-security.kubernetes.io/audit": "restricted",
                "pod-security.kubernetes.io/warn": "restricted",
            },
        },
    }, { ...opts, protect: settings.environment === "prod" });
}
