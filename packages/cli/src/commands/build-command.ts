/** `neko-plugin build <dir>`: pack a plugin as a `.neko-plugin` archive (docs/packaging.md). */
import type { Command } from "commander";
import { buildPluginArchive } from "../packaging/plugin-archive-builder.ts";

interface BuildOptions {
  out?: string;
  json?: boolean;
  typeCheck: boolean;
}

export function registerBuildCommand(program: Command): void {
  program
    .command("build")
    .description("pack a plugin folder as a .neko-plugin archive (manifest, code, static files, SHA-256 list)")
    .argument("<dir>", "the plugin folder (holding plugin.toml)")
    .option("-o, --out <file>", "where to write the archive (default: ./<id>-<version>.neko-plugin)")
    .option("--json", "print the result as JSON on stdout")
    .option("--no-type-check", "leave the TypeScript type-check out of the check that runs first")
    .addHelpText(
      "after",
      [
        "",
        "Runs neko-plugin check first and packs nothing when a check fails.",
        "Leaves out data/, node_modules/, dotfiles (.env, .git, …), *.pem/*.key/id_rsa-like files and other archives.",
        "",
        "Example:",
        "  $ neko-plugin build plugins/hello_world --out dist/hello_world.neko-plugin",
      ].join("\n"),
    )
    .action(async (dir: string, options: BuildOptions) => {
      process.exitCode = await build(dir, options);
    });
}

async function build(dir: string, options: BuildOptions): Promise<number> {
  const result = await buildPluginArchive({
    dir,
    out: options.out,
    typeCheck: options.typeCheck,
    onProgress: (line) => process.stderr.write(`${line}\n`),
  });
  if (!result.ok) {
    process.stderr.write(`neko-plugin build: ${result.error}\n`);
    if (options.json) process.stdout.write(`${JSON.stringify({ ok: false, error: result.error })}\n`);
    return 1;
  }
  for (const warning of result.warnings) process.stderr.write(`warning: ${warning}\n`);
  if (options.json) {
    const { archivePath, index, excluded, warnings } = result;
    const answer = { ok: true, archive: archivePath, id: index.id, version: index.version, files: index.files };
    process.stdout.write(`${JSON.stringify({ ...answer, excluded, warnings })}\n`);
  } else {
    process.stdout.write(`${result.archivePath}\n`);
  }
  return 0;
}
