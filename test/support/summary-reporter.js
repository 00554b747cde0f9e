// Mocha's spec reporter, plus a machine-readable count: each run appends "<passed> <failed>"
// to $TEST_SUMMARY_FILE so that scripts/test.sh can print one closing "N passed, N failed" line.
const Mocha = require("mocha");
const fs = require("fs");

class SummaryReporter extends Mocha.reporters.Spec {
    constructor(runner, options) {
        super(runner, options);
        runner.once(Mocha.Runner.constants.EVENT_RUN_END, () => {
            const file = process.env.TEST_SUMMARY_FILE;
            if (file) fs.appendFileSync(file, `${runner.stats.passes} ${runner.stats.failures}\n`);
        });
    }
}

module.exports = SummaryReporter;
