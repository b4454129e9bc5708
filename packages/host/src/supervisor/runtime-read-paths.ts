/**
 * What every plugin process must be able to read under the permission model, found once per host: the package of the
 * runner (the SDK) and every package it depends on, as Node would resolve them from there (each under its link and its
 * real path), and the TypeScript compile cache. Nothing else of node_modules: a plugin that needs another package
 * brings it in its own folder.
 */
import fs from "node:fs";
import path from "node:path";
import { defaultCacheDir } from "@neko/plugin-sdk/ts-cache";

/**
 * Files outside those packages that the runtime reads, each for a reason. Node 20's `fs.existsSync` throws for a path
 * the process may not read instead of answering false, so a file that is only looked for is listed too.
 */
const RUNTIME_FILES: ReadonlyArray<{ file: string; platform: NodeJS.Platform; why: string }> = [
  {
    file: "/etc/alpine-release",
    platform: "linux",
    why: "zeromq's addon loader (cmake-ts) tells musl from glibc by it",
  },
];

export function runtimeReadPaths(runnerPath: string): string[] {
  const cacheDir = defaultCacheDir();
  return [
    ...runnerPackagePaths(runnerPath),
    ...(cacheDir === undefined ? [] : [cacheDir]),
    ...RUNTIME_FILES.filter((f) => f.platform === process.platform).map((f) => f.file),
  ];
}

/** The runner's package and its dependencies; the runner by itself when it lives outside a package (a test's). */
export function runnerPackagePaths(runnerPath: string): string[] {
  const runnerPackage = packageDirOf(runnerPath);
  return runnerPackage === undefined ? [runnerPath] : dependencyClosure(runnerPackage);
}

/**
 * A package folder and every one it depends on (dependencies, optional and peer ones), links and real paths. An
 * optional peer is left out: nothing a plugin process runs needs it (the SDK's `@neko/host`, which only its test
 * helper loads, in a test's own process), and its folder would be readable by every plugin.
 */
export function dependencyClosure(packageDir: string): string[] {
  const found = new Set<string>();
  const visited = new Set<string>();
  const queue = [packageDir];
  while (queue.length > 0) {
    const dir = queue.pop() as string;
    const real = realpathOrSelf(dir);
    found.add(dir).add(real);
    if (visited.has(real)) continue;
    visited.add(real);
    const manifest = readPackageJson(real);
    const optionalPeers = manifest?.peerDependenciesMeta ?? {};
    const peers = Object.keys(manifest?.peerDependencies ?? {}).filter(
      (name) => optionalPeers[name]?.optional !== true,
    );
    const names = [...Object.keys({ ...manifest?.dependencies, ...manifest?.optionalDependencies }), ...peers];
    for (const name of names) {
      const dependency = resolvePackageDir(real, name);
      if (dependency !== undefined) queue.push(dependency);
    }
  }
  return [...found];
}

/** The folder of the nearest package.json above `file`. */
function packageDirOf(file: string): string | undefined {
  for (let dir = path.dirname(file); ; dir = path.dirname(dir)) {
    if (fs.existsSync(path.join(dir, "package.json"))) return dir;
    if (path.dirname(dir) === dir) return undefined;
  }
}

/** Where Node finds package `name` from `fromDir`: the nearest node_modules/<name> going up. */
function resolvePackageDir(fromDir: string, name: string): string | undefined {
  for (let dir = fromDir; ; dir = path.dirname(dir)) {
    const candidate = path.join(dir, "node_modules", name);
    if (fs.existsSync(path.join(candidate, "package.json"))) return candidate;
    if (path.dirname(dir) === dir) return undefined;
  }
}

interface PackageJson {
  dependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
  peerDependenciesMeta?: Record<string, { optional?: boolean } | undefined>;
}

function readPackageJson(dir: string): PackageJson | undefined {
  try {
    return JSON.parse(fs.readFileSync(path.join(dir, "package.json"), "utf8"));
  } catch {
    return undefined;
  }
}

export function realpathOrSelf(file: string): string {
  try {
    return fs.realpathSync(file);
  } catch {
    return file;
  }
}
