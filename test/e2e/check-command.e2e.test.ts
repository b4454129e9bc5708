/**
 * `neko-plugin check` as a user runs it: the real binary against copies of the example plugins. hello_world passes
 * (the type-check included), then fails once a type error is put in (the incremental type-check again); the extension
 * hello_world_extra passes; --json stays pure JSON; usage errors exit 2. The broken cases: check-failures.e2e.test.ts.
 */
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { after, describe, test } from "node:test";
import { removeTypeCheckBuildInfo } from "../../packages/cli/test/type-check-build-info.ts";
import { CHECK_IMPORTS as IMPORTS, runCheck as check } from "../support/check-cli.ts";
import { copyExamplePlugins, makeTempDir, writePlugin } from "../support/plugin-fixtures.ts";

const temps: string[] = [];
after(() => {
  removeTypeCheckBuildInfo(temps);
  for (const dir of temps) fs.rmSync(dir, { recursive: true, force: true });
});

function tempDir(): string {
  const dir = makeTempDir("neko-check-e2e-");
  temps.push(dir);
  return dir;
}

// Side by side: each test has folders of its own, and the first (two type-checks) is most of the file's time.
describe("neko-plugin check", { concurrency: true }, () => {
  test("a copy of hello_world passes, nothing written into it; with a type error it fails at the error's line", async () => {
    const root = tempDir();
    copyExamplePlugins(root, ["hello_world"]);
    const dir = path.join(root, "hello_world");
    const before = fs.readdirSync(dir).sort();
    const outcome = await check([dir]);
    assert.equal(outcome.code, 0, outcome.stdout + outcome.stderr);
    const lines = outcome.stdout.trim().split("\n");
    for (const expected of [
      "[OK] manifest: plugin.toml is valid (id hello_world, version 0.1.0)",
      "[OK] dependencies: none declared",
      "[OK] load: index.ts imports without an error",
      "[OK] class: HelloWorldPlugin extends NekoPluginBase and is decorated",
      "[OK] schemas: 1 schema compiled",
      "[OK] types: 1 file type-check with the default settings (no tsconfig.json)",
      "hello_world: passes (0 failures, 0 warnings)",
    ]) {
      assert.ok(lines.includes(expected), `missing: ${expected}\n${outcome.stdout}`);
    }
    assert.match(outcome.stdout, /^\[OK\] sdk: SDK \d+\.\d+\.\d+ fits \[plugin\.sdk\]/m);
    assert.match(outcome.stdout, /^\[OK\] entries: 1 entry \(greet\)/m);
    assert.doesNotMatch(outcome.stdout, /\[FAIL\]|\[WARN\]/);
    assert.ok(!outcome.stdout.includes("\u001b["), "no colour in a pipe");
    assert.equal(outcome.stderr, "", "no progress lines when stderr is not a terminal");
    assert.deepEqual(fs.readdirSync(dir).sort(), before, "no data/ or anything else made by the check");

    // The same folder with a type error: found at its line, by the incremental type-check.
    const index = path.join(dir, "index.ts");
    const source = fs.readFileSync(index, "utf8");
    fs.writeFileSync(
      index,
      source.replace("private counter = 0;\n", 'private counter = 0;\n  count: number = "many";\n'),
    );
    const typed = await check([dir]);
    assert.equal(typed.code, 1, typed.stdout);
    assert.match(
      typed.stdout,
      /^\[FAIL\] types: index\.ts:6:3 TS2322 Type 'string' is not assignable to type 'number'\.$/m,
    );
    assert.match(typed.stdout, /^\[OK\] load: /m, "the module itself loads: esbuild does not check types");
    assert.match(typed.stdout, /^hello_world: does not pass \(1 failure, 0 warnings\)$/m);
  });

  test("an extension (a copy of hello_world_extra beside hello_world) passes, its base NekoExtensionBase", async () => {
    const root = tempDir();
    copyExamplePlugins(root, ["hello_world", "hello_world_extra"]);
    // Its type-check is the one above on another folder: left out here, it would only add seconds.
    const elsewhere = tempDir();
    const [outcome, alone] = await Promise.all([
      check([path.join(root, "hello_world_extra"), "--no-type-check", "--plugins-dir", root]),
      check([path.join(root, "hello_world_extra"), "--no-type-check", "--plugins-dir", elsewhere]),
    ]);
    assert.equal(outcome.code, 0, outcome.stdout + outcome.stderr);
    assert.match(
      outcome.stdout,
      /^\[OK\] manifest: plugin\.toml is valid \(id hello_world_extra, version 0\.1\.0, extension\)$/m,
    );
    assert.match(outcome.stdout, /^\[OK\] class: HelloWorldExtra extends NekoExtensionBase and is decorated$/m);
    assert.match(outcome.stdout, /^\[OK\] entries: 1 entry \(shout\), 1 hook,/m);
    assert.match(outcome.stdout, /^\[OK\] types: not type-checked \(the type-check was turned off\)$/m);
    assert.match(outcome.stdout, /^\[OK\] dependencies: met in .* \(extends hello_world\)$/m);

    assert.equal(alone.code, 1, alone.stdout);
    assert.match(
      alone.stdout,
      /^\[FAIL\] dependencies: the plugin it extends, 'hello_world' \(\[plugin\.host\]\.plugin_id\), is not in /m,
    );
  });

  test("--json prints the report alone on stdout, even when the plugin prints at import", async () => {
    const root = tempDir();
    const dir = writePlugin(root, {
      id: "noisy",
      code: `${IMPORTS}\nconsole.log("hello from the module");\nexport class TestPlugin extends NekoPluginBase {}\n`,
    });
    const outcome = await check([dir, "--json", "--no-type-check"]);
    assert.equal(outcome.code, 1);
    const report = JSON.parse(outcome.stdout) as {
      ok: boolean;
      id: string;
      dir: string;
      items: Array<{ level: string; check: string; message: string; fix?: string }>;
    };
    assert.equal(report.ok, false);
    assert.equal(report.id, "noisy");
    assert.equal(report.dir, path.resolve(dir));
    const failed = report.items.filter((item) => item.level === "fail");
    assert.deepEqual(
      failed.map((item) => [item.check, item.message, item.fix]),
      [["class", "'TestPlugin' in index.ts is not decorated with @nekoPlugin", "add `@nekoPlugin` above the class"]],
    );
    assert.ok(report.items.some((item) => item.level === "ok" && item.check === "load"));
  });

  test("usage errors exit 2: no folder, an unknown option, a folder that does not exist", async () => {
    const [none, unknown, missing] = await Promise.all([
      check([]),
      check([tempDir(), "--frobnicate"]),
      check([path.join(tempDir(), "nope")]),
    ]);
    assert.equal(none.code, 2);
    assert.match(none.stderr, /missing required argument 'dir'/);
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /unknown option '--frobnicate'/);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /neko-plugin check: .*nope is not a folder/);
  });
});
