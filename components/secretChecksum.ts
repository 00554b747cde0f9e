import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import { createHmac } from "crypto";

/**
 * A fingerprint of secret content that rolls the pods reading it when it changes. It is an HMAC
 * keyed by a generated key (`<name>`) kept secret in the state, so the fingerprint can be public
 * (on the pod template, readable in previews) without allowing anyone to guess a weak password
 * from it. A plain secret output there would turn the whole pod spec into one opaque secret diff.
 */
export function secretChecksum(
    name: string, data: pulumi.Input<Record<string, pulumi.Input<string>>>, parent: pulumi.Resource | undefined,
): pulumi.Output<string> {
    const key = new random.RandomPassword(name, { length: 32, special: false }, { parent });
    const fingerprint = pulumi.all([key.result, pulumi.output(data)]).apply(([k, values]) =>
        createHmac("sha256", k).update(JSON.stringify(values)).digest("hex"));
    return pulumi.unsecret(fingerprint);
}
