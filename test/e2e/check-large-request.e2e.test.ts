/**
 * `neko-plugin check` with a manifest whose [[plugin.entries]] schemas are large (docs/cli.md#check): the inspection
 * request, which carries them, goes to the inspector on stdin, so a request over argv's size limit (~128 KiB per
 * argument on Linux, E2BIG) is checked like any other — for a TypeScript plugin and a Python one.
 */
import assert from "node:assert/strict";
import fs from "node:fs";
import { after, describe, test } from "node:test";
import { runCheck as check, checkPluginCode } from "../support/check-cli.ts";
import { makeTempDir, writePlugin } from "../support/plugin-fixtures.ts";
import { PYTHON_SKIP } from "../support/python.ts";

const temps: string[] = [];
after(() => {
  for (const dir of temps) fs.rmSync(dir, { recursive: true, force: true });
});

/** A [[plugin.entries]] table for `ping` whose input_schema is over 200 KB (one long description). */
const BIG_ENTRY = `[[plugin.entries]]\nid = "ping"\ninput_schema = { type = "object", description = "${"x".repeat(200_000)}" }\n`;

describe("check with a 200 KB schema in plugin.toml", { concurrency: 2 }, () => {
  test("a TypeScript plugin: loaded and its schemas compiled, exit 0", async () => {
    const root = makeTempDir("neko-check-big-");
    temps.push(root);
    const dir = writePlugin(root, {
      id: "big_ts",
      manifest: `[plugin]\nid = "big_ts"\nentry = "index.ts:TestPlugin"\n\n${BIG_ENTRY}`,
      code: checkPluginCode(),
    });
    const outcome = await check([dir, "--no-type-check"]);
    assert.match(outcome.stdout, /^\[OK\] load: index\.ts imports without an error$/m, outcome.stdout + outcome.stderr);
    assert.match(outcome.stdout, /^\[OK\] schemas: 2 schemas compiled$/m, outcome.stdout);
    assert.equal(outcome.code, 0, outcome.stdout + outcome.stderr);
  });

  test("a Python plugin: loaded and its schemas compiled, exit 0", { skip: PYTHON_SKIP }, async () => {
    const root = makeTempDir("neko-check-big-");
    temps.push(root);
    const dir = writePlugin(root, {
      id: "big_py",
      manifest: `[plugin]\nid = "big_py"\nentry = "plugin.plugins.big_py:Plugin"\n\n${BIG_ENTRY}`,
      files: {
        "__init__.py": [
          "from plugin.sdk.plugin import NekoPluginBase, Ok, neko_plugin, plugin_entry",
          "",
          "",
          "@neko_plugin",
          "class Plugin(NekoPluginBase):",
          '    @plugin_entry(id="ping")',
          "    def ping(self, **_):",
          '        return Ok("pong")',
          "",
        ].join("\n"),
      },
    });
    const outcome = await check([dir]);
    assert.match(
      outcome.stdout,
      /^\[OK\] load: __init__\.py imports without an error$/m,
      outcome.stdout + outcome.stderr,
    );
    // The manifest's 200 KB schema and the one `ping(self, **_)`'s signature gives (docs/python-plugins.md).
    assert.match(outcome.stdout, /^\[OK\] schemas: 2 schemas compiled$/m, outcome.stdout);
    assert.equal(outcome.code, 0, outcome.stdout + outcome.stderr);
  });
});
