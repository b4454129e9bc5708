/**
 * `checkPluginFolder` and `formatCheckReport` through their functions: the module inspector's child is killed when the
 * module never finishes loading and leaves no process behind, a module that ends its process is reported, a JavaScript
 * plugin skips the type-check, a plugin's own tsconfig.json is used, and the report reads as documented.
 */
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { after, describe, test } from "node:test";
import { descendantPids, makeTempDir, waitFor, writePlugin } from "../../../test/support/plugin-fixtures.ts";
import { inspectModuleInChild } from "../src/check/module-inspection.ts";
import { type CheckReport, checkPluginFolder, formatCheckReport } from "../src/check/plugin-check.ts";
import { removeTypeCheckBuildInfo } from "./type-check-build-info.ts";

const temps: string[] = [];
after(() => {
  removeTypeCheckBuildInfo(temps);
  for (const dir of temps) fs.rmSync(dir, { recursive: true, force: true });
});

function tempDir(): string {
  const dir = makeTempDir("neko-check-");
  temps.push(dir);
  return dir;
}

const IMPORTS = 'import { NekoPluginBase, nekoPlugin } from "@neko/plugin-sdk/plugin";';

describe("the module inspector", () => {
  test("a module that never finishes loading fails after the time limit, and its process is gone", async () => {
    const dir = writePlugin(tempDir(), {
      id: "waits",
      code: `${IMPORTS}\nawait new Promise((resolve) => setTimeout(resolve, 60_000));\n`,
    });
    const started = Date.now();
    const items = await inspectModuleInChild({
      dir,
      modulePath: path.join(dir, "index.ts"),
      className: "TestPlugin",
      type: "plugin",
      timeoutMs: 1500,
    });
    assert.ok(Date.now() - started < 30_000);
    assert.deepEqual(items, [
      {
        level: "fail",
        check: "load",
        message: "index.ts: the module did not finish loading in 1.5 s (top-level await?)",
        fix: "do not wait at the top level of the module: start connections and timers in the startup lifecycle",
        file: "index.ts",
      },
    ]);
    // The inspector of this folder is gone (other tests of this file may have processes of their own meanwhile).
    const inspectorsOf = (folder: string) =>
      descendantPids(process.pid).filter((pid) => {
        try {
          return fs.readFileSync(`/proc/${pid}/cmdline`, "utf8").includes(folder);
        } catch {
          return false;
        }
      });
    await waitFor(() => inspectorsOf(dir).length === 0, { what: "the inspector's process gone", timeoutMs: 10_000 });
  });

  test("a module that exits its process while it is imported is reported with what it wrote on stderr", async () => {
    const dir = writePlugin(tempDir(), {
      id: "exits",
      code: `${IMPORTS}\nconsole.error("giving up");\nprocess.exit(3);\n`,
    });
    const items = await inspectModuleInChild({
      dir,
      modulePath: path.join(dir, "index.ts"),
      className: "TestPlugin",
      type: "plugin",
    });
    assert.equal(items.length, 1);
    assert.equal(items[0].level, "fail");
    assert.equal(items[0].check, "load");
    assert.match(
      items[0].message,
      /^loading index\.ts ended the process before it was inspected: it exited with code 3\ngiving up$/,
    );
  });
});

describe("checkPluginFolder", () => {
  test("a plugin written in JavaScript loads and skips the type-check, saying so", async () => {
    const dir = writePlugin(tempDir(), {
      id: "plain_js",
      manifest: '[plugin]\nid = "plain_js"\nentry = "index.mjs:JsPlugin"\n',
      files: {
        "index.mjs": [
          'import { NekoPluginBase, nekoPlugin } from "@neko/plugin-sdk/plugin";',
          "export class JsPlugin extends NekoPluginBase {}",
          // No decorator syntax in plain JavaScript on Node 20: the decorator is applied as a function.
          "const metadata = Object.create(NekoPluginBase[Symbol.metadata] ?? null);",
          "Object.defineProperty(JsPlugin, Symbol.metadata, { value: metadata });",
          "nekoPlugin(JsPlugin, { kind: 'class', name: 'JsPlugin', metadata, addInitializer() {} });",
          "",
        ].join("\n"),
      },
    });
    const report = await checkPluginFolder(dir);
    const byCheck = Object.fromEntries(report.items.map((item) => [item.check, item]));
    assert.equal(byCheck.load?.level, "ok", JSON.stringify(report.items));
    assert.deepEqual(byCheck.types, {
      level: "ok",
      check: "types",
      message: "not type-checked: index.mjs is JavaScript",
    });
  });

  test("the progress line prints an entry module's name with its control characters escaped", async () => {
    // (A Python entry's name cannot carry them: the manifest takes only Python identifiers there.)
    const name = "evil\u001b]0;owned\u0007\u001b[2J.mjs";
    const dir = writePlugin(tempDir(), {
      id: "evil_name",
      manifest: '[plugin]\nid = "evil_name"\nentry = "evil\\u001b]0;owned\\u0007\\u001b[2J.mjs:P"\n',
      files: { [name]: "export class P {}\n" },
    });
    const lines: string[] = [];
    const report = await checkPluginFolder(dir, { typeCheck: false, onProgress: (line) => lines.push(line) });
    const loading = lines.find((line) => line.startsWith("loading "));
    assert.ok(loading !== undefined, JSON.stringify(report.items));
    assert.equal(loading, "loading evil\\x1b]0;owned\\x07\\x1b[2J.mjs in a child process…");
    assert.equal(
      [...lines.join("")].some((c) => c.charCodeAt(0) < 0x20),
      false,
      JSON.stringify(lines),
    );
  });

  test("a Python plugin with loadPython: false (install): the manifest is checked, the code not run, saying so", async () => {
    const dir = writePlugin(tempDir(), {
      id: "py_plain",
      manifest: '[plugin]\nid = "py_plain"\nentry = "plugin.plugins.py_plain:PyPlugin"\n',
      files: { "__init__.py": "this is not even Python (\n" },
    });
    const report = await checkPluginFolder(dir, { loadPython: false });
    assert.equal(report.ok, true, JSON.stringify(report.items));
    const byCheck = Object.fromEntries(report.items.map((item) => [item.check, item]));
    assert.deepEqual(byCheck.load, {
      level: "warn",
      check: "load",
      message: "not loaded: __init__.py is Python, whose code would run unconfined (Python has no permission model)",
      fix: "run `neko-plugin check` on the installed plugin's folder to load it",
    });
    assert.deepEqual(byCheck.types, {
      level: "ok",
      check: "types",
      message: "not type-checked: __init__.py is Python",
    });
    const missing = writePlugin(tempDir(), {
      id: "py_missing",
      manifest: '[plugin]\nid = "py_missing"\nentry = "plugins.py_missing:PyPlugin"\n',
    });
    const refused = await checkPluginFolder(missing, { loadPython: false });
    assert.equal(refused.ok, false, "a Python plugin without __init__.py fails the check");
  });

  test("the plugin's own tsconfig.json is used, and its problems are reported as failures", async () => {
    const dir = writePlugin(tempDir(), {
      id: "own_config",
      code: `${IMPORTS}\n@nekoPlugin\nexport class TestPlugin extends NekoPluginBase {}\n`,
      files: { "tsconfig.json": JSON.stringify({ compilerOptions: { strict: true, target: "nonsense" } }) },
    });
    const progress: string[] = [];
    const report = await checkPluginFolder(dir, { onProgress: (line) => progress.push(line) });
    assert.equal(report.ok, false);
    const types = report.items.filter((item) => item.check === "types");
    assert.ok(types.length > 0);
    assert.ok(
      types.some((item) => item.level === "fail" && /TS6046 Argument for '--target' option must be/.test(item.message)),
      JSON.stringify(types),
    );
    assert.deepEqual(progress, [
      "loading index.ts in a child process…",
      "type-checking (the first check of a folder takes a few seconds)…",
    ]);
  });
});

describe("formatCheckReport", () => {
  const report: CheckReport = {
    ok: false,
    id: "sample",
    dir: "/plugins/sample",
    items: [
      { level: "ok", check: "manifest", message: "plugin.toml is valid (id sample, version 0.1.0)" },
      { level: "warn", check: "dependencies", message: "not checked (other)", fix: "pass --plugins-dir DIR" },
      {
        level: "fail",
        check: "load",
        message: "importing index.ts failed: bad\u001b[31m\nsecond line",
        fix: "fix the code at index.ts:3:7",
      },
    ],
  };

  test("one line per item, the fix indented below, a summary; control characters escaped", () => {
    assert.equal(
      formatCheckReport(report, { color: false }),
      [
        "[OK] manifest: plugin.toml is valid (id sample, version 0.1.0)",
        "[WARN] dependencies: not checked (other)",
        "    fix: pass --plugins-dir DIR",
        "[FAIL] load: importing index.ts failed: bad\\x1b[31m",
        "    second line",
        "    fix: fix the code at index.ts:3:7",
        "sample: does not pass (1 failure, 1 warning)",
        "",
      ].join("\n"),
    );
  });

  test("with colour: the labels green, yellow and red", () => {
    const text = formatCheckReport(report, { color: true });
    assert.ok(text.includes("\u001b[32m[OK]\u001b[39m"));
    assert.ok(text.includes("\u001b[33m[WARN]\u001b[39m"));
    assert.ok(text.includes("\u001b[31m[FAIL]\u001b[39m"));
  });
});
