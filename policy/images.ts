/**
 * Images: what runs must be what was tested. `latest` and untagged images (which mean latest)
 * move under a running deployment; in prod, where the bot trades real money, only a version tag
 * or a digest is accepted.
 */
import { objectPolicy } from "./define";
import {
    containersOf, describeContainer, environmentOf, isPinnedDigest, isUnknown, parseImage, prodRulesApply, str,
} from "./k8s";

/** 1.4.2, v1.4.2, 1.4, 17.6-alpine, 1.4.2-rc.1, 2024.06.01: a version, with an optional suffix. */
const VERSION_TAG = "^v?[0-9]+(\\.[0-9]+)*([-+_][0-9A-Za-z][0-9A-Za-z._-]*)?$";

const pinnedImages = objectPolicy({
    name: "no-latest-or-untagged-images",
    description: "No container image is untagged or `latest`; in prod every image has a version tag or a digest.",
    enforcementLevel: "mandatory",
    remediationSteps: "Set a version tag (pulumi config set trading-bot:imageTag 1.4.2) or a digest (trading-bot:imageDigest sha256:...).",
    defaults: { prodTagPattern: VERSION_TAG },
    configSchema: {
        properties: {
            prodTagPattern: {
                type: "string", default: VERSION_TAG,
                description: "Regular expression a prod image tag must match when the image has no digest.",
            },
        },
    },
    check(o, report, config) {
        const prod = prodRulesApply(o);
        const versionTag = new RegExp(config.prodTagPattern);
        for (const c of containersOf(o)) {
            const image = str(c.container.image);
            if (isUnknown(image)) continue;
            if (!image) {
                report(`${describeContainer(o, c)} has no image`);
                continue;
            }
            const ref = parseImage(image);
            if (ref.digest !== undefined) {
                if (!isPinnedDigest(ref.digest)) {
                    report(`${describeContainer(o, c)} image ${image} has a malformed digest: use sha256: followed by 64 lower-case hex digits`);
                }
                continue;
            }
            if (ref.tag === undefined) {
                report(`${describeContainer(o, c)} image ${image} has no tag, which means latest: pin a version tag or a digest`);
            } else if (ref.tag.toLowerCase() === "latest") {
                report(`${describeContainer(o, c)} image ${image} uses the moving tag latest: pin a version tag or a digest`);
            } else if (prod && !versionTag.test(ref.tag)) {
                report(`${describeContainer(o, c)} image ${image}: ${environmentOf(o) ? "prod" : "an object without a valid environment label (treated as prod)"} needs a version tag (e.g. 1.4.2) or a digest; ${ref.tag} is not a version`);
            }
        }
    },
});

/**
 * Advisory: a version tag can be re-pushed, a digest cannot; but requiring digests would block
 * every prod deploy that follows the README (imageTag 1.0.0), so prod only gets a reminder.
 */
const prodImageDigests = objectPolicy({
    name: "prod-images-pinned-by-digest",
    description: "In prod every image is pinned by digest, not only by tag.",
    enforcementLevel: "advisory",
    remediationSteps: "pulumi config set trading-bot:imageDigest sha256:<digest of the tested image> --stack prod",
    defaults: {},
    check(o, report) {
        if (!prodRulesApply(o)) return;
        for (const c of containersOf(o)) {
            const image = str(c.container.image);
            if (typeof image !== "string" || !image) continue;
            const ref = parseImage(image);
            // Untagged and latest images are no-latest-or-untagged-images' to report (mandatory).
            if (ref.digest === undefined && ref.tag !== undefined && ref.tag.toLowerCase() !== "latest") {
                report(`${describeContainer(o, c)} image ${image} is pinned by tag only: a tag can be re-pushed, a digest cannot (set imageDigest)`);
            }
        }
    },
});

export const imagePolicies = [pinnedImages, prodImageDigests];
