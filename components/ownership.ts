/**
 * Annotations on every object the program owns. `pulumi.com/patchForce` makes Pulumi the owner of
 * the fields it declares: after an out-of-band change (a `kubectl scale`, an edited ConfigMap) the
 * server-side apply of `pulumi up --refresh` takes those fields back instead of failing on a
 * field-manager conflict. Fields the program leaves out (spec.replicas under an HPA) stay with
 * whoever sets them.
 */
export const OWNED_BY_PULUMI: Record<string, string> = { "pulumi.com/patchForce": "true" };
