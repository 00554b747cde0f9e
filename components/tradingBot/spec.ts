import { SecretKey } from "../../contract";
import { Known } from "../inputs";
import type { TradingBotArgs } from "./args";

/** The argument groups of TradingBotArgs (image, autoscaling, ...): a resolved group has every member. */
type Group = "image" | "autoscaling" | "resources" | "placement" | "networkPolicy" | "storage" | "ingress" | "database" | "redis" | "trading";

/** A group with every member given. */
type Resolved<T> = { [K in keyof T]-?: Exclude<T[K], undefined> };

/**
 * Everything one bot is made of, every default applied: what the builders read. It is
 * TradingBotArgs (args.ts) with every argument given, plus the name (derived, not written out
 * again: an argument added there is here too); resolveArgs makes one. Values the builders only
 * pass on into objects are `pulumi.Input`s; values that decide which objects exist are plain.
 * The stack's config layer extends its known form (config/settings.ts).
 */
export type BotSpec =
    & { name: string }
    & { [K in Group]-?: Resolved<Exclude<TradingBotArgs[K], undefined>> }
    & { [K in Exclude<keyof TradingBotArgs, Group | "secrets">]-?: Exclude<TradingBotArgs[K], undefined> };

/** A BotSpec whose values are all known (the stack's config layer has nothing else). */
export type KnownBotSpec = Known<BotSpec>;

/** What the safety rules look at: the spec, and which secret values are given (never the values). */
export interface RuleSubject extends BotSpec {
    secretsSet: Record<SecretKey, boolean>;
}
