// Runs every *.test.ts under packages/*/test and test/ with node:test through tsx.
// Node 20 has no test globs, so the files are listed here. Extra arguments filter by path substring.
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

// The runner itself: this script started again by the code at the end, with tsx loaded and the files in order as its
// arguments. `node --test file…` sorts the files by name whatever order they are given in; run() keeps the order.
// Its children get this process's flags (tsx, the concurrency and the timeout), as under `node --test`.
if (process.env.NEKO_RUN_TESTS_RUNNER === "1") {
  delete process.env.NEKO_RUN_TESTS_RUNNER;
  const { run } = await import("node:test");
  const { spec } = await import("node:test/reporters");
  // `timeout` bounds a whole file here (--test-timeout below bounds each test): a file that hangs fails after 5 minutes
  // instead of holding CI up, and a long one on a loaded machine (the quick start, ~2 min) is not cut short.
  const stream = run({ files: process.argv.slice(2), concurrency: 2, timeout: 300_000 });
  stream.on("test:fail", (data) => {
    if (!data.todo) process.exitCode = 1;
  });
  stream.compose(new spec()).pipe(process.stdout);
  await new Promise((resolve) => stream.once("end", resolve));
} else {
  main();
}

function main() {
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
  // node:test starts the files in the order given, two at a time. The soak goes first: sorted by name it came last
  // and ran alone for a minute while the other slot had nothing left to do. The other long files keep their places
  // (their neighbours as before): the quick start and init-command, put first together, slowed each other down.
  const FIRST = ["test/soak.test.ts"];
  const rank = (f) => {
    const i = FIRST.indexOf(f);
    return i === -1 ? FIRST.length : i;
  };
  const files = dirs
    .flatMap(walk)
    .map((f) => path.relative(root, f))
    .filter((f) => filters.length === 0 || filters.some((s) => f.includes(s)))
    .sort()
    .sort((a, b) => rank(a) - rank(b));
  if (files.length === 0) {
    console.error("no test files matched");
    process.exit(1);
  }
  console.log(`running ${files.length} test files`);
  const result = spawnSync(
    process.execPath,
    // A test that hangs (a socket left open after a failure) fails after 2 minutes unless it asks for longer.
    ["--import", "tsx", "--test-concurrency=2", "--test-timeout=120000", fileURLToPath(import.meta.url), ...files],
    { cwd: root, stdio: "inherit", env: { ...process.env, NEKO_RUN_TESTS_RUNNER: "1" } },
  );
  process.exit(result.status ?? 1);
}
