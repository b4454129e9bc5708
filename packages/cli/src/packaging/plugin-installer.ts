/**
 * `install`: puts a verified archive into a plugins folder (docs/packaging.md#install). Nothing is written until the
 * whole archive is verified; the files land in a hidden temp folder beside the target and are checked as a plugin
 * there (`neko-plugin check` without the type-check); only then is the folder renamed into `<plugins-dir>/<id>`. With `force`, the installed version is kept as
 * `.<id>.previous` (hidden, so discovery never sees two plugins with one id) and its data/ moves to the new version.
 */
import { chmod, lstat, mkdir, mkdtemp, rename, rm, stat, writeFile } from "node:fs/promises";
import path from "node:path";
import { checkPluginFolder } from "../check/plugin-check.ts";
import type { ArchiveIndex } from "./archive-index.ts";
import { readPluginArchive } from "./plugin-archive-reader.ts";

export interface InstallArchiveOptions {
  archivePath: string;
  pluginsDir: string;
  /** Replace an installed plugin with the same id, keeping it as `.<id>.previous`. */
  force?: boolean;
  onProgress?: (line: string) => void;
}

export type InstallArchiveResult =
  | { ok: true; id: string; version: string; dir: string; previousDir?: string; index: ArchiveIndex }
  | { ok: false; error: string };

export async function installPluginArchive(options: InstallArchiveOptions): Promise<InstallArchiveResult> {
  const progress = options.onProgress ?? (() => undefined);
  progress(`verifying ${options.archivePath}`);
  const read = await readPluginArchive(options.archivePath);
  if (!read.ok) return read;
  const { index, files } = read.archive;
  const pluginsDir = path.resolve(options.pluginsDir);
  const pluginsDirKind = await stat(pluginsDir).then(
    (found) => (found.isDirectory() ? "folder" : "other"),
    () => "missing",
  );
  if (pluginsDirKind === "other") {
    return { ok: false, error: `the plugins folder ${pluginsDir} is not a folder; nothing was written` };
  }
  const target = path.join(pluginsDir, index.id);
  const targetExists = await exists(target);
  if (targetExists && !options.force) {
    return { ok: false, error: `${target} exists already; pass --force to replace it (the old one is kept)` };
  }

  let createdDir: string | undefined;
  let temp: string | undefined;
  let installed = false;
  try {
    createdDir = await mkdir(pluginsDir, { recursive: true });
    temp = await mkdtemp(path.join(pluginsDir, `.${index.id}.installing-`));
    await chmod(temp, 0o755); // mkdtemp makes it 0700; the installed folder should look like any other
    progress(`unpacking ${files.length} files`);
    for (const file of files) {
      const destination = path.join(temp, file.path);
      await mkdir(path.dirname(destination), { recursive: true });
      await writeFile(destination, file.data, { flag: "wx" });
    }
    // `neko-plugin check` as build runs it, less the type-check: build type-checked the sources already, and an
    // archive carries no node_modules/, so types a plugin takes from its own packages are not here to be found.
    // Nothing of the installed version is touched before the check passes.
    progress("checking the packed plugin");
    const report = await checkPluginFolder(temp, {
      typeCheck: false,
      // A Python plugin's code would run unconfined: an archive's is not run before it is installed.
      loadPython: false,
      onProgress: progress,
    });
    if (!report.ok) {
      const failures = report.items.filter((item) => item.level === "fail").map((item) => item.message);
      return { ok: false, error: `refused: the packed plugin does not load:\n  ${failures.join("\n  ")}` };
    }
    if (report.id !== index.id) {
      return {
        ok: false,
        error: `refused: plugin.toml says id '${report.id}' but the checksum list says '${index.id}'`,
      };
    }
    const result = { ok: true as const, id: index.id, version: index.version, dir: target, index };
    if (!targetExists) {
      await rename(temp, target);
      installed = true;
      progress(`installed ${index.id} ${index.version} in ${target}`);
      return result;
    }
    const previousDir = path.join(pluginsDir, `.${index.id}.previous`);
    // The data moves (a rename, never a copy): a plugin still running keeps writing to the same files, so nothing it
    // writes meanwhile is lost or torn (a copy of a store being written is not a store).
    const oldData = path.join(target, "data");
    const newData = path.join(temp, "data");
    const movedData = await exists(oldData);
    if (movedData) {
      progress(`moving ${oldData} to the new version`);
      await rename(oldData, newData);
    }
    const putDataBack = async () => {
      if (movedData) await rename(newData, oldData);
    };
    try {
      await rm(previousDir, { recursive: true, force: true });
      await rename(target, previousDir);
    } catch (error) {
      await putDataBack();
      throw error;
    }
    try {
      await rename(temp, target);
    } catch (error) {
      await rename(previousDir, target); // put the old version back where it was, with its data
      await putDataBack();
      throw error;
    }
    installed = true;
    progress(`installed ${index.id} ${index.version} in ${target}; the previous version is in ${previousDir}`);
    return { ...result, previousDir };
  } catch (error) {
    return { ok: false, error: `cannot install into ${target}: ${(error as Error).message}` };
  } finally {
    if (!installed && temp !== undefined) await rm(temp, { recursive: true, force: true });
    // A plugins folder made for this install goes too, so a refused install leaves nothing behind.
    if (!installed && createdDir !== undefined) await rm(createdDir, { recursive: true, force: true });
  }
}

async function exists(target: string): Promise<boolean> {
  try {
    await lstat(target);
    return true;
  } catch {
    return false;
  }
}
