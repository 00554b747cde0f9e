// Where the engine starts the pack (package.json "main"). The TypeScript sources load through
// the project's transpile cache (runtime/register.js): transpiled without type-checking and
// cached, so a preview does not spend seconds type-checking the pack. `npm test` type-checks it
// (its type-check reaches every file of the pack through test/unit/policy.test.ts).
require("../runtime/register.js");
require("./index.ts");
