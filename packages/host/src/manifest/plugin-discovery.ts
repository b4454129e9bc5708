// Finds the plugins on disk (SPEC §2): every <root>/<dir>/plugin.toml, validated, checked against the host's SDK, for
// duplicate ids and for unmet `[[plugin.dependency]]`. A bad plugin becomes a refused entry that carries its reasons;
// it never hides the others.
import { readdir, readFile, stat } from "node:fs/promises";
import path from "node:path";
import { SDK_VERSION } from "@neko/plugin-sdk/version";
import { checkDependencies } from "./plugin-dependencies.ts";
import { parseManifest, type PluginManifest } from "./plugin-manifest.ts";
import { checkSdkCompat } from "./sdk-compat.ts";

export type DiscoveredPlugin = {
  /** The manifest's id; the folder name when the manifest has no readable id. */
  id: string;
  /** True when `id` is the folder name because the manifest declares none that could be read: it claims nothing. */
  idGuessed: boolean;
  dir: string;
  manifestPath: string;
  manifest?: PluginManifest;
  /** Absolute path of the entry module, set whenever the manifest is valid. */
  entryModulePath?: string;
  status: "ok" | "refused";
  problems: string[];
  warnings: string[];
};

const MANIFEST_FILE = "plugin.toml";

/** Roots in priority order: the built-in folder, then `--plugins-dir` values, then `NEKO_PLUGIN_DIRS`. */
export function resolvePluginRoots(opts: {
  /** Omitted when the built-in plugins are not wanted (`serve --no-builtin`). */
  builtinDir?: string;
  pluginDirs: string[];
  env: NodeJS.ProcessEnv;
}): string[] {
  // path.delimiter is the colon of SPEC §2 on POSIX, and `;` on Windows where a colon belongs to drive letters.
  const fromEnv = (opts.env.NEKO_PLUGIN_DIRS ?? "").split(path.delimiter).filter((dir) => dir !== "");
  const dirs = opts.builtinDir === undefined ? [] : [opts.builtinDir];
  return unique([...dirs, ...opts.pluginDirs, ...fromEnv].map((dir) => path.resolve(dir)));
}

/**
 * One DiscoveredPlugin per plugin folder, in root order then name order, then the single plugin `folders` (`dev`
 * serves one folder so). Throws only for a bad `sdkVersion`.
 */
export async function discoverPlugins(opts: {
  roots: string[];
  folders?: string[];
  sdkVersion: string;
}): Promise<DiscoveredPlugin[]> {
  let dirs: string[] = [];
  for (const root of unique(opts.roots.map((dir) => path.resolve(dir)))) dirs.push(...(await pluginDirs(root)));
  dirs = unique([...dirs, ...(opts.folders ?? []).map((dir) => path.resolve(dir))]);
  const inspected = await Promise.all(dirs.map((dir) => inspectPlugin(dir, opts.sdkVersion)));

  // The first manifest to declare an id owns it; an id guessed from a folder name claims nothing.
  const owners = new Map<string, string>();
  const plugins = inspected.map(({ declaresId, ...plugin }): DiscoveredPlugin => {
    const owner = declaresId ? owners.get(plugin.id) : undefined;
    if (owner !== undefined) plugin.problems.push(`duplicate plugin id '${plugin.id}': already defined by ${owner}`);
    else if (declaresId) owners.set(plugin.id, plugin.manifestPath);
    return { ...plugin, idGuessed: !declaresId, status: plugin.problems.length > 0 ? "refused" : "ok" };
  });
  checkDependencies(plugins);
  return plugins;
}

/**
 * One plugin folder on its own, as `build` and `install` see it: manifest, entry module and SDK range against `sdkVersion`
 * (default: the SDK this host ships).
 * Duplicate ids and dependencies are not checked: they depend on the other plugins of a root.
 */
export async function inspectPluginFolder(dir: string, opts: { sdkVersion?: string } = {}): Promise<DiscoveredPlugin> {
  const { declaresId, ...plugin } = await inspectPlugin(path.resolve(dir), opts.sdkVersion ?? SDK_VERSION);
  return { ...plugin, idGuessed: !declaresId, status: plugin.problems.length > 0 ? "refused" : "ok" };
}

type InspectedPlugin = Omit<DiscoveredPlugin, "status" | "idGuessed"> & { declaresId: boolean };

async function inspectPlugin(dir: string, sdkVersion: string): Promise<InspectedPlugin> {
  const folder = path.basename(dir);
  const manifestPath = path.join(dir, MANIFEST_FILE);
  const base = { dir, manifestPath, problems: [] as string[], warnings: [] as string[] };
  let text: string;
  try {
    text = await readFile(manifestPath, "utf8");
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    return { ...base, id: folder, declaresId: false, problems: [`${MANIFEST_FILE}: cannot be read: ${reason}`] };
  }

  const parsed = parseManifest(text, { file: MANIFEST_FILE });
  const id = parsed.ok ? parsed.manifest.id : parsed.partialId;
  const plugin: InspectedPlugin = { ...base, id: id ?? folder, declaresId: id !== undefined };
  if (id !== undefined && id !== folder) {
    plugin.warnings.push(`${MANIFEST_FILE}: folder name '${folder}' differs from [plugin].id '${id}'`);
  }
  // Warnings (unknown keys: often the typo behind a problem) are kept whether or not the manifest is valid.
  plugin.warnings.push(...parsed.warnings.map((warning) => warning.message));
  if (!parsed.ok) {
    plugin.problems.push(...parsed.problems.map((problem) => problem.message));
    return plugin;
  }

  const { manifest } = parsed;
  plugin.manifest = manifest;
  plugin.entryModulePath = path.join(dir, manifest.entry.module);
  if (!(await isFile(plugin.entryModulePath))) {
    plugin.problems.push(`${MANIFEST_FILE}: [plugin].entry module '${manifest.entry.module}' does not exist in ${dir}`);
  }
  const compat = checkSdkCompat(manifest.sdk, sdkVersion);
  const sdkMessages = compat.messages.map((message) => `${MANIFEST_FILE}: [plugin.sdk]: ${message}`);
  (compat.verdict === "refuse" ? plugin.problems : plugin.warnings).push(...sdkMessages);
  return plugin;
}

/** Plugin folders of one root, sorted by name; a root that is missing or unreadable simply has none. */
async function pluginDirs(root: string): Promise<string[]> {
  let names: string[];
  try {
    names = await readdir(root);
  } catch {
    return [];
  }
  const candidates = names
    .filter((name) => !name.startsWith(".") && name !== "node_modules")
    .sort()
    .map((name) => path.join(root, name));
  // Only folders can hold a plugin.toml; stat follows symlinks, so a plugin linked into a root is found too.
  const hasManifest = await Promise.all(candidates.map((dir) => isFile(path.join(dir, MANIFEST_FILE))));
  return candidates.filter((_, index) => hasManifest[index]);
}

async function isFile(target: string): Promise<boolean> {
  try {
    return (await stat(target)).isFile();
  } catch {
    return false;
  }
}

function unique(values: string[]): string[] {
  return [...new Set(values)];
}
