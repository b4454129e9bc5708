/**
 * `[plugin.permissions] fs_write` grants the host refuses (docs/permissions.md): any that reaches code or state other
 * plugins depend on — the SDK and the packages it loads, the TypeScript compile cache, the host's run folder (the
 * socket every plugin connects to), its data folder, another plugin's folder. Node's permission model has no exceptions
 * inside a grant, so a grant of a folder above one of them (`/tmp`, the home folder) is refused as a whole.
 */
import path from "node:path";
import type { DiscoveredPlugin } from "./plugin-discovery.ts";
import type { PluginManifest } from "./plugin-manifest.ts";

export interface ProtectedPath {
  path: string;
  /** What it is and why a plugin may not write there, for the problem's sentence. */
  what: string;
}

export function writeGrantProblems(options: {
  manifest: PluginManifest;
  /** The plugin's folder: relative grants are resolved against it. */
  dir: string;
  protectedPaths: ProtectedPath[];
  realpath: (file: string) => string;
}): string[] {
  const { manifest, dir, protectedPaths, realpath } = options;
  if (!manifest.runtime.permissions) return [];
  const forms = (file: string) => [...new Set([file, realpath(file)])];
  const problems: string[] = [];
  for (const written of manifest.permissions.fsWrite) {
    const granted = forms(path.resolve(dir, written));
    const hit = protectedPaths.find((p) => forms(p.path).some((guarded) => granted.some((g) => overlaps(g, guarded))));
    if (hit) {
      problems.push(
        `plugin.toml: [plugin.permissions].fs_write '${written}' reaches ${hit.what} (${hit.path}); ` +
          "a plugin may not write there: grant a narrower path",
      );
    }
  }
  return problems;
}

/** One path is the other, or inside it. */
function overlaps(a: string, b: string): boolean {
  return a === b || isInside(a, b) || isInside(b, a);
}

function isInside(child: string, parent: string): boolean {
  const relative = path.relative(parent, child);
  return relative !== "" && !relative.startsWith("..") && !path.isAbsolute(relative);
}

/**
 * Refuses, with the reasons, each plugin of `found` granted to write where `shared` is or where another of them is
 * (a host over its own folders, a worker over its machine's).
 */
export function refuseUnsafeWriteGrants(
  found: DiscoveredPlugin[],
  shared: ProtectedPath[],
  realpath: (file: string) => string,
): void {
  for (const d of found) {
    if (d.status !== "ok" || !d.manifest) continue;
    const others = found
      .filter((other) => other.dir !== d.dir)
      .map((other) => ({ path: other.dir, what: `the folder of plugin '${other.id}'` }));
    const problems = writeGrantProblems({
      manifest: d.manifest,
      dir: d.dir,
      protectedPaths: [...shared, ...others],
      realpath,
    });
    if (problems.length === 0) continue;
    d.status = "refused";
    d.problems.push(...problems);
  }
}
