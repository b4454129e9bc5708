/**
 * `neko-plugin init <id>`: a new plugin folder that works as written — manifest, code with one entry, its test, a
 * tsconfig against the installed framework, a README (packages/cli/src/scaffold/). The folder is written beside
 * itself and renamed into place, so an existing folder is never touched and a failure leaves nothing behind.
 */
import fs from "node:fs";
import path from "node:path";
import type { Command } from "commander";
import { PLUGIN_ID_PATTERN } from "@neko/protocol";
import type { PluginKind } from "../scaffold/code-templates.ts";
import { pluginScaffold } from "../scaffold/plugin-scaffold.ts";
import { pluginCompilerOptions } from "../sdk-location.ts";

interface InitOptions {
  type: string;
  dir?: string;
  name?: string;
  host: string;
  prefix?: string;
  json?: boolean;
}

const KINDS: PluginKind[] = ["plugin", "extension", "adapter"];
const EXIT_FAILED = 1;
const EXIT_USAGE = 2;
const ID_RULE = `letters, digits, '_' and '-', 1 to 128 of them (${PLUGIN_ID_PATTERN})`;

/** A refusal: the message names the problem; `code` is the exit code. */
class InitRefused extends Error {
  constructor(
    message: string,
    readonly code: number,
  ) {
    super(message);
  }
}

export function registerInitCommand(program: Command): void {
  program
    .command("init")
    .description("make a new plugin folder that works as written: plugin.toml, index.ts, its test, tsconfig, README")
    .argument("<id>", "the plugin id, also the folder's name")
    .option("-t, --type <type>", "plugin, extension or adapter", "plugin")
    .option("-d, --dir <dir>", "the folder to make it in (default: the current folder)")
    .option("-n, --name <name>", "the display name (default: the id)")
    .option("--host <id>", "for an extension: the plugin it extends", "hello_world")
    .option("--prefix <prefix>", "for an extension: the prefix of its entries in the host plugin (default: <id>_)")
    .option("--json", "print what was written as JSON")
    .addHelpText(
      "after",
      "\nExamples:\n" +
        "  $ neko-plugin init weather\n" +
        "  $ neko-plugin init weather --dir ./my-plugins --name 'Weather'\n" +
        "  $ neko-plugin init shouting --type extension --host hello_world\n" +
        "  $ neko-plugin init line_adapter --type adapter\n\n" +
        "Then: cd <id> && neko-plugin test . (see its README.md).\n" +
        "Exit code: 0 when written, 1 when the folder exists and is not empty (nothing is written), 2 for a usage\n" +
        "error (a bad id or type).",
    )
    .exitOverride((error) => process.exit(error.exitCode === 0 ? 0 : EXIT_USAGE))
    .action(async (id: string, options: InitOptions) => {
      try {
        await init(id, options);
      } catch (error) {
        if (!(error instanceof InitRefused)) throw error;
        process.stderr.write(`neko-plugin init: ${error.message}\n`);
        process.exitCode = error.code;
      }
    });
}

async function init(id: string, options: InitOptions): Promise<void> {
  const type = options.type as PluginKind;
  if (!KINDS.includes(type)) {
    throw new InitRefused(`--type must be one of ${KINDS.join(", ")}, not '${options.type}'`, EXIT_USAGE);
  }
  if (!PLUGIN_ID_PATTERN.test(id)) throw new InitRefused(`the plugin id '${id}' must be ${ID_RULE}`, EXIT_USAGE);
  if (type === "extension" && !PLUGIN_ID_PATTERN.test(options.host)) {
    throw new InitRefused(`--host '${options.host}' must be a plugin id: ${ID_RULE}`, EXIT_USAGE);
  }
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what a display name may not hold
  if (options.name !== undefined && (options.name.trim() === "" || /[\u0000-\u001f\u007f]/.test(options.name))) {
    throw new InitRefused("--name must be some text on one line, without control characters", EXIT_USAGE);
  }
  const parent = path.resolve(options.dir ?? ".");
  const target = path.join(parent, id);
  if (fs.existsSync(target) && (!fs.statSync(target).isDirectory() || fs.readdirSync(target).length > 0)) {
    throw new InitRefused(`${target} exists and is not an empty folder; nothing was written`, EXIT_FAILED);
  }
  const scaffold = pluginScaffold({
    id,
    type,
    name: options.name,
    hostPluginId: options.host,
    prefix: options.prefix ?? `${id}_`,
    compilerOptions: pluginCompilerOptions(),
  });

  let staging: string;
  try {
    fs.mkdirSync(parent, { recursive: true });
    staging = fs.mkdtempSync(path.join(parent, `.${id}.init-`));
  } catch (error) {
    throw new InitRefused(`cannot write in ${parent}: ${(error as Error).message}`, EXIT_FAILED);
  }
  try {
    // mkdtemp makes it private (0700); the plugin folder gets a new folder's usual mode.
    fs.chmodSync(staging, 0o777 & ~process.umask());
    for (const [name, text] of Object.entries(scaffold.files)) fs.writeFileSync(path.join(staging, name), text);
    // The host reads the manifest as it will at start-up: what it refuses (a reserved id, say) is refused here.
    // The host's code is loaded only here, once the files are written (`init --help` and refusals stay quick).
    const { inspectPluginFolder } = await import("@neko/host");
    const { problems } = await inspectPluginFolder(staging);
    if (problems.length > 0) throw new InitRefused(problems.join("; "), EXIT_USAGE);
    fs.renameSync(staging, target);
  } catch (error) {
    fs.rmSync(staging, { recursive: true, force: true });
    if (error instanceof InitRefused) throw error;
    throw new InitRefused(`could not write ${target}: ${(error as Error).message}`, EXIT_FAILED);
  }

  const files = Object.keys(scaffold.files);
  if (options.json) {
    process.stdout.write(`${JSON.stringify({ id, type, dir: target, files, call: scaffold.callTarget }, null, 2)}\n`);
    return;
  }
  const { pluginId, entryId, args } = scaffold.callTarget;
  const relative = path.relative(process.cwd(), target);
  process.stdout.write(
    `made ${type} '${id}' in ${target}: ${files.join(", ")}\n\n` +
      `  cd ${relative.startsWith("..") ? target : relative}\n` +
      "  neko-plugin test .\n" +
      "  neko-plugin serve --plugins-dir ..\n" +
      `  neko-plugin call ${pluginId}:${entryId} --args '${JSON.stringify(args)}'\n`,
  );
}
