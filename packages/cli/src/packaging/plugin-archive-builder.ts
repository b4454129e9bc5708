/**
 * `build`: packs a plugin folder into a `.neko-plugin` archive (docs/packaging.md). The selected files are copied into
 * a private staging folder and hashed there, so the checksums describe exactly the bytes that are packed; the archive
 * is written beside its destination and renamed into place, so a failed build leaves no half archive.
 */
import { createHash } from "node:crypto";
import { mkdir, mkdtemp, readFile, rename, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { inspectPluginFolder } from "@neko/host";
import { create } from "tar";
import { checkPluginFolder } from "../check/plugin-check.ts";
import {
  ARCHIVE_EXTENSION,
  ARCHIVE_FORMAT,
  ARCHIVE_INDEX_FILE,
  type ArchiveIndex,
  MAX_MEMBERS,
  MAX_UNPACKED_BYTES,
} from "./archive-index.ts";
import { selectPluginFiles } from "./plugin-file-selection.ts";

export interface BuildArchiveOptions {
  /** The plugin folder. */
  dir: string;
  /** Default: `<id>-<version>.neko-plugin` in the current folder. */
  out?: string;
  /** Type-check the plugin's TypeScript as part of its check (default true). */
  typeCheck?: boolean;
  onProgress?: (line: string) => void;
}

export type BuildArchiveResult =
  | {
      ok: true;
      archivePath: string;
      index: ArchiveIndex;
      excluded: Array<{ path: string; reason: string }>;
      warnings: string[];
    }
  | { ok: false; error: string };

/** Archives are reproducible: every member gets this mtime, and `portable` drops owner and host details. */
const FIXED_MTIME = new Date("2000-01-01T00:00:00Z");

export async function buildPluginArchive(options: BuildArchiveOptions): Promise<BuildArchiveResult> {
  const progress = options.onProgress ?? (() => undefined);
  const dir = path.resolve(options.dir);
  progress(`checking ${dir}`);
  // What does not pass `neko-plugin check` is not packed: an archive of a plugin that cannot load helps nobody.
  const report = await checkPluginFolder(dir, { typeCheck: options.typeCheck ?? true, onProgress: progress });
  if (!report.ok) {
    const failures = report.items.filter((item) => item.level === "fail");
    const lines = failures.map((item) => `${item.check}: ${item.message}${item.fix ? ` (fix: ${item.fix})` : ""}`);
    return { ok: false, error: `${dir} does not pass neko-plugin check:\n  ${lines.join("\n  ")}` };
  }
  const checkWarnings = report.items
    .filter((item) => item.level === "warn")
    .map((item) => `${item.check}: ${item.message}`);
  const plugin = await inspectPluginFolder(dir);
  if (plugin.status === "refused" || plugin.manifest === undefined) {
    return { ok: false, error: `${dir} is not a valid plugin:\n  ${plugin.problems.join("\n  ")}` };
  }
  const { manifest } = plugin;
  let selection: Awaited<ReturnType<typeof selectPluginFiles>>;
  try {
    selection = await selectPluginFiles(dir);
  } catch (error) {
    return { ok: false, error: `cannot read ${dir}: ${(error as Error).message}` };
  }
  const problems = [...selection.problems];
  if (!selection.files.includes(manifest.entry.module)) {
    problems.push(`the entry module '${manifest.entry.module}' would not be packed (it is excluded or not a file)`);
  }
  if (selection.files.length + 1 > MAX_MEMBERS) problems.push(`more than ${MAX_MEMBERS} files`);
  if (problems.length > 0) return { ok: false, error: `cannot pack ${dir}:\n  ${problems.join("\n  ")}` };

  const archivePath = path.resolve(options.out ?? `${manifest.id}-${manifest.version}${ARCHIVE_EXTENSION}`);
  const staging = await mkdtemp(path.join(os.tmpdir(), "neko-plugin-build-"));
  const partial = `${archivePath}.partial-${process.pid}`;
  try {
    progress(`packing ${selection.files.length} files (${selection.excluded.length} excluded)`);
    const index: ArchiveIndex = {
      format: ARCHIVE_FORMAT,
      id: manifest.id,
      version: manifest.version,
      sdk: definedRanges(manifest.sdk),
      files: [],
    };
    let total = 0;
    for (const file of selection.files) {
      const data = await readFile(path.join(dir, file));
      total += data.length;
      if (total > MAX_UNPACKED_BYTES) {
        return { ok: false, error: `cannot pack ${dir}: its files add up to more than install accepts (256 MiB)` };
      }
      await mkdir(path.dirname(path.join(staging, file)), { recursive: true });
      await writeFile(path.join(staging, file), data);
      index.files.push({ path: file, size: data.length, sha256: createHash("sha256").update(data).digest("hex") });
    }
    await writeFile(path.join(staging, ARCHIVE_INDEX_FILE), `${JSON.stringify(index, null, 2)}\n`);
    await create({ gzip: true, file: partial, cwd: staging, portable: true, mtime: FIXED_MTIME, noDirRecurse: true }, [
      ARCHIVE_INDEX_FILE,
      ...selection.files,
    ]);
    await rename(partial, archivePath);
    progress(`wrote ${archivePath}`);
    return { ok: true, archivePath, index, excluded: selection.excluded, warnings: checkWarnings };
  } catch (error) {
    return { ok: false, error: `cannot write ${archivePath}: ${(error as Error).message}` };
  } finally {
    await rm(partial, { force: true });
    await rm(staging, { recursive: true, force: true });
  }
}

/** The ranges as written; a `conflicts` list becomes one range with `||` (any of them matches, as the list means). */
function definedRanges(sdk: Record<string, string | string[] | undefined> | undefined): Record<string, string> {
  return Object.fromEntries(
    Object.entries(sdk ?? {}).flatMap(([name, range]) =>
      range === undefined ? [] : [[name, Array.isArray(range) ? range.join(" || ") : range]],
    ),
  );
}
