/** Pulumi.yaml declares exactly the keys of config/schema.ts, with the same types, defaults and descriptions. */
// (See also "generated documentation" below.)
import * as assert from "assert";
import * as fs from "fs";
import * as yaml from "js-yaml";
import * as path from "path";
import { CONFIG_KEYS } from "../../config";
import { KeySpec } from "../../config/schema";
import { resolveArgs } from "../../components/tradingBot/args";
import { PROJECT_DIR } from "./harness";

describe("Pulumi.yaml config declarations", () => {
    const project = yaml.load(fs.readFileSync(path.join(PROJECT_DIR, "Pulumi.yaml"), "utf8")) as {
        config: Record<string, { type: string; default: unknown; description: string; secret?: boolean; items?: { type: string } }>;
    };

    it("declares every key of the schema and no other", () => {
        assert.deepStrictEqual(Object.keys(project.config).sort(), Object.keys(CONFIG_KEYS).sort());
    });

    for (const [key, spec] of Object.entries(CONFIG_KEYS) as [string, KeySpec][]) {
        it(`${key}: ${spec.type}, default ${JSON.stringify(spec.default)}`, () => {
            const declared = project.config[key];
            assert.ok(declared, `Pulumi.yaml does not declare ${key}`);
            assert.strictEqual(declared.type, spec.type);
            assert.deepStrictEqual(declared.default, spec.default);
            assert.strictEqual(declared.description, spec.description);
            assert.strictEqual(declared.secret, undefined, "secret keys are enforced by the program (see schema.ts)");
            if (spec.type === "array") assert.deepStrictEqual(declared.items, { type: spec.items ?? "string" });
        });
    }

    it("stack files set only declared keys, and never a secret in plain text", () => {
        for (const stack of ["dev", "staging", "prod"]) {
            const doc = yaml.load(fs.readFileSync(path.join(PROJECT_DIR, `Pulumi.${stack}.yaml`), "utf8")) as { config: Record<string, unknown> };
            for (const [fullKey, value] of Object.entries(doc.config)) {
                const key = fullKey.replace(/^trading-bot:/, "") as keyof typeof CONFIG_KEYS;
                assert.ok(key in CONFIG_KEYS, `${stack}: unknown key ${fullKey}`);
                if ((CONFIG_KEYS[key] as KeySpec).secret) {
                    assert.ok(typeof value === "object" && value !== null && "secure" in value, `${stack}: ${key} is not encrypted`);
                }
            }
        }
    });
});

describe("generated documentation", () => {
    it("Pulumi.yaml's config section is generated from the schema (npm run docs)", () => {
        // eslint-disable-next-line @typescript-eslint/no-var-requires
        const { pulumiYamlWithConfig } = require("../../scripts/docs/configTable");
        const project = fs.readFileSync(path.join(PROJECT_DIR, "Pulumi.yaml"), "utf8");
        assert.strictEqual(pulumiYamlWithConfig(project), project, "Pulumi.yaml is out of date: run npm run docs");
    });

    it("has the current configuration table (npm run docs)", () => {
        // eslint-disable-next-line @typescript-eslint/no-var-requires
        const { readmeWithTable } = require("../../scripts/docs/configTable");
        const readme = fs.readFileSync(path.join(PROJECT_DIR, "README.md"), "utf8");
        assert.strictEqual(readmeWithTable(readme), readme, "README.md is out of date: run npm run docs");
    });
});

describe("config/schema.ts says what a valid value of each key is", () => {
    const VALIDITY = ["check", "range", "oneOf", "decimal", "itemCheck"] as const;
    for (const [key, spec] of Object.entries(CONFIG_KEYS) as [string, KeySpec][]) {
        // Booleans are true or false; secrets are never read as text; `bots` is parsed item by item.
        if (spec.type === "boolean" || spec.secret || key === "bots") continue;
        it(`${key}: one validity rule, fitting its type, that accepts its default`, () => {
            const given = VALIDITY.filter((v) => spec[v] !== undefined);
            assert.strictEqual(given.length, 1, `${key} has ${given.join(", ") || "no validity rule"}`);
            const expected = { integer: ["range"], array: ["itemCheck"], string: ["check", "oneOf", "decimal"] }[spec.type as string];
            assert.ok(expected?.includes(given[0]), `${key} (${spec.type}) has ${given[0]}`);
            const d = spec.default;
            if (spec.range) assert.ok(Number(d) >= spec.range[0] && Number(d) <= spec.range[1]);
            if (spec.oneOf) assert.ok(spec.oneOf.includes(String(d)));
            if (spec.check) assert.strictEqual(spec.check(String(d)), undefined);
            if (spec.itemCheck) (d as string[]).forEach((item) => assert.strictEqual(spec.itemCheck!(item), undefined, item));
        });
    }
});

describe("config/schema.ts and the TradingBot component's arguments", () => {
    const spec = resolveArgs("bot", { namespace: "n" }) as unknown as Record<string, unknown>;
    const argPaths = (Object.values(CONFIG_KEYS) as KeySpec[]).map((k) => k.arg).filter((a): a is string => !!a);
    const at = (path: string) => path.split(".").reduce<any>((node, part) => (node === undefined ? undefined : node[part]), spec);

    it("every key's `arg` is an argument the component resolves", () => {
        for (const path of argPaths) assert.notStrictEqual(at(path), undefined, `${path} is no TradingBotArgs argument`);
    });

    it("the stack's config can set every argument of the bot (secrets are the secret keys)", () => {
        for (const [top, value] of Object.entries(spec)) {
            const leaves = value !== null && typeof value === "object" && !Array.isArray(value) && top !== "placement"
                ? Object.keys(value).map((k) => `${top}.${k}`)
                : [top];
            for (const leaf of leaves) {
                assert.ok(argPaths.some((p) => p === leaf || leaf.startsWith(`${p}.`) || p.startsWith(`${leaf}.`)), `no config key sets ${leaf}`);
            }
        }
    });
});
