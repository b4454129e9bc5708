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
const PLUGINS: Record<string, { body: string; head?: string; future?: boolean }> = {
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
  py_fields: {
    head: `class R(PluginRouter):\n    pass\n`,
    body: `
    def __init__(self, ctx):
        super().__init__(ctx)
        self.r = R(prefix="r_")
        self.include_router(self.r)

    def _try(self, fn):
        try:
            return ["ok", fn()]
        except Exception as error:
            return [type(error).__name__, str(error)]

    @plugin_entry(id="go")
    async def go(self):
        out = {
            "role": self._try(lambda: self.register_llm_tool(name="r", role=object(), handler=lambda **_: 1)),
            "desc": self._try(lambda: self.register_llm_tool(name="d", description=123, handler=lambda **_: 1)),
            "params": self._try(lambda: self.register_llm_tool(
                name="p", parameters={"type": "object", "properties": {1: {}}}, handler=lambda **_: 1)),
            "dyn_desc": self.register_dynamic_entry("d123", lambda **_: Ok(1), description=123),
            "dyn_meta": self.register_dynamic_entry("obj", lambda **_: Ok(1), metadata={"o": object()}),
            "dyn_kind": self.register_dynamic_entry("kind", lambda **_: Ok(1), kind=7),
            "later": self.register_dynamic_entry("later", lambda **_: Ok("later")),
            "tools": [t["name"] for t in self.list_llm_tools()],
        }
        added = await self.r.add_entry("x", lambda **_: Ok(1), description=5)
        out["router_desc"] = [type(added.error).__name__, str(added.error)]
        added = await self.r.add_entry("y", lambda **_: Ok("y"))
        out["router_ok"] = added.is_ok() if hasattr(added, "is_ok") else added.value
        out["ids"] = [e["id"] for e in self.list_entries()]
        return Ok(out)
`,
  },
  py_router_schema: {
    head: `class R(PluginRouter):\n    @plugin_entry(id="dec")\n    def dec(self):\n        return Ok("dec")\n`,
    body: `
    @plugin_entry(id="go")
    async def go(self):
        r = R(prefix="r_")
        bad = await r.add_entry("bad", lambda **_: Ok(1), input_schema={"type": "strin"})
        self.include_router(r)
        bad_included = await r.add_entry("bad2", lambda **_: Ok(1), input_schema={"type": "strin"})
        r2 = R(prefix="r_")
        await r2.add_entry("extra", lambda **_: Ok(1))
        try:
            self.include_router(r2)
            second = "included"
        except ValueError as error:
            second = str(error)
        return Ok({"bad": [type(bad.error).__name__, str(bad.error)],
                   "bad_included": [type(bad_included.error).__name__, str(bad_included.error)],
                   "second": second, "r2_bound": r2.is_bound, "ids": [e["id"] for e in self.list_entries()]})
`,
  },
  py_reserved: {
    head: `import threading\n\nclass R(PluginRouter):\n    pass\n`,
    body: `
    @llm_tool(name="w")
    def w(self, **_):
        return Ok("tool")

    @plugin_entry(id="go")
    async def go(self):
        r = R(prefix="r_")
        self.include_router(r)
        await r.add_entry("owned", lambda **_: Ok("router"))
        out = {
            "take_tool": self.register_dynamic_entry("__llm_tool__w", lambda **_: Ok("dyn")),
            "new_tool_id": self.register_dynamic_entry("__llm_tool__z", lambda **_: Ok("dyn")),
            "take_router": self.register_dynamic_entry("r_owned", lambda **_: Ok("dyn")),
            "router_tool": str((await R().add_entry("__llm_tool__q", lambda **_: Ok(1))).error),
        }
        results = []

        def register():
            try:
                results.append(self.register_llm_tool(name="race", handler=lambda **_: Ok(1)))
            except Exception as error:
                results.append(type(error).__name__)

        threads = [threading.Thread(target=register) for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        out["race"] = sorted(map(str, results))
        out["tools"] = [t["name"] for t in self.list_llm_tools()]
        return Ok(out)
`,
  },
  py_reserved_decorated: {
    body: `
    @plugin_entry(id="__llm_tool__x")
    def x(self):
        return Ok(1)
`,
  },
  py_bad_tool_schema: {
    body: `
    @llm_tool(name="x", parameters={"type": "object", "properties": {"a": {"type": "strin"}}})
    def x(self, **_):
        return Ok(1)
`,
  },
  py_posonly: {
    body: `
    @plugin_entry(id="pos")
    def pos(self, x, /, y=1):
        return Ok({"x": x})
`,
  },
  py_posonly_dynamic: {
    body: `
    @plugin_entry(id="go")
    async def go(self):
        def tool(city, /):
            return Ok(city)

        try:
            self.register_llm_tool(name="t", handler=tool)
            registered = "registered"
        except ValueError as error:
            registered = str(error)
        added = await PluginRouter().add_entry("p", lambda n, /: Ok(n))
        return Ok({"dynamic": self.register_dynamic_entry("p", lambda n, /: Ok(n)), "tool": registered,
                   "router": str(added.error), "ids": [e["id"] for e in self.list_entries()]})
`,
  },
  py_hints: {
    future: true,
    body: `
    Count = int

    @plugin_entry(id="typed")
    def typed(self, a: int, n: Count = 1, odd: NoSuchName = None, s: str = "x") -> P:
        return Ok({"a": a, "n": n, "s": s})
`,
  },
  py_big: {
    body: `
    @plugin_entry(id="go")
    def go(self):
        added = [self.register_dynamic_entry(f"huge{i}", lambda **_: Ok(1), metadata={"blob": "x" * (15 * 1024 * 1024)})
                 for i in range(3)]
        deep = {}
        for _ in range(100):
            deep = {"a": deep}
        added.append(self.register_dynamic_entry("deep", lambda **_: Ok(1), input_schema={"type": "object", "x": deep}))
        added.append(self.register_dynamic_entry("small", lambda **_: Ok("small"), metadata={"k": "v"}))
        return Ok(added)
`,
  },
  py_big_decorated: {
    body: `
    @plugin_entry(id="x", metadata={"blob": "x" * 70000})
    def x(self):
        return Ok(1)
`,
  },
};

describe("the original's Python names given what they should refuse", { skip: PYTHON_SKIP }, () => {
  let root: string;
  let t: TestHost;

  before(async () => {
    root = makeTempDir();
    for (const [id, { body, head, future }] of Object.entries(PLUGINS)) {
      const imports = `${future ? "from __future__ import annotations\n\n" : ""}from plugin.sdk.plugin import *\n`;
      writePlugin(root, {
        id,
        manifest: `[plugin]\nid = "${id}"\nentry = "plugins.${id}:P"\n`,
        files: { "__init__.py": `${imports}${head ?? ""}\nclass P(NekoPluginBase):\n${body}` },
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

  test("bad fields of an LLM tool, a dynamic entry or a router's entry are refused naming them; the list goes on changing", async () => {
    const out = await call("py_fields", "go");
    assert.deepEqual(out.role, ["ValueError", "LLM tool 'r': role must be a string or None, not object"]);
    assert.deepEqual(out.desc, ["ValueError", "LLM tool 'd': description must be a string, not int"]);
    assert.deepEqual(out.params, [
      "ValueError",
      "LLM tool 'p': parameters must be JSON (dicts with str keys, lists, strings, numbers, bools, None)",
    ]);
    assert.equal(out.dyn_desc, false);
    assert.equal(out.dyn_meta, false);
    assert.equal(out.dyn_kind, false);
    assert.equal(out.later, true);
    assert.deepEqual(out.tools, []);
    assert.deepEqual(out.router_desc, ["PluginRouterError", "entry 'r_x': description must be a string, not int"]);
    assert.deepEqual(out.ids, ["go", "later", "r_y"]);
    // The host took every change that was made (none of the refused ones broke its frame).
    const listed = (await detail("py_fields")).entries.map((e: { id: string }) => e.id);
    assert.deepEqual(listed, ["go", "later", "r_y"]);
    assert.equal(await call("py_fields", "later"), "later");
    assert.equal(await call("py_fields", "r_y"), "y");
    const logs = (await t.request("GET", "/plugin/py_fields/logs?lines=200")).body;
    assert.match(JSON.stringify(logs), /register_dynamic_entry\('obj'\) refused: [^"]*cannot be sent/);
    assert.match(
      JSON.stringify(logs),
      /register_dynamic_entry\('kind'\) refused: entry 'kind': its kind must be a string, not int/,
    );
  });

  test("router.add_entry compiles input_schema (Err, included or not); include_router is all or nothing", async () => {
    const out = await call("py_router_schema", "go");
    assert.equal(out.bad[0], "PluginRouterError");
    assert.match(out.bad[1], /^entry 'r_bad': input_schema is not a valid JSON Schema: /);
    assert.equal(out.bad_included[0], "PluginRouterError");
    assert.match(out.bad_included[1], /^entry 'r_bad2': input_schema is not a valid JSON Schema: /);
    assert.equal(out.second, "include_router: entry 'r_dec' already exists");
    assert.equal(out.r2_bound, false);
    assert.deepEqual(out.ids, ["go", "r_dec"]);
    const listed = (await detail("py_router_schema")).entries.map((e: { id: string }) => e.id);
    assert.deepEqual(listed, ["go", "r_dec"]);
    assert.equal(await call("py_router_schema", "r_dec"), "dec");
  });

  test("the __llm_tool__ prefix is kept for LLM tools, a router's entry cannot be taken over, and tool names are checked and taken at once", async () => {
    const out = await call("py_reserved", "go");
    assert.equal(out.take_tool, false);
    assert.equal(out.new_tool_id, false);
    assert.equal(out.take_router, false);
    assert.equal(out.router_tool, "entry id '__llm_tool__q': the prefix __llm_tool__ is kept for LLM tools");
    assert.deepEqual(out.race, [
      "EntryConflictError",
      "EntryConflictError",
      "EntryConflictError",
      "EntryConflictError",
      "EntryConflictError",
      "EntryConflictError",
      "EntryConflictError",
      "True",
    ]);
    assert.deepEqual(out.tools, ["w", "race"]);
    assert.equal(await call("py_reserved", "__llm_tool__w"), "tool");
    assert.equal(await call("py_reserved", "r_owned"), "router");
    const refused = await detail("py_reserved_decorated");
    assert.equal(refused.status, "refused");
    assert.match(refused.status_reason, /entry id '__llm_tool__x': the prefix __llm_tool__ is kept for LLM tools/);
  });

  test("an @llm_tool whose parameters is not a valid JSON Schema refuses the plugin with one line naming the tool", async () => {
    const refused = await detail("py_bad_tool_schema");
    assert.equal(refused.status, "refused");
    assert.equal(
      refused.status_reason,
      "ValueError: LLM tool 'x': parameters is not a valid JSON Schema: 'strin' is not valid under any of the given schemas (at properties/a/type)",
    );
  });

  test("a handler with positional-only parameters is refused where it is declared, naming the entry", async () => {
    const refused = await detail("py_posonly");
    assert.equal(refused.status, "refused");
    assert.equal(
      refused.status_reason,
      "ValueError: entry 'pos': parameter(s) 'x' are positional-only (before '/'), but arguments are passed by name; remove the '/'",
    );
    assert.deepEqual(await call("py_posonly_dynamic", "go"), {
      dynamic: false,
      tool: "LLM tool 't': parameter(s) 'city' are positional-only (before '/'), but arguments are passed by name; remove the '/'",
      router:
        "entry 'p': parameter(s) 'n' are positional-only (before '/'), but arguments are passed by name; remove the '/'",
      ids: ["go"],
    });
  });

  test("annotations resolve one by one, in the class body too; an unresolvable one or the return leaves the others typed", async () => {
    const schema = (await detail("py_hints")).entries.find((e: { id: string }) => e.id === "typed").input_schema;
    assert.deepEqual(schema, {
      type: "object",
      properties: {
        a: { type: "integer" },
        n: { type: "integer", default: 1 },
        odd: { default: null },
        s: { type: "string", default: "x" },
      },
      required: ["a"],
    });
    const typed = await t.trigger("py_hints", "typed", { a: "one" });
    assert.equal(typed.status, 400);
    assert.match(typed.body.error.message, /a: must be integer/);
    assert.deepEqual(await call("py_hints", "typed", { a: 1 }), { a: 1, n: 1, s: "x" });
  });

  test("an entry's metadata or input schema past 64 KiB as JSON (or 64 levels deep) is refused; /plugins stays small", async () => {
    assert.deepEqual(await call("py_big", "go"), [false, false, false, false, true]);
    const listed = await t.request("GET", "/plugins");
    assert.ok(JSON.stringify(listed.body).length < 200_000, "no megabytes echoed");
    const entries = (await detail("py_big")).entries;
    assert.deepEqual(
      entries.map((e: { id: string }) => e.id),
      ["go", "small"],
    );
    assert.deepEqual(entries[1].metadata, { k: "v" });
    const logs = JSON.stringify((await t.request("GET", "/plugin/py_big/logs?lines=200")).body);
    assert.match(
      logs,
      /register_dynamic_entry\('huge0'\) refused: entry 'huge0': its metadata is 15728651 bytes as JSON: at most 65536 are allowed/,
    );
    assert.match(
      logs,
      /register_dynamic_entry\('deep'\) refused: entry 'deep': its inputSchema nests deeper than 64 levels/,
    );
    const refused = await detail("py_big_decorated");
    assert.equal(refused.status, "refused");
    assert.match(
      refused.status_reason,
      // The decorator checks the host's rules (_descriptor_rules.py), so the class is refused where it is defined.
      /ValueError: entry 'x': its metadata is 70011 bytes as JSON: at most 65536 are allowed/,
    );
  });
});

describe("a TypeScript plugin's entry metadata past the bound", () => {
  let root: string;
  let t: TestHost;
  before(async () => {
    root = makeTempDir();
    writePlugin(root, {
      id: "ts_big_meta",
      className: "Big",
      code: `import { NekoPluginBase, nekoPlugin, pluginEntry, Ok } from "@neko/plugin-sdk/plugin";

@nekoPlugin
export class Big extends NekoPluginBase {
  @pluginEntry({ id: "x", metadata: { blob: "x".repeat(3 * 1024 * 1024) } })
  x() {
    return Ok(1);
  }
}
`,
    });
    writePlugin(root, {
      id: "ts_big_dynamic",
      className: "Dyn",
      code: `import { NekoPluginBase, nekoPlugin, pluginEntry, Ok } from "@neko/plugin-sdk/plugin";

@nekoPlugin
export class Dyn extends NekoPluginBase {
  @pluginEntry({ id: "go" })
  go() {
    let refused = "";
    try {
      this.registerDynamicEntry("huge", () => Ok(1), { metadata: { blob: "x".repeat(15 * 1024 * 1024) } });
    } catch (error) {
      refused = (error as Error).message;
    }
    this.registerDynamicEntry("small", () => Ok("small"));
    return Ok({ refused });
  }
}
`,
    });
    t = await startTestHost({ roots: [root] });
  });
  after(async () => {
    await t?.close();
    fs.rmSync(root, { recursive: true, force: true });
  });

  test("a decorated one refuses the plugin and a dynamic one throws, naming the entry; /plugins stays small", async () => {
    const detail = (await t.request("GET", "/plugins/ts_big_meta")).body;
    assert.equal(detail.status, "refused");
    assert.match(detail.status_reason, /entry 'x': its metadata is 3145739 bytes as JSON: at most 65536 are allowed/);
    const go = await t.trigger("ts_big_dynamic", "go", {});
    assert.deepEqual(go.body.data, {
      refused: "entry 'huge': its metadata is 15728651 bytes as JSON: at most 65536 are allowed",
    });
    const ids = (await t.request("GET", "/plugins/ts_big_dynamic")).body.entries.map((e: { id: string }) => e.id);
    assert.deepEqual(ids, ["go", "small"]);
    const listed = await t.request("GET", "/plugins");
    assert.ok(JSON.stringify(listed.body).length < 100_000);
  });
});
