/** `PluginRouter` and `includeRouter` / `excludeRouter`, through the plugin runtime over the in-memory transport. */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { EntriesChangedMessage, ResultMessage, WireResult } from "@neko/protocol";
import { constructWithContext, createPluginContext } from "../src/plugin-context.ts";
import { createPluginLogger } from "../src/plugin-logger.ts";
import {
  afterEntry,
  beforeEntry,
  Err,
  lifecycle,
  NekoPluginBase,
  nekoPlugin,
  Ok,
  PluginRouter,
  type Result,
  pluginEntry,
  timerInterval,
  unwrap,
  ValidationError,
  z,
} from "../src/plugin.ts";
import { HostClient } from "../src/runtime/host-client.ts";
import { MemoryPluginTransport } from "../src/runtime/memory-plugin-transport.ts";
import { PluginRuntime } from "../src/runtime/plugin-runtime.ts";

/** Hooks and handlers write here, in the order they run. */
let trace: string[] = [];

class NotesRouter extends PluginRouter<Notebook> {
  readonly madeBy = "router";

  @pluginEntry({ id: "add", params: z.object({ text: z.string(), pinned: z.boolean().default(false) }) })
  add(args: { text: string; pinned: boolean }) {
    trace.push(`add:${args.text}`);
    // `this` is the router; the plugin is one step away.
    this.plugin.notes.push(args.text);
    return Ok({ count: this.plugin.notes.length, pinned: args.pinned, by: this.madeBy });
  }

  @pluginEntry({ id: "count", timeout: 2 })
  count() {
    return { count: this.plugin.notes.length };
  }

  @beforeEntry({ target: "add" })
  refuseEmpty({ entryId, args }: { entryId: string; args: Record<string, unknown> }) {
    trace.push(`router-before-add:${entryId}`);
    if (args.text === "") return Err(new ValidationError("text cannot be empty"));
  }

  @afterEntry
  tagEveryRouterEntry({ entryId }: { entryId: string }) {
    trace.push(`router-after-*:${entryId}`);
  }
}

class ClockRouter extends PluginRouter {
  @pluginEntry({ id: "now" })
  now() {
    return { pluginId: this.plugin.pluginId };
  }
}

@nekoPlugin
class Notebook extends NekoPluginBase {
  notes: string[] = [];
  readonly notesRouter = new NotesRouter();
  readonly clock = new ClockRouter();
  /** What `includeRouter` answered in the constructor. */
  readonly included: Result<unknown, ValidationError>;

  constructor() {
    super();
    this.included = this.includeRouter(this.notesRouter, { prefix: "notes_" });
  }

  @lifecycle({ id: "startup" })
  startup() {
    unwrap(this.includeRouter(this.clock, { prefix: "clock." }));
  }

  @pluginEntry({ id: "plain" })
  plain() {
    trace.push("plain");
    return "plain";
  }

  @beforeEntry
  everyEntry({ entryId }: { entryId: string }) {
    trace.push(`plugin-before-*:${entryId}`);
  }

  @beforeEntry({ target: "notes_add" })
  prefixedTarget({ entryId }: { entryId: string }) {
    trace.push(`plugin-before-notes_add:${entryId}`);
  }
}

function boot(construct: () => NekoPluginBase = () => new Notebook()) {
  trace = [];
  const logger = createPluginLogger("notebook", { level: "silent" });
  const ctx = createPluginContext({ pluginId: "notebook", configDir: "/tmp", dataDir: "/tmp/data", logger });
  const instance = constructWithContext(ctx, construct);
  const runtime = new PluginRuntime({ instance, logger, entries: ctx.entries });
  const transport = new MemoryPluginTransport();
  runtime.attach(transport, { client: new HostClient(transport), onShutdown: () => undefined });
  let n = 0;
  const call = async (entryId: string, args: unknown = {}): Promise<WireResult> => {
    const id = `c${++n}`;
    const reply = transport.next<ResultMessage>((m) => m.type === "result" && m.id === id);
    transport.deliver({ type: "call", id, entryId, args, deadline: Date.now() + 5000, timeoutMs: 5000 });
    return (await reply).result;
  };
  const start = async () => {
    const ready = transport.next((m) => m.type === "ready");
    transport.deliver({ type: "welcome" });
    await ready;
  };
  return { instance, runtime, transport, call, start };
}

function errorOf(result: { ok: boolean; error?: unknown }) {
  assert.equal(result.ok, false, "expected an Err");
  return result.error as { code: string; message: string; name: string; details?: unknown };
}

describe("plugin routers", () => {
  test("a router's entries are the plugin's, prefixed verbatim, with their schemas and timeouts, not dynamic", () => {
    const { instance, runtime } = boot();
    assert.equal((instance as Notebook).included.ok, true);
    const hello = runtime.hello({ pluginId: "notebook", secret: "s" });
    assert.deepEqual(hello.entries.map((e) => e.id).sort(), ["notes_add", "notes_count", "plain"]);
    const add = hello.entries.find((e) => e.id === "notes_add");
    assert.deepEqual(add?.inputSchema?.required, ["text"]);
    assert.equal(add?.dynamic, false);
    assert.equal(hello.entries.find((e) => e.id === "notes_count")?.timeout, 2);
    assert.deepEqual(
      hello.hooks.map((h) => `${h.id}@${h.target} ${h.source}`),
      [
        "everyEntry@* plugin",
        "prefixedTarget@notes_add plugin",
        "refuseEmpty@notes_add router:NotesRouter",
        "tagEveryRouterEntry@notes_add router:NotesRouter",
        "tagEveryRouterEntry@notes_count router:NotesRouter",
      ],
    );
  });

  test("a call runs the router's method with `this` the router and `this.plugin` the plugin; args are validated", async () => {
    const { instance, call } = boot();
    assert.deepEqual(await call("notes_add", { text: "milk" }), {
      ok: true,
      value: { count: 1, pinned: false, by: "router" },
    });
    assert.deepEqual((instance as Notebook).notes, ["milk"]);
    const bad = errorOf(await call("notes_add", { text: 42 }));
    assert.equal(bad.code, "VALIDATION_ERROR");
    assert.match(bad.message, /^invalid arguments: text: /);
    assert.deepEqual((instance as Notebook).notes, ["milk"]);
    assert.equal(errorOf(await call("add", { text: "x" })).code, "ENTRY_NOT_FOUND");
  });

  test("router hooks apply to its own entries (by unprefixed id, or *); the plugin's hooks run first", async () => {
    const { call } = boot();
    await call("notes_add", { text: "tea" });
    assert.deepEqual(trace, [
      "plugin-before-*:notes_add",
      "plugin-before-notes_add:notes_add",
      "router-before-add:notes_add",
      "add:tea",
      "router-after-*:notes_add",
    ]);
    trace = [];
    await call("plain");
    assert.deepEqual(trace, ["plugin-before-*:plain", "plain"], "a router's * hook stays within the router");
    const refused = errorOf(await call("notes_add", { text: "" }));
    assert.equal(refused.message, "text cannot be empty");
  });

  test("this.plugin before inclusion throws a clear error", () => {
    const router = new ClockRouter();
    assert.throws(() => router.plugin, /router ClockRouter is not included in a plugin yet.*includeRouter/);
  });

  test("a router included in startup is announced with its entries and hooks, and callable", async () => {
    const { call, start, transport } = boot();
    const announced = transport.next<EntriesChangedMessage>(
      (m) => m.type === "entries_changed" && m.entries.some((e) => e.id === "clock.now"),
    );
    await start();
    const message = await announced;
    assert.ok(message.hooks?.some((h) => h.source === "router:NotesRouter"));
    assert.deepEqual(await call("clock.now"), { ok: true, value: { pluginId: "notebook" } });
  });

  test("a clash refuses the whole router, naming the id: nothing is registered, no hook added", async () => {
    const { instance, runtime, call } = boot();
    const plugin = instance as Notebook;
    plugin.registerDynamicEntry("more_count", () => "dynamic");
    const before = { entries: plugin.listEntries().length, hooks: runtime.hooks.list().length };

    const clash = plugin.includeRouter(new NotesRouter(), { prefix: "more_" });
    assert.equal(clash.ok, false);
    if (!clash.ok) {
      assert.ok(clash.error instanceof ValidationError);
      assert.match(clash.error.message, /entry id 'more_count' is already taken by a dynamic entry/);
      assert.deepEqual(clash.error.details, { entryId: "more_count" });
    }
    assert.equal(plugin.listEntries().length, before.entries);
    assert.equal(runtime.hooks.list().length, before.hooks);
    assert.equal(errorOf(await call("more_add", { text: "x" })).code, "ENTRY_NOT_FOUND");

    const twice = plugin.includeRouter(plugin.notesRouter, { prefix: "again_" });
    assert.match(errorOf(twice).message, /already included in this plugin \(prefix 'notes_'\)/);
    const sameIds = plugin.includeRouter(new NotesRouter(), { prefix: "notes_" });
    assert.match(errorOf(sameIds).message, /entry id 'notes_add' is already taken by an entry of router NotesRouter/);
    const other = new NotesRouter();
    assert.equal(plugin.includeRouter(other, { prefix: "other_" }).ok, true);
    assert.equal(other.plugin, plugin);
  });

  test("in the constructor, a clash with a decorated entry is refused although the runtime adds those later", () => {
    class PlainRouter extends PluginRouter {
      @pluginEntry({ id: "plain" })
      plain() {}
    }
    @nekoPlugin
    class Clashing extends NekoPluginBase {
      result: Result<unknown, ValidationError>;
      router = new PlainRouter();
      constructor() {
        super();
        this.result = this.includeRouter(this.router);
      }
      @pluginEntry({ id: "plain" })
      plain() {}
    }
    const { instance } = boot(() => new Clashing());
    const error = errorOf((instance as Clashing).result);
    assert.match(error.message, /entry id 'plain' is already taken by a @pluginEntry method/);
    assert.throws(() => (instance as Clashing).router.plugin, /not included/);
  });

  test("excludeRouter takes its entries and hooks out; the router can be included again", async () => {
    const { instance, runtime, call } = boot();
    const plugin = instance as Notebook;
    assert.throws(() => plugin.unregisterDynamicEntry("notes_add"), /comes from router NotesRouter: excludeRouter/);
    assert.equal(plugin.excludeRouter(plugin.notesRouter), true);
    assert.equal(plugin.excludeRouter(plugin.notesRouter), false);
    assert.deepEqual(
      plugin.listEntries().map((e) => e.id),
      ["plain"],
    );
    assert.ok(runtime.hooks.list().every((h) => h.source === "plugin"));
    assert.equal(errorOf(await call("notes_add", { text: "x" })).code, "ENTRY_NOT_FOUND");
    assert.equal(plugin.includeRouter(plugin.notesRouter, { prefix: "n." }).ok, true);
    assert.deepEqual(await call("n.count"), { ok: true, value: { count: 0 } });
  });

  test("getRouter finds an included router by name, listRouters lists them; both follow exclude and include", async () => {
    const { instance, start } = boot();
    const plugin = instance as Notebook;
    await start();
    assert.deepEqual(plugin.listRouters(), [
      { name: "NotesRouter", prefix: "notes_", entries: ["notes_add", "notes_count"] },
      { name: "ClockRouter", prefix: "clock.", entries: ["clock.now"] },
    ]);
    assert.equal(plugin.getRouter<NotesRouter>("NotesRouter")?.madeBy, "router");
    assert.equal(plugin.getRouter("ClockRouter"), plugin.clock);
    assert.equal(plugin.getRouter("Nope"), undefined);
    // A router sees its siblings.
    assert.equal(plugin.clock.getRouter("NotesRouter"), plugin.notesRouter);
    assert.equal(plugin.notesRouter.listRouters().length, 2);

    assert.equal(plugin.excludeRouter(plugin.clock), true);
    assert.equal(plugin.getRouter("ClockRouter"), undefined);
    const named = new ClockRouter();
    assert.equal(plugin.includeRouter(named, { prefix: "utc.", name: "utc" }).ok, true);
    assert.equal(plugin.getRouter("utc"), named);
    const taken = plugin.includeRouter(new ClockRouter(), { prefix: "other.", name: "utc" });
    assert.equal(taken.ok, false);
    assert.match(errorOf(taken).message, /a router named 'utc' is already included/);
    const badName = plugin.includeRouter(new ClockRouter(), { prefix: "x.", name: "" });
    assert.match(errorOf(badName).message, /name must be a non-empty string/);
    assert.deepEqual(
      plugin.listRouters().map((r) => r.name),
      ["NotesRouter", "utc"],
    );
  });

  test("malformed routers and arguments are refused with what is wrong", () => {
    const { instance } = boot();
    const plugin = instance as Notebook;
    class WithLifecycle extends PluginRouter {
      @pluginEntry({ id: "a" })
      a() {}
      @lifecycle({ id: "startup" })
      s() {}
    }
    class WithTimer extends PluginRouter {
      @pluginEntry({ id: "a" })
      a() {}
      @timerInterval({ id: "tick", seconds: 1 })
      tick() {}
    }
    class StrayHook extends PluginRouter {
      @pluginEntry({ id: "a" })
      a() {}
      @beforeEntry({ target: "plain" })
      h() {}
    }
    class Empty extends PluginRouter {}
    class Twice extends PluginRouter {
      @pluginEntry({ id: "a" })
      a() {}
      @pluginEntry({ id: "a" })
      b() {}
    }
    const cases: Array<[unknown, string | undefined, RegExp]> = [
      [new WithLifecycle(), undefined, /holds entries and hooks only; put @lifecycle 'startup' on the plugin class/],
      [new WithTimer(), undefined, /put @timerInterval 'tick'/],
      [new StrayHook(), undefined, /hook 'h' targets 'plain', which is not one of the router's entries \(a\)/],
      [new Empty(), undefined, /declares no @pluginEntry method/],
      [new Twice(), undefined, /entry id 'a' is declared twice/],
      [ClockRouter, undefined, /expected an instance of a PluginRouter subclass \(got a class \(did you forget `new`/],
      [{}, undefined, /got an instance of Object/],
      [new ClockRouter(), "bad prefix ", /prefix must be a string of/],
      [new ClockRouter(), "x".repeat(126), /entry id 'x{126}now' must match/],
    ];
    for (const [router, prefix, message] of cases) {
      const result = plugin.includeRouter(router as PluginRouter, { prefix: prefix as string });
      assert.match(errorOf(result).message, message);
      assert.equal(errorOf(result).name, "ValidationError");
    }
    assert.deepEqual(
      plugin
        .listEntries()
        .map((e) => e.id)
        .sort(),
      ["notes_add", "notes_count", "plain"],
    );
  });
});
