/**
 * Collects every configuration problem so that they are all reported at once,
 * before any resource is created.
 */
interface Problem {
    /** The fully qualified config key, e.g. `trading-bot:riskPerTrade`. */
    key: string;
    /** The offending value as the user wrote it (never a secret value). */
    value: string;
    /** What is wrong and what would be valid. */
    message: string;
    /** The command or change that fixes it. */
    fix: string;
}

export class ConfigProblems {
    readonly items: Problem[] = [];

    add(problem: Problem): void {
        // A bad top-level value inherited by several bots is one problem, not one per bot.
        const same = (p: Problem) => p.key === problem.key && p.value === problem.value && p.message === problem.message;
        if (!this.items.some(same)) this.items.push(problem);
    }

    get empty(): boolean {
        return this.items.length === 0;
    }
}

/** Thrown when a stack's configuration is invalid. Lists every problem. */
export class InvalidConfigError extends Error {
    constructor(readonly stack: string, readonly problems: Problem[]) {
        super(formatProblems(stack, problems));
        this.name = "InvalidConfigError";
    }
}

function formatProblems(stack: string, problems: Problem[]): string {
    const lines = problems.map(
        (p, i) => `  ${i + 1}. ${p.key} = ${p.value}: ${p.message}\n     fix: ${p.fix}`,
    );
    const noun = problems.length === 1 ? "problem" : "problems";
    return `stack '${stack}' has ${problems.length} configuration ${noun}; nothing was deployed:\n${lines.join("\n")}`;
}
