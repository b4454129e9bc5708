/**
 * The package layering (STYLE.md): protocol depends on nothing of ours and holds no file-system code; the SDK only on
 * the protocol (and its stand-in for Zod); the host on the protocol, the SDK's version, its TypeScript compile cache
 * and its linker (which the host fills and runs for plugin processes), its plugin state file (whose frozen mark the host reads), its database-name rule (the host
 * refuses in a manifest the names this.db refuses, the state file's among them), its atomic file write and its
 * configSchema check (the host validates configuration writes with the plugin's schema); the server on the host's
 * public interface and the manager page's build (which depends on nothing of ours); the CLI on anything. And each
 * package's own code (src, bin) imports only the npm
 * packages its own package.json declares: hoisting in node_modules would hide a missing one until the package is
 * installed alone.
 *
 * One exception, on purpose: the SDK's `testing.ts` (`@neko/plugin-sdk/testing`, docs/testing.md) locates
 * `@neko/host/testing` at run time, because a plugin's tests start it under a real host. The host depends on the SDK,
 * so the SDK names the host as an optional peer dependency (declared, with no install cycle); the host's side
 * imports only that file's types.
 */
import ts from "typescript";
import assert from "node:assert/strict";
import fs from "node:fs";
import { builtinModules } from "node:module";
import path from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");

/** The files allowed more than their package (see the top comment), with what they may import besides. */
const exceptions: Record<string, RegExp[]> = {
  "packages/sdk/src/testing.ts": [/^@neko\/host\/testing$/],
};

const allowed: Record<string, RegExp[]> = {
  protocol: [],
  // Zod loaded on first use (`@neko/protocol/lazy-zod`), shared with the protocol's own schemas.
  sdk: [/^@neko\/protocol(\/lazy-zod)?$/],
  // The host also locates the SDK's package (its plugin runner is a file of it), without loading it; and implements
  // the types of `@neko/plugin-sdk/testing`.
  host: [
    /^@neko\/protocol$/,
    /^@neko\/plugin-sdk\/(version|ts-cache|plugin-link|plugin-snapshot|frozen-state-file|database-name|atomic-write|config-schema|testing|package\.json)$/,
  ],
  // The manager page is a browser app that speaks only HTTP: it depends on nothing of ours.
  manager: [],
  server: [/^@neko\/protocol$/, /^@neko\/host$/, /^@neko\/manager$/],
  cli: [/^@neko\//, /^neko-plugin$/],
};

function sources(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((d) => {
    const full = path.join(dir, d.name);
    if (d.isDirectory()) return sources(full);
    return /\.(ts|tsx|mts|mjs|js)$/.test(d.name) ? [full] : [];
  });
}

/** Every specifier a package's own code (src, bin) imports or requires, with the file it is in. */
function importsOf(pkg: string): { file: string; spec: string }[] {
  const files = ["src", "bin"].flatMap((folder) => sources(path.join(root, "packages", pkg, folder)));
  return files.flatMap((file) => {
    const text = fs.readFileSync(file, "utf8");
    // TypeScript's own scanner finds imports, exports, dynamic imports and require() calls, and never text in a
    // string; `require.resolve` (a package located, not loaded) is matched apart.
    const parsed = ts.preProcessFile(text, true, true).importedFiles.map((f) => f.fileName);
    const resolved = [...text.matchAll(/\bresolve\(\s*["']([^"']+)["']\s*\)/g)].map((m) => m[1]);
    return [...parsed, ...resolved].map((spec) => ({ file, spec }));
  });
}

/** The npm package a bare specifier names (`@scope/name/sub` → `@scope/name`); undefined for a path or a builtin. */
function packageName(spec: string): string | undefined {
  if (/^(\.|\/|[a-z]+:)/.test(spec) || builtinModules.includes(spec)) return undefined;
  return spec
    .split("/")
    .slice(0, spec.startsWith("@") ? 2 : 1)
    .join("/");
}

test("no package imports a layer above it or another package's internals", () => {
  const violations: string[] = [];
  for (const [pkg, rules] of Object.entries(allowed)) {
    for (const { file, spec } of importsOf(pkg)) {
      if (spec.startsWith("@neko/") || spec === "neko-plugin") {
        const extra = exceptions[path.relative(root, file)] ?? [];
        if (![...rules, ...extra].some((r) => r.test(spec)))
          violations.push(`${path.relative(root, file)} imports ${spec}`);
      } else if (
        spec.startsWith("../") &&
        path.resolve(path.dirname(file), spec).includes(`${path.sep}packages${path.sep}`)
      ) {
        const target = path
          .relative(path.join(root, "packages"), path.resolve(path.dirname(file), spec))
          .split(path.sep)[0];
        if (target !== pkg) violations.push(`${path.relative(root, file)} reaches into packages/${target} by path`);
      }
    }
  }
  assert.deepEqual(violations, []);
});

test("the protocol holds only what both sides share on the wire, no file-system code", () => {
  const fsImports = importsOf("protocol")
    .filter(({ spec }) => /^(node:)?fs(\/promises)?$/.test(spec))
    .map(({ file, spec }) => `${path.relative(root, file)} imports ${spec}`);
  assert.deepEqual(fsImports, []);
});

test("each package's code imports only the npm packages (and their @types) its own package.json declares", () => {
  const undeclared = new Set<string>();
  for (const pkg of Object.keys(allowed)) {
    const manifest = JSON.parse(fs.readFileSync(path.join(root, "packages", pkg, "package.json"), "utf8"));
    // An optional peer is declared too: the package works without it, except where it is located at run time.
    const dependencies = [...Object.keys(manifest.dependencies ?? {}), ...Object.keys(manifest.peerDependencies ?? {})];
    const withDev = [...dependencies, ...Object.keys(manifest.devDependencies ?? {})];
    for (const { file, spec } of importsOf(pkg)) {
      const name = packageName(spec);
      if (name === undefined) continue;
      const where = `${path.relative(root, file)} imports ${name}`;
      if (!dependencies.includes(name)) undeclared.add(`${where}: not in packages/${pkg}/package.json dependencies`);
      // A package without types of its own is type-checked against @types/<name>, which must be declared too.
      const types = `@types/${name.replace(/^@([^/]+)\//, "$1__")}`;
      if (fs.existsSync(path.join(root, "node_modules", types)) && !withDev.includes(types)) {
        undeclared.add(`${where}: ${types} is not in packages/${pkg}/package.json (dev)dependencies`);
      }
    }
  }
  assert.deepEqual([...undeclared], []);
});
