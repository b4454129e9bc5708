/**
 * `neko-plugin test [dir]`: runs a plugin folder's `*.test.ts` files with `node:test`, from the folder, with the
 * module hooks of a plugin process (the SDK's bin/plugin-test-hooks.mjs), so `@neko/plugin-sdk/testing` resolves and
 * TypeScript runs with no install in the folder. The exit code is node's.
 */
import { spawn } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import type { Command } from "commander";
import { sdkRoot } from "../sdk-location.ts";

const TEST_FILE = /\.test\.(ts|mts|js|mjs)$/;
/** Folders that hold no tests of the plugin's own (hidden ones neither). */
const SKIPPED = new Set(["data", "node_modules"]);

export function registerTestCommand(program: Command): void {
  program
    .command("test")
    .description("run a plugin folder's *.test.ts files with node:test (see docs/testing.md)")
    .argument("[dir]", "the plugin folder", ".")
    .option("--timeout <seconds>", "fail a test that runs longer than this", "120")
    .addHelpText(
      "after",
      "\nExamples:\n  $ neko-plugin test\n  $ neko-plugin test ./plugins/weather --timeout 30\n\n" +
        "Exit code: node --test's (0 when every test passed); 1 when the folder has no plugin.toml or no test files;\n" +
        "2 for a bad option. The run ends when the tests do, even if a test forgot to stop its plugin.",
    )
    .action(async (dir: string, options: { timeout: string }) => {
      const seconds = Number(options.timeout);
      if (!Number.isFinite(seconds) || seconds <= 0) {
        process.stderr.write(
          `neko-plugin test: --timeout must be a number of seconds above 0 (got '${options.timeout}')\n`,
        );
        process.exitCode = 2;
        return;
      }
      process.exitCode = await runTests(path.resolve(dir), Math.round(seconds * 1000));
    });
}

async function runTests(dir: string, timeoutMs: number): Promise<number> {
  if (!fs.existsSync(path.join(dir, "plugin.toml"))) {
    process.stderr.write(`neko-plugin test: ${dir} is not a plugin folder (it has no plugin.toml)\n`);
    return 1;
  }
  const files = testFiles(dir, dir);
  if (files.length === 0) {
    process.stderr.write(`neko-plugin test: no *.test.ts files in ${dir}\n`);
    return 1;
  }
  const hooks = path.join(sdkRoot(), "bin", "plugin-test-hooks.mjs");
  // Node 20's --test takes no globs: the files are named one by one.
  // A run of its own even when started from inside another node:test run (which would take its output otherwise).
  const { NODE_TEST_CONTEXT: _, ...env } = process.env;
  // --test-force-exit: a test plugin a failed test never stopped does not keep the run open (its process and temp
  // folder go when the test process exits).
  const args = ["--import", hooks, "--test", "--test-force-exit", `--test-timeout=${timeoutMs}`, ...files];
  const child = spawn(process.execPath, args, { cwd: dir, env, stdio: "inherit" });
  const forward = (signal: NodeJS.Signals) => child.kill(signal);
  process.on("SIGINT", forward).on("SIGTERM", forward);
  try {
    return await new Promise<number>((resolve, reject) => {
      child.on("error", reject);
      child.on("exit", (code, signal) => resolve(code ?? (signal ? 1 : 0)));
    });
  } finally {
    process.off("SIGINT", forward).off("SIGTERM", forward);
  }
}

/** The test files under `dir`, relative to `root`, sorted. */
function testFiles(dir: string, root: string): string[] {
  if (!fs.existsSync(dir)) return [];
  return fs
    .readdirSync(dir, { withFileTypes: true })
    .flatMap((d) => {
      const full = path.join(dir, d.name);
      if (d.isDirectory()) return SKIPPED.has(d.name) || d.name.startsWith(".") ? [] : testFiles(full, root);
      return TEST_FILE.test(d.name) ? [path.relative(root, full)] : [];
    })
    .sort();
}
