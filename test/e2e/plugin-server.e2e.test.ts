/**
 * Issue 2 end to end: real plugin processes in folders outside the repository, real ZeroMQ sockets,
 * a real HTTP server on a free port.
 */
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { encodeFrame } from "@neko/protocol";
import { Dealer } from "zeromq";
import { isAlive, makeTempDir, waitFor, writePlugin } from "../support/plugin-fixtures.ts";
import { calcPluginCode, crashyPluginCode, simplePluginCode } from "../support/sample-plugins.ts";
import { startTestHost, type TestHost } from "../support/test-host.ts";

describe("plugin server end to end", () => {
  let good: string;
  let bad: string;
  let t: TestHost;

  before(async () => {
    good = makeTempDir();
    bad = makeTempDir();
    writePlugin(good, { id: "calc", className: "CalcPlugin", code: calcPluginCode });
    writePlugin(good, { id: "crashy", className: "CrashyPlugin", code: crashyPluginCode });
    writePlugin(good, { id: "other", className: "OtherPlugin", code: simplePluginCode("OtherPlugin") });
    writePlugin(good, {
      id: "calc_ext",
      manifest:
        '[plugin]\nid = "calc_ext"\ntype = "extension"\nentry = "index.ts:Ext"\n\n[plugin.host]\nplugin_id = "calc"\n',
      code: simplePluginCode("Ext"),
    });

    writePlugin(bad, { id: "bad_toml", manifest: '[plugin\nid = "bad_toml"\n' });
    writePlugin(bad, { id: "no_entry", manifest: '[plugin]\nid = "no_entry"\n' });
    writePlugin(bad, { id: "missing_module", manifest: '[plugin]\nid = "missing_module"\nentry = "nope.ts:Nope"\n' });
    writePlugin(bad, {
      id: "not_exported",
      manifest: '[plugin]\nid = "not_exported"\nentry = "index.ts:Missing"\n',
      code: simplePluginCode("Present"),
    });
    writePlugin(bad, {
      id: "not_decorated",
      manifest: '[plugin]\nid = "not_decorated"\nentry = "index.ts:Plain"\n',
      code: simplePluginCode("Plain", "ping", false),
    });
    writePlugin(bad, {
      id: "sdk_conflict",
      manifest: '[plugin]\nid = "sdk_conflict"\nentry = "index.ts:X"\n[plugin.sdk]\nconflicts = ">=0.1.0,<1.0.0"\n',
      code: simplePluginCode("X"),
    });
    writePlugin(bad, {
      id: "other",
      folder: "other_again",
      manifest: '[plugin]\nid = "other"\nentry = "index.ts:Dup"\n',
      code: simplePluginCode("Dup"),
    });
    writePlugin(bad, {
      id: "sleepy",
      manifest: '[plugin]\nid = "sleepy"\nentry = "index.ts:S"\n[plugin_runtime]\nenabled = false\n',
      code: simplePluginCode("S"),
    });
    t = await startTestHost({ roots: [good, bad] });
  });

  after(async () => {
    await t?.close();
    fs.rmSync(good, { recursive: true, force: true });
    fs.rmSync(bad, { recursive: true, force: true });
  });

  test("an external TypeScript plugin is discovered, started and listed with its schemas", async () => {
    const { status, body } = await t.request("GET", "/plugins");
    assert.equal(status, 200);
    const calc = body.plugins.find((p: { id: string }) => p.id === "calc");
    assert.equal(calc.status, "running");
    assert.equal(typeof calc.pid, "number");
    assert.notEqual(calc.pid, process.pid);
    const add = calc.entries.find((e: { id: string }) => e.id === "add");
    assert.deepEqual(add.input_schema.required, ["a"]);
    assert.deepEqual(add.llm_result_fields, ["sum"]);
    assert.equal(add.timeout, 30);
    assert.equal(add.auto_start, false);
    assert.equal(add.persist, null, "no persist option: the entry follows [plugin_state].persist_mode");
    const mul = calc.entries.find((e: { id: string }) => e.id === "mul");
    assert.equal(mul.input_schema.properties.x.type, "number", "the Zod params are exposed as JSON Schema");
    const stats = await t.trigger("calc", "stats");
    assert.equal(stats.body.data.started, true, "startup ran before the plugin was reported ready");
  });

  test("POST /plugin/trigger runs an entry over HTTP, with JSON Schema defaults and Zod params", async () => {
    const added = await t.trigger("calc", "add", { a: 2 });
    assert.equal(added.status, 200);
    assert.match(added.body.run_id, /^[0-9a-f-]{36}$/, "every trigger is a run (docs/runs.md)");
    assert.deepEqual(added.body, {
      success: true,
      plugin_id: "calc",
      entry_id: "add",
      run_id: added.body.run_id,
      data: { sum: 2 },
      error: null,
    });
    const mul = await t.trigger("calc", "mul", { x: 21 });
    assert.deepEqual(mul.body.data, { product: 42 }, "a plain return value is Ok");
  });

  test("wrong-typed args give 400 naming the field, and the handler does not run", async () => {
    const before = (await t.trigger("calc", "stats")).body.data.calls;
    const res = await t.trigger("calc", "add", { a: "two" });
    assert.equal(res.status, 400);
    assert.equal(res.body.success, false);
    assert.equal(res.body.error.code, "VALIDATION_ERROR");
    assert.match(res.body.error.message, /\ba\b.*number/);
    assert.deepEqual(res.body.error.details.issues, [{ field: "a", message: "must be number" }]);
    const zod = await t.trigger("calc", "mul", { x: "y" });
    assert.equal(zod.status, 400);
    assert.equal(zod.body.error.details.issues[0].field, "x");
    const afterCalls = (await t.trigger("calc", "stats")).body.data.calls;
    assert.equal(afterCalls, before, "no handler ran for the invalid calls");
  });

  test("modelValidate: false hands the args to the handler unchecked; the schema is still listed", async () => {
    const res = await t.trigger("calc", "unchecked", { n: "not an integer", extra: [1] });
    assert.equal(res.status, 200);
    assert.deepEqual(res.body.data, { got: { n: "not an integer", extra: [1] } });
    const entry = (await t.request("GET", "/plugins/calc")).body.entries.find(
      (e: { id: string }) => e.id === "unchecked",
    );
    assert.equal(entry.input_schema.properties.n.type, "integer");
  });

  test("an entry past its timeout answers TIMEOUT in about the timeout, its signal is aborted, the plugin goes on", async () => {
    const started = Date.now();
    const res = await t.trigger("calc", "sleep", { ms: 10_000 });
    const elapsed = Date.now() - started;
    assert.equal(res.status, 504);
    assert.equal(res.body.error.code, "TIMEOUT");
    assert.match(res.body.error.message, /timed out after 0.5s/);
    assert.ok(elapsed >= 450 && elapsed < 3000, `answered after ${elapsed} ms`);
    const stats = await t.trigger("calc", "stats");
    assert.equal(stats.status, 200);
    assert.equal(stats.body.data.aborted, true, "the handler's AbortSignal was aborted");
  });

  test("an entry that throws gives Err with the message and the plugin keeps answering", async () => {
    const res = await t.trigger("calc", "boom");
    assert.equal(res.status, 500);
    assert.equal(res.body.error.code, "ENTRY_FAILED");
    assert.equal(res.body.error.message, "kaboom");
    const refused = await t.trigger("calc", "refuse");
    assert.equal(refused.status, 422);
    assert.deepEqual(refused.body.error, { code: "NOT_TODAY", message: "not today", details: { retry: false } });
    const next = await t.trigger("calc", "add", { a: 1, b: 1 });
    assert.deepEqual(next.body.data, { sum: 2 });
  });

  test("unknown plugin or entry ids and bad bodies get precise errors", async () => {
    const noPlugin = await t.trigger("ghost", "x");
    assert.equal(noPlugin.status, 404);
    assert.equal(noPlugin.body.error.code, "PLUGIN_NOT_FOUND");
    const noEntry = await t.trigger("calc", "ghost");
    assert.equal(noEntry.status, 404);
    assert.equal(noEntry.body.error.code, "ENTRY_NOT_FOUND");
    const missing = await t.request("POST", "/plugin/trigger", { entry_id: "x" });
    assert.equal(missing.status, 400);
    assert.match(missing.body.error.message, /plugin_id/);
    const res = await fetch(`${t.url}/plugin/trigger`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: "{not json",
    });
    assert.equal(res.status, 400);
    assert.equal(((await res.json()) as any).error.code, "INVALID_JSON");
    const big = await fetch(`${t.url}/plugin/trigger`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ plugin_id: "calc", entry_id: "add", args: { a: 1, pad: "x".repeat(1024 * 1024) } }),
    });
    assert.equal(big.status, 413);
    assert.equal(((await big.json()) as any).error.code, "PAYLOAD_TOO_LARGE");
  });

  test("bad manifests are each listed with their reason while the good plugins run", async () => {
    const { body } = await t.request("GET", "/plugins");
    const byKey = new Map<string, any>();
    for (const p of body.plugins) byKey.set(`${p.id}@${path.basename(p.dir)}`, p);
    const expectRefused = (key: string, pattern: RegExp) => {
      const p = byKey.get(key);
      assert.ok(p, `${key} is listed`);
      assert.equal(p.status, "refused", `${key} is refused`);
      assert.match(p.errors.join("\n"), pattern, `${key}: ${p.errors.join("; ")}`);
    };
    expectRefused("bad_toml@bad_toml", /plugin\.toml.*(line|TOML)/i);
    expectRefused("no_entry@no_entry", /\[plugin\]\.entry/);
    expectRefused("missing_module@missing_module", /nope\.ts.*does not exist/);
    expectRefused("sdk_conflict@sdk_conflict", /conflicts/);
    expectRefused("other@other_again", /duplicate plugin id 'other'/);
    // These two are found by the plugin process when it loads the code.
    expectRefused("not_exported@not_exported", /does not export a class named 'Missing'.*Present/);
    expectRefused("not_decorated@not_decorated", /not decorated with @nekoPlugin/);
    assert.equal(byKey.get("other@other")?.status, "running");
    const ping = await t.trigger("other", "ping");
    assert.deepEqual(ping.body.data, { from: "other" });
    const start = await t.request("POST", "/plugin/not_exported/start");
    assert.equal(start.status, 502, "a start by hand retries the code and reports the same load error");
    assert.equal(start.body.error.code, "PLUGIN_LOAD_FAILED");
    assert.match(start.body.error.message, /does not export a class named 'Missing'/);
    const manifestRefused = await t.request("POST", "/plugin/sdk_conflict/start");
    assert.equal(manifestRefused.status, 409);
    assert.equal(manifestRefused.body.error.code, "PLUGIN_REFUSED");
  });

  test("a plugin refused for its code starts once the code is fixed; a disabled one does not start", async () => {
    fs.writeFileSync(path.join(bad, "not_exported", "index.ts"), simplePluginCode("Missing"));
    const reload = await t.request("POST", "/plugin/not_exported/reload");
    assert.equal(reload.status, 200);
    assert.equal(reload.body.status, "running");
    const ping = await t.trigger("not_exported", "ping");
    assert.deepEqual(ping.body.data, { from: "not_exported" });
    const start = await t.request("POST", "/plugin/sleepy/start");
    assert.equal(start.status, 409);
    assert.match(start.body.error.message, /disabled/);
    assert.equal(t.host.getPlugin("sleepy")?.status, "disabled");
  });

  test("a peer the host did not launch cannot connect: its frames never arrive and reach no plugin", async () => {
    const before = (await t.trigger("calc", "stats")).body.data.calls;
    const droppedBefore = t.host.droppedFrames;
    const refusedBefore = t.host.info().refused_connections;
    const intruder = new Dealer({ linger: 0 });
    intruder.connect(t.host.endpoint);
    try {
      const call = { type: "call", id: "x1", entryId: "add", args: { a: 1 }, deadline: Date.now() + 5000 };
      void intruder.send(encodeFrame(call)).catch(() => undefined);
      void intruder
        .send(encodeFrame({ type: "result", id: "x2", result: { ok: true, value: 1 } }))
        .catch(() => undefined);
      void intruder
        .send(encodeFrame({ type: "hello", protocol: 1, pluginId: "calc", secret: "guess", entries: [] }))
        .catch(() => undefined);
      void intruder.send(Buffer.from("not msgpack at all")).catch(() => undefined);
      // Its handshake is refused: it has no CURVE keys the host admitted.
      await waitFor(() => t.host.info().refused_connections > refusedBefore, { what: "the connection to be refused" });
    } finally {
      intruder.close();
    }
    assert.equal(t.host.droppedFrames, droppedBefore, "no frame of it even arrived to be dropped");
    const afterCalls = (await t.trigger("calc", "stats")).body.data.calls;
    assert.equal(afterCalls, before);
    assert.equal(t.host.getPlugin("calc")?.status, "running");
  });

  test("a plugin that exits mid-call fails the call at once with PLUGIN_CRASHED; the host and other plugins go on", async () => {
    const pid = t.host.getPlugin("crashy")?.pid;
    assert.ok(pid);
    const started = Date.now();
    const res = await t.trigger("crashy", "exit");
    const elapsed = Date.now() - started;
    assert.equal(res.status, 502);
    assert.equal(res.body.error.code, "PLUGIN_CRASHED");
    assert.ok(elapsed < 5000, `failed after ${elapsed} ms, long before the 30 s deadline`);
    assert.equal((await t.request("GET", "/health")).body.status, "ok");
    const other = await t.trigger("calc", "add", { a: 3 });
    assert.deepEqual(other.body.data, { sum: 3 });
    const detail = await t.request("GET", "/plugins/crashy");
    assert.match(detail.body.history.map((h: any) => h.state).join(","), /crashed/);
    assert.equal(detail.body.last_exit.code, 1);
    // The restart policy brings it back after 1 s, in a new process.
    await waitFor(async () => (await t.request("GET", "/plugins/crashy")).body.status === "running", {
      what: "the crashed plugin to be restarted",
    });
    const again = await t.trigger("crashy", "ping");
    assert.equal(again.body.data, "pong");
    assert.notEqual(t.host.getPlugin("crashy")?.pid, pid);
    assert.equal(isAlive(pid), false);
  });

  test("an extension gets no process; one whose class is a plugin's fails with the reason; a start is refused", async () => {
    const ext = (await t.request("GET", "/plugins/calc_ext")).body;
    assert.equal(ext.type, "extension");
    assert.equal(ext.status, "failed");
    assert.match(ext.status_reason, /'Ext' in index\.ts does not extend NekoExtensionBase/);
    assert.equal(ext.pid, null);
    assert.equal((await t.request("GET", "/plugins/calc")).body.status, "running");
    const start = await t.request("POST", "/plugin/calc_ext/start");
    assert.equal(start.status, 409);
    assert.equal(start.body.error.code, "EXTENSION_CANNOT_START_INDEPENDENT");
    assert.match(start.body.error.message, /'calc_ext' is an extension of 'calc'/);
  });

  test("stop, start and reload through the lifecycle routes", async () => {
    const pid = t.host.getPlugin("other")?.pid as number;
    const stop = await t.request("POST", "/plugin/other/stop");
    assert.equal(stop.status, 200);
    assert.equal(stop.body.status, "stopped");
    assert.equal(isAlive(pid), false);
    const call = await t.trigger("other", "ping");
    assert.equal(call.status, 409);
    assert.equal(call.body.error.code, "PLUGIN_NOT_RUNNING");
    const start = await t.request("POST", "/plugin/other/start");
    assert.equal(start.body.status, "running");
    const reload = await t.request("POST", "/plugin/other/reload");
    assert.equal(reload.body.status, "running");
    assert.notEqual(reload.body.pid, start.body.pid);
  });
});

describe("stopping the host", () => {
  test("leaves no child process and no socket file behind", async () => {
    const root = makeTempDir();
    writePlugin(root, { id: "a", className: "A", code: simplePluginCode("A") });
    writePlugin(root, { id: "b", className: "B", code: simplePluginCode("B") });
    const t = await startTestHost({ roots: [root] });
    try {
      const pids = t.host.listPlugins().map((p) => p.pid as number);
      assert.equal(pids.filter((p) => typeof p === "number").length, 2);
      const socketPath = t.host.endpoint.replace(/^ipc:\/\//, "");
      assert.ok(fs.existsSync(socketPath), "the ipc socket exists while running");
      await t.close();
      for (const pid of pids) assert.equal(isAlive(pid), false, `plugin process ${pid} is gone`);
      assert.equal(fs.existsSync(socketPath), false, "the socket file is removed");
      assert.equal(fs.existsSync(path.dirname(socketPath)), false, "the run folder is removed");
    } finally {
      await t.close();
      fs.rmSync(root, { recursive: true, force: true });
    }
  });
});
