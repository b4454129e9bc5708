/**
 * `neko-plugin check` on Python plugins (docs/cli.md#check, docs/python-plugins.md), through the real CLI: the Python
 * runner the host launches loads the plugin in its check mode, with the interpreter the host would find, and the
 * report reads as a TypeScript plugin's — the entries found on success; a syntax error with file:line:column, an import
 * error, a missing class, a malformed hook condition, a bad entry schema, each with exit 1; no usable Python is a
 * failure naming the apt line; a module that hangs is killed with what it started.
 */
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { after, describe, test } from "node:test";
import { runCheck as check } from "../support/check-cli.ts";
import { isAlive, makeTempDir, waitFor, writePlugin } from "../support/plugin-fixtures.ts";
import { PYTHON, PYTHON_SKIP } from "../support/python.ts";

const temps: string[] = [];
after(() => {
  for (const dir of temps) fs.rmSync(dir, { recursive: true, force: true });
});

function tempDir(): string {
  const dir = makeTempDir("neko-check-py-");
  temps.push(dir);
  return dir;
}

const IMPORTS =
  "from plugin.sdk.plugin import NekoPluginBase, Ok, neko_plugin, plugin_entry, before_entry, timer_interval";

/** A Python plugin folder `id` whose `__init__.py` is `code`, with an [plugin.sdk] range (no warning about it). */
function pythonPlugin(id: string, code: string, className = "Plugin", extra = ""): string {
  return writePlugin(tempDir(), {
    id,
    manifest: `[plugin]\nid = "${id}"\nentry = "plugin.plugins.${id}:${className}"\n\n[plugin.sdk]\nsupported = ">=0.1.0"\n${extra}`,
    files: { "__init__.py": code },
  });
}

const GOOD = `${IMPORTS}


@neko_plugin
class Plugin(NekoPluginBase):
    @plugin_entry(id="greet", input_schema={"type": "object", "properties": {"name": {"type": "string"}}})
    def greet(self, name="world", **_):
        return Ok(f"hello {name}")

    @plugin_entry(id="add", input_schema={"type": "object", "properties": {"a": {"type": "number"}}})
    def add(self, a=0, **_):
        return Ok(a)

    @before_entry(target="add", condition="args.a > 1")
    def audit(self, **_):
        return None

    @timer_interval(id="tick", seconds=60)
    def tick(self, **_):
        return None
`;

describe("neko-plugin check on a Python plugin", { skip: PYTHON_SKIP, concurrency: 3 }, () => {
  test("a plugin that loads: the entries found, exit 0, nothing left in its folder", async () => {
    const dir = pythonPlugin("py_good", GOOD);
    const { code, stdout } = await check([dir]);
    assert.equal(
      stdout,
      [
        "[OK] manifest: plugin.toml is valid (id py_good, version 0.1.0)",
        "[OK] sdk: SDK 0.1.0 fits [plugin.sdk] (supported >=0.1.0)",
        "[OK] dependencies: none declared",
        "[OK] load: __init__.py imports without an error",
        "[OK] class: Plugin inherits NekoPluginBase and is decorated",
        "[OK] entries: 2 entries (greet, add), 1 hook, 1 timer, 0 event handlers, 0 message handlers",
        "[OK] schemas: 2 schemas compiled",
        "[OK] types: not type-checked: __init__.py is Python",
        "py_good: passes (0 failures, 0 warnings)",
        "",
      ].join("\n"),
    );
    assert.equal(code, 0);
    assert.deepEqual(fs.readdirSync(dir).sort(), ["__init__.py", "plugin.toml"], "no __pycache__, no data/");

    const json = await check([dir, "--json"]);
    assert.equal(json.code, 0);
    const report = JSON.parse(json.stdout);
    assert.equal(report.ok, true);
    assert.deepEqual(
      report.items.find((item: { check: string }) => item.check === "entries"),
      {
        level: "ok",
        check: "entries",
        message: "2 entries (greet, add), 1 hook, 1 timer, 0 event handlers, 0 message handlers",
      },
    );
  });

  const broken: Array<{ name: string; code: string; className?: string; lines: string[] }> = [
    {
      name: "a syntax error, with file:line:column",
      code: "from plugin.sdk.plugin import NekoPluginBase\n\n\nclass Plugin(NekoPluginBase)\n    pass\n",
      lines: [
        "[FAIL] load: __init__.py:4:29 syntax error: expected ':'",
        "    fix: fix the syntax at __init__.py:4:29",
      ],
    },
    {
      name: "an import error, with its line and the interpreter to install it for",
      code: "import json\nimport neko_no_such_module\n",
      lines: [
        "[FAIL] load: __init__.py:2 ModuleNotFoundError: No module named 'neko_no_such_module'",
        `    fix: install 'neko_no_such_module' for ${PYTHON} (apt-get install python3-<package>, or pip), or fix the import`,
      ],
    },
    {
      name: "a class that is not there",
      code: `${IMPORTS}\n\n\nclass Other(NekoPluginBase):\n    pass\n`,
      className: "Missing",
      lines: [
        "[OK] load: __init__.py imports without an error",
        "[FAIL] class: __init__.py has no class 'Missing'",
        "    fix: define `class Missing(NekoPluginBase)` in __init__.py, or name its class in [plugin].entry",
      ],
    },
    {
      name: "a class that does not inherit NekoPluginBase",
      code: "class Plugin:\n    pass\n",
      lines: [
        "[FAIL] class: class 'Plugin' does not inherit NekoPluginBase (from plugin.sdk.plugin)",
        "    fix: declare it as `class Plugin(NekoPluginBase)` (from plugin.sdk.plugin import NekoPluginBase)",
      ],
    },
    {
      name: "a malformed hook condition, naming the hook and where it is declared",
      code: GOOD.replace('condition="args.a > 1"', 'condition="args.a = 1"'),
      lines: [
        "[FAIL] entries: __init__.py:14 ValueError: @before_entry 'audit': invalid condition: assignment is not allowed at position 8 of \"args.a = 1\"",
        "    fix: fix the decorator's arguments at __init__.py:14",
      ],
    },
    {
      name: "a bad entry schema, with where in the schema",
      code: GOOD.replace('{"a": {"type": "number"}}', '{"a": {"type": "nombre"}}'),
      lines: [
        "[OK] entries: 2 entries (greet, add), 1 hook, 1 timer, 0 event handlers, 0 message handlers",
        "[FAIL] schemas: entry 'add': its input_schema is not a valid schema: 'nombre' is not valid under any of the given schemas (at properties.a.type)",
        "    fix: fix the input_schema: it must be a JSON Schema (draft 2020-12) dict that jsonschema accepts",
      ],
    },
    {
      name: "an entry id declared twice",
      code: GOOD.replace('id="add"', 'id="greet"'),
      lines: ["[FAIL] entries: entry id 'greet' is declared twice", "    fix: give each entry its own id"],
    },
    {
      name: "code at import that raises, with its line",
      code: `${IMPORTS}\n\nSETTINGS = {}\nLIMIT = SETTINGS["limit"]\n`,
      lines: [
        "[FAIL] load: __init__.py:4 KeyError: 'limit'",
        "    fix: fix the code at __init__.py:4: it runs when the module is imported",
      ],
    },
  ];
  for (const { name, code, className, lines } of broken) {
    test(`${name}: exit 1`, async () => {
      const id = `py_${name.replace(/[^a-z]+/g, "_").slice(0, 30)}`;
      const dir = pythonPlugin(id, code, className);
      const outcome = await check([dir]);
      assert.equal(outcome.code, 1, outcome.stdout + outcome.stderr);
      const printed = outcome.stdout.split("\n");
      for (const line of lines) assert.ok(printed.includes(line), `missing line:\n${line}\nin:\n${outcome.stdout}`);
      assert.match(outcome.stdout, new RegExp(`^${id}: does not pass \\(\\d+ failures?, 0 warnings\\)$`, "m"));
    });
  }

  test("entry = \"main.py:Plugin\": loaded as a module of the folder's package, a relative import's error named", async () => {
    const dir = writePlugin(tempDir(), {
      id: "py_main",
      manifest: '[plugin]\nid = "py_main"\nentry = "main.py:Plugin"\n\n[plugin.sdk]\nsupported = ">=0.1.0"\n',
      files: {
        "main.py": GOOD.replace(IMPORTS, `${IMPORTS}\nfrom .helpers import LIMIT`),
        "helpers.py": "LIMIT = 3\n",
      },
    });
    const good = await check([dir]);
    assert.equal(good.code, 0, good.stdout);
    assert.match(good.stdout, /^\[OK\] load: main\.py imports without an error$/m);
    assert.match(good.stdout, /^\[OK\] entries: 2 entries \(greet, add\), 1 hook, 1 timer, /m);
    fs.writeFileSync(path.join(dir, "helpers.py"), "LIMIT = = 3\n");
    const bad = await check([dir]);
    assert.equal(bad.code, 1, bad.stdout);
    assert.match(bad.stdout, /^\[FAIL\] load: helpers\.py:1:9 syntax error: invalid syntax$/m);
  });

  test("without a usable Python: a failure naming the apt line, exit 1", async () => {
    const dir = pythonPlugin("py_nopython", GOOD);
    const outcome = await check([dir], { NEKO_PYTHON: "/bin/true" });
    assert.equal(outcome.code, 1);
    const printed = outcome.stdout.split("\n");
    assert.ok(
      printed.includes(
        "[FAIL] load: not loaded: Python plugins need python3 (3.11 or newer) with python3-zmq, python3-msgpack and " +
          "python3-jsonschema (apt-get install python3-zmq python3-msgpack python3-jsonschema), or NEKO_PYTHON naming " +
          'such an interpreter (/bin/true: it exited 0 without printing "NEKO_PY_OK <executable> <version>": not a ' +
          "Python that ran the probe)",
      ),
      outcome.stdout,
    );
    assert.ok(
      printed.includes(
        "    fix: apt-get install python3-zmq python3-msgpack python3-jsonschema, or set NEKO_PYTHON to a Python " +
          "3.11+ that has them",
      ),
      outcome.stdout,
    );
  });

  test("an error raised inside importlib (<frozen …> frames) is placed at the plugin's own line", async () => {
    const dir = pythonPlugin("py_frozen", 'import importlib\n\nimportlib.import_module("json.nothere")\n');
    const outcome = await check([dir]);
    assert.equal(outcome.code, 1, outcome.stdout);
    assert.ok(
      outcome.stdout
        .split("\n")
        .includes("[FAIL] load: __init__.py:3 ModuleNotFoundError: No module named 'json.nothere'"),
      outcome.stdout,
    );
    assert.doesNotMatch(outcome.stdout, /<frozen/);
  });

  test("NEKO_PYTHON through a file (spawn throws ENOTDIR): a FAIL line with the reason, no stack, exit 1", async () => {
    const dir = pythonPlugin("py_notdir", GOOD);
    const outcome = await check([dir], { NEKO_PYTHON: "/etc/passwd/python3" });
    assert.equal(outcome.code, 1, outcome.stdout + outcome.stderr);
    assert.ok(
      outcome.stdout
        .split("\n")
        .includes(
          "[FAIL] load: not loaded: Python plugins need python3 (3.11 or newer) with python3-zmq, python3-msgpack and " +
            "python3-jsonschema (apt-get install python3-zmq python3-msgpack python3-jsonschema), or NEKO_PYTHON naming " +
            "such an interpreter (/etc/passwd/python3: it cannot be started: spawn ENOTDIR (a part of its path is a " +
            "file, not a folder))",
        ),
      outcome.stdout,
    );
    assert.match(outcome.stdout, /^py_notdir: does not pass \(1 failure, 0 warnings\)$/m);
    assert.doesNotMatch(outcome.stderr, /at .*\.ts:\d+|Error:/, outcome.stderr);
  });

  test("a module that exits the process at import, or prints a fake report on stdout: told apart", async () => {
    const exits = pythonPlugin("py_exits", "import os\nprint('{\"items\": []}')\nos._exit(3)\n");
    const outcome = await check([exits]);
    assert.equal(outcome.code, 1);
    assert.match(
      outcome.stdout,
      /^\[FAIL\] load: loading __init__\.py ended the process before it was inspected: it exited with code 3$/m,
    );
    const printsOnly = pythonPlugin("py_prints", `print('{"items": [{"level": "fail"}]}')\n${GOOD}`);
    assert.equal((await check([printsOnly])).code, 0, "what the module prints is not the report");
  });

  test("hostile modules: the host's API token is not passed on; a malformed or an incomplete report on the descriptor is not a pass", async () => {
    const peeks = pythonPlugin(
      "py_peeks",
      'import os\nraise RuntimeError("token=" + str(os.environ.get("NEKO_API_TOKEN")))\n',
    );
    const peeked = await check([peeks], { NEKO_API_TOKEN: "s3cret" });
    assert.equal(peeked.code, 1);
    assert.ok(peeked.stdout.split("\n").includes("[FAIL] load: __init__.py:2 RuntimeError: token=None"), peeked.stdout);
    assert.doesNotMatch(peeked.stdout + peeked.stderr, /s3cret/);

    const forger = pythonPlugin(
      "py_forger",
      'import json, os\nos.write(3, (json.dumps({"items": [{"level": "bogus", "check": "load\\u001b[2J", "message": "all good"}]}) + "\\n").encode())\nos._exit(0)\n',
    );
    const forged = await check([forger]);
    assert.equal(forged.code, 1, forged.stdout);
    assert.match(
      forged.stdout,
      /^\[FAIL\] load: loading __init__\.py ended the process before it was inspected: it exited with code 0$/m,
    );
    assert.equal(forged.stdout.includes("\u001b"), false, "no escape sequence reaches the terminal");

    // Well-formed, but only the load step: the runner always reports load, class, entries and schemas (or a failure).
    const short = pythonPlugin(
      "py_short",
      'import json, os\nos.write(3, (json.dumps({"items": [{"level": "ok", "check": "load", "message": "fine"}]}) + "\\n").encode())\nos._exit(0)\n',
    );
    const shorted = await check([short]);
    assert.equal(shorted.code, 1, shorted.stdout);
    assert.match(
      shorted.stdout,
      /^\[FAIL\] load: loading __init__\.py ended the process before it was inspected: it exited with code 0$/m,
    );
    assert.doesNotMatch(shorted.stdout, /^\[OK\] load: fine$/m);
  });

  test("a report over 1 MiB on the descriptor, even a whole one, is no report", async () => {
    const steps = ["load", "class", "entries", "schemas"]
      .map((step) => `{"level": "ok", "check": "${step}", "message": "fine" + " " * 600000}`)
      .join(", ");
    const flood = pythonPlugin(
      "py_flood",
      `import json, os\nreport = json.dumps({"items": [${steps}]}).encode()\nwhile report:\n    report = report[os.write(3, report):]\nos._exit(0)\n`,
    );
    const outcome = await check([flood]);
    assert.equal(outcome.code, 1, outcome.stdout.slice(0, 2000));
    assert.match(
      outcome.stdout,
      /^\[FAIL\] load: loading __init__\.py ended the process before it was inspected: it exited with code 0$/m,
    );
    assert.doesNotMatch(outcome.stdout, /^\[OK\] load: fine/m);
  });

  test("a module that hangs at import is killed after 10 s with the process it started", async () => {
    const root = tempDir();
    const pidFile = path.join(root, "child.pid");
    const dir = pythonPlugin(
      "py_hangs",
      `import subprocess, time\nchild = subprocess.Popen(["sleep", "60"])\nopen(${JSON.stringify(pidFile)}, "w").write(str(child.pid))\ntime.sleep(60)\n`,
    );
    const started = Date.now();
    const outcome = await check([dir]);
    const took = Date.now() - started;
    assert.equal(outcome.code, 1);
    assert.ok(took >= 9000 && took < 30_000, `took ${took} ms`);
    assert.ok(
      outcome.stdout
        .split("\n")
        .includes(
          "[FAIL] load: __init__.py: the module did not finish loading in 10 s (code at the module's top level that waits?)",
        ),
      outcome.stdout,
    );
    const pid = Number(fs.readFileSync(pidFile, "utf8"));
    await waitFor(() => !isAlive(pid), { what: "the process the module started to be killed" });
  });
});
