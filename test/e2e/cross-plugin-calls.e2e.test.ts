/**
 * Cross-plugin calls (SPEC §4.3) between real plugin processes: round trip, call chain (cycles, depth), Err
 * passthrough, concurrency with a slow target, stopped and crashing targets, allow_calls, deadlines along the chain.
 */
import assert from "node:assert/strict";
import fs from "node:fs";
import { after, before, describe, test } from "node:test";
import { isAlive, makeTempDir, waitFor, writePlugin } from "../support/plugin-fixtures.ts";
import { startTestHost, type TestHost } from "../support/test-host.ts";

/** Every plugin of this file runs this class; each test drives a few of its entries. */
const nodeCode = `
import {
  NekoPluginBase, nekoPlugin, pluginEntry, lifecycle, customEvent, Ok, Err,
  SdkError, PluginCallError, CircularCallError, NotFoundError, ValidationError, TimeoutError,
} from "@neko/plugin-sdk/plugin";

const classes = [SdkError, PluginCallError, CircularCallError, NotFoundError, ValidationError, TimeoutError];

/** A Result as plain data, with the SDK classes its error is an instance of (checked in this process). */
function probe(r: any) {
  if (r.ok) return { ok: true, value: r.value };
  const e = r.error;
  return {
    ok: false, name: e.name, code: e.code, message: e.message, details: e.details ?? null,
    classes: classes.filter((C) => e instanceof C).map((C) => C.name),
  };
}

@nekoPlugin
export class NodePlugin extends NekoPluginBase {
  private jobs: Array<{ ref: string; args: any; resolve: (value: unknown) => void }> = [];
  private timer: NodeJS.Timeout | undefined;
  private slowAbortedAfter: number | null = null;

  @lifecycle({ id: "startup" })
  startup() {
    // Started outside any entry call, like a @timerInterval handler: calls made from here have chain [self].
    this.timer = setInterval(() => {
      for (const job of this.jobs.splice(0)) {
        void this.plugins.callEntry(job.ref, job.args).then((r) => job.resolve(probe(r)));
      }
    }, 20);
  }

  @lifecycle({ id: "shutdown" })
  shutdown() {
    clearInterval(this.timer);
  }

  @pluginEntry({ id: "echo" })
  echo(args: Record<string, unknown>) {
    return Ok({ args, from: this.pluginId });
  }

  /** Calls <path[0]>:relay with the rest of the path; the last one answers. An Err comes back as is. */
  @pluginEntry({ id: "relay" })
  async relay({ path = [] }: { path?: string[] }) {
    if (path.length === 0) return Ok({ end: this.pluginId });
    return this.plugins.callEntry(path[0] + ":relay", { path: path.slice(1) });
  }

  @pluginEntry({ id: "call" })
  async call({ ref, args = {}, timeout }: { ref: string; args?: any; timeout?: number }) {
    const started = Date.now();
    const r = await this.plugins.callEntry(ref, args, timeout === undefined ? {} : { timeout });
    return Ok({ ...probe(r), elapsed: Date.now() - started });
  }

  @pluginEntry({ id: "call_short", timeout: 1 })
  async callShort({ ref, args = {} }: { ref: string; args?: any }) {
    return Ok(probe(await this.plugins.callEntry(ref, args)));
  }

  @pluginEntry({ id: "call_from_timer" })
  callFromTimer({ ref, args = {} }: { ref: string; args?: any }) {
    return new Promise((resolve) => this.jobs.push({ ref, args, resolve })).then((value) => Ok(value));
  }

  @customEvent({ eventType: "custom", id: "thing" })
  async thing(args: Record<string, unknown>) {
    // An event handler's own cross-plugin calls carry the chain it was called with.
    const back = args.callBack ? probe(await this.plugins.callEntry(String(args.callBack) + ":echo", {})) : null;
    return Ok({ got: args, on: this.pluginId, back });
  }

  @pluginEntry({ id: "call_event" })
  async callEventEntry({ ref, args = {} }: { ref: string; args?: any }) {
    return Ok(probe(await this.plugins.callEvent(ref, args)));
  }

  @pluginEntry({ id: "call_json" })
  async callJson({ ref, args, withDate = false }: { ref: string; args?: any; withDate?: boolean }) {
    const sent = withDate ? { when: new Date(0) } : args;
    return Ok(probe(await this.plugins.callEntryJson(ref, sent)));
  }

  @pluginEntry({ id: "bad_refs" })
  async badRefs() {
    return Ok({
      noColon: probe(await this.plugins.callEntry("nocolon")),
      emptyEntry: probe(await this.plugins.callEntry("b:")),
      badId: probe(await this.plugins.callEntry("b c:echo")),
      badTimeout: probe(await this.plugins.callEntry("b:echo", {}, { timeout: -1 })),
      badEventRef: probe(await this.plugins.callEvent("b:only_type")),
    });
  }

  /** One slow call and n fast ones to the same target at once; when each finished, in ms from the start. */
  @pluginEntry({ id: "fan" })
  async fan({ target, n, slowMs }: { target: string; n: number; slowMs: number }) {
    const t0 = Date.now();
    const slow = this.plugins
      .callEntry(target + ":slow", { ms: slowMs })
      .then((r) => ({ ok: r.ok, at: Date.now() - t0 }));
    const fast = await Promise.all(
      Array.from({ length: n }, (_, i) =>
        this.plugins.callEntry<any>(target + ":echo", { i }).then((r) => ({
          ok: r.ok,
          i: r.ok ? r.value.args.i : null,
          at: Date.now() - t0,
        })),
      ),
    );
    return Ok({ fast, slow: await slow });
  }

  @pluginEntry({ id: "directory" })
  async directory() {
    const ids = await this.plugins.listIds();
    const enabled = await this.plugins.listIds({ enabled: true });
    const disabled = await this.plugins.listIds({ enabled: false });
    const b = await this.plugins.get("b");
    return Ok({
      ids: probe(ids),
      enabled: probe(enabled),
      disabled: probe(disabled),
      b: probe(b),
      ghost: probe(await this.plugins.get("ghost")),
      existsB: probe(await this.plugins.exists("b")),
      existsGhost: probe(await this.plugins.exists("ghost")),
      requireGhost: probe(await this.plugins.require("ghost")),
      requireIdle: probe(await this.plugins.requireEnabled("idle")),
      requireOff: probe(await this.plugins.requireEnabled("off")),
      badId: probe(await this.plugins.get("no such id!")),
    });
  }

  @pluginEntry({ id: "slow" })
  async slow({ ms }: { ms: number }, ctx: { signal: AbortSignal }) {
    const t0 = Date.now();
    ctx.signal.addEventListener("abort", () => {
      this.slowAbortedAfter = Date.now() - t0;
    });
    await new Promise((resolve) => setTimeout(resolve, ms));
    return Ok({ slept: ms });
  }

  @pluginEntry({ id: "stats" })
  stats() {
    return Ok({ slowAbortedAfter: this.slowAbortedAfter });
  }

  @pluginEntry({ id: "deadline" })
  deadline(_args: unknown, ctx: { deadline: number }) {
    return Ok({ remaining: ctx.deadline - Date.now() });
  }

  @pluginEntry({ id: "refuse" })
  refuse() {
    return Err(new NotFoundError("note 7 does not exist", { code: "NOTE_MISSING", details: { id: 7 } }));
  }

  @pluginEntry({ id: "date" })
  date() {
    return Ok({ when: new Date(0) });
  }

  @pluginEntry({ id: "dies" })
  async dies() {
    setTimeout(() => process.exit(3), 50);
    await new Promise(() => {});
  }
}
`;

function manifest(id: string, extra = ""): string {
  return `[plugin]\nid = "${id}"\nentry = "index.ts:NodePlugin"\n${extra}`;
}

describe("cross-plugin calls", () => {
  let root: string;
  let dataDir: string;
  let t: TestHost;
  /** `caller:call` with `ref`: the probe of what the caller's callEntry returned. */
  const call = async (caller: string, ref: string, args: object = {}, timeout?: number) =>
    (await t.trigger(caller, "call", { ref, args, ...(timeout !== undefined && { timeout }) })).body.data;

  before(async () => {
    root = makeTempDir();
    dataDir = makeTempDir("neko-data-");
    for (const id of ["a", "b", "c", "fragile"]) writePlugin(root, { id, manifest: manifest(id), code: nodeCode });
    writePlugin(root, {
      id: "restricted",
      manifest: manifest("restricted", '[plugin.permissions]\nallow_calls = ["b"]\n'),
      code: nodeCode,
    });
    writePlugin(root, {
      id: "idle",
      manifest: manifest("idle", "[plugin_runtime]\nauto_start = false\n"),
      code: nodeCode,
    });
    writePlugin(root, { id: "off", manifest: manifest("off", "[plugin_runtime]\nenabled = false\n"), code: nodeCode });
    // A small depth limit keeps the number of processes down; the default of 20 is checked in call-chain.test.ts.
    t = await startTestHost({ roots: [root], dataDir, maxCallDepth: 3 });
  });
  after(async () => {
    await t?.close();
    fs.rmSync(root, { recursive: true, force: true });
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  test("a round trip between two plugin processes carries args and result", async () => {
    const res = await call("a", "b:echo", { n: 1, text: "hé", list: [1, null, { deep: true }] });
    assert.equal(res.ok, true);
    assert.deepEqual(res.value, { args: { n: 1, text: "hé", list: [1, null, { deep: true }] }, from: "b" });
    const pids = ["a", "b"].map((id) => t.host.getPlugin(id)?.pid);
    assert.notEqual(pids[0], pids[1], "two processes");
    // Nested: a → b → c, each hop through the host.
    const relay = await t.trigger("a", "relay", { path: ["b", "c"] });
    assert.deepEqual(relay.body.data, { end: "c" });
  });

  test("a cycle A → B → A fails at once with CircularCallError naming the cycle", async () => {
    // b's relay gets the CircularCallError and passes it on: a sees it wrapped, naming b's entry.
    const res = await call("a", "b:relay", { path: ["a"] });
    assert.equal(res.ok, false);
    assert.equal(res.code, "UPSTREAM_ERROR");
    assert.equal(res.name, "PluginCallError");
    assert.deepEqual(res.classes, ["SdkError", "PluginCallError"]);
    assert.match(
      res.message,
      /^entry 'b:relay' failed: its call to 'a:relay' failed with CIRCULAR_CALL: circular call a → b → a/,
    );
    assert.equal(res.details.cause.code, "CIRCULAR_CALL");
    assert.deepEqual(res.details.cause.details.chain, ["a", "b", "a"]);
    assert.ok(res.elapsed < 5000, `failed at once, not at a timeout (${res.elapsed} ms)`);
    // Over HTTP each entry that passed it on is named: a's relay, then b's, then the refused call itself.
    const http = await t.trigger("a", "relay", { path: ["b", "a"] });
    assert.equal(http.status, 502);
    assert.equal(http.body.error.code, "UPSTREAM_ERROR");
    const viaB = http.body.error.details.cause;
    assert.deepEqual([viaB.plugin, viaB.entry, viaB.code], ["b", "relay", "UPSTREAM_ERROR"]);
    const refused = viaB.details.cause;
    assert.deepEqual([refused.plugin, refused.entry, refused.code], ["a", "relay", "CIRCULAR_CALL"]);
    assert.deepEqual(refused.details.chain, ["a", "b", "a"]);
  });

  test("a plugin calling itself through the host is a cycle too", async () => {
    const res = await call("a", "a:echo");
    assert.equal(res.code, "CIRCULAR_CALL");
    assert.equal(res.name, "CircularCallError");
    assert.deepEqual(res.classes, ["SdkError", "PluginCallError", "CircularCallError"]);
    assert.match(res.message, /plugin 'a' called itself/);
  });

  test("a chain deeper than the limit fails with PluginCallError naming the chain", async () => {
    const ok = await t.trigger("a", "relay", { path: ["b", "c"] });
    assert.deepEqual(ok.body.data, { end: "c" }, "3 plugins: at the limit");
    const res = await t.trigger("a", "relay", { path: ["b", "c", "restricted"] });
    assert.equal(res.status, 502);
    assert.equal(res.body.error.code, "UPSTREAM_ERROR", "passed on by c's relay, then b's, then a's");
    assert.match(res.body.error.message, /call chain too deep: a → b → c → restricted holds 4 plugins; the limit is 3/);
    const tooDeep = res.body.error.details.cause.details.cause.details.cause;
    assert.deepEqual([tooDeep.plugin, tooDeep.entry, tooDeep.code], ["restricted", "relay", "PLUGIN_CALL_ERROR"]);
    assert.equal(tooDeep.details.maxDepth, 3);
  });

  test("calls from outside an entry (a timer) start their chain with the caller", async () => {
    const plain = await t.trigger("a", "call_from_timer", { ref: "b:echo", args: { x: 1 } });
    assert.deepEqual(plain.body.data.value, { args: { x: 1 }, from: "b" });
    const cycle = await t.trigger("a", "call_from_timer", { ref: "b:relay", args: { path: ["a"] } });
    // b's relay passed the refusal on: the timer's call gets it wrapped, naming b's entry.
    assert.equal(cycle.body.data.code, "UPSTREAM_ERROR");
    assert.equal(cycle.body.data.details.cause.code, "CIRCULAR_CALL");
    assert.deepEqual(cycle.body.data.details.cause.details.chain, ["a", "b", "a"]);
  });

  test("a target's Err comes back with its class, code, message and details", async () => {
    const res = await call("a", "b:refuse");
    assert.deepEqual(
      { ...res, elapsed: undefined },
      {
        ok: false,
        name: "NotFoundError",
        code: "NOTE_MISSING",
        message: "note 7 does not exist",
        details: { id: 7 },
        classes: ["SdkError", "NotFoundError"],
        elapsed: undefined,
      },
    );
    const http = await t.trigger("a", "relay", { path: ["b"] });
    assert.equal(http.status, 200, "relay ends at b with Ok");
    const missing = await call("a", "b:nope");
    assert.equal(missing.code, "ENTRY_NOT_FOUND");
    const invalidArgs = await call("a", "b:echo", "not an object" as unknown as object);
    assert.equal(invalidArgs.code, "VALIDATION_ERROR");
  });

  test("50 concurrent calls are not held up by one slow call to the same target", async () => {
    const res = await t.trigger("a", "fan", { target: "b", n: 50, slowMs: 4000 });
    const { fast, slow } = res.body.data;
    assert.equal(fast.length, 50);
    assert.deepEqual(
      fast.map((f: { i: number }) => f.i),
      Array.from({ length: 50 }, (_, i) => i),
    );
    assert.ok(
      fast.every((f: { ok: boolean }) => f.ok),
      "every fast call succeeded",
    );
    assert.equal(slow.ok, true);
    assert.ok(slow.at >= 4000, `the slow call took its time (${slow.at} ms)`);
    const lastFast = Math.max(...fast.map((f: { at: number }) => f.at));
    assert.ok(
      lastFast < slow.at,
      `every fast call finished (last at ${lastFast} ms) before the slow one (${slow.at} ms)`,
    );
  });

  test("a stopped, disabled or unknown target is refused at once", async () => {
    const stopped = await call("a", "idle:echo");
    assert.equal(stopped.code, "PLUGIN_NOT_RUNNING");
    assert.match(stopped.message, /plugin 'idle' is not running \(state: stopped\)/);
    const disabled = await call("a", "off:echo");
    assert.equal(disabled.code, "PLUGIN_NOT_RUNNING");
    const unknown = await call("a", "ghost:echo");
    assert.equal(unknown.code, "PLUGIN_NOT_FOUND");
    assert.deepEqual(unknown.classes, ["SdkError", "NotFoundError"]);
    for (const r of [stopped, disabled, unknown]) assert.ok(r.elapsed < 5000);
  });

  test("a target that dies mid-call fails the call at once with PLUGIN_CRASHED", async () => {
    const pid = t.host.getPlugin("fragile")?.pid as number;
    const res = await call("a", "fragile:dies");
    assert.equal(res.code, "PLUGIN_CRASHED");
    assert.ok(res.elapsed < 5000, `at once, not at the 30 s timeout (${res.elapsed} ms)`);
    assert.equal(isAlive(pid), false);
    // The caller goes on.
    assert.equal((await call("a", "b:echo")).ok, true);
  });

  test("[plugin.permissions].allow_calls is enforced by the host", async () => {
    const allowed = await call("restricted", "b:echo", { y: 2 });
    assert.deepEqual(allowed.value, { args: { y: 2 }, from: "b" });
    const denied = await call("restricted", "c:echo");
    assert.equal(denied.ok, false);
    assert.equal(denied.code, "PERMISSION_DENIED");
    assert.equal(denied.name, "PluginCallError");
    assert.match(denied.message, /plugin 'restricted' may not call plugin 'c': \[plugin.permissions\].allow_calls/);
    assert.deepEqual(denied.details.allowCalls, ["b"]);
    // Passed on by the entry, the refusal names it: the HTTP caller itself was not refused anything.
    const http = await t.trigger("restricted", "relay", { path: ["c"] });
    assert.equal(http.status, 502);
    assert.equal(http.body.error.code, "UPSTREAM_ERROR");
    assert.equal(http.body.error.details.cause.code, "PERMISSION_DENIED");
    assert.deepEqual([http.body.error.details.cause.plugin, http.body.error.details.cause.entry], ["c", "relay"]);
    const event = (await t.trigger("restricted", "call_event", { ref: "c:custom:x" })).body.data;
    assert.equal(event.code, "PERMISSION_DENIED", "events are calls too");
  });

  test("deadlines shrink along the chain", async () => {
    // b's entry has the default 30 s; called from a 1 s entry it gets what is left of that second.
    const nested = (await t.trigger("a", "call_short", { ref: "b:deadline" })).body.data;
    assert.ok(nested.value.remaining <= 1000 && nested.value.remaining > 0, `remaining ${nested.value.remaining}`);
    const own = await call("a", "b:deadline", {}, 0.5);
    assert.ok(own.value.remaining <= 500, `own timeout: remaining ${own.value.remaining}`);
    const free = await call("a", "b:deadline");
    assert.ok(free.value.remaining > 20_000, "no timeout option, inside a 30 s entry: b's own 30 s");
    // A slow target is aborted when the caller's deadline passes, not at its own.
    const res = await t.trigger("a", "call_short", { ref: "b:slow", args: { ms: 8000 } });
    assert.equal(res.body.error?.code ?? res.body.data.code, "TIMEOUT");
    const aborted = await waitFor(
      async () => (await t.trigger("b", "stats")).body.data.slowAbortedAfter as number | null,
      { what: "b's slow entry to be aborted" },
    );
    assert.ok(aborted < 3000, `aborted after ${aborted} ms, at the caller's 1 s deadline`);
  });

  test("list, listIds, exists, get, require and requireEnabled", async () => {
    const d = (await t.trigger("a", "directory")).body.data;
    assert.deepEqual(d.ids.value, ["a", "b", "c", "fragile", "idle", "off", "restricted"]);
    assert.deepEqual(d.disabled.value, ["off"]);
    assert.ok(d.enabled.value.includes("idle"), "stopped but enabled");
    assert.equal(d.b.value.id, "b");
    assert.equal(d.b.value.running, true);
    assert.equal(d.b.value.status, "running");
    assert.ok(d.b.value.entries.some((e: { id: string }) => e.id === "echo"));
    assert.equal(d.ghost.value, null);
    assert.equal(d.existsB.value, true);
    assert.equal(d.existsGhost.value, false);
    assert.equal(d.requireGhost.code, "PLUGIN_NOT_FOUND");
    assert.equal(d.requireGhost.name, "NotFoundError");
    assert.equal(d.requireIdle.ok, true);
    assert.equal(d.requireIdle.value.running, false);
    assert.equal(d.requireOff.ok, false);
    assert.match(d.requireOff.message, /plugin 'off' is not enabled \(state: disabled\)/);
    assert.equal(d.badId.code, "VALIDATION_ERROR");
  });

  test("callEntryJson takes JSON text or values and checks the result is JSON", async () => {
    const text = (await t.trigger("a", "call_json", { ref: "b:echo", args: '{"x":[1,2]}' })).body.data;
    assert.deepEqual(text.value, { args: { x: [1, 2] }, from: "b" });
    const value = (await t.trigger("a", "call_json", { ref: "b:echo", args: { y: "z" } })).body.data;
    assert.deepEqual(value.value, { args: { y: "z" }, from: "b" });
    const badText = (await t.trigger("a", "call_json", { ref: "b:echo", args: "{oops" })).body.data;
    assert.equal(badText.code, "VALIDATION_ERROR");
    assert.match(badText.message, /args is not valid JSON/);
    const badArgs = (await t.trigger("a", "call_json", { ref: "b:echo", withDate: true })).body.data;
    assert.match(badArgs.message, /args\.when is a Date/);
    const badResult = (await t.trigger("a", "call_json", { ref: "b:date" })).body.data;
    assert.equal(badResult.code, "VALIDATION_ERROR");
    assert.match(badResult.message, /the result is not JSON-compatible: result\.when is a Date/);
  });

  test("callEvent goes through the same checks and reaches the target's runtime", async () => {
    const res = (await t.trigger("a", "call_event", { ref: "b:custom:thing", args: { q: 1 } })).body.data;
    assert.deepEqual(res, { ok: true, value: { got: { q: 1 }, on: "b", back: null } });
    const missing = (await t.trigger("a", "call_event", { ref: "b:custom:nothing" })).body.data;
    assert.equal(missing.code, "EVENT_NOT_FOUND");
    const loop = (await t.trigger("a", "call_event", { ref: "b:custom:thing", args: { callBack: "a" } })).body.data;
    assert.equal(loop.value.back.code, "CIRCULAR_CALL", "the handler's own calls carry the chain a → b");
    const cycle = (await t.trigger("a", "call_event", { ref: "a:custom:thing" })).body.data;
    assert.equal(cycle.code, "CIRCULAR_CALL");
    const stopped = (await t.trigger("a", "call_event", { ref: "idle:custom:thing" })).body.data;
    assert.equal(stopped.code, "PLUGIN_NOT_RUNNING");
  });

  test("malformed references and options are refused before anything is sent", async () => {
    const d = (await t.trigger("a", "bad_refs")).body.data;
    for (const key of ["noColon", "emptyEntry", "badId", "badTimeout", "badEventRef"]) {
      assert.equal(d[key].code, "VALIDATION_ERROR", key);
    }
    assert.match(d.noColon.message, /'nocolon' is not a reference of the form "<plugin>:<entry>"/);
    assert.match(d.badTimeout.message, /timeout must be above 0 and at most 2147483 seconds/);
  });
});
