/**
 * The original's remaining Python names played against (docs/python-plugins.md): inferred schemas and their defaults,
 * `@llm_tool` / `register_llm_tool`, `register_dynamic_entry`, `PluginRouter.add_entry` and `include_router` given bad
 * fields, and the limits on what an entry's descriptor may carry. Each plugin is written here; a refused one must not
 * take the host or the others with it.
 */
import assert from "node:assert/strict";
import fs from "node:fs";
import { after, before, describe, test } from "node:test";
import { makeTempDir, writePlugin } from "../support/plugin-fixtures.ts";
import { PYTHON_SKIP } from "../support/python.ts";
import { startTestHost, type TestHost } from "../support/test-host.ts";

/** Python plugins of this file: id → the body of class `P(NekoPluginBase)` (and code above it). */
const PLUGINS: Record<string, { body: string; head?: string }> = {
  py_defaults: {
    head: `import enum\n\nclass Color(enum.Enum):\n    RED = "red"\n`,
    body: `
    @plugin_entry(id="defaults")
    def defaults(self, pair=(1, 2), table: dict = {1: "a"}, big: int = 2**70, color=Color.RED, n: int = 3):
        return Ok({"pair": type(pair).__name__, "has_int_key": 1 in table, "big": str(big),
                   "color": type(color).__name__, "n": n})
`,
  },
  py_ctx: {
    body: `
    @plugin_entry(id="ctxd")
    def ctxd(self, x: int, _ctx=None, args=None, *, kwargs=None):
        return Ok({"x": x, "ctx": _ctx, "args": args, "kwargs": kwargs})
`,
  },
};

describe("the original's Python names given what they should refuse", { skip: PYTHON_SKIP }, () => {
  let root: string;
  let t: TestHost;

  before(async () => {
    root = makeTempDir();
    for (const [id, { body, head }] of Object.entries(PLUGINS)) {
      writePlugin(root, {
        id,
        manifest: `[plugin]\nid = "${id}"\nentry = "plugins.${id}:P"\n`,
        files: { "__init__.py": `from plugin.sdk.plugin import *\n${head ?? ""}\nclass P(NekoPluginBase):\n${body}` },
      });
    }
    t = await startTestHost({ roots: [root] });
  });
  after(async () => {
    await t?.close();
    fs.rmSync(root, { recursive: true, force: true });
  });

  const detail = async (id: string) => (await t.request("GET", `/plugins/${id}`)).body;
  const call = async (plugin: string, entry: string, args: object = {}) => {
    const answer = await t.trigger(plugin, entry, args);
    assert.equal(answer.status, 200, JSON.stringify(answer.body));
    return answer.body.data;
  };

  test("an inferred default that is not exactly JSON is left to Python: no conversion, and 2**70 does not refuse the plugin", async () => {
    assert.equal((await detail("py_defaults")).status, "running");
    const schema = (await detail("py_defaults")).entries.find((e: { id: string }) => e.id === "defaults").input_schema;
    assert.deepEqual(schema.properties, {
      pair: {},
      table: { type: "object" },
      big: { type: "integer" },
      color: {},
      n: { type: "integer", default: 3 },
    });
    assert.deepEqual(await call("py_defaults", "defaults"), {
      pair: "tuple",
      has_int_key: true,
      big: String(2n ** 70n),
      color: "Color",
      n: 3,
    });
  });

  test("_ctx, args and kwargs as named parameters are left out of the inferred schema but may be sent", async () => {
    const schema = (await detail("py_ctx")).entries.find((e: { id: string }) => e.id === "ctxd").input_schema;
    assert.deepEqual(schema, { type: "object", properties: { x: { type: "integer" } }, required: ["x"] });
    assert.deepEqual(await call("py_ctx", "ctxd", { x: 1, _ctx: { lang: "en" }, args: [1], kwargs: { k: 2 } }), {
      x: 1,
      ctx: { lang: "en" },
      args: [1],
      kwargs: { k: 2 },
    });
    const unknown = await t.trigger("py_ctx", "ctxd", { x: 1, self: 2, other: 3 });
    assert.equal(unknown.status, 400);
    assert.match(unknown.body.error.message, /self: is not an allowed argument/);
    assert.match(unknown.body.error.message, /other: is not an allowed argument/);
  });
});
