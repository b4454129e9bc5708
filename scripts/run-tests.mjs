// Runs every *.test.ts under packages/*/test and test/ with node:test through tsx.
// Node 20 has no test globs, so the files are listed here. Extra arguments filter by path substring.
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const filters = process.argv.slice(2);

function walk(dir) {
  if (!fs.existsSync(dir)) return [];
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((d) => {
    const full = path.join(dir, d.name);
    if (d.isDirectory()) return d.name === "node_modules" ? [] : walk(full);
    return d.name.endsWith(".test.ts") ? [full] : [];
  });
}

const dirs = [
  ...fs.readdirSync(path.join(root, "packages")).map((p) => path.join(root, "packages", p, "test")),
  path.join(root, "test"),
];
const files = dirs
  .flatMap(walk)
  .map((f) => path.relative(root, f))
  .filter((f) => filters.length === 0 || filters.some((s) => f.includes(s)))
  .sort();
if (files.length === 0) {
  console.error("no test files matched");
  process.exit(1);
}
console.log(`running ${files.length} test files`);
const result = spawnSync(
  process.execPath,
  // A test that hangs (a socket left open after a failure) fails after 2 minutes instead of holding CI up.
  ["--import", "tsx", "--test", "--test-concurrency=2", "--test-timeout=120000", "--test-reporter=spec", ...files],
  { cwd: root, stdio: "inherit" },
);
process.exit(result.status ?? 1);
