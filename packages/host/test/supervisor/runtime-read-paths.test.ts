import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { describe, test } from "node:test";
import { defaultCacheDir } from "@neko/plugin-sdk/ts-cache";
import { dependencyClosure, runtimeReadPaths } from "../../src/supervisor/runtime-read-paths.ts";

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../../..");
const modules = (name: string) => path.join(repo, "node_modules", name);

describe("what every plugin process reads", () => {
  test("the SDK and the packages it depends on, as links and real paths, and nothing else of node_modules", () => {
    const closure = dependencyClosure(path.join(repo, "packages/sdk"));
    for (const expected of [
      path.join(repo, "packages/sdk"),
      modules("@neko/protocol"),
      path.join(repo, "packages/protocol"),
      modules("zod"),
      modules("msgpackr"),
      modules("zeromq"),
      modules("cmake-ts"),
      modules("better-sqlite3"),
      modules("bindings"),
      modules("pino"),
      modules("esbuild"),
    ]) {
      assert.ok(closure.includes(expected), `${expected} is read`);
    }
    for (const absent of [path.join(repo, "packages/host"), modules("fastify"), modules("@neko/host"), repo]) {
      assert.equal(closure.includes(absent), false, `${absent} is not read`);
    }
    // msgpackr's native speed-up is an optional dependency: read when installed.
    if (fs.existsSync(modules("msgpackr-extract"))) assert.ok(closure.includes(modules("msgpackr-extract")));
  });

  test("a runner outside any package is read by itself; the compile cache is read", () => {
    const paths = runtimeReadPaths("/nowhere/runner.mjs");
    assert.equal(paths[0], "/nowhere/runner.mjs");
    const cacheDir = defaultCacheDir();
    if (cacheDir !== undefined) assert.ok(paths.includes(cacheDir));
    if (process.platform === "linux") assert.ok(paths.includes("/etc/alpine-release"));
  });
});
