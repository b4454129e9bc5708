/** `neko-plugin install <file>`: verify a `.neko-plugin` archive and unpack it into a plugins folder. */
import path from "node:path";
import type { Command } from "commander";
import { installPluginArchive } from "../packaging/plugin-installer.ts";

interface InstallOptions {
  pluginsDir?: string;
  force?: boolean;
  json?: boolean;
}

export function registerInstallCommand(program: Command): void {
  program
    .command("install")
    .description("verify a .neko-plugin archive (paths, checksums, size) and unpack it as <plugins-dir>/<id>")
    .argument("<file>", "the archive made by neko-plugin build")
    .option("--plugins-dir <dir>", "the plugins folder to install into (default: the first of NEKO_PLUGIN_DIRS)")
    .option("--force", "replace an installed plugin with the same id; the old one is kept as .<id>.previous")
    .option("--json", "print the result as JSON on stdout")
    .addHelpText(
      "after",
      [
        "",
        "Examples:",
        "  $ neko-plugin install hello_world-0.1.0.neko-plugin --plugins-dir ~/neko/plugins",
        "  $ NEKO_PLUGIN_DIRS=~/neko/plugins neko-plugin install hello_world-0.2.0.neko-plugin --force",
      ].join("\n"),
    )
    .action(async (file: string, options: InstallOptions) => {
      process.exitCode = await install(file, options);
    });
}

async function install(file: string, options: InstallOptions): Promise<number> {
  const fail = (error: string) => {
    process.stderr.write(`neko-plugin install: ${error}\n`);
    if (options.json) process.stdout.write(`${JSON.stringify({ ok: false, error })}\n`);
    return 1;
  };
  const pluginsDir = options.pluginsDir ?? firstEnvPluginsDir(process.env);
  if (pluginsDir === undefined) {
    return fail("no plugins folder: pass --plugins-dir DIR or set NEKO_PLUGIN_DIRS");
  }
  const result = await installPluginArchive({
    archivePath: file,
    pluginsDir,
    force: options.force,
    onProgress: (line) => process.stderr.write(`${line}\n`),
  });
  if (!result.ok) return fail(result.error);
  if (options.json) {
    const { id, version, dir, previousDir } = result;
    process.stdout.write(`${JSON.stringify({ ok: true, id, version, dir, previous_dir: previousDir ?? null })}\n`);
  } else {
    process.stdout.write(`${result.dir}\n`);
  }
  return 0;
}

function firstEnvPluginsDir(env: NodeJS.ProcessEnv): string | undefined {
  return (env.NEKO_PLUGIN_DIRS ?? "").split(path.delimiter).find((dir) => dir !== "");
}
