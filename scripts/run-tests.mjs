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
  // NEKO_TEST_CONCURRENCY: how many files run at once (default 2; the tests mostly wait on child processes, but timing
  // tests get flaky when the cores are full).
  const concurrency = Number(process.env.NEKO_TEST_CONCURRENCY ?? 2);
  const stream = run({ files: process.argv.slice(2), concurrency, timeout: 300_000 });
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
  // node:test starts the files in the order given, `concurrency` at a time, and the suite lasts until its last file
  // ends: the long files go first, longest first (their times in a full run, issue 15), so the tail is short files
  // filling both slots instead of one long file running alone while the other slot idles (sorted by name, the soak
  // came last and ran alone for a minute). Every other file keeps the name order.
  // Seconds in the last full run, rounded (since then plugin processes start faster: hot-reload takes ~40 s alone).
  const FIRST = [
    "test/e2e/hot-reload.e2e.test.ts", // 80
    "test/e2e/quick-start.e2e.test.ts", // 69
    "test/e2e/init-command.e2e.test.ts", // 63
    "test/e2e/check-failures.e2e.test.ts", // 59
    "test/e2e/check-python.e2e.test.ts", // 54
    "test/e2e/check-command.e2e.test.ts", // 54
    "test/e2e/extensions.e2e.test.ts", // 47
    "test/soak.test.ts", // 60; 43-47 alone since its load is 30 s instead of 45 s
    "test/e2e/manager-page.e2e.test.ts", // 40
    "test/e2e/python-plugins.e2e.test.ts", // 39
    "packages/cli/test/serve-command.test.ts", // 36
    "test/e2e/mcp-server.e2e.test.ts", // 36
    "packages/cli/test/dev-command.e2e.test.ts", // 35
    "test/e2e/remote-workers.e2e.test.ts", // 34
    "packages/cli/test/client-commands.test.ts", // 34
    "packages/cli/test/plugin-archive.test.ts", // 33
    "packages/cli/test/worker-commands.test.ts", // 32
    "test/e2e/config-schema.e2e.test.ts", // 32
    "test/e2e/mcp-client.e2e.test.ts", // 32
    "test/e2e/init-extension.e2e.test.ts", // 30
    "test/e2e/python-interpreter-probe.e2e.test.ts", // 29
    "test/e2e/config-profiles-hostile.e2e.test.ts", // 28
    "test/e2e/error-shapes.e2e.test.ts", // 28
    "test/e2e/plugin-server.e2e.test.ts", // 24
    "packages/cli/test/plugin-archive.e2e.test.ts", // 22
    "test/e2e/ported-plugin.e2e.test.ts", // 22
    "test/e2e/plugin-freeze.e2e.test.ts", // 20
  ];
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
    [
      "--import",
      "tsx",
      `--test-concurrency=${process.env.NEKO_TEST_CONCURRENCY ?? 2}`,
      "--test-timeout=120000",
      fileURLToPath(import.meta.url),
      ...files,
    ],
    { cwd: root, stdio: "inherit", env: { ...process.env, NEKO_RUN_TESTS_RUNNER: "1" } },
  );
  process.exit(result.status ?? 1);
}
