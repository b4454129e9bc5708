/** `neko-plugin check <dir>`: what would stop a plugin folder from loading, with the fix for each (docs/cli.md#check). */
import fs from "node:fs";
import path from "node:path";
import type { Command, CommanderError } from "commander";
import { checkPluginFolder, formatCheckReport } from "../check/plugin-check.ts";

interface CheckCommandOptions {
  json?: boolean;
  typeCheck: boolean;
  pluginsDir?: string[];
}

const EXIT_FAILED = 1;
const EXIT_USAGE = 2;

export function registerCheckCommand(program: Command): void {
  program
    .command("check")
    .description(
      "check a plugin folder: manifest, SDK range, dependencies, its module loaded in a child process " +
        "(class, decorators, entries, schemas) and its TypeScript",
    )
    .argument("<dir>", "the plugin folder (holding plugin.toml)")
    .option("--json", "print the report as JSON on stdout ({ ok, id, dir, items: [{ level, check, message, fix }] })")
    .option("--no-type-check", "skip the TypeScript type-check (the slow step)")
    .option(
      "-d, --plugins-dir <dir>",
      "where the plugins it depends on are installed (repeatable)",
      (dir: string, dirs: string[] | undefined) => [...(dirs ?? []), dir],
    )
    .addHelpText(
      "after",
      [
        "",
        "Examples:",
        "  $ neko-plugin check plugins/hello_world",
        "  $ neko-plugin check ./my_plugin --plugins-dir ~/neko/plugins --json",
        "  $ neko-plugin check ./my_plugin --no-type-check",
        "",
        "Exit code: 0 when nothing failed (warnings allowed), 1 when a check failed, 2 for a usage error.",
      ].join("\n"),
    )
    .exitOverride((error: CommanderError) => {
      process.exit(error.exitCode === 0 ? 0 : EXIT_USAGE);
    })
    .action(async (dir: string, options: CheckCommandOptions) => {
      process.exitCode = await check(dir, options);
    });
}

async function check(dir: string, options: CheckCommandOptions): Promise<number> {
  if (!fs.statSync(dir, { throwIfNoEntry: false })?.isDirectory()) {
    process.stderr.write(`neko-plugin check: ${path.resolve(dir)} is not a folder\n`);
    return EXIT_USAGE;
  }
  const report = await checkPluginFolder(dir, {
    typeCheck: options.typeCheck,
    pluginsDirs: options.pluginsDir,
    // Progress only for a person watching: a pipe or a log gets the report alone.
    ...(process.stderr.isTTY && { onProgress: (line: string) => process.stderr.write(`${line}\n`) }),
  });
  if (options.json) {
    process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
  } else {
    const color = process.stdout.isTTY === true && !process.env.NO_COLOR;
    process.stdout.write(formatCheckReport(report, { color }));
  }
  return report.ok ? 0 : EXIT_FAILED;
}
