/**
 * The rest of the original's plugin surface in a Python plugin, through a real host and real processes
 * (docs/python-plugins.md): `get_router` / `list_routers`, `@plugin_entry(llm_result_model=…)` without Pydantic, and
 * `self.bus` watches (`bus.<namespace>.get(…).watch()`, `bus.watch`) and conversations (`bus.conversations.add`,
 * `bus.append`) with the TypeScript SDK's semantics (docs/bus.md).
 */
import assert from "node:assert/strict";
import fs from "node:fs";
import { after, before, describe, test } from "node:test";
import { makeTempDir, waitFor, writePlugin } from "../support/plugin-fixtures.ts";
import { PYTHON_SKIP } from "../support/python.ts";
import { startTestHost, type TestHost } from "../support/test-host.ts";

const python = `
from dataclasses import dataclass, field
from typing import Optional, TypedDict
from plugin.sdk.plugin import NekoPluginBase, neko_plugin, plugin_entry, Ok, Err, PluginRouter


@dataclass
class Weather:
    city: str
    temp: float
    note: str = ""
    tags: list[str] = field(default_factory=list)


class Summary:
    title: str
    words: Optional[int]
    lang: str = "en"


class Reply(TypedDict):
    text: str
    score: float


class PydanticLike:
    @classmethod
    def model_json_schema(cls):
        return {"type": "object", "properties": {"answer": {"type": "string"}}, "required": ["answer"]}


class NotesRouter(PluginRouter):
    def __init__(self):
        super().__init__(name="notes")

    @plugin_entry(id="peek")
    def peek(self, **_):
        return Ok({"siblings": self.list_routers(), "me": self.get_router("notes") is self,
                   "todo": self.get_router("TodoRouter") is not None})


class TodoRouter(PluginRouter):
    @plugin_entry(id="list")
    def list_todos(self, **_):
        return Ok([])


@neko_plugin
class Surface(NekoPluginBase):
    def __init__(self, ctx):
        super().__init__(ctx)
        self.notes = NotesRouter()
        self.todo = TodoRouter()
        self.include_router(self.notes, prefix="notes_")
        self.include_router(self.todo, prefix="todo_")
        self.watcher = None
        self.changes = []
        self.sync_adds = []

    # -- routers --
    @plugin_entry(id="routers")
    def routers(self, **_):
        return Ok({"names": self.list_routers(), "notes": self.get_router("notes") is self.notes,
                   "todo": self.get_router("TodoRouter") is self.todo, "missing": self.get_router("nope"),
                   "name_call": self.notes.name(), "name_str": self.notes.name})

    @plugin_entry(id="drop_todo")
    def drop_todo(self, **_):
        return Ok({"excluded": self.exclude_router(self.todo), "names": self.list_routers(),
                   "todo": self.get_router("TodoRouter")})

    @plugin_entry(id="add_todo")
    def add_todo(self, **_):
        self.include_router(self.todo, prefix="todo_")
        return Ok(self.list_routers())

    # -- llm_result_model --
    @plugin_entry(id="weather", llm_result_model=Weather)
    def weather(self, **_):
        return Ok({"city": "Paris", "temp": 21.5})

    @plugin_entry(id="summary", llm_result_model=Summary)
    def summary(self, **_):
        return Ok({"title": "t", "words": 3})

    @plugin_entry(id="reply", llm_result_model=Reply)
    def reply(self, **_):
        return Ok({"text": "x", "score": 1.0})

    @plugin_entry(id="by_dict", llm_result_model={"type": "object", "properties": {"a": {}, "b": {}}, "required": ["a", "b"]})
    def by_dict(self, **_):
        return Ok({"a": 1, "b": 2})

    @plugin_entry(id="by_fields_alias", fields=PydanticLike)
    def by_fields_alias(self, **_):
        return Ok({"answer": "42"})

    @plugin_entry(id="inferred")
    def inferred(self, **_) -> PydanticLike:
        return Ok({"answer": "42"})

    @plugin_entry(id="plain", llm_result_fields=[" total ", "total", "count"])
    def plain(self, **_):
        return Ok({"total": 1, "count": 2})

    @plugin_entry(id="schemas")
    def schemas(self, **_):
        listed = self.list_entries()
        assert all(d["llm_result_schema"] == (d["llmResultSchema"] or {}) for d in listed)
        assert all(d["llm_result_fields"] == (d["llmResultFields"] or []) for d in listed)
        return Ok({d["id"]: d["llmResultSchema"] for d in listed})

    # -- bus: conversations and watches --
    @plugin_entry(id="say")
    async def say(self, text: str = "", kind: str = "turn", **_):
        added = await self.bus.conversations.add(data={"text": text}, type=kind)
        return added if added.is_err() else Ok(added.value)

    @plugin_entry(id="say_raw", allow_extra_args=True)
    async def say_raw(self, **record):
        return await self.bus.conversations.add(record)

    @plugin_entry(id="say_big")
    async def say_big(self, size: int = 0, **_):
        return await self.bus.conversations.add(data="x" * size)

    @plugin_entry(id="append_elsewhere")
    async def append_elsewhere(self, **_):
        answer = await self.ctx._runtime.request_async("bus.append", {"namespace": "events", "record": {"data": 1}})
        return Ok(answer)

    @plugin_entry(id="watch")
    async def watch(self, **_):
        listed = (await self.bus.conversations.get(plugin_id=self.plugin_id)).unwrap()
        turns = listed.where(type="turn").sort("id", desc=True).limit(2)
        self.watcher = turns.watch()

        def on_change(change):
            self.changes.append({"kind": change.kind, "added": [r["data"]["text"] for r in change.added],
                                 "removed": [r["data"]["text"] for r in change.removed],
                                 "current": [r["data"]["text"] for r in change.current]})

        self.watcher.subscribe(on_change, on="change")

        @self.watcher.subscribe(on="add")
        async def on_add(change):
            self.sync_adds.extend(r["data"]["text"] for r in change.added)

        ready = await self.watcher.ready()
        return Ok({"ready": ready.is_ok(), "initial": [r["data"]["text"] for r in turns],
                   "revision_is_int": isinstance(listed.revision, int)})

    @plugin_entry(id="watch_window")
    async def watch_window(self, **_):
        listed = (await self.bus.conversations.get(plugin_id=self.plugin_id, type="turn", max_count=2)).unwrap()
        self.window = listed.watch()
        self.window_changes = []
        self.window.subscribe(lambda change: self.window_changes.append({
            "kind": change.kind, "added": [r["data"]["text"] for r in change.added],
            "removed": [r["data"]["text"] for r in change.removed],
            "current": [r["data"]["text"] for r in change.current]}), on=["add", "del"])
        await self.window.ready()
        return Ok([r["data"]["text"] for r in listed])

    @plugin_entry(id="window_changes")
    def window_changes_(self, **_):
        self.window.close()
        return Ok(self.window_changes)

    @plugin_entry(id="changes")
    def get_changes(self, **_):
        return Ok({"changes": self.changes, "adds": self.sync_adds})

    @plugin_entry(id="forget")
    async def forget(self, text: str, **_):
        listed = (await self.bus.conversations.get(plugin_id=self.plugin_id)).unwrap()
        mine = listed.where({"data.text": text})
        return await self.bus.conversations.delete(mine.to_list())

    @plugin_entry(id="unwatch")
    def unwatch(self, **_):
        self.watcher.close()
        return Ok(True)

    @plugin_entry(id="churn_async")
    async def churn_async(self, times: int = 300, **_):
        listed = self.churn_list = (await self.bus.conversations.get(plugin_id=self.plugin_id)).unwrap()
        for _ in range(times):
            listed.watch().subscribe(print)()
            started = listed.watch().start()
            started.close()
        return Ok(True)

    @plugin_entry(id="churn_sync")
    def churn_sync(self, times: int = 300, **_):
        for _ in range(times):  # in a worker thread
            self.churn_list.watch().subscribe(print)()
        return Ok(True)

    @plugin_entry(id="watch_again")
    async def watch_again(self, **_):
        listed = (await self.bus.conversations.get(plugin_id=self.plugin_id)).unwrap()
        self.again = listed.watch()
        self.again_adds = []

        @self.again.subscribe(on="add")
        def on_add(change):
            self.again_adds.extend(r["data"]["text"] for r in change.added)

        self.again_unsubscribe = on_add.unsubscribe
        ready = await self.again.ready()
        return Ok(ready.is_ok())

    @plugin_entry(id="again_adds")
    def again_adds_(self, **_):
        return Ok(self.again_adds)

    @plugin_entry(id="unwatch_again")
    def unwatch_again(self, **_):
        self.again_unsubscribe()
        return Ok(True)

    @plugin_entry(id="misuse")
    async def misuse(self, **_):
        listed = (await self.bus.conversations.get()).unwrap()
        out = {}
        for label, action in (("on", lambda: listed.watch().subscribe(print, on="bogus")),
                              ("limit", lambda: listed.limit(-1)),
                              ("sort", lambda: listed.sort(3)),
                              ("router", lambda: PluginRouter(nmae="x", prefx="p_"))):
            try:
                action()
                out[label] = None
            except (TypeError, ValueError) as error:
                out[label] = f"{type(error).__name__}: {error}"
        bad = await self.bus.conversations.get(max_count="x")
        out["filters"] = bad.error.code if bad.is_err() else None
        positional = PluginRouter("p_", ["t"], "n")
        out["router_positional"] = [positional.prefix, positional.tags, str(positional.name)]
        return Ok(out)
`;

describe("the original's remaining surface in a Python plugin", { skip: PYTHON_SKIP }, () => {
  let root: string;
  let t: TestHost;

  before(async () => {
    root = makeTempDir();
    writePlugin(root, {
      id: "py_surface",
      manifest: `[plugin]\nid = "py_surface"\nentry = "plugins.py_surface:Surface"\n`,
      files: { "__init__.py": python },
    });
    for (const [id, decorator] of [
      ["py_llm_both", `@plugin_entry(id="x", llm_result_fields=["a"], llm_result_model={"required": ["a"]})`],
      ["py_llm_bad", `@plugin_entry(id="x", llm_result_model="not a model")`],
    ]) {
      writePlugin(root, {
        id,
        manifest: `[plugin]\nid = "${id}"\nentry = "plugins.${id}:Bad"\n`,
        files: {
          "__init__.py": `from plugin.sdk.plugin import NekoPluginBase, plugin_entry, Ok\n\nclass Bad(NekoPluginBase):\n    ${decorator}\n    def x(self, **_):\n        return Ok(1)\n`,
        },
      });
    }
    t = await startTestHost({ roots: [root] });
  });
  after(async () => {
    await t?.close();
    fs.rmSync(root, { recursive: true, force: true });
  });

  const call = async (entry: string, args: object = {}) => {
    const answer = await t.trigger("py_surface", entry, args);
    assert.equal(answer.status, 200, JSON.stringify(answer.body));
    return answer.body.data;
  };

  test("get_router / list_routers: by name (the given one or the class name), in order, following exclude_router", async () => {
    assert.deepEqual(await call("routers"), {
      names: ["notes", "TodoRouter"],
      notes: true,
      todo: true,
      missing: null,
      name_call: "notes",
      name_str: "notes",
    });
    assert.deepEqual(await call("notes_peek"), { siblings: ["notes", "TodoRouter"], me: true, todo: true });
    assert.deepEqual(await call("drop_todo"), { excluded: true, names: ["notes"], todo: null });
    assert.deepEqual(await call("notes_peek"), { siblings: ["notes"], me: true, todo: false });
    assert.deepEqual(await call("add_todo"), ["notes", "TodoRouter"]);
    assert.equal((await t.trigger("py_surface", "todo_list")).status, 200);
  });

  test("llm_result_model: the result schema from a dataclass, a class, a TypedDict, a dict or model_json_schema(); its required names are llm_result_fields", async () => {
    const listed = (await t.request("GET", "/plugins/py_surface")).body;
    const entries = listed.entries ?? listed.plugin?.entries;
    const fields = Object.fromEntries(
      (entries as Array<{ id: string; llm_result_fields: string[] | null }>).map((e) => [e.id, e.llm_result_fields]),
    );
    assert.deepEqual(
      {
        weather: fields.weather,
        summary: fields.summary,
        reply: fields.reply,
        by_dict: fields.by_dict,
        by_fields_alias: fields.by_fields_alias,
        inferred: fields.inferred,
        plain: fields.plain,
        routers: fields.routers,
      },
      {
        weather: ["city", "temp"],
        summary: ["title", "words"],
        reply: ["text", "score"],
        by_dict: ["a", "b"],
        by_fields_alias: ["answer"],
        inferred: ["answer"],
        plain: ["total", "count"],
        routers: null,
      },
    );
    const schemas = await call("schemas");
    assert.deepEqual(schemas.weather, {
      type: "object",
      properties: {
        city: { type: "string" },
        temp: { type: "number" },
        note: { type: "string", default: "" },
        tags: { type: "array", items: { type: "string" } },
      },
      required: ["city", "temp"],
    });
    assert.deepEqual(schemas.summary, {
      type: "object",
      properties: {
        title: { type: "string" },
        words: { type: ["integer", "null"] },
        lang: { type: "string", default: "en" },
      },
      required: ["title", "words"],
    });
    assert.deepEqual(schemas.plain, {
      type: "object",
      properties: { total: {}, count: {} },
      required: ["total", "count"],
    });
    assert.equal(schemas.routers, null);
  });

  test("llm_result_model: given with llm_result_fields, or something with no schema, refuses the plugin naming it", async () => {
    const reason = async (id: string) => {
      const detail = (await t.request("GET", `/plugins/${id}`)).body;
      assert.equal(detail.status, "refused", JSON.stringify(detail));
      return detail.status_reason;
    };
    assert.equal(
      await reason("py_llm_both"),
      "ValueError: llm_result_fields, llm_result_model, and fields are mutually exclusive",
    );
    assert.equal(
      await reason("py_llm_bad"),
      "ValueError: llm_result_model/fields model must provide model_json_schema() or schema()",
    );
  });

  test("conversations.add: bus.append with type, source and priority defaults; the host's checks; no other namespace", async () => {
    const record = await call("say", { text: "hello" });
    assert.equal(record.namespace, "conversations");
    assert.equal(record.type, "turn");
    assert.equal(record.pluginId, "py_surface");
    assert.equal(record.source, "py_surface");
    assert.deepEqual(record.data, { text: "hello" });
    assert.equal(typeof record.id, "number");
    const plain = await call("say_raw", { data: { text: "raw" }, priority: 7, source: "chat" });
    assert.deepEqual([plain.type, plain.priority, plain.source], ["conversation", 7, "chat"]);
    const over = await t.trigger("py_surface", "say_raw", { data: "x", priority: 11 });
    assert.equal(over.status, 400);
    assert.equal(over.body.error.code, "VALIDATION_ERROR");
    assert.match(over.body.error.message, /priority/);
    const big = await t.trigger("py_surface", "say_big", { size: 1_100_000 });
    assert.equal(big.body.error.code, "VALIDATION_ERROR");
    assert.equal(
      big.body.error.message,
      "bus.append: conversation record: the data is 1100002 bytes; the limit is 1048576 (1 MiB)",
    );
    const elsewhere = await call("append_elsewhere");
    assert.equal(elsewhere.ok, false);
    assert.match(elsewhere.error.message, /plugins may only add records to 'conversations'/);
    const seen = await t.request("GET", "/bus/conversations?plugin_id=py_surface");
    assert.deepEqual(
      seen.body.records.map((r: { data: unknown }) => r.data),
      [{ text: "hello" }, { text: "raw" }],
      "nothing refused was recorded",
    );
  });

  test("a watch follows the query: where/sort/limit replayed on every change, add and del reported, closed on demand", async () => {
    await call("say", { text: "second" });
    const opened = await call("watch");
    assert.deepEqual(opened, { ready: true, initial: ["second", "hello"], revision_is_int: true });
    const watchesOf = async () =>
      ((await t.request("GET", "/bus/stats")).body.subscribers as Array<{ plugin_id: string; watches: number }>).find(
        (s) => s.plugin_id === "py_surface",
      )?.watches ?? 0;
    assert.equal(await watchesOf(), 1, "the host holds one watch for the plugin");
    await call("say", { text: "third" });
    await call("say", { text: "aside", kind: "note" }); // filtered out by where(type="turn")
    await waitFor(async () => (await call("changes")).changes.length >= 1, { what: "the first change" });
    await call("forget", { text: "third" });
    await waitFor(async () => (await call("changes")).changes.length >= 2, { what: "the delete" });
    const { changes, adds } = await call("changes");
    assert.deepEqual(changes, [
      { kind: "change", added: ["third"], removed: ["hello"], current: ["third", "second"] },
      { kind: "change", added: ["hello"], removed: ["third"], current: ["second", "hello"] },
    ]);
    assert.deepEqual(adds, ["third", "hello"]);
    assert.equal(await call("unwatch"), true);
    await call("say", { text: "after" });
    await new Promise((resolve) => setTimeout(resolve, 300));
    assert.equal((await call("changes")).changes.length, 2, "nothing after close()");
    await waitFor(async () => (await watchesOf()) === 0, { what: "the host watch closed" });
    // A max_count window: the host refills it with the older record when one inside is deleted.
    assert.deepEqual(await call("watch_window"), ["second", "after"]);
    await call("forget", { text: "after" });
    await waitFor(
      async () => (await t.request("GET", "/bus/conversations?plugin_id=py_surface")).body.records.length === 4,
    );
    await new Promise((resolve) => setTimeout(resolve, 300));
    assert.deepEqual(await call("window_changes"), [
      { kind: "change", added: ["hello"], removed: ["after"], current: ["hello", "second"] },
    ]);
  });

  test("a watcher closed in the turn it was opened leaves no host watch: 600 of them, then a new one opens", async () => {
    const watchesOf = async () =>
      ((await t.request("GET", "/bus/stats")).body.subscribers as Array<{ plugin_id: string; watches: number }>).find(
        (s) => s.plugin_id === "py_surface",
      )?.watches ?? 0;
    await waitFor(async () => (await watchesOf()) === 0, { what: "no watch left from the tests before" });
    assert.equal(await call("churn_async", { times: 300 }), true);
    assert.equal(await call("churn_sync", { times: 300 }), true);
    await new Promise((resolve) => setTimeout(resolve, 300));
    assert.equal(await watchesOf(), 0, "no watch leaked");
    // Past MAX_WATCHES_PER_PLUGIN (256) churned watches, a new one still opens and follows the bus.
    assert.equal(await call("watch_again"), true);
    assert.equal(await watchesOf(), 1);
    await call("say", { text: "again" });
    await waitFor(async () => (await call("again_adds")).includes("again"), { what: "the new watch's change" });
    // The decorator form keeps its unsubscribe on the function; the last unsubscribe closes the host watch.
    assert.equal(await call("unwatch_again"), true);
    await waitFor(async () => (await watchesOf()) === 0, { what: "the host watch closed" });
  });

  test("misuse is refused with the TypeScript SDK's rules; PluginRouter takes the original's (prefix, tags, name) only", async () => {
    assert.deepEqual(await call("misuse"), {
      on: `TypeError: subscribe: on must be "add", "del" or "change" (got 'bogus')`,
      limit: "ValueError: limit(n): n must be a whole number >= 0",
      sort: "TypeError: sort(by): by must be a field path or a comparator",
      router: "TypeError: PluginRouter() got unknown keyword argument(s) 'nmae', 'prefx'; known: prefix, tags, name",
      filters: "VALIDATION_ERROR",
      router_positional: ["p_", ["t"], "n"],
    });
  });
});
