/**
 * Errors that say where they came from (issue 13, items 10–13), through HTTP with real plugin processes: a failure an
 * entry passes on from another plugin is wrapped as UPSTREAM_ERROR naming both (and a hostile plugin cannot forge the
 * cause), timeouts read the same wherever they fire, a failing `startup` answers STARTUP_FAILED, a refused plugin whose
 * manifest is fixed comes back on reload, and misspelled argument names are refused with the closest known name.
 */
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { makeTempDir, writePlugin } from "../support/plugin-fixtures.ts";
import { startTestHost, type TestHost } from "../support/test-host.ts";

const nodeCode = `
import { Err, NekoPluginBase, nekoPlugin, Ok, pluginEntry, SdkError } from "@neko/plugin-sdk/plugin";

@nekoPlugin
export class ErrPlugin extends NekoPluginBase {
  /** Calls path[0] when it is the last step (a full "<plugin>:<entry>"), else <path[0]>:relay with the rest. */
  @pluginEntry({ id: "relay" })
  async relay({ path = [], args = {} }: { path?: string[]; args?: Record<string, unknown> }) {
    if (path.length === 1) return this.plugins.callEntry(path[0], args);
    return this.plugins.callEntry(path[0] + ":relay", { path: path.slice(1), args });
  }

  /** Makes an error of its own from the failure of its call. */
  @pluginEntry({ id: "own" })
  async own({ ref }: { ref: string }) {
    const r = await this.plugins.callEntry(ref, {});
    if (r.ok) return Ok(r.value);
    return Err(new SdkError("could not load the notes", { code: "NOTES_UNAVAILABLE", details: { tried: ref }, cause: r.error }));
  }

  @pluginEntry({ id: "refuse" })
  refuse() {
    return Err(new SdkError("note 7 does not exist", { code: "NOTE_MISSING", details: { id: 7 } }));
  }

  @pluginEntry({ id: "slowfail" })
  async slowfail() {
    await new Promise((resolve) => setTimeout(resolve, 1500));
    return Err(new SdkError("late", { code: "LATE" }));
  }

  @pluginEntry({ id: "sleepy", timeout: 0.3 })
  async sleepy(_args: unknown, ctx: { signal: AbortSignal }) {
    await new Promise((resolve) => {
      const timer = setTimeout(resolve, 5000);
      ctx.signal.addEventListener("abort", () => { clearTimeout(timer); resolve(null); });
    });
    return Ok("woke");
  }

  /** Blocks the plugin's event loop: its own timer cannot fire, the host's does. */
  @pluginEntry({ id: "busy", timeout: 0.3 })
  busy() {
    const until = Date.now() + 1500;
    while (Date.now() < until) {}
    return Ok("done");
  }

  /** A hostile answer: claims UPSTREAM_ERROR with a made-up, huge and deep cause and a made-up token. */
  @pluginEntry({ id: "forge" })
  forge({ as = "UPSTREAM_ERROR" }: { as?: string }) {
    let deep: any = { plugin: "nobody", entry: "none", code: "X", message: "bottom" };
    for (let i = 0; i < 400; i++) deep = { plugin: "nobody", entry: "none", code: "X", message: "m", details: { cause: deep } };
    return {
      ok: false,
      error: {
        name: "PluginCallError",
        code: as,
        message: "forged " + "x".repeat(200000),
        details: { plugin: "${"${"}this.pluginId}", entry: "forge", cause: deep },
        upstream: "00000000-0000-4000-8000-000000000000",
      },
    };
  }
}
`;

const shakyCode = `
import { Err, lifecycle, NekoPluginBase, nekoPlugin, Ok, pluginEntry, SdkError } from "@neko/plugin-sdk/plugin";

@nekoPlugin
export class ShakyPlugin extends NekoPluginBase {
  @lifecycle({ id: "startup" })
  startup() {
    return Err(new SdkError("the database is unreachable", { code: "DB_DOWN", details: { host: "db.local" } }));
  }

  @pluginEntry({ id: "ping" })
  ping() {
    return Ok("pong");
  }
}
`;

const argsCode = `
import { NekoPluginBase, nekoPlugin, Ok, onEvent, pluginEntry, z } from "@neko/plugin-sdk/plugin";

const props = { includeDone: { type: "boolean" }, limit: { type: "integer" } };

@nekoPlugin
export class ArgsPlugin extends NekoPluginBase {
  @pluginEntry({ id: "list", inputSchema: { type: "object", properties: props } })
  list(args: object) {
    return Ok(args);
  }

  @pluginEntry({ id: "zlist", params: z.object({ includeDone: z.boolean().optional() }) })
  zlist(args: object) {
    return Ok(args);
  }

  @pluginEntry({ id: "loose", params: z.object({ includeDone: z.boolean().optional() }).loose() })
  loose(args: object) {
    return Ok(args);
  }

  @pluginEntry({ id: "open", inputSchema: { type: "object", properties: props, additionalProperties: true } })
  open(args: object) {
    return Ok(args);
  }

  @pluginEntry({ id: "optout", inputSchema: { type: "object", properties: props }, allowExtraArgs: true })
  optout(args: object) {
    return Ok(args);
  }

  @pluginEntry({ id: "free" })
  free(args: object) {
    return Ok(args);
  }

  @onEvent({ eventType: "order", id: "placed", inputSchema: { type: "object", properties: { amount: { type: "number" } } } })
  placed(args: object) {
    return Ok(args);
  }
}
`;

function manifest(id: string, extra = ""): string {
  return `[plugin]\nid = "${id}"\nentry = "index.ts:ErrPlugin"\n${extra}`;
}

describe("errors that say where they came from", () => {
  let root: string;
  let dataDir: string;
  let t: TestHost;

  before(async () => {
    root = makeTempDir();
    dataDir = makeTempDir("neko-data-");
    for (const id of ["assistant", "todo", "notes", "evil"])
      writePlugin(root, { id, manifest: manifest(id), code: nodeCode });
    writePlugin(root, {
      id: "shaky",
      manifest: manifest("shaky", "[plugin_runtime]\nauto_start = false\n").replace("ErrPlugin", "ShakyPlugin"),
      code: shakyCode,
    });
    // Its startup hook answers with a code the host uses for a process that failed: still the hook's failure.
    writePlugin(root, {
      id: "shaky_code",
      manifest: manifest("shaky_code", "[plugin_runtime]\nauto_start = false\n").replace("ErrPlugin", "ShakyPlugin"),
      code: shakyCode.replace('code: "DB_DOWN"', 'code: "PLUGIN_CRASHED"'),
    });
    writePlugin(root, {
      id: "lister",
      manifest: manifest("lister").replace("ErrPlugin", "ArgsPlugin"),
      code: argsCode,
    });
    // Refused for its manifest (not TOML) until a test fixes it.
    writePlugin(root, { id: "broken", manifest: "[plugin\nid = ", code: nodeCode });
    t = await startTestHost({ roots: [root], dataDir });
  });
  after(async () => {
    await t?.close();
    fs.rmSync(root, { recursive: true, force: true });
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  test("item 10: a failure passed on from another plugin is wrapped as UPSTREAM_ERROR naming both", async () => {
    const res = await t.trigger("assistant", "relay", { path: ["todo:nope"] });
    assert.equal(res.status, 502);
    assert.equal(res.body.error.code, "UPSTREAM_ERROR");
    assert.equal(
      res.body.error.message,
      "entry 'assistant:relay' failed: its call to 'todo:nope' failed with ENTRY_NOT_FOUND: plugin 'todo' has no entry 'nope'",
    );
    assert.deepEqual(res.body.error.details, {
      plugin: "assistant",
      entry: "relay",
      cause: {
        plugin: "todo",
        entry: "nope",
        code: "ENTRY_NOT_FOUND",
        message: "plugin 'todo' has no entry 'nope'",
        details: { entries: ["relay", "own", "refuse", "slowfail", "sleepy", "busy", "forge"] },
      },
    });
    // A plugin's own code comes through in the cause.
    const own = await t.trigger("assistant", "relay", { path: ["todo:refuse"] });
    assert.equal(own.status, 502);
    assert.deepEqual(own.body.error.details.cause, {
      plugin: "todo",
      entry: "refuse",
      code: "NOTE_MISSING",
      message: "note 7 does not exist",
      details: { id: 7 },
    });
    // Called directly, the same entry answers its own failure as before.
    const direct = await t.trigger("todo", "refuse");
    assert.equal(direct.status, 422);
    assert.equal(direct.body.error.code, "NOTE_MISSING");
    assert.deepEqual(direct.body.error.details, { id: 7 });
  });

  test("item 10: a chain of three nests its causes", async () => {
    const res = await t.trigger("assistant", "relay", { path: ["todo", "notes:nope"] });
    assert.equal(res.status, 502);
    assert.equal(res.body.error.code, "UPSTREAM_ERROR");
    const inner =
      "entry 'todo:relay' failed: its call to 'notes:nope' failed with ENTRY_NOT_FOUND: plugin 'notes' has no entry 'nope'";
    assert.equal(
      res.body.error.message,
      `entry 'assistant:relay' failed: its call to 'todo:relay' failed with UPSTREAM_ERROR: ${inner}`,
    );
    assert.deepEqual(res.body.error.details, {
      plugin: "assistant",
      entry: "relay",
      cause: {
        plugin: "todo",
        entry: "relay",
        code: "UPSTREAM_ERROR",
        message: inner,
        details: {
          plugin: "todo",
          entry: "relay",
          cause: {
            plugin: "notes",
            entry: "nope",
            code: "ENTRY_NOT_FOUND",
            message: "plugin 'notes' has no entry 'nope'",
            details: { entries: ["relay", "own", "refuse", "slowfail", "sleepy", "busy", "forge"] },
          },
        },
      },
    });
  });

  test("item 10: an error of the entry's own keeps its code and gets the cause", async () => {
    const res = await t.trigger("assistant", "own", { ref: "todo:nope" });
    assert.equal(res.status, 422);
    assert.equal(res.body.error.code, "NOTES_UNAVAILABLE");
    assert.equal(res.body.error.message, "could not load the notes");
    assert.deepEqual(res.body.error.details, {
      tried: "todo:nope",
      cause: {
        plugin: "todo",
        entry: "nope",
        code: "ENTRY_NOT_FOUND",
        message: "plugin 'todo' has no entry 'nope'",
        details: { entries: ["relay", "own", "refuse", "slowfail", "sleepy", "busy", "forge"] },
      },
    });
  });

  test("item 10, attacker: a forged cause and token are not believed, a huge deep one does not hurt the host", async () => {
    // Called directly: UPSTREAM_ERROR without a token the host gave is not believed.
    const direct = await t.trigger("evil", "forge");
    assert.equal(direct.status, 500);
    assert.equal(direct.body.error.code, "ENTRY_FAILED");
    assert.match(
      direct.body.error.message,
      /^entry 'evil:forge' answered UPSTREAM_ERROR, which only the host gives: forged x+…$/,
    );
    assert.ok(direct.body.error.message.length <= 2000);
    assert.deepEqual(direct.body.error.details, { plugin: "evil", entry: "forge", claimedCode: "UPSTREAM_ERROR" });
    // Passed on by another plugin: the cause is what the host saw (bounded), named after evil, not the forged one.
    const passed = await t.trigger("assistant", "relay", { path: ["evil:forge"] });
    assert.equal(passed.status, 502);
    assert.equal(passed.body.error.code, "UPSTREAM_ERROR");
    const cause = passed.body.error.details.cause;
    assert.equal(cause.plugin, "evil");
    assert.equal(cause.entry, "forge");
    assert.equal(cause.code, "ENTRY_FAILED");
    assert.ok(cause.message.length <= 1000, "the cause's message is cut");
    assert.deepEqual(cause.details, { plugin: "evil", entry: "forge", claimedCode: "UPSTREAM_ERROR" });
    // A code of its own with details 400 deep and a 200 kB message: passed on, the cause is cut and its details
    // (past the bound) left out.
    const deep = await t.trigger("evil", "forge", { as: "FORGED" });
    assert.equal(deep.status, 422);
    assert.equal(deep.body.error.code, "FORGED");
    const deepPassed = await t.trigger("assistant", "relay", { path: ["evil:forge"], args: { as: "FORGED" } });
    assert.equal(deepPassed.status, 502);
    const deepCause = deepPassed.body.error.details.cause;
    assert.deepEqual(Object.keys(deepCause), ["plugin", "entry", "code", "message"]);
    assert.equal(deepCause.code, "FORGED");
    assert.equal(deepCause.message.length, 1000);
    assert.ok(deepPassed.body.error.message.length <= 2000);
    // The host still serves.
    const after = await t.trigger("assistant", "relay", { path: ["todo:refuse"] });
    assert.equal(after.body.error.details.cause.code, "NOTE_MISSING");
    const counts = t.host.debugCounts();
    assert.ok(counts.upstreamFailures <= 4 * 256, `tokens are bounded (${counts.upstreamFailures})`);
  });

  test("item 11: a timeout reads the same whether the plugin's runtime or the host fired it", async () => {
    const plugin = await t.trigger("todo", "sleepy");
    assert.equal(plugin.status, 504);
    assert.equal(plugin.body.error.code, "TIMEOUT");
    assert.equal(plugin.body.error.message, "entry 'todo:sleepy' timed out after 0.3s");
    assert.deepEqual(plugin.body.error.details, { plugin: "todo", entry: "sleepy", timeoutMs: 300, firedBy: "plugin" });
    // Passed on by another plugin, the same shape is the cause.
    const nested = await t.trigger("assistant", "relay", { path: ["todo:sleepy"] });
    assert.equal(nested.status, 502);
    assert.deepEqual(nested.body.error.details.cause, {
      plugin: "todo",
      entry: "sleepy",
      code: "TIMEOUT",
      message: "entry 'todo:sleepy' timed out after 0.3s",
      details: { plugin: "todo", entry: "sleepy", timeoutMs: 300, firedBy: "plugin" },
    });
    const host = await t.trigger("todo", "busy");
    assert.equal(host.status, 504);
    assert.equal(host.body.error.code, "TIMEOUT");
    assert.equal(host.body.error.message, "entry 'todo:busy' timed out after 0.3s");
    assert.deepEqual(host.body.error.details, { plugin: "todo", entry: "busy", timeoutMs: 300, firedBy: "host" });
    // A plugin cannot claim a timeout the host fired, or one of another plugin or entry: any TIMEOUT it answers is
    // rebuilt from what the host knows (the budget it gave the call: the default 30 s here).
    const lie = await t.trigger("evil", "forge", { as: "TIMEOUT" });
    assert.equal(lie.status, 504);
    assert.deepEqual(lie.body.error, {
      code: "TIMEOUT",
      message: "entry 'evil:forge' timed out after 30s",
      details: { plugin: "evil", entry: "forge", timeoutMs: 30000, firedBy: "plugin" },
    });
    const liePassed = await t.trigger("assistant", "relay", { path: ["evil:forge"], args: { as: "TIMEOUT" } });
    assert.equal(liePassed.status, 502);
    // Called by another plugin, the budget is what was left of the caller's deadline.
    const { timeoutMs, ...named } = liePassed.body.error.details.cause.details;
    assert.deepEqual(named, { plugin: "evil", entry: "forge", firedBy: "plugin" });
    assert.ok(timeoutMs > 29_000 && timeoutMs <= 30_000, String(timeoutMs));
    // The plugin goes on once its loop is free.
    const after = await t.trigger("todo", "refuse");
    assert.equal(after.body.error.code, "NOTE_MISSING");
  });

  test("item 12: a start whose startup hook fails answers STARTUP_FAILED naming the hook and its error", async () => {
    const res = await t.request("POST", "/plugin/shaky/start");
    assert.equal(res.status, 502);
    assert.deepEqual(res.body, {
      error: {
        code: "STARTUP_FAILED",
        message: "plugin 'shaky' failed to start: its startup hook failed with DB_DOWN: the database is unreachable",
        details: {
          plugin: "shaky",
          hook: "startup",
          cause: { code: "DB_DOWN", message: "the database is unreachable", details: { host: "db.local" } },
        },
      },
    });
    // A hook answering a code the host gives a failed process (PLUGIN_CRASHED here) is still the hook's failure.
    const coded = await t.request("POST", "/plugin/shaky_code/start");
    assert.equal(coded.status, 502);
    assert.equal(coded.body.error.code, "STARTUP_FAILED");
    assert.deepEqual(coded.body.error.details, {
      plugin: "shaky_code",
      hook: "startup",
      cause: { code: "PLUGIN_CRASHED", message: "the database is unreachable", details: { host: "db.local" } },
    });
    await t.request("POST", "/plugin/shaky_code/stop");
    // No restart loop left behind.
    const stop = await t.request("POST", "/plugin/shaky/stop");
    assert.equal(stop.status, 200);
    assert.equal(stop.body.status, "stopped");
  });

  test("item 12: reload of a plugin refused for its manifest re-reads it, and starts it once it is fixed", async () => {
    assert.equal(t.host.getPlugin("broken")?.status, "refused");
    const still = await t.request("POST", "/plugin/broken/reload");
    assert.equal(still.status, 409);
    assert.equal(still.body.error.code, "PLUGIN_REFUSED");
    assert.match(still.body.error.message, /^plugin 'broken' is refused: /);
    fs.writeFileSync(path.join(root, "broken", "plugin.toml"), manifest("broken"));
    const fixed = await t.request("POST", "/plugin/broken/reload");
    assert.equal(fixed.status, 200);
    assert.equal(fixed.body.success, true);
    assert.equal(fixed.body.plugin_id, "broken");
    assert.equal(fixed.body.status, "running");
    assert.equal(typeof fixed.body.pid, "number");
    const call = await t.trigger("broken", "refuse");
    assert.equal(call.body.error.code, "NOTE_MISSING", "its entries answer");
  });

  test("item 13: misspelled argument names are refused with the closest known name, wherever the call comes from", async () => {
    const message = "invalid arguments: include_done: is not an allowed argument; did you mean 'includeDone'?";
    const issue = {
      field: "include_done",
      message: "is not an allowed argument; did you mean 'includeDone'?",
      suggestion: "includeDone",
    };
    for (const entry of ["list", "zlist"]) {
      const res = await t.trigger("lister", entry, { include_done: true });
      assert.equal(res.status, 400, entry);
      assert.equal(res.body.error.code, "VALIDATION_ERROR");
      assert.equal(res.body.error.message, message);
      assert.deepEqual(res.body.error.details, { issues: [issue] });
    }
    // Each unknown name is named; one too far from any known name gets no suggestion.
    const two = await t.trigger("lister", "list", { limt: 2, colour: "red" });
    assert.equal(
      two.body.error.message,
      "invalid arguments: limt: is not an allowed argument; did you mean 'limit'?; colour: is not an allowed argument",
    );
    // Let through: a loose Zod object, additionalProperties true, the entry's opt-out, an entry without a schema.
    for (const entry of ["loose", "open", "optout", "free"]) {
      const res = await t.trigger("lister", entry, { include_done: true });
      assert.equal(res.status, 200, entry);
      assert.deepEqual(res.body.data, { include_done: true });
    }
    // The right name passes.
    assert.deepEqual((await t.trigger("lister", "list", { includeDone: true })).body.data, { includeDone: true });
    // An event trigger: the same check.
    const event = await t.request("POST", "/plugin/trigger", {
      plugin_id: "lister",
      event_type: "order",
      event_id: "placed",
      args: { amout: 3 },
    });
    assert.equal(event.status, 400);
    assert.equal(
      event.body.error.message,
      "invalid arguments: amout: is not an allowed argument; did you mean 'amount'?",
    );
    // A run: it ends failed with the same error.
    const started = await t.request("POST", "/runs", {
      plugin_id: "lister",
      entry_id: "list",
      args: { include_done: true },
    });
    assert.equal(started.status, 202);
    let run: any;
    for (let i = 0; i < 100; i++) {
      run = (await t.request("GET", `/runs/${started.body.run_id}`)).body;
      if (run.status !== "queued" && run.status !== "running") break;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    assert.equal(run.status, "failed");
    assert.equal(run.error.code, "VALIDATION_ERROR");
    assert.equal(run.error.message, message);
    // Another plugin's call: the same error, wrapped when passed on.
    const nested = await t.trigger("assistant", "relay", { path: ["lister:list"], args: { include_done: true } });
    assert.equal(nested.status, 502);
    assert.equal(nested.body.error.details.cause.message, message);
  });

  test("item 10, leak: a failure delivered after the caller's process ended is not recorded for its next process", async () => {
    await t.request("POST", "/plugin/assistant/stop");
    const before = t.host.debugCounts().upstreamFailures;
    await t.request("POST", "/plugin/assistant/start");
    const inflight = t.trigger("assistant", "relay", { path: ["todo:slowfail"] });
    await new Promise((resolve) => setTimeout(resolve, 400));
    await t.request("POST", "/plugin/assistant/stop");
    await inflight.catch(() => undefined);
    // todo:slowfail answers 1.5 s after it started: its failure reaches the host after the caller stopped.
    await new Promise((resolve) => setTimeout(resolve, 1600));
    assert.equal(t.host.debugCounts().upstreamFailures, before, "no token kept for a process that ended");
    await t.request("POST", "/plugin/assistant/start");
    await t.trigger("assistant", "relay", { path: ["todo:refuse"] });
    assert.equal(t.host.debugCounts().upstreamFailures, before + 1, "the new process records its own");
    await t.request("POST", "/plugin/assistant/stop");
    assert.equal(t.host.debugCounts().upstreamFailures, before, "and forgets them when it ends");
    await t.request("POST", "/plugin/assistant/start");
  });
});
