/**
 * The package layering (STYLE.md): protocol depends on nothing of ours; the SDK only on the protocol; the host on
 * the protocol, the SDK's version and its TypeScript compile cache (which the host fills for plugin processes); the
 * server on the host's public interface; the CLI on anything.
 */
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");

const allowed: Record<string, RegExp[]> = {
  protocol: [],
  sdk: [/^@neko\/protocol$/],
  host: [/^@neko\/protocol$/, /^@neko\/plugin-sdk\/(version|ts-cache)$/],
  server: [/^@neko\/protocol$/, /^@neko\/host$/],
  cli: [/^@neko\//, /^neko-plugin$/],
};

function sources(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((d) => {
    const full = path.join(dir, d.name);
    if (d.isDirectory()) return sources(full);
    return /\.(ts|mts|mjs|js)$/.test(d.name) ? [full] : [];
  });
}

test("no package imports a layer above it or another package's internals", () => {
  const violations: string[] = [];
  for (const [pkg, rules] of Object.entries(allowed)) {
    for (const file of sources(path.join(root, "packages", pkg, "src"))) {
      const text = fs.readFileSync(file, "utf8");
      for (const match of text.matchAll(/(?:from|import)\s*\(?\s*["']([^"']+)["']/g)) {
        const spec = match[1];
        if (spec.startsWith("@neko/") || spec === "neko-plugin") {
          if (!rules.some((r) => r.test(spec))) violations.push(`${path.relative(root, file)} imports ${spec}`);
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
  }
  assert.deepEqual(violations, []);
});
