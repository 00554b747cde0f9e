/**
 * The dev stack runs on the local cluster's real node, from the images the toolchain builds: its
 * stack file names the same images as local/toolchain/versions.sh and the real node's label and
 * taint (one source each; this test keeps the stack file in step with them).
 */
import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import { REAL_NODE_STACK_CONFIG } from "../e2e/cluster";
import { PROJECT_DIR, stackConfig } from "./harness";

function versions(): Record<string, string> {
    const text = fs.readFileSync(path.join(PROJECT_DIR, "local", "toolchain", "versions.sh"), "utf8");
    return Object.fromEntries([...text.matchAll(/^([A-Z_]+)=(\S+)$/gm)].map((m) => [m[1], m[2]]));
}

describe("the dev stack on the local cluster's real node", () => {
    const dev = stackConfig("dev");

    it("runs the locally built images, never pulled", () => {
        const v = versions();
        assert.strictEqual(`${dev.imageRepository}:${dev.imageTag}`, v.BOT_IMAGE);
        assert.strictEqual(dev.postgresImage, v.POSTGRES_IMAGE);
        assert.strictEqual(dev.redisImage, v.REDIS_IMAGE);
        assert.strictEqual(dev.imagePullPolicy, "Never");
    });

    it("is placed on the real node: its label as nodeSelector, its taint tolerated", () => {
        assert.deepStrictEqual(JSON.parse(dev.nodeSelector), REAL_NODE_STACK_CONFIG.nodeSelector);
        assert.deepStrictEqual(JSON.parse(dev.tolerations), REAL_NODE_STACK_CONFIG.tolerations);
    });
});
