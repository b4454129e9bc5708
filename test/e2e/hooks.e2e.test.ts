/** Hooks (SPEC §3.3) through a real plugin process: order, return rules, conditions, failures, namespace style. */
import assert from "node:assert/strict";
import fs from "node:fs";
import { after, before, describe, test } from "node:test";
import { makeTempDir, waitFor, writePlugin } from "../support/plugin-fixtures.ts";
import { startTestHost, type TestHost } from "../support/test-host.ts";

const code = `
import {
  NekoPluginBase, nekoPlugin, pluginEntry, beforeEntry, afterEntry, aroundEntry, replaceEntry, hook, plugin,
  Ok, Err, SdkError,
  type AroundHookContext, type AfterHookContext, type BeforeHookContext,
} from "@neko/plugin-sdk/plugin";

@nekoPlugin
export class HookedPlugin extends NekoPluginBase {
  order: string[] = [];
  runs: Record<string, number> = {};
  seen: Record<string, unknown> = {};
  started = false;

  private ran(id: string, args?: unknown) {
    this.runs[id] = (this.runs[id] ?? 0) + 1;
    if (args !== undefined) this.seen[id] = args;
  }

  // ---- order, with mixed priorities and every way of declaring a hook
  @beforeEntry({ target: "ordered", priority: 10 })
  before10() { this.order.push("before:10"); }

  @beforeEntry({ target: "ordered", priority: -5 })
  beforeMinus5() { this.order.push("before:-5"); }

  @hook({ target: "ordered", timing: "before" })
  before0() { this.order.push("before:0"); }

  @beforeEntry({ priority: 5, condition: "entryId == 'ordered'" })
  beforeStar5() { this.order.push("before:*:5"); }

  @aroundEntry({ target: "ordered", priority: 1 })
  async around1({ proceed }: AroundHookContext) {
    this.order.push("around:1:in");
    const result = await proceed();
    this.order.push("around:1:out");
    return result;
  }

  @aroundEntry({ target: "ordered", priority: -1 })
  async aroundMinus1({ proceed }: AroundHookContext) {
    this.order.push("around:-1:in");
    const result = await proceed();
    this.order.push("around:-1:out");
    return result;
  }

  @afterEntry({ target: "ordered", priority: 3 })
  after3() { this.order.push("after:3"); }

  @plugin.hook({ target: "ordered", timing: "after", priority: -3 })
  afterMinus3() { this.order.push("after:-3"); }

  @pluginEntry({ id: "ordered" })
  ordered() {
    this.order.push("entry");
    return Ok({ ran: true });
  }

  // ---- replace: the lowest priority whose condition holds
  @replaceEntry({ target: "replaced", priority: 2 })
  replaceBy2({ args }: { args: Record<string, unknown> }) { return Ok({ by: "replace:2", args }); }

  @replaceEntry({ target: "replaced", priority: 1, condition: "args.who == 'one'" })
  replaceBy1() { return { by: "replace:1" }; }

  @pluginEntry({ id: "replaced" })
  replaced() { this.ran("replaced"); return Ok({ by: "entry" }); }

  // ---- before: rewrite args (re-validated), or abort with an Err
  @beforeEntry({ target: "greet", condition: "args.name == 'shout'" })
  shout({ args }: BeforeHookContext) { return { ...args, name: "SHOUT" }; }

  @beforeEntry({ target: "greet", condition: "args.name == 'broken'" })
  breakArgs() { return { name: 42 }; }

  @afterEntry({ target: "greet" })
  decorate({ result }: AfterHookContext) {
    if (result.ok) return Ok({ ...(result.value as object), decorated: true });
  }

  @afterEntry({ target: "greet", priority: 1 })
  keep() { return undefined; }

  @pluginEntry({
    id: "greet",
    inputSchema: { type: "object", properties: { name: { type: "string", default: "World" } } },
  })
  greet({ name }: { name: string }) {
    this.ran("greet", name);
    return Ok({ message: "Hello, " + name });
  }

  @beforeEntry({ target: "guarded", condition: "!(args.allow == true)" })
  guard() { return Err(new SdkError("not allowed here", { code: "GUARD_DENIED", details: { hint: "allow" } })); }

  @pluginEntry({ id: "guarded" })
  guarded() { this.ran("guarded"); return Ok("passed"); }

  // ---- around: answer without the entry, or change its args
  @aroundEntry({ target: "cached", condition: "args.cache == true" })
  fromCache() { return Ok({ cached: true }); }

  @aroundEntry({ target: "cached", priority: 1 })
  double({ args, proceed }: AroundHookContext) {
    return proceed({ ...args, n: Number(args.n ?? 0) * 2 });
  }

  @pluginEntry({ id: "cached" })
  cached(args: { n?: number }) { this.ran("cached", args); return Ok({ n: args.n }); }

  // ---- a hook that throws
  @afterEntry({ target: "fragile" })
  fragileAfter() { throw new Error("after hook broke"); }

  @pluginEntry({ id: "fragile" })
  fragile() { this.ran("fragile"); return Ok("fine"); }

  // ---- dynamic entries go through the same pipeline
  @beforeEntry({ condition: "entryId == 'dyn_echo'" })
  tagDynamic({ args }: BeforeHookContext) { return { ...args, tagged: true }; }

  @pluginEntry({ id: "make_dynamic" })
  makeDynamic() {
    this.registerDynamicEntry("dyn_echo", (args: Record<string, unknown>) => Ok({ echo: args }));
    return Ok(true);
  }

  // ---- namespace style
  @plugin.lifecycle({ id: "startup" })
  onStartup() { this.started = true; }

  @plugin.hook({ target: "ns_entry", timing: "after" })
  nsAfter({ result }: AfterHookContext) { return Ok({ ...(result.value as object), hooked: true }); }

  @plugin.entry({ id: "ns_entry", inputSchema: { type: "object", properties: { x: { type: "number" } } } })
  nsEntry({ x }: { x: number }) { return Ok({ x, started: this.started }); }

  @pluginEntry({ id: "state" })
  state() {
    const snapshot = { order: this.order, runs: this.runs, seen: this.seen };
    this.order = [];
    return Ok(snapshot);
  }
}
`;

const badConditionCode = `
import { NekoPluginBase, nekoPlugin, pluginEntry, beforeEntry, Ok } from "@neko/plugin-sdk/plugin";

@nekoPlugin
export class BadHookPlugin extends NekoPluginBase {
  @beforeEntry({ condition: "args.mode = 'fast'" })
  check() {}

  @pluginEntry({ id: "ping" })
  ping() { return Ok("pong"); }
}
`;

describe("hooks through a real plugin", () => {
  let root: string;
  let t: TestHost;
  const state = async () => (await t.trigger("hooked", "state")).body.data;

  before(async () => {
    root = makeTempDir();
    writePlugin(root, { id: "hooked", className: "HookedPlugin", code });
    writePlugin(root, { id: "bad_hook", className: "BadHookPlugin", code: badConditionCode });
    t = await startTestHost({ roots: [root] });
  });
  after(async () => {
    await t.close();
    fs.rmSync(root, { recursive: true, force: true });
  });

  test("hooks with mixed priorities run in the exact order of SPEC §3.3", async () => {
    await state();
    const res = await t.trigger("hooked", "ordered");
    assert.equal(res.status, 200);
    assert.deepEqual(res.body.data, { ran: true });
    assert.deepEqual((await state()).order, [
      "before:-5",
      "before:0",
      "before:*:5",
      "before:10",
      "around:-1:in",
      "around:1:in",
      "entry",
      "around:1:out",
      "around:-1:out",
      "after:-3",
      "after:3",
    ]);
  });

  test("replace: the lowest-priority replace hook whose condition holds stands in; the entry does not run", async () => {
    const one = await t.trigger("hooked", "replaced", { who: "one" });
    assert.deepEqual(one.body.data, { by: "replace:1" });
    const two = await t.trigger("hooked", "replaced", { who: "two" });
    assert.deepEqual(two.body.data, { by: "replace:2", args: { who: "two" } });
    assert.equal((await state()).runs.replaced, undefined, "the entry handler never ran");
  });

  test("before: a new args object replaces the args and is validated again; a condition skips the hook", async () => {
    const shouted = await t.trigger("hooked", "greet", { name: "shout" });
    assert.equal(shouted.status, 200);
    assert.deepEqual(shouted.body.data, { message: "Hello, SHOUT", decorated: true }, "after hook replaced the result");
    const plain = await t.trigger("hooked", "greet", {});
    assert.deepEqual(plain.body.data, { message: "Hello, World", decorated: true }, "condition false: args unchanged");
    const before = (await state()).runs.greet;
    const broken = await t.trigger("hooked", "greet", { name: "broken" });
    assert.equal(broken.status, 400);
    assert.equal(broken.body.error.code, "VALIDATION_ERROR");
    assert.match(broken.body.error.message, /before hook 'breakArgs' returned invalid arguments: name: must be string/);
    assert.equal((await state()).runs.greet, before, "the entry did not run with invalid args");
  });

  test("before: an Err aborts the call with that error and the handler does not run", async () => {
    const denied = await t.trigger("hooked", "guarded");
    assert.equal(denied.status, 422);
    assert.deepEqual(denied.body.error, {
      code: "GUARD_DENIED",
      message: "not allowed here",
      details: { hint: "allow" },
    });
    assert.equal((await state()).runs.guarded, undefined, "the handler did not run");
    const allowed = await t.trigger("hooked", "guarded", { allow: true });
    assert.equal(allowed.status, 200);
    assert.equal(allowed.body.data, "passed");
    assert.equal((await state()).runs.guarded, 1);
  });

  test("around: can answer without the entry, or proceed with changed args", async () => {
    const cached = await t.trigger("hooked", "cached", { cache: true, n: 5 });
    assert.deepEqual(cached.body.data, { cached: true });
    assert.equal((await state()).runs.cached, undefined);
    const doubled = await t.trigger("hooked", "cached", { n: 5 });
    assert.deepEqual(doubled.body.data, { n: 10 });
    assert.deepEqual((await state()).seen.cached, { n: 10 });
  });

  test("a hook that throws gives HOOK_FAILED with its message, and the plugin keeps answering", async () => {
    const res = await t.trigger("hooked", "fragile");
    assert.equal(res.status, 500);
    assert.equal(res.body.error.code, "HOOK_FAILED");
    assert.equal(res.body.error.message, "after hook 'fragileAfter' threw: after hook broke");
    assert.equal((await state()).runs.fragile, 1, "the entry itself ran before the after hook");
    assert.equal((await t.trigger("hooked", "ordered")).status, 200);
  });

  test("dynamic entries go through the same hooks", async () => {
    assert.equal((await t.trigger("hooked", "make_dynamic")).status, 200);
    const res = await t.trigger("hooked", "dyn_echo", { a: 1 });
    assert.equal(res.status, 200);
    assert.deepEqual(res.body.data, { echo: { a: 1, tagged: true } });
  });

  test("namespace style: plugin.entry, plugin.hook and plugin.lifecycle behave like the named decorators", async () => {
    const res = await t.trigger("hooked", "ns_entry", { x: 3 });
    assert.equal(res.status, 200);
    assert.deepEqual(res.body.data, { x: 3, started: true, hooked: true });
    const invalid = await t.trigger("hooked", "ns_entry", { x: "three" });
    assert.equal(invalid.status, 400, "plugin.entry validates like @pluginEntry");
  });

  test("/plugins lists the hooks with timing, target, priority and condition", async () => {
    const plugin = (await t.request("GET", "/plugins/hooked")).body;
    const star = plugin.hooks.find((h: { id: string }) => h.id === "beforeStar5");
    assert.deepEqual(star, {
      id: "beforeStar5",
      timing: "before",
      target: "*",
      priority: 5,
      condition: "entryId == 'ordered'",
      source: "plugin",
    });
    assert.equal(plugin.hooks.length, 20);
  });

  test("a malformed condition is refused when the class is defined, naming the hook and the position", async () => {
    // Refusal is final once the load failure reaches the host (a first attempt can also end as a crash + restart).
    const bad = await waitFor(async () => {
      const view = (await t.request("GET", "/plugins/bad_hook")).body;
      return view.status === "refused" ? view : undefined;
    });
    assert.match(
      bad.status_reason,
      /@beforeEntry 'check': invalid condition: assignment is not allowed at position 11 of "args\.mode = 'fast'"/,
    );
    const call = await t.trigger("bad_hook", "ping");
    assert.equal(call.status, 409);
  });
});
