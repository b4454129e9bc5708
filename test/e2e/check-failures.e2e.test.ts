/**
 * `neko-plugin check` against plugin folders each broken in one way: each answered with exit 1 and a `[FAIL]` line that
 * names the reason (and where, and the fix). No type-check here (check-command.e2e.test.ts has it): it is the slow step.
 */
import assert from "node:assert/strict";
import fs from "node:fs";
import { after, describe, test } from "node:test";
import { CHECK_IMPORTS as IMPORTS, checkPluginCode as pluginCode, runCheck as check } from "../support/check-cli.ts";
import { makeTempDir, writePlugin } from "../support/plugin-fixtures.ts";

const temps: string[] = [];
after(() => {
  for (const dir of temps) fs.rmSync(dir, { recursive: true, force: true });
});

function tempDir(): string {
  const dir = makeTempDir("neko-check-e2e-");
  temps.push(dir);
  return dir;
}

// Side by side: each case is mostly the CLI starting up.
describe("neko-plugin check fails with exit 1 and the reason", { concurrency: 3 }, () => {
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
      name: "an invalid manifest still shows its unknown-key warnings",
      make: (root) =>
        writePlugin(root, {
          id: "typo_and_error",
          manifest:
            '[plugin]\nid = "typo_and_error"\nentry = "index.ts:TestPlugin"\nversion = "one"\n[plugin.sotre]\nenabled = false\n',
          code: pluginCode(),
        }),
      expect: [
        /^\[FAIL\] manifest: plugin\.toml: \[plugin\]\.version must be a semver version like '1\.2\.3', not 'one'$/m,
        /^\[WARN\] manifest: plugin\.toml: \[plugin\]\.sotre is not a known key and is ignored$/m,
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
      name: "a configSchema that does not compile",
      make: (root) =>
        writePlugin(root, {
          id: "bad_config_schema",
          code: pluginCode(`
@nekoPlugin
export class TestPlugin extends NekoPluginBase {
  static override configSchema = { type: "object", properties: { port: { type: "integr" } } };
}
`),
        }),
      expect: [
        /^\[FAIL\] schemas: configSchema is not a valid JSON Schema: .*must be equal to one of the allowed values/m,
        /^ {4}fix: make configSchema a Zod schema/m,
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
    // The wrong version in a folder of its own, so that the three checks can run side by side.
    const othersOld = tempDir();
    writePlugin(othersOld, { id: "needed", manifest: neededManifest("0.9.0"), code: pluginCode() });

    const [met, old, unchecked] = await Promise.all([
      check([dir, "--no-type-check", "--plugins-dir", others]),
      check([dir, "--no-type-check", "--plugins-dir", othersOld]),
      check([dir, "--no-type-check"]),
    ]);
    assert.equal(met.code, 0, met.stdout);
    assert.match(met.stdout, /^\[OK\] dependencies: met in .* \(needed\)$/m);

    assert.equal(old.code, 1, old.stdout);
    assert.match(
      old.stdout,
      /^\[FAIL\] dependencies: .*needs plugin 'needed' >=1\.0\.0, but version 0\.9\.0 is installed$/m,
    );
    assert.match(old.stdout, /^ {4}fix: update 'needed' to >=1\.0\.0$/m);

    assert.equal(unchecked.code, 0, unchecked.stdout);
    assert.match(unchecked.stdout, /^\[WARN\] dependencies: not checked \(needed\): no plugins folder was given$/m);
    assert.match(unchecked.stdout, /^ {4}fix: pass --plugins-dir DIR/m);
  });

  test("the original's dependency forms: a missing entry and a missing provider fail with their fix; an untested version warns", async () => {
    const root = tempDir();
    const manifest = `[plugin]\nid = "ported"\nentry = "index.ts:TestPlugin"\n
[[plugin.dependency]]\nentry = "timer:alarm"\n
[[plugin.dependency]]\nproviders = ["tts_one", "tts_two"]\n
[[plugin.dependency]]\nid = "timer"\nsupported = "^2"\nuntested = "^1"\n`;
    const dir = writePlugin(root, { id: "ported", manifest, code: pluginCode() });
    const others = tempDir();
    writePlugin(others, {
      id: "timer",
      manifest: '[plugin]\nid = "timer"\nversion = "1.5.0"\nentry = "index.ts:TestPlugin"\n[[entries]]\nid = "now"\n',
      code: pluginCode(),
    });
    const outcome = await check([dir, "--no-type-check", "--plugins-dir", others]);
    assert.equal(outcome.code, 1, outcome.stdout);
    assert.match(
      outcome.stdout,
      /^\[FAIL\] dependencies: plugin\.toml: \[\[plugin\.dependency\]\]: needs entry 'timer:alarm', but it declares no entry 'alarm' \(only 'now'\)$/m,
    );
    // 'timer' is installed: the fix names what it lacks, not an install.
    assert.match(
      outcome.stdout,
      /^ {4}fix: add entry 'alarm' to 'timer', or update 'timer' to a version that declares it$/m,
    );
    assert.doesNotMatch(outcome.stdout, /fix: install plugin 'timer'/);
    assert.match(
      outcome.stdout,
      /^\[FAIL\] dependencies: .*needs one of the providers 'tts_one', 'tts_two', and none fits: 'tts_one' is not installed; 'tts_two' is not installed$/m,
    );
    assert.match(outcome.stdout, /^ {4}fix: install one of 'tts_one', 'tts_two' in /m);
    assert.match(
      outcome.stdout,
      /^\[WARN\] dependencies: plugin\.toml: \[\[plugin\.dependency\]\]: needs plugin 'timer': version 1\.5\.0 is inside the untested range '\^1' only$/m,
    );
  });

  test("an installed provider outside the range: the fix names the range, per provider", async () => {
    const root = tempDir();
    const manifest = `[plugin]\nid = "ported"\nentry = "index.ts:TestPlugin"\n
[[plugin.dependency]]\nid = "timer"\nsupported = "^2"\n
[[plugin.dependency]]\nproviders = ["timer", "ghost"]\nconflicts = ["<1.6"]\n`;
    const dir = writePlugin(root, { id: "ported", manifest, code: pluginCode() });
    const others = tempDir();
    writePlugin(others, {
      id: "timer",
      manifest: '[plugin]\nid = "timer"\nversion = "1.5.0"\nentry = "index.ts:TestPlugin"\n',
      code: pluginCode(),
    });
    const outcome = await check([dir, "--no-type-check", "--plugins-dir", others]);
    assert.equal(outcome.code, 1, outcome.stdout);
    assert.match(outcome.stdout, /^ {4}fix: update 'timer' to \^2$/m);
    assert.match(outcome.stdout, /^ {4}fix: update 'timer' to a version outside '<1\.6'; or install 'ghost'$/m);
  });
});
