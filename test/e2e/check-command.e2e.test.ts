/**
 * `neko-plugin check` as a user runs it: the real binary against plugin folders on disk, each broken in one way,
 * each answered with exit 1 and a `[FAIL]` line that names the reason (and where, and the fix); a good plugin and an
 * extension pass with exit 0. The type-check (seconds per folder) runs only in the cases that are about it.
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { after, describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { copyExamplePlugins, makeTempDir, writePlugin } from "../support/plugin-fixtures.ts";
import { removeTypeCheckBuildInfo } from "../../packages/cli/test/type-check-build-info.ts";

const bin = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../packages/cli/bin/neko-plugin.js");

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

interface Outcome {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** `neko-plugin check …` with output piped (so no colour, no progress lines). */
function check(args: string[]): Promise<Outcome> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [bin, "check", ...args],
      { env: { PATH: process.env.PATH, HOME: process.env.HOME, TMPDIR: process.env.TMPDIR }, timeout: 120_000 },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === "number" ? error.code : null) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

const IMPORTS = 'import { NekoPluginBase, nekoPlugin, Ok, pluginEntry } from "@neko/plugin-sdk/plugin";';

/** A plugin's index.ts: the imports, then `body` (a class by default that passes). */
function pluginCode(body?: string): string {
  return `${IMPORTS}\n${
    body ??
    `
@nekoPlugin
export class TestPlugin extends NekoPluginBase {
  @pluginEntry({ id: "ping", inputSchema: { type: "object", properties: { n: { type: "number" } } } })
  ping() {
    return Ok("pong");
  }
}
`
  }`;
}

describe("neko-plugin check", () => {
  test("a copy of hello_world passes: every check OK, exit 0, and nothing written into the folder", async () => {
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
  });

  test("an extension (a copy of hello_world_extra beside hello_world) passes, its base NekoExtensionBase", async () => {
    const root = tempDir();
    copyExamplePlugins(root, ["hello_world", "hello_world_extra"]);
    const outcome = await check([path.join(root, "hello_world_extra"), "--plugins-dir", root]);
    assert.equal(outcome.code, 0, outcome.stdout + outcome.stderr);
    assert.match(
      outcome.stdout,
      /^\[OK\] manifest: plugin\.toml is valid \(id hello_world_extra, version 0\.1\.0, extension\)$/m,
    );
    assert.match(outcome.stdout, /^\[OK\] class: HelloWorldExtra extends NekoExtensionBase and is decorated$/m);
    assert.match(outcome.stdout, /^\[OK\] entries: 1 entry \(shout\), 1 hook,/m);
    assert.match(outcome.stdout, /^\[OK\] types: 1 file type-check/m);
    assert.match(outcome.stdout, /^\[OK\] dependencies: met in .* \(extends hello_world\)$/m);

    const elsewhere = tempDir();
    const alone = await check([path.join(root, "hello_world_extra"), "--no-type-check", "--plugins-dir", elsewhere]);
    assert.equal(alone.code, 1, alone.stdout);
    assert.match(
      alone.stdout,
      /^\[FAIL\] dependencies: the plugin it extends, 'hello_world' \(\[plugin\.host\]\.plugin_id\), is not in /m,
    );
  });

  test("a type error fails with file:line:column, the TS code and the message", async () => {
    const root = tempDir();
    const code = pluginCode(`
@nekoPlugin
export class TestPlugin extends NekoPluginBase {
  count: number = "many";
}
`);
    const dir = writePlugin(root, { id: "typed", code });
    const outcome = await check([dir]);
    assert.equal(outcome.code, 1, outcome.stdout);
    assert.match(
      outcome.stdout,
      /^\[FAIL\] types: index\.ts:5:3 TS2322 Type 'string' is not assignable to type 'number'\.$/m,
    );
    assert.match(outcome.stdout, /^\[OK\] load: /m, "the module itself loads: esbuild does not check types");
    assert.match(outcome.stdout, /^typed: does not pass \(1 failure, \d+ warnings?\)$/m);
  });

  // Each case: the folder (written by `make`), the arguments after it, and what its output must say.
  const broken: Array<{ name: string; make: (root: string) => string; args?: string[]; expect: RegExp[] }> = [
    {
      name: "malformed TOML, with its line",
      make: (root) =>
        writePlugin(root, {
          id: "bad_toml",
          manifest: '[plugin]\nid = "bad_toml"\nentry = "index.ts:TestPlugin\nversion = "0.1.0"\n',
          code: pluginCode(),
        }),
      expect: [
        /^\[FAIL\] manifest: plugin\.toml:3:\d+ invalid TOML: /m,
        /^ {4}fix: fix the TOML syntax at plugin\.toml:3:\d+$/m,
      ],
    },
    {
      name: "a missing entry module",
      make: (root) =>
        writePlugin(root, {
          id: "no_module",
          manifest: '[plugin]\nid = "no_module"\nentry = "missing.ts:TestPlugin"\n',
        }),
      expect: [
        /^\[FAIL\] manifest: plugin\.toml: \[plugin\]\.entry module 'missing\.ts' does not exist in /m,
        /^ {4}fix: create missing\.ts, or point \[plugin\]\.entry/m,
      ],
    },
    {
      name: "a module that throws at import, with file:line",
      make: (root) =>
        writePlugin(root, {
          id: "throws",
          code: `${IMPORTS}\nconst ready = false;\nif (!ready) throw new Error("boom");\n`,
        }),
      expect: [
        /^\[FAIL\] load: importing index\.ts failed: boom \(at index\.ts:3:\d+\)$/m,
        /^ {4}fix: fix the code at index\.ts:3:/m,
      ],
    },
    {
      name: "a syntax error",
      make: (root) =>
        writePlugin(root, {
          id: "syntax",
          code: pluginCode("@nekoPlugin\nexport class TestPlugin extends NekoPluginBase {\n  ping( {\n}\n"),
        }),
      expect: [/^\[FAIL\] load: index\.ts:\d+:\d+ syntax error: /m, /^ {4}fix: fix the syntax at index\.ts:\d+:\d+$/m],
    },
    {
      name: "the class is not exported (the message names what is)",
      make: (root) =>
        writePlugin(root, {
          id: "unexported",
          code: pluginCode(
            "@nekoPlugin\nclass TestPlugin extends NekoPluginBase {}\nexport class Other {}\nexport const label = 'x';\n",
          ),
        }),
      expect: [
        /^\[FAIL\] class: index\.ts does not export a class named 'TestPlugin' \(it exports: Other\)$/m,
        /^ {4}fix: export the class: `export class TestPlugin extends NekoPluginBase`/m,
      ],
    },
    {
      name: "the class is not decorated",
      make: (root) =>
        writePlugin(root, {
          id: "undecorated",
          code: pluginCode("export class TestPlugin extends NekoPluginBase {}\n"),
        }),
      expect: [
        /^\[FAIL\] class: 'TestPlugin' in index\.ts is not decorated with @nekoPlugin$/m,
        /^ {4}fix: add `@nekoPlugin` above the class$/m,
      ],
    },
    {
      name: "the class does not extend the base",
      make: (root) => writePlugin(root, { id: "no_base", code: pluginCode("export class TestPlugin {}\n") }),
      expect: [
        /^\[FAIL\] class: 'TestPlugin' in index\.ts does not extend NekoPluginBase$/m,
        /^ {4}fix: declare it as `class TestPlugin extends NekoPluginBase`/m,
      ],
    },
    {
      name: "an entry whose schema does not compile",
      make: (root) =>
        writePlugin(root, {
          id: "bad_schema",
          code: pluginCode(`
@nekoPlugin
export class TestPlugin extends NekoPluginBase {
  @pluginEntry({ id: "ping", inputSchema: { type: "object", properties: { n: { type: "nmber" } } } })
  ping() {
    return Ok("pong");
  }
}
`),
        }),
      expect: [
        /^\[FAIL\] schemas: entry 'ping': its inputSchema is not a valid schema: .*must be equal to one of the allowed values/m,
      ],
    },
    {
      name: "a [[plugin.entries]] schema that does not compile (and an entry the class does not declare: a warning)",
      make: (root) =>
        writePlugin(root, {
          id: "listed",
          manifest: [
            '[plugin]\nid = "listed"\nentry = "index.ts:TestPlugin"\n',
            '[[plugin.entries]]\nid = "ping"\ninput_schema = { type = "nmber" }\n',
            '[[plugin.entries]]\nid = "ghost"\n',
          ].join("\n"),
          code: pluginCode(),
        }),
      expect: [
        /^\[FAIL\] schemas: plugin\.toml \[\[plugin\.entries\]\] 'ping': its inputSchema is not a valid schema: /m,
        /^\[WARN\] entries: plugin\.toml lists entry 'ghost' in \[\[plugin\.entries\]\], but the class declares none/m,
      ],
    },
    {
      name: "an SDK range this SDK is outside of",
      make: (root) =>
        writePlugin(root, {
          id: "old_sdk",
          manifest: '[plugin]\nid = "old_sdk"\nentry = "index.ts:TestPlugin"\n\n[plugin.sdk]\nsupported = ">=9.0.0"\n',
          code: pluginCode(),
        }),
      expect: [/^\[FAIL\] sdk: plugin\.toml: \[plugin\.sdk\]: SDK \S+ is outside supported range '>=9\.0\.0'$/m],
    },
    {
      name: "a dependency missing from --plugins-dir",
      make: (root) =>
        writePlugin(root, {
          id: "dependent",
          manifest:
            '[plugin]\nid = "dependent"\nentry = "index.ts:TestPlugin"\n\n[[plugin.dependency]]\nid = "needed"\nversion = ">=1.0.0"\n',
          code: pluginCode(),
        }),
      args: ["--plugins-dir", "EMPTY"],
      expect: [
        /^\[FAIL\] dependencies: plugin\.toml: \[\[plugin\.dependency\]\]: needs plugin 'needed' >=1\.0\.0, which is not installed$/m,
        /^ {4}fix: install plugin 'needed' >=1\.0\.0 in /m,
      ],
    },
  ];

  for (const { name, make, args = [], expect } of broken) {
    test(`fails with exit 1: ${name}`, async () => {
      const dir = make(tempDir());
      const outcome = await check([dir, "--no-type-check", ...args.map((arg) => (arg === "EMPTY" ? tempDir() : arg))]);
      assert.equal(outcome.code, 1, outcome.stdout + outcome.stderr);
      for (const pattern of expect) assert.match(outcome.stdout, pattern);
      assert.match(outcome.stdout, /: does not pass \([1-9]\d* failures?, /);
    });
  }

  test("dependencies: met in --plugins-dir → OK; a wrong version → FAIL; no --plugins-dir → a warning, exit 0", async () => {
    const root = tempDir();
    const manifest =
      '[plugin]\nid = "dependent"\nentry = "index.ts:TestPlugin"\n\n[[plugin.dependency]]\nid = "needed"\nversion = ">=1.0.0"\n';
    const dir = writePlugin(root, { id: "dependent", manifest, code: pluginCode() });
    const others = tempDir();
    const neededManifest = (version: string) =>
      `[plugin]\nid = "needed"\nversion = "${version}"\nentry = "index.ts:TestPlugin"\n`;
    writePlugin(others, { id: "needed", manifest: neededManifest("1.2.0"), code: pluginCode() });

    const met = await check([dir, "--no-type-check", "--plugins-dir", others]);
    assert.equal(met.code, 0, met.stdout);
    assert.match(met.stdout, /^\[OK\] dependencies: met in .* \(needed\)$/m);

    writePlugin(others, { id: "needed", manifest: neededManifest("0.9.0"), code: pluginCode() });
    const old = await check([dir, "--no-type-check", "--plugins-dir", others]);
    assert.equal(old.code, 1, old.stdout);
    assert.match(
      old.stdout,
      /^\[FAIL\] dependencies: .*needs plugin 'needed' >=1\.0\.0, but version 0\.9\.0 is installed$/m,
    );

    const unchecked = await check([dir, "--no-type-check"]);
    assert.equal(unchecked.code, 0, unchecked.stdout);
    assert.match(unchecked.stdout, /^\[WARN\] dependencies: not checked \(needed\): no plugins folder was given$/m);
    assert.match(unchecked.stdout, /^ {4}fix: pass --plugins-dir DIR/m);
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
    const none = await check([]);
    assert.equal(none.code, 2);
    assert.match(none.stderr, /missing required argument 'dir'/);
    const unknown = await check([tempDir(), "--frobnicate"]);
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /unknown option '--frobnicate'/);
    const missing = await check([path.join(tempDir(), "nope")]);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /neko-plugin check: .*nope is not a folder/);
  });
});
