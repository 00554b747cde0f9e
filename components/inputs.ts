import * as pulumi from "@pulumi/pulumi";

/** A value with every pulumi.Input in it resolved: what the value is once known. */
export type Known<T> =
    T extends pulumi.OutputInstance<infer U> ? Known<U>
    : T extends Promise<infer U> ? Known<U>
    : T extends readonly unknown[] ? T
    : T extends object ? { [K in keyof T]: Known<T[K]> }
    : T;

/** The value when it is a plain one (known now), else undefined (an Output or a Promise). */
export function plain<T>(value: pulumi.Input<T>): T | undefined {
    return pulumi.Output.isInstance(value) || value instanceof Promise ? undefined : (value as T);
}

/**
 * Strings joined: a plain string when every part is one (so a value known now stays a plain
 * value in the resource's inputs), else an Output.
 */
export function concat(...parts: pulumi.Input<string>[]): pulumi.Input<string> {
    if (parts.every((p) => typeof p === "string")) return (parts as string[]).join("");
    return pulumi.all(parts).apply((values) => values.join(""));
}

/** `f(value)`: applied now when the value is plain, else through the Output. */
export function mapInput<T, R>(value: pulumi.Input<T>, f: (v: T) => R): pulumi.Input<R> {
    const known = plain(value);
    return known !== undefined ? f(known) : pulumi.output(value).apply((v) => f(v as T));
}
