/**
 * Which files of a plugin folder go into its archive (docs/packaging.md#what-goes-in): everything but runtime data,
 * dependencies, dotfiles, secret-looking files and earlier archives. Links and special files are refused, not skipped:
 * a link can point anywhere, and leaving it out silently could break the plugin.
 */
import type { Dirent } from "node:fs";
import { readdir } from "node:fs/promises";
import path from "node:path";
import { ARCHIVE_EXTENSION, ARCHIVE_INDEX_FILE } from "./archive-index.ts";

export interface PluginFileSelection {
  /** Paths relative to the plugin folder, `/`-separated, sorted. */
  files: string[];
  excluded: Array<{ path: string; reason: string }>;
  /** Anything that makes the folder unpackable (a link, a device, a name clash). */
  problems: string[];
}

/** File names that usually hold keys or credentials; dotfiles (`.env*`, `.npmrc`, …) are excluded on their own. */
const SECRET_NAME_PATTERNS: Array<[RegExp, string]> = [
  [/\.(pem|key|p12|pfx|jks|keystore|gpg)$/i, "a key or certificate file"],
  [/^id_(rsa|dsa|ecdsa|ed25519)/i, "an SSH key"],
  [/^(credentials|secrets?)([._-].*)?$/i, "a credentials file"],
  [/\.secret(s)?(\.[a-z0-9]+)?$/i, "a credentials file"],
  [/^service[-_]?account.*\.json$/i, "a cloud service-account key"],
  [/^kubeconfig$/i, "a Kubernetes credentials file"],
  [/\.(log|sqlite|sqlite3|db)$/i, "a log or database file (runtime data, not code)"],
];

export async function selectPluginFiles(dir: string): Promise<PluginFileSelection> {
  const selection: PluginFileSelection = { files: [], excluded: [], problems: [] };
  await walk(dir, "", selection);
  selection.files.sort();
  if (selection.files.includes(ARCHIVE_INDEX_FILE)) {
    selection.problems.push(`${ARCHIVE_INDEX_FILE}: this name is the archive's own index; rename the plugin's file`);
  }
  return selection;
}

async function walk(root: string, relDir: string, selection: PluginFileSelection): Promise<void> {
  const entries: Dirent[] = await readdir(path.join(root, relDir), { withFileTypes: true });
  entries.sort((a, b) => a.name.localeCompare(b.name));
  for (const entry of entries) {
    const rel = relDir === "" ? entry.name : `${relDir}/${entry.name}`;
    const reason = exclusionReason(entry, relDir === "");
    if (reason !== undefined) {
      selection.excluded.push({ path: rel, reason });
    } else if (entry.isDirectory()) {
      await walk(root, rel, selection);
    } else if (entry.isFile()) {
      selection.files.push(rel);
    } else if (entry.isSymbolicLink()) {
      selection.problems.push(`${rel}: is a link; archives hold no links (copy the file in, or remove the link)`);
    } else {
      selection.problems.push(`${rel}: is not a regular file or folder`);
    }
  }
}

function exclusionReason(entry: Dirent, topLevel: boolean): string | undefined {
  const { name } = entry;
  if (name.startsWith(".")) return "a dotfile";
  if (entry.isDirectory()) {
    if (topLevel && name === "data") return "runtime data (the host creates data/)";
    if (name === "node_modules") return "installed dependencies";
    return undefined;
  }
  if (name.endsWith(ARCHIVE_EXTENSION)) return "a built archive";
  return SECRET_NAME_PATTERNS.find(([pattern]) => pattern.test(name))?.[1];
}
