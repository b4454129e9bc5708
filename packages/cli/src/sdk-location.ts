/**
 * Where the installed framework's SDK is on disk, and the TypeScript settings that let a plugin folder anywhere type-check
 * against it with no `npm install` of its own: `@neko/plugin-sdk/*` mapped to the SDK's sources through `paths`, and
 * Node's types found where the framework has them. `init` writes them into a plugin's tsconfig.json; `check` uses them
 * for a plugin that has none.
 */
import fs from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";

const require = createRequire(import.meta.url);

/** The folder holding the SDK's package.json. */
export function sdkRoot(): string {
  return path.dirname(require.resolve("@neko/plugin-sdk/package.json"));
}

/** What a plugin's code may import of the SDK; the rest of its exports are the host's and the runtime's. */
const PLUGIN_FACING = new Set([".", "./plugin", "./extension", "./adapter", "./testing"]);

/** The entry points a plugin imports, by specifier, each the absolute path of its TypeScript source. */
export function sdkEntryPoints(root: string = sdkRoot()): Record<string, string> {
  const manifest = JSON.parse(fs.readFileSync(path.join(root, "package.json"), "utf8")) as {
    exports: Record<string, string | { types?: string; default?: string }>;
  };
  const entries: Record<string, string> = {};
  for (const [key, target] of Object.entries(manifest.exports)) {
    const file = typeof target === "string" ? target : (target.types ?? target.default);
    if (file === undefined || !PLUGIN_FACING.has(key)) continue;
    const specifier = key === "." ? "@neko/plugin-sdk" : `@neko/plugin-sdk/${key.slice(2)}`;
    entries[specifier] = path.join(root, file);
  }
  return entries;
}

/** The `node_modules/@types` folder nearest the SDK (where the framework's install put `@types/node`). */
export function nodeTypesRoot(root: string = sdkRoot()): string | undefined {
  for (let dir = root; ; dir = path.dirname(dir)) {
    const candidate = path.join(dir, "node_modules", "@types");
    if (fs.existsSync(path.join(candidate, "node", "package.json"))) return candidate;
    if (path.dirname(dir) === dir) return undefined;
  }
}

/**
 * Compiler options for a plugin folder: the settings the framework's own code is checked with (standard decorators,
 * strict), module resolution that needs no package.json in the folder, and the SDK reached through `paths`.
 */
export function pluginCompilerOptions(root: string = sdkRoot()): Record<string, unknown> {
  const typeRoots = nodeTypesRoot(root);
  return {
    target: "ES2023",
    lib: ["ES2023", "ESNext.Decorators"],
    module: "preserve",
    moduleResolution: "bundler",
    strict: true,
    noEmit: true,
    allowImportingTsExtensions: true,
    isolatedModules: true,
    skipLibCheck: true,
    noImplicitOverride: true,
    useDefineForClassFields: true,
    types: ["node"],
    ...(typeRoots !== undefined && { typeRoots: [typeRoots] }),
    paths: Object.fromEntries(Object.entries(sdkEntryPoints(root)).map(([spec, file]) => [spec, [file]])),
  };
}
