import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, describe, test } from "node:test";
import {
  compileTypeScript,
  defaultCacheDir,
  withEsbuild,
  pruneTypeScriptCache,
  readableCacheDir,
  warmTypeScriptCache,
} from "../bin/ts-compile-cache.mjs";

const tempDirs: string[] = [];
after(() => {
  for (const dir of tempDirs) fs.rmSync(dir, { recursive: true, force: true });
});
function tempDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "neko-ts-cache-"));
  tempDirs.push(dir);
  return dir;
}
const cached = (cacheDir: string) => fs.readdirSync(cacheDir).filter((f) => f.endsWith(".mjs"));

describe("the TypeScript compile cache", () => {
  test("compiles TypeScript with standard decorators to JavaScript with an inline source map", async () => {
    const code = await compileTypeScript(
      "/nowhere/a.ts",
      "const tag = (_: unknown, c: ClassMethodDecoratorContext) => { void c; };\nexport class A { @tag run(n: number): number { return n; } }\n",
      undefined,
    );
    assert.doesNotMatch(code, /: number/, "types are gone");
    assert.match(code, /__decorateElement|__decoratorStart/, "decorators are lowered");
    assert.match(code, /\/\/# sourceMappingURL=data:application\/json;base64,/);
    const map = JSON.parse(Buffer.from(code.split("base64,")[1], "base64").toString());
    assert.deepEqual(map.sources, ["/nowhere/a.ts"]);
  });

  test("a file the host cached is read from the cache; a miss compiles in memory and never writes the cache", async () => {
    const cacheDir = tempDir();
    const plugin = tempDir();
    const file = path.join(fs.realpathSync(plugin), "index.ts");
    fs.writeFileSync(file, "export const a: number = 1;\n");
    assert.equal(await warmTypeScriptCache([plugin], cacheDir), 1);
    // Mark the entry: an answer with the mark proves the compiler was not asked again.
    const [entry] = cached(cacheDir);
    const entryFile = path.join(cacheDir, entry);
    fs.writeFileSync(entryFile, `${fs.readFileSync(entryFile, "utf8")}// from the cache\n`);
    assert.match(await compileTypeScript(file, "export const a: number = 1;\n", cacheDir), /from the cache/);
    const changed = await compileTypeScript(file, "export const a: number = 2;\n", cacheDir);
    assert.match(changed, /a = 2/);
    // The same text at another path is another entry (its source map names its own file): a miss too.
    assert.match(await compileTypeScript("/q/index.ts", "export const a: number = 1;\n", cacheDir), /a = 1/);
    assert.deepEqual(cached(cacheDir), [entry], "only the host's warm-up writes the cache");
  });

  test("a cache folder that does not exist still gives the compiled code", async () => {
    const code = await compileTypeScript("/p/x.ts", "export const b: string = 'b';\n", "/proc/no-such-cache");
    assert.match(code, /const b = "b"/);
  });

  test("a syntax error is reported with the file, the line and esbuild's message", async () => {
    await assert.rejects(compileTypeScript("/p/bad.ts", "export const = 1;\n", undefined), (error: Error) => {
      assert.match(error.message, /\/p\/bad\.ts:1:13: ERROR: Expected identifier but found "="/);
      return true;
    });
  });

  test("warming compiles each .ts and .mts of a folder once, skipping node_modules, data, dot folders and .d.ts", async () => {
    const cacheDir = tempDir();
    const plugin = tempDir();
    const write = (file: string, text = "export const x: number = 1;\n") => {
      fs.mkdirSync(path.dirname(path.join(plugin, file)), { recursive: true });
      fs.writeFileSync(path.join(plugin, file), text);
    };
    write("index.ts");
    write("lib/util.mts");
    write("types.d.ts", "export type T = number;\n");
    write("node_modules/dep/index.ts");
    write("data/generated.ts");
    write(".hidden/secret.ts");
    write("broken.ts", "export const = ;\n");
    write("notes.js", "export const y = 1;\n");
    assert.equal(await warmTypeScriptCache([plugin], cacheDir), 2, "index.ts and lib/util.mts (broken.ts is left)");
    assert.equal(await warmTypeScriptCache([plugin], cacheDir), 0, "nothing new the second time");
    assert.equal(cached(cacheDir).length, 2);
  });

  test("pruning removes entries older than the limit and stale temporary files, and nothing it did not write", async () => {
    const cacheDir = tempDir();
    const key = (c: string) => c.repeat(40);
    const old = Date.now() / 1000 - 40 * 24 * 3600;
    const names = {
      oldEntry: `${key("a")}.mjs`,
      newEntry: `${key("b")}.mjs`,
      oldTemporary: `${key("c")}.mjs.123.0123abcd.tmp`,
      newTemporary: `${key("d")}.mjs.456.89abcdef.tmp`,
      oldForeign: "victim.mjs",
    };
    for (const name of Object.values(names)) fs.writeFileSync(path.join(cacheDir, name), "x");
    for (const name of [names.oldEntry, names.oldTemporary, names.oldForeign]) {
      fs.utimesSync(path.join(cacheDir, name), old, old);
    }
    assert.equal(await pruneTypeScriptCache(cacheDir), 2);
    assert.deepEqual(fs.readdirSync(cacheDir).sort(), [names.newEntry, names.newTemporary, names.oldForeign].sort());
  });

  test("a compile running when an earlier batch's idle stop comes finishes: it is not cut off or left hanging", async () => {
    const cacheDir = tempDir();
    const plugin = tempDir();
    for (const name of ["a", "b"])
      fs.writeFileSync(path.join(plugin, `${name}.ts`), `export const ${name}: number = 1;\n`);
    assert.equal(await warmTypeScriptCache([plugin], cacheDir), 2);
    // The first batch's idle stop (2 s after it) comes while a big file is compiling.
    await new Promise((resolve) => setTimeout(resolve, 1500));
    const lines = Array.from({ length: 60_000 }, (_, i) => `export const v${i}: number = ${i};`);
    fs.writeFileSync(path.join(plugin, "big.ts"), `${lines.join("\n")}\n`);
    assert.equal(await warmTypeScriptCache([plugin], cacheDir), 1);
    assert.equal(cached(cacheDir).length, 3);
  });

  test("a build held by another user of esbuild (a plugin's link) outlives the cache's idle stop (issue 15)", async () => {
    // The host links plugins (plugin-link.mjs) with the same esbuild service the cache stops 2 s after its last
    // compile. Unheld, a link build in flight at that moment never settled, and the plugin's start waited for ever.
    const cacheDir = tempDir();
    const plugin = tempDir();
    fs.writeFileSync(path.join(plugin, "a.ts"), "export const a: number = 1;\n");
    assert.equal(await warmTypeScriptCache([plugin], cacheDir), 1);
    const slowLoad = {
      name: "slow",
      setup(build: any) {
        build.onResolve({ filter: /^slow$/ }, () => ({ path: "slow", namespace: "slow" }));
        // Still loading when the idle stop (2 s after the warm-up) comes.
        build.onLoad({ filter: /.*/, namespace: "slow" }, async () => {
          await new Promise((resolve) => setTimeout(resolve, 3000));
          return { contents: "export const slow = 42;", loader: "js" };
        });
      },
    };
    const built = withEsbuild((esbuild) =>
      esbuild.build({
        stdin: { contents: 'export { slow } from "slow";', loader: "js" },
        bundle: true,
        write: false,
        format: "esm",
        plugins: [slowLoad],
      }),
    );
    let timer: NodeJS.Timeout | undefined;
    const never = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error("the held build never settled")), 15_000);
    });
    try {
      const result = await Promise.race([built, never]);
      assert.match(result.outputFiles[0]?.text ?? "", /slow = 42/);
    } finally {
      clearTimeout(timer);
    }
  });

  test("the cache folder is refused when it is a symlink or someone else's, and made private when it is ours", async () => {
    const base = tempDir();
    const saved = process.env.NEKO_TS_CACHE_DIR;
    try {
      const link = path.join(base, "link");
      fs.symlinkSync(os.tmpdir(), link);
      process.env.NEKO_TS_CACHE_DIR = link;
      assert.equal(defaultCacheDir(), undefined, "a symlink could point anywhere");
      assert.equal(readableCacheDir(), undefined);
      const open = path.join(base, "open");
      fs.mkdirSync(open, { mode: 0o777 });
      fs.chmodSync(open, 0o777);
      process.env.NEKO_TS_CACHE_DIR = open;
      assert.equal(readableCacheDir(), undefined, "a plugin process does not use a folder others may write");
      assert.equal(fs.statSync(open).mode & 0o777, 0o777, "…nor changes it");
      assert.equal(defaultCacheDir(), open);
      assert.equal(fs.statSync(open).mode & 0o777, 0o700);
      assert.equal(readableCacheDir(), open, "once the host made it private");
      const missing = path.join(base, "missing");
      process.env.NEKO_TS_CACHE_DIR = missing;
      assert.equal(readableCacheDir(), undefined);
      assert.equal(fs.existsSync(missing), false, "a plugin process creates nothing");
    } finally {
      if (saved === undefined) delete process.env.NEKO_TS_CACHE_DIR;
      else process.env.NEKO_TS_CACHE_DIR = saved;
    }
  });

  test("a miss under the permission model without child_process names the file and how to fix it", async () => {
    const { spawnSync } = await import("node:child_process");
    const cacheModule = new URL("../bin/ts-compile-cache.mjs", import.meta.url).href;
    const script = `import(${JSON.stringify(cacheModule)}).then((m) => m.compileTypeScript("/p/late.ts", "export {};", undefined)).then(() => console.log("compiled"), (e) => console.log(e.message));`;
    const sdkDir = path.resolve(path.dirname(new URL(import.meta.url).pathname), "..");
    const result = spawnSync(
      process.execPath,
      [
        "--experimental-permission",
        "--disable-warning=ExperimentalWarning",
        `--allow-fs-read=${sdkDir}`,
        `--allow-fs-read=${path.resolve(sdkDir, "../../node_modules")}`,
        "--input-type=module",
        "-e",
        script,
      ],
      { encoding: "utf8" },
    );
    assert.match(
      result.stdout,
      /\/p\/late\.ts is not in the TypeScript compile cache, and this plugin process may not start esbuild's compiler \(it has no child_process permission\)/,
      result.stderr,
    );
    assert.match(result.stdout, /grant child_process in \[plugin\.permissions\] of plugin\.toml/);
  });
});
