/**
 * Python plugins written for the original N.E.K.O. (SPEC §3.8, docs/python-plugins.md), run unchanged by the host:
 * test/python-plugins/py_companion imports `plugin.sdk.plugin` and names `plugin.plugins.py_companion:CompanionPlugin`
 * in its manifest. Every feature through HTTP with real processes, cross-plugin calls both ways with a TypeScript
 * plugin, and the refusals: no usable Python, a syntax error, a missing class, an import error.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { after, before, describe, test } from "node:test";
import type { LogRecord } from "@neko/host";
import { isAlive, makeTempDir, waitFor, writePlugin } from "../support/plugin-fixtures.ts";
import { PYTHON_SKIP } from "../support/python.ts";
import { startTestHost, type TestHost } from "../support/test-host.ts";

const COMPANION = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../python-plugins/py_companion");

const tsCallerCode = `
import { Err, NekoPluginBase, nekoPlugin, pluginEntry, lifecycle, Ok, SdkError } from "@neko/plugin-sdk/plugin";

@nekoPlugin
export class TsCaller extends NekoPluginBase {
  @pluginEntry({ id: "ask_python" })
  async askPython({ name }: { name: string }) {
    const answer = await this.plugins.callEntry("py_companion:greet", { name });
    return answer.ok ? Ok({ via: "typescript", answer: answer.value }) : answer;
  }

  @pluginEntry({ id: "ask_python_badly" })
  async askPythonBadly() {
    const answer = await this.plugins.callEntry("py_companion:add", { a: "nope", b: 1 });
    return Ok({ ok: answer.ok, code: answer.ok ? null : answer.error.code, name: answer.ok ? null : answer.error.name });
  }

  heard: unknown[] = [];

  @lifecycle({ id: "startup" })
  async startup() {
    this.bus.on("py_news", (payload, event) => this.heard.push({ payload, publisher: event.publisher }));
    await this.bus.flush();
    return Ok(null);
  }

  @pluginEntry({ id: "heard" })
  getHeard() {
    return Ok({ heard: this.heard });
  }

  @pluginEntry({ id: "announce" })
  announce({ text, type = "ts_news" }: { text?: string; type?: string; n?: number }) {
    // order_placed carries a field count_order's schema does not declare: a bus event still reaches it.
    return this.bus.emit(type, type === "ts_news" ? { text } : { n: 5, placedBy: "ts_caller" });
  }

  @pluginEntry({ id: "chat" })
  chat({ text }: { text: string }) {
    return this.pushMessage({ source: "chat", messageType: "text", content: text });
  }

  @pluginEntry({ id: "double" })
  double({ n }: { n: number }) {
    return Ok({ n: n * 2 });
  }

  @pluginEntry({ id: "refuse" })
  refuse() {
    return Err(new SdkError("note 7 does not exist", { code: "NOTE_MISSING", details: { id: 7 } }));
  }

  @pluginEntry({ id: "sleepy", timeout: 0.3 })
  async sleepy() {
    await new Promise((resolve) => setTimeout(resolve, 2000));
    return Ok(null);
  }
}
`;

/** A TypeScript plugin in front of the Python one: passes on whatever its call answers. */
const tsFrontCode = `
import { NekoPluginBase, nekoPlugin, pluginEntry } from "@neko/plugin-sdk/plugin";

@nekoPlugin
export class TsFront extends NekoPluginBase {
  @pluginEntry({ id: "relay" })
  relay({ ref, args = {} }: { ref: string; args?: Record<string, unknown> }) {
    return this.plugins.callEntry(ref, args);
  }
}
`;

function copyCompanion(root: string): void {
  fs.cpSync(COMPANION, path.join(root, "py_companion"), { recursive: true, filter: (src) => !src.includes("data") });
}

describe("a Python plugin in the original's style", { skip: PYTHON_SKIP }, () => {
  let root: string;
  let t: TestHost;
  const logs: LogRecord[] = [];
  const pidOf = () => t.host.getPlugin("py_companion")?.pid as number;

  before(async () => {
    root = makeTempDir();
    copyCompanion(root);
    writePlugin(root, { id: "ts_caller", className: "TsCaller", code: tsCallerCode });
    writePlugin(root, { id: "ts_front", className: "TsFront", code: tsFrontCode });
    t = await startTestHost(
      {
        roots: [root],
        heartbeatIntervalMs: 500,
        restartPolicy: { baseDelayMs: 100, maxDelayMs: 400, maxCrashes: 10, windowMs: 60_000 },
      },
      { onLog: (pluginId, record) => pluginId === "py_companion" && logs.push(record) },
    );
  });
  after(async () => {
    await t?.close();
    fs.rmSync(root, { recursive: true, force: true });
  });

  test("it runs and lists its entries as the manifest and decorators say", async () => {
    const detail = (await t.request("GET", "/plugins/py_companion")).body;
    assert.equal(detail.status, "running");
    assert.equal(detail.sdk_version, "0.1.0");
    const greet = detail.entries.find((e: { id: string }) => e.id === "greet");
    assert.deepEqual(
      {
        name: greet.name,
        description: greet.description,
        input_schema: greet.input_schema,
        timeout: greet.timeout,
        llm_result_fields: greet.llm_result_fields,
      },
      {
        name: "Greet",
        description: "Return a greeting message",
        input_schema: { type: "object", properties: { name: { type: "string", default: "World" } } },
        timeout: 30,
        llm_result_fields: ["message"],
      },
    );
    assert.equal(detail.entries.find((e: { id: string }) => e.id === "slow").timeout, 0.5);
    assert.deepEqual(
      detail.timers.map((timer: { id: string }) => timer.id),
      ["tick"],
    );
  });

  test("a sync entry with keyword arguments, the schema's default filled in", async () => {
    const first = await t.trigger("py_companion", "greet");
    assert.equal(first.status, 200);
    assert.equal(first.body.data.message, "Hello, World!");
    const second = await t.trigger("py_companion", "greet", { name: "N.E.K.O" });
    assert.deepEqual(second.body.data, { message: "Hello, N.E.K.O!", count: first.body.data.count + 1 });
  });

  test("an async entry, using a module of its own package (a relative import)", async () => {
    const res = await t.trigger("py_companion", "add", { a: 2, b: 3.5 });
    assert.equal(res.status, 200);
    assert.deepEqual(res.body.data, { sum: 5.5, helper: "OK" });
  });

  test("arguments against input_schema: 400 VALIDATION_ERROR worded as for a TypeScript plugin", async () => {
    const res = await t.trigger("py_companion", "add", { a: "two", b: -1 });
    assert.equal(res.status, 400);
    assert.deepEqual(res.body.error, {
      code: "VALIDATION_ERROR",
      message: "invalid arguments: a: must be number; b: must be >= 0",
      details: {
        issues: [
          { field: "a", message: "must be number" },
          { field: "b", message: "must be >= 0" },
        ],
      },
    });
    const missing = await t.trigger("py_companion", "add", { a: 1 });
    assert.deepEqual(missing.body.error.details, { issues: [{ field: "b", message: "is required" }] });
  });

  test("timeouts: an async entry and a sync one answer 504 TIMEOUT after their own timeout; the plugin goes on", async () => {
    for (const entry of ["slow", "slow_sync"]) {
      const started = Date.now();
      const res = await t.trigger("py_companion", entry);
      assert.equal(res.status, 504, entry);
      // The one shape of a timeout (docs/wire-protocol.md#timeouts), as a TypeScript plugin's runtime gives it.
      assert.deepEqual(res.body.error, {
        code: "TIMEOUT",
        message: `entry 'py_companion:${entry}' timed out after 0.5s`,
        details: { plugin: "py_companion", entry, timeoutMs: 500, firedBy: "plugin" },
      });
      assert.ok(Date.now() - started < 1900, `${entry} answered in time`);
    }
    assert.equal((await t.trigger("py_companion", "greet")).status, 200);
    // A caller's shorter budget is the one that ran out, and the one named.
    const short = await t.request("POST", "/plugin/trigger", {
      plugin_id: "py_companion",
      entry_id: "slow",
      args: {},
      timeout: 0.2,
    });
    assert.equal(short.status, 504);
    assert.deepEqual(short.body.error.details, {
      plugin: "py_companion",
      entry: "slow",
      timeoutMs: 200,
      firedBy: "plugin",
    });
    assert.equal(short.body.error.message, "entry 'py_companion:slow' timed out after 0.2s");
  });

  test("a Python timeout passed on by a TypeScript entry is the cause of its UPSTREAM_ERROR, in the same shape", async () => {
    const res = await t.trigger("ts_front", "relay", { ref: "py_companion:slow" });
    assert.equal(res.status, 502);
    assert.deepEqual(res.body.error, {
      code: "UPSTREAM_ERROR",
      message:
        "entry 'ts_front:relay' failed: its call to 'py_companion:slow' failed with TIMEOUT: entry 'py_companion:slow' timed out after 0.5s",
      details: {
        plugin: "ts_front",
        entry: "relay",
        cause: {
          plugin: "py_companion",
          entry: "slow",
          code: "TIMEOUT",
          message: "entry 'py_companion:slow' timed out after 0.5s",
          details: { plugin: "py_companion", entry: "slow", timeoutMs: 500, firedBy: "plugin" },
        },
      },
    });
  });

  test("unknown argument names: 400 VALIDATION_ERROR naming each with the closest declared name", async () => {
    const misspelt = await t.trigger("py_companion", "search", { include_done: true });
    assert.equal(misspelt.status, 400);
    assert.deepEqual(misspelt.body.error, {
      code: "VALIDATION_ERROR",
      message: "invalid arguments: include_done: is not an allowed argument; did you mean 'includeDone'?",
      details: {
        issues: [
          {
            field: "include_done",
            message: "is not an allowed argument; did you mean 'includeDone'?",
            suggestion: "includeDone",
          },
        ],
      },
    });
    // A name near none gets no suggestion; the schema's own complaints follow the unknown names.
    const far = await t.trigger("py_companion", "search", { colour: "red", limit: 0 });
    assert.equal(far.status, 400);
    assert.deepEqual(far.body.error, {
      code: "VALIDATION_ERROR",
      message: "invalid arguments: colour: is not an allowed argument; limit: must be >= 1",
      details: {
        issues: [
          { field: "colour", message: "is not an allowed argument" },
          { field: "limit", message: "must be >= 1" },
        ],
      },
    });
    const fine = await t.trigger("py_companion", "search", { includeDone: true, limit: 3 });
    assert.deepEqual(fine.body.data, { args: ["includeDone", "limit"] });
    // The opt-outs: allow_extra_args=True, additionalProperties, patternProperties, no properties, model_validate=False.
    for (const [entry, args] of [
      ["search_loose", { include_done: true }],
      ["search_open", { include_done: true }],
      ["search_pattern", { include_done: true }],
      ["search_any", { include_done: true }],
      ["search_unchecked", { include_done: true, limit: "many" }],
    ] as const) {
      const res = await t.trigger("py_companion", entry, args);
      assert.equal(res.status, 200, `${entry}: ${JSON.stringify(res.body)}`);
      assert.deepEqual(res.body.data.args, Object.keys(args).sort(), entry);
    }
    // Another plugin's call gets the same refusal; passed on, it is the cause of an UPSTREAM_ERROR.
    const viaTs = await t.trigger("ts_front", "relay", { ref: "py_companion:search", args: { includedone: true } });
    assert.equal(viaTs.status, 502);
    assert.equal(viaTs.body.error.code, "UPSTREAM_ERROR");
    assert.deepEqual(viaTs.body.error.details.cause.details, {
      issues: [
        {
          field: "includedone",
          message: "is not an allowed argument; did you mean 'includeDone'?",
          suggestion: "includeDone",
        },
      ],
    });
  });

  test("errors: Err(SdkError) is 422 SDK_ERROR, a raise 500 ENTRY_FAILED, a coded SdkError keeps its code", async () => {
    const err = await t.trigger("py_companion", "fail");
    assert.equal(err.status, 422);
    assert.deepEqual(err.body.error, { code: "SDK_ERROR", message: "refused on purpose", details: null });
    const raised = await t.trigger("py_companion", "fail", { how: "raise" });
    assert.equal(raised.status, 500);
    assert.deepEqual(raised.body.error, { code: "ENTRY_FAILED", message: "kaboom", details: null });
    const coded = await t.trigger("py_companion", "fail", { how: "sdk" });
    assert.equal(coded.body.error.code, "NOT_TODAY");
    assert.ok(
      logs.some((r) => r.level === "error" && /entry 'fail' raised RuntimeError: kaboom/.test(String(r.msg))),
      "the traceback is in the plugin's log",
    );
  });

  test("self.logger with the original's {} formatting reaches the host log", () => {
    const line = logs.find((r) => r.msg === "CompanionPlugin started with prefix Hello");
    assert.ok(line, "the startup line");
    assert.equal(line.level, "info");
  });

  test("push_message lands in GET /plugin/messages; report_status in GET /plugin/status", async () => {
    const pushed = await t.trigger("py_companion", "push", { text: "from python" });
    assert.equal(pushed.status, 200);
    const id = pushed.body.data.id;
    assert.equal(typeof id, "number");
    const listed = (await t.request("GET", "/plugin/messages?plugin_id=py_companion")).body.messages;
    const message = listed.find((m: { id: number }) => m.id === id);
    assert.deepEqual(
      {
        source: message.source,
        message_type: message.message_type,
        description: message.description,
        priority: message.priority,
        content: message.content,
      },
      { source: "py_companion", message_type: "text", description: "from Python", priority: 5, content: "from python" },
    );

    const startup = (await t.request("GET", "/plugin/status?plugin_id=py_companion")).body;
    assert.ok(startup.status, "the status reported at startup");
    await t.trigger("py_companion", "status", { progress: 70 });
    await waitFor(
      async () =>
        (await t.request("GET", "/plugin/status?plugin_id=py_companion")).body.status?.progress === 70 || undefined,
      { what: "the reported status" },
    );
    const status = (await t.request("GET", "/plugin/status?plugin_id=py_companion")).body.status;
    assert.deepEqual(status, { status: "processing", progress: 70 });
  });

  test("self.config: get, dump, require; a hot update runs config_change, which may refuse it", async () => {
    const read = (await t.trigger("py_companion", "config")).body.data;
    assert.equal(read.prefix, "Hello");
    assert.equal(read.punctuation, "!");
    assert.deepEqual(read.missing, {
      code: "CONFIG_KEY_MISSING",
      message: "config key 'greeting.missing' is required but not set (in plugin.toml or the active profile)",
    });
    const update = await t.request("POST", "/plugin/py_companion/config/hot-update", {
      config: { greeting: { prefix: "Howdy" } },
      mode: "temporary",
    });
    assert.equal(update.status, 200, JSON.stringify(update.body));
    const after = (await t.trigger("py_companion", "config")).body.data;
    assert.equal(after.prefix, "Howdy");
    assert.deepEqual(after.changes, ["temporary"]);
    const refused = await t.request("POST", "/plugin/py_companion/config/hot-update", {
      config: { greeting: { prefix: "refuse" } },
      mode: "temporary",
    });
    assert.equal(refused.status, 409);
    assert.equal(refused.body.error.code, "CONFIG_CHANGE_REFUSED");
    assert.equal((await t.trigger("py_companion", "config")).body.data.prefix, "Howdy", "the old one is kept");
  });

  test("system_info, plugins, memory and the data folder through the host's services", async () => {
    const res = await t.trigger("py_companion", "info");
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.deepEqual(res.body.data, {
      protocol: 1,
      plugins: ["py_companion", "ts_caller", "ts_front"],
      memory: [{ from: "python" }],
      data: path.join(root, "py_companion", "data", "x.txt"),
    });
  });

  test("a timer runs every 0.2 s; a @message handler and an @on_event handler answer", async () => {
    const first = (await t.trigger("py_companion", "ticks")).body.data.ticks;
    await waitFor(async () => (await t.trigger("py_companion", "ticks")).body.data.ticks >= first + 2, {
      what: "two more ticks",
    });
    const delivered = await t.request("POST", "/plugin/py_companion/message", {
      source: "chat",
      text: "hi",
      sender: "ann",
    });
    assert.equal(delivered.status, 200);
    assert.equal(delivered.body.delivered, 1);
    assert.deepEqual(delivered.body.handlers, [
      { id: "on_chat", success: true, data: { echo: "HI", sender: "ann" }, error: null },
    ]);
    const other = await t.request("POST", "/plugin/py_companion/message", { source: "mail", text: "x" });
    assert.equal(other.body.delivered, 0);
    const event = await t.request("POST", "/plugin/trigger", {
      plugin_id: "py_companion",
      event_type: "order_placed",
      event_id: "count_order",
      args: { n: 2 },
    });
    assert.equal(event.status, 200, JSON.stringify(event.body));
    assert.deepEqual(event.body.data, { orders: 2 });
    const badEvent = await t.request("POST", "/plugin/trigger", {
      plugin_id: "py_companion",
      event_type: "order_placed",
      event_id: "count_order",
      args: {},
    });
    assert.equal(badEvent.status, 400);
    assert.equal(badEvent.body.error.message, "invalid arguments: n: is required");
    // An event handler refuses unknown argument names too, and times out in the one shape, named as an event.
    const misnamed = await t.request("POST", "/plugin/trigger", {
      plugin_id: "py_companion",
      event_type: "order_placed",
      event_id: "count_order",
      args: { N: 2, n: 2, extra: true },
    });
    assert.equal(misnamed.status, 400);
    assert.deepEqual(misnamed.body.error.details.issues, [
      { field: "N", message: "is not an allowed argument; did you mean 'n'?", suggestion: "n" },
      { field: "extra", message: "is not an allowed argument" },
    ]);
    const napped = await t.request("POST", "/plugin/trigger", {
      plugin_id: "py_companion",
      event_type: "slow_event",
      event_id: "nap",
      args: {},
    });
    assert.equal(napped.status, 504);
    assert.deepEqual(napped.body.error, {
      code: "TIMEOUT",
      message: "event 'py_companion:slow_event:nap' timed out after 0.3s",
      details: { plugin: "py_companion", entry: "slow_event:nap", timeoutMs: 300, firedBy: "plugin" },
    });
  });

  test("cross-plugin calls: TypeScript → Python and Python → TypeScript, errors passed through", async () => {
    const fromTs = await t.trigger("ts_caller", "ask_python", { name: "TS" });
    assert.equal(fromTs.status, 200, JSON.stringify(fromTs.body));
    assert.equal(fromTs.body.data.via, "typescript");
    assert.equal(fromTs.body.data.answer.message, "Hello, TS!");
    const badly = await t.trigger("ts_caller", "ask_python_badly");
    assert.deepEqual(badly.body.data, { ok: false, code: "VALIDATION_ERROR", name: "ValidationError" });

    const fromPy = await t.trigger("py_companion", "call_ts", { target: "ts_caller:double", args: { n: 21 } });
    assert.equal(fromPy.status, 200, JSON.stringify(fromPy.body));
    assert.deepEqual(fromPy.body.data, { via: "python", answer: { n: 42 } });
    // Passed on (`return Err(result.error)`), a failure is the cause of an UPSTREAM_ERROR naming the Python entry.
    const missing = await t.trigger("py_companion", "call_ts", { target: "ts_caller:nope" });
    assert.equal(missing.status, 502);
    assert.equal(missing.body.error.code, "UPSTREAM_ERROR");
    assert.deepEqual(
      [missing.body.error.details.cause.plugin, missing.body.error.details.cause.entry],
      ["ts_caller", "nope"],
    );
    assert.equal(missing.body.error.details.cause.code, "ENTRY_NOT_FOUND");
    const self = await t.trigger("py_companion", "call_ts", { target: "py_companion:greet" });
    assert.equal(self.body.error.code, "UPSTREAM_ERROR");
    assert.equal(self.body.error.details.cause.code, "CIRCULAR_CALL");
  });

  test("errors passed on: returned, raised or chained with `from`, the host names the TypeScript failure", async () => {
    const cause = {
      plugin: "ts_caller",
      entry: "refuse",
      code: "NOTE_MISSING",
      message: "note 7 does not exist",
      details: { id: 7 },
    };
    const wrapped = {
      code: "UPSTREAM_ERROR",
      message:
        "entry 'py_companion:pass_on' failed: its call to 'ts_caller:refuse' failed with NOTE_MISSING: note 7 does not exist",
      details: { plugin: "py_companion", entry: "pass_on", cause },
    };
    for (const how of ["return", "raise"]) {
      const res = await t.trigger("py_companion", "pass_on", { target: "ts_caller:refuse", how });
      assert.equal(res.status, 502, how);
      assert.deepEqual(res.body.error, wrapped, how);
    }
    // An error of its own raised `from` the failure keeps its code and message; the cause is the host's record.
    const chained = await t.trigger("py_companion", "pass_on", { target: "ts_caller:refuse", how: "chain" });
    assert.deepEqual(chained.body.error, {
      code: "LOOKUP_FAILED",
      message: "the lookup failed",
      details: { target: "ts_caller:refuse", cause },
    });
    // An unrelated error carries no cause.
    const own = await t.trigger("py_companion", "pass_on", { target: "ts_caller:refuse", how: "own" });
    assert.deepEqual(own.body.error, { code: "MINE", message: "unrelated", details: null });
    // A TypeScript timeout passed on by Python: the cause in the one shape of a timeout.
    const slow = await t.trigger("py_companion", "pass_on", { target: "ts_caller:sleepy" });
    assert.equal(slow.status, 502);
    assert.deepEqual(slow.body.error.details.cause, {
      plugin: "ts_caller",
      entry: "sleepy",
      code: "TIMEOUT",
      message: "entry 'ts_caller:sleepy' timed out after 0.3s",
      details: { plugin: "ts_caller", entry: "sleepy", timeoutMs: 300, firedBy: "plugin" },
    });
  });

  test("errors passed on three deep: TypeScript → Python → TypeScript, each entry named along the chain", async () => {
    const res = await t.trigger("ts_front", "relay", {
      ref: "py_companion:pass_on",
      args: { target: "ts_caller:refuse", how: "raise" },
    });
    assert.equal(res.status, 502);
    assert.deepEqual(res.body.error, {
      code: "UPSTREAM_ERROR",
      message:
        "entry 'ts_front:relay' failed: its call to 'py_companion:pass_on' failed with UPSTREAM_ERROR: entry 'py_companion:pass_on' failed: its call to 'ts_caller:refuse' failed with NOTE_MISSING: note 7 does not exist",
      details: {
        plugin: "ts_front",
        entry: "relay",
        cause: {
          plugin: "py_companion",
          entry: "pass_on",
          code: "UPSTREAM_ERROR",
          message:
            "entry 'py_companion:pass_on' failed: its call to 'ts_caller:refuse' failed with NOTE_MISSING: note 7 does not exist",
          details: {
            plugin: "py_companion",
            entry: "pass_on",
            cause: {
              plugin: "ts_caller",
              entry: "refuse",
              code: "NOTE_MISSING",
              message: "note 7 does not exist",
              details: { id: 7 },
            },
          },
        },
      },
    });
  });

  test("run_update(step, step_total, eta) and export_push(type='binary'): shown on the run, downloaded as sent", async () => {
    const started = await t.request("POST", "/runs", { plugin_id: "py_companion", entry_id: "progress", args: {} });
    assert.equal(started.status, 202);
    const run = await waitFor(async () => {
      const r = (await t.request("GET", `/runs/${started.body.run_id}`)).body;
      return ["succeeded", "failed", "canceled", "timeout"].includes(r.status) ? r : undefined;
    });
    assert.equal(run.status, "succeeded", JSON.stringify(run.error));
    assert.deepEqual([run.step, run.step_total, run.eta_seconds, run.stage], [2, 5, 3.5, "counting"]);
    assert.deepEqual(run.result, {
      steps: true,
      bad: ["VALIDATION_ERROR", "runUpdate: 'step' must not be greater than 'stepTotal'"],
      png: 1,
      empty: ["VALIDATION_ERROR", "exportPush: 'binary' (non-empty bytes, a Uint8Array) is required for type 'binary'"],
    });
    const page = (await t.request("GET", `/runs/${run.run_id}/export`)).body;
    const { time, ...item } = page.items[0];
    assert.ok(!Number.isNaN(Date.parse(time)));
    assert.deepEqual(item, {
      seq: 1,
      type: "binary",
      mime: "image/png",
      name: "dot.png",
      label: "dot",
      size: 6,
      content_url: `/runs/${run.run_id}/export/1/content`,
    });
    const png = await fetch(`${t.url}/runs/${run.run_id}/export/1/content`);
    assert.equal(png.headers.get("content-type"), "image/png");
    assert.deepEqual([...new Uint8Array(await png.arrayBuffer())], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a]);
  });

  test("run_uploads() and read_run_upload(id): the files a client uploads to the run, with their bytes", async () => {
    const started = await t.request("POST", "/runs", {
      plugin_id: "py_companion",
      entry_id: "receive",
      args: { count: 1 },
    });
    assert.equal(started.status, 202);
    const id = started.body.run_id;
    await waitFor(async () => (await t.request("GET", `/runs/${id}`)).body.stage === "waiting", {
      what: "the entry to wait",
    });
    const sent = await fetch(`${t.url}/runs/${id}/uploads?name=photo.png&mime=image/png`, {
      method: "POST",
      headers: { "content-type": "application/octet-stream" },
      body: new Uint8Array([1, 2, 3, 4, 5]),
    });
    assert.equal(sent.status, 201);
    const run = await waitFor(async () => {
      const r = (await t.request("GET", `/runs/${id}`)).body;
      return ["succeeded", "failed", "canceled", "timeout"].includes(r.status) ? r : undefined;
    });
    assert.equal(run.status, "succeeded", JSON.stringify(run.error));
    assert.deepEqual(run.result, {
      out: [{ name: "photo.png", mime: "image/png", size: 5, head: [1, 2, 3, 4], bytes: true }],
      missing: "NOT_FOUND",
    });
  });

  test("the bus: events from TypeScript reach self.bus.on, and self.bus.emit reaches TypeScript", async () => {
    assert.equal((await t.trigger("ts_caller", "announce", { text: "from ts" })).status, 200);
    await waitFor(async () => (await t.trigger("py_companion", "heard")).body.data.heard.length > 0, {
      what: "the event in Python",
    });
    assert.deepEqual((await t.trigger("py_companion", "heard")).body.data.heard, [
      { payload: { text: "from ts" }, publisher: "ts_caller" },
    ]);
    const emitted = await t.trigger("py_companion", "shout_event", { text: "from python" });
    assert.deepEqual(emitted.body.data, { sent: true, bad: "VALIDATION_ERROR" });
    await waitFor(async () => (await t.trigger("ts_caller", "heard")).body.data.heard.length > 0, {
      what: "the event in TypeScript",
    });
    assert.deepEqual((await t.trigger("ts_caller", "heard")).body.data.heard, [
      { payload: { text: "from python" }, publisher: "py_companion" },
    ]);
    // An @on_event handler listens to bus events of its type, with the payload as its arguments; a field its schema
    // does not declare (placedBy) does not keep a bus event from it (a direct trigger refuses it, above).
    await t.trigger("ts_caller", "announce", { type: "order_placed" });
    await waitFor(async () => (await t.trigger("py_companion", "orders_seen")).body.data.seen.includes(5), {
      what: "the order event in Python",
    });
    // A @message handler naming a source gets the messages other plugins push with it.
    assert.equal((await t.trigger("ts_caller", "chat", { text: "hello python" })).status, 200);
    const fromTs = async () =>
      ((await t.trigger("py_companion", "chats")).body.data.chats as Array<{ sender: string }>).filter(
        (c) => c.sender === "ts_caller",
      );
    await waitFor(async () => (await fromTs()).length > 0, { what: "the pushed message in Python" });
    assert.deepEqual(await fromTs(), [{ text: "hello python", sender: "ts_caller" }]);
    const recorded = (await t.request("GET", "/bus/events?plugin_id=py_companion")).body;
    assert.ok(
      JSON.stringify(recorded).includes("from python"),
      `the events namespace records it: ${JSON.stringify(recorded).slice(0, 300)}`,
    );
  });

  test("self.bus.messages.delete: the plugin's own records only, all or nothing", async () => {
    const own = (await t.trigger("py_companion", "push", { text: "delete me" })).body.data.id;
    const theirs = (await t.trigger("ts_caller", "chat", { text: "keep me" })).body.data.id;
    assert.equal(typeof own, "number");
    const refused = await t.trigger("py_companion", "bus_delete", { ids: [own, theirs] });
    assert.equal(refused.status, 403);
    assert.deepEqual(refused.body.error, {
      code: "PERMISSION_DENIED",
      message: `bus delete: record ${theirs} of 'messages' was written by plugin 'ts_caller'; a plugin deletes only its own records`,
      details: { id: theirs, namespace: "messages" },
    });
    const deleted = await t.trigger("py_companion", "bus_delete", { ids: [own] });
    assert.equal(deleted.status, 200, JSON.stringify(deleted.body));
    assert.deepEqual(deleted.body.data, { deleted: [own], missing: [] });
    const again = await t.trigger("py_companion", "bus_delete", { ids: [{ id: own }] });
    assert.deepEqual(again.body.data, { deleted: [], missing: [own] });
    const bad = await t.trigger("py_companion", "bus_delete", { ids: ["x"] });
    assert.equal(bad.status, 400);
    assert.equal(bad.body.error.message, "bus delete: give record ids or records, not 'x'");
  });

  test("dynamic entries: registered, listed, called, disabled, enabled, removed", async () => {
    const made = await t.trigger("py_companion", "make_command", { command: "deploy", template: "Deployed {cmd}" });
    assert.deepEqual(made.body.data, { registered: true, entries: ["deploy"] });
    const listed = (await t.request("GET", "/plugins/py_companion")).body.entries.find(
      (e: { id: string }) => e.id === "deploy",
    );
    assert.deepEqual(
      { name: listed.name, dynamic: listed.dynamic, enabled: listed.enabled, input_schema: listed.input_schema },
      {
        name: "Deploy",
        dynamic: true,
        enabled: true,
        input_schema: { type: "object", properties: { cmd: { type: "string" } } },
      },
    );
    assert.deepEqual((await t.trigger("py_companion", "deploy", { cmd: "v2" })).body.data, { output: "Deployed v2" });
    assert.equal((await t.trigger("py_companion", "deploy", { cmd: 2 })).status, 400, "its schema applies");
    const taken = await t.trigger("py_companion", "make_command", { command: "greet" });
    assert.equal(taken.body.data.registered, false, "a decorated entry's id is not taken over");

    const off = await t.trigger("py_companion", "toggle_command", { command: "deploy", enabled: false });
    assert.deepEqual(off.body.data, { done: true, listed: [], all: ["deploy"] });
    const disabled = await t.trigger("py_companion", "deploy", { cmd: "x" });
    assert.equal(disabled.body.error.code, "ENTRY_DISABLED");
    await t.trigger("py_companion", "toggle_command", { command: "deploy", enabled: true });
    assert.equal((await t.trigger("py_companion", "deploy", { cmd: "y" })).status, 200);
    const removed = await t.trigger("py_companion", "toggle_command", { command: "deploy", remove: true });
    assert.deepEqual(removed.body.data, { removed: true });
    assert.equal((await t.trigger("py_companion", "deploy")).body.error.code, "ENTRY_NOT_FOUND");
  });

  test("register_static_ui serves the plugin's folder at /plugin/{id}/ui/; a path outside it is refused", async () => {
    assert.deepEqual((await t.trigger("py_companion", "serve_ui")).body.data, { registered: true });
    const page = await fetch(`${t.url}/plugin/py_companion/ui/`);
    assert.equal(page.status, 200);
    assert.match(await page.text(), /Served for a Python plugin\./);
    const outside = await t.trigger("py_companion", "serve_ui", { directory: "../.." });
    assert.deepEqual(outside.body.data, { registered: false });
  });

  test("hooks: before (abort, new args re-validated), around (proceed, twice), replace, after; conditions", async () => {
    const hooks = (await t.request("GET", "/plugins/py_companion")).body.hooks;
    assert.deepEqual(
      hooks.find((h: { id: string }) => h.id === "too_many"),
      { id: "too_many", source: "plugin", timing: "before", target: "order", priority: 0, condition: "args.qty > 100" },
    );
    const plain = await t.trigger("py_companion", "order", { qty: 3 });
    assert.deepEqual(plain.body.data, { qty: 3, mode: "normal", wrapped: true, audited: "order" });
    const tooMany = await t.trigger("py_companion", "order", { qty: 101 });
    assert.equal(tooMany.status, 422);
    assert.equal(tooMany.body.error.message, "at most 100 per order, not 101");
    assert.deepEqual((await t.trigger("py_companion", "order", { qty: 7 })).body.data.qty, 77, "new args");
    const invalid = await t.trigger("py_companion", "order", { qty: 13 });
    assert.equal(invalid.status, 400);
    assert.equal(invalid.body.error.message, "before hook 'unlucky' returned invalid arguments: qty: must be integer");
    const fast = await t.trigger("py_companion", "order", { qty: 2, mode: "fast" });
    assert.deepEqual(fast.body.data, { qty: 2, mode: "replaced", wrapped: true, audited: "order" });
    const twice = await t.trigger("py_companion", "order", { qty: 1, mode: "twice" });
    assert.deepEqual(twice.body.data, {
      first: { qty: 1, mode: "twice" },
      second: { qty: 2, mode: "again" },
      wrapped: true,
    });
    const broken = await t.trigger("py_companion", "fragile");
    assert.equal(broken.status, 500);
    assert.deepEqual(broken.body.error, {
      code: "HOOK_FAILED",
      message: "before hook 'breaks' threw: disk full",
      details: null,
    });
  });

  test("a PluginRouter: its entries with the prefix, its hooks on its own entries only; excluded again", async () => {
    const detail = (await t.request("GET", "/plugins/py_companion")).body;
    assert.ok(detail.entries.some((e: { id: string }) => e.id === "notes_add"));
    assert.ok(
      detail.hooks.some(
        (h: { id: string; target: string }) => h.id === "notes_not_too_long" && h.target === "notes_add",
      ),
    );
    const added = await t.trigger("py_companion", "notes_add", { text: "hi" });
    assert.equal(added.status, 200, JSON.stringify(added.body));
    assert.equal(added.body.data.plugin, "py_companion");
    const long = await t.trigger("py_companion", "notes_add", { text: "far too long a note" });
    assert.equal(long.status, 422);
    assert.equal(long.body.error.message, "at most 10 characters");
    assert.equal((await t.trigger("py_companion", "greet")).status, 200, "the router's '*' hook is not the plugin's");
    const off = await t.trigger("py_companion", "router_off");
    assert.deepEqual(off.body.data, { excluded: true, again: false });
    assert.equal((await t.trigger("py_companion", "notes_add", { text: "x" })).body.error.code, "ENTRY_NOT_FOUND");
    const after = (await t.request("GET", "/plugins/py_companion")).body;
    assert.equal(
      after.hooks.some((h: { id: string }) => h.id.startsWith("notes_")),
      false,
    );
  });

  test("a store write survives kill -9 of the process; the host restarts it", async () => {
    const saved = await t.trigger("py_companion", "store_set", { key: "k1", value: { n: 1, list: [1, "two"] } });
    assert.equal(saved.status, 200);
    const pid = pidOf();
    process.kill(pid, "SIGKILL");
    await waitFor(() => !isAlive(pid), { what: "the kill" });
    await waitFor(() => t.host.getPlugin("py_companion")?.status === "running" && pidOf() !== pid, {
      what: "the restart",
    });
    const read = await t.trigger("py_companion", "store_get", { key: "k1" });
    assert.deepEqual(read.body.data, { key: "k1", value: { n: 1, list: [1, "two"] }, exists: true });
    assert.ok(fs.existsSync(path.join(root, "py_companion", "data", "store.sqlite")), "the TypeScript SDK's file");
  });

  test("a crash during a call: 502 PLUGIN_CRASHED, then a restart", async () => {
    const pid = pidOf();
    const res = await t.trigger("py_companion", "crash");
    assert.equal(res.status, 502);
    assert.equal(res.body.error.code, "PLUGIN_CRASHED");
    assert.deepEqual(res.body.error.details, { exitCode: 3, signal: null });
    await waitFor(() => t.host.getPlugin("py_companion")?.status === "running" && pidOf() !== pid, {
      what: "the restart",
    });
    assert.equal((await t.trigger("py_companion", "greet")).status, 200);
  });

  test("an async entry that blocks the asyncio loop misses its pings: killed as unresponsive, then restarted", async () => {
    const pid = pidOf();
    const res = await t.trigger("py_companion", "block_loop");
    assert.equal(res.body.error.code, "PLUGIN_CRASHED");
    assert.match(res.body.error.message, /unresponsive/);
    await waitFor(() => t.host.getPlugin("py_companion")?.status === "running" && pidOf() !== pid, {
      what: "the restart",
    });
    assert.equal(isAlive(pid), false);
  });

  test("data_path refuses a path that leaves the data folder", async () => {
    const res = await t.trigger("py_companion", "escape", { path: "../../etc" });
    assert.equal(res.status, 500);
    assert.deepEqual(res.body.error, {
      code: "ENTRY_FAILED",
      message: "data_path: '../../etc' leaves the plugin's data folder",
      details: null,
    });
    const inside = await t.trigger("py_companion", "escape", { path: "a/../b.txt" });
    assert.equal(inside.body.data, path.join(root, "py_companion", "data", "b.txt"));
  });

  test("freeze saves the freezable fields and stops; unfreeze starts a new process with them back", async () => {
    await t.trigger("py_companion", "note", { text: "keep me" });
    const counter = (await t.trigger("py_companion", "greet")).body.data.count;
    const pid = pidOf();
    const frozen = await t.request("POST", "/plugin/py_companion/freeze");
    assert.equal(frozen.status, 200, JSON.stringify(frozen.body));
    assert.equal(t.host.getPlugin("py_companion")?.status, "frozen");
    const file = JSON.parse(fs.readFileSync(path.join(root, "py_companion", "data", ".neko-state.json"), "utf8"));
    assert.deepEqual(
      { version: file.version, frozen: file.frozen, fields: file.fields },
      {
        version: 1,
        frozen: true,
        fields: { counter, notes: ["keep me"] },
      },
    );
    assert.equal((await t.request("POST", "/plugin/py_companion/unfreeze")).status, 200);
    assert.notEqual(pidOf(), pid);
    const back = (await t.trigger("py_companion", "note", { text: "again" })).body.data;
    assert.deepEqual(back, {
      notes: ["keep me", "again"],
      counter,
      thawed: { fields: ["counter", "notes"], has_time: true },
    });
    await t.trigger("py_companion", "note", { text: "no freeze" });
    const refused = await t.request("POST", "/plugin/py_companion/freeze");
    assert.equal(refused.status, 409);
    assert.equal(refused.body.error.code, "FREEZE_REFUSED");
    assert.equal(t.host.getPlugin("py_companion")?.status, "running");
  });

  test("a stop runs the shutdown lifecycle (which writes the store) and the process exits by itself", async () => {
    const pid = pidOf();
    const stop = await t.request("POST", "/plugin/py_companion/stop");
    assert.equal(stop.status, 200, JSON.stringify(stop.body));
    assert.equal(stop.body.forced, false);
    assert.equal(isAlive(pid), false);
    assert.equal((await t.request("POST", "/plugin/py_companion/start")).status, 200);
    const read = await t.trigger("py_companion", "store_get", { key: "said_goodbye" });
    assert.equal(read.body.data.value, true);
  });
});

describe("Python plugins that cannot run are refused with the reason", { skip: PYTHON_SKIP }, () => {
  let root: string;
  let t: TestHost;
  const manifest = (id: string, entry: string) => `[plugin]\nid = "${id}"\nentry = "${entry}"\n`;
  const imports = "from plugin.sdk.plugin import NekoPluginBase, neko_plugin, plugin_entry, Ok\n";
  // The original's SDK reference imports, name for name, and the other two paradigms' modules.
  const everyName = [
    "from plugin.sdk.plugin import (",
    "    NekoPluginBase, PluginMeta,",
    "    neko_plugin, plugin_entry, lifecycle, timer_interval, message, on_event,",
    "    custom_event, hook, before_entry, after_entry, around_entry, replace_entry,",
    "    Ok, Err, Result, unwrap, unwrap_or,",
    "    Plugins, PluginRouter, PluginConfig, PluginStore,",
    "    SystemInfo, MemoryClient,",
    "    SdkError, TransportError,",
    "    get_plugin_logger,",
    "    plugin,",
    ")",
    "from plugin.sdk.extension import NekoExtensionBase",
    "from plugin.sdk.adapter import NekoAdapterPlugin",
    "",
  ].join("\n");

  before(async () => {
    root = makeTempDir();
    writePlugin(root, {
      id: "py_syntax",
      manifest: manifest("py_syntax", "plugin.plugins.py_syntax:Broken"),
      files: { "__init__.py": `${imports}\nclass Broken(NekoPluginBase)\n    pass\n` },
    });
    writePlugin(root, {
      id: "py_noclass",
      manifest: manifest("py_noclass", "plugins.py_noclass:Missing"),
      files: { "__init__.py": `${imports}\n@neko_plugin\nclass Present(NekoPluginBase):\n    pass\n` },
    });
    writePlugin(root, {
      id: "py_import",
      manifest: manifest("py_import", "__init__.py:Importer"),
      files: { "__init__.py": `${imports}import not_a_real_module_xyz\n` },
    });
    writePlugin(root, {
      id: "py_badhook",
      manifest: manifest("py_badhook", "plugins.py_badhook:BadHook"),
      files: {
        "__init__.py": `from plugin.sdk.plugin import NekoPluginBase, before_entry\n\nclass BadHook(NekoPluginBase):\n    @before_entry(target="x", condition="args.mode = 'fast'")\n    def check(self, **_):\n        pass\n`,
      },
    });
    writePlugin(root, {
      id: "py_ok",
      manifest: manifest("py_ok", "__init__.py:Fine"),
      files: {
        "__init__.py": `${everyName}\n@neko_plugin\nclass Fine(NekoPluginBase):\n    def __init__(self, ctx):\n        super().__init__(ctx)\n        self.early = self.push_message(source="py_ok", content="too early")\n\n    @plugin_entry(id="ping")\n    def ping(self, **_):\n        return Ok("pong")\n\n    @plugin_entry(id="early")\n    def get_early(self, **_):\n        return Ok({"code": self.early.error.code, "message": str(self.early.error)})\n`,
      },
    });
    writePlugin(root, {
      id: "py_shaky",
      manifest: manifest("py_shaky", "__init__.py:Shaky"),
      files: {
        "__init__.py": `from plugin.sdk.plugin import NekoPluginBase, lifecycle, Err, SdkError\n\nclass Shaky(NekoPluginBase):\n    @lifecycle(id="startup")\n    async def startup(self, **_):\n        return Err(SdkError("the database is unreachable", code="DB_DOWN", details={"host": "db.local"}))\n`,
      },
    });
    writePlugin(root, {
      id: "py_profiles",
      manifest: manifest("py_profiles", "__init__.py:Profiles"),
      files: {
        "profiles.toml": '[files]\ncalm = "profiles/calm.toml"\n',
        "profiles/calm.toml": "[shop]\nmax_items = 6\n",
        "__init__.py": `${imports}\nclass Profiles(NekoPluginBase):\n    @plugin_entry(id="read")\n    async def read(self, **_):\n        listed = await self.config.profiles()\n        one = await self.config.profile("calm")\n        missing = await self.config.profile("nope")\n        return Ok({"list": listed.value, "one": one.value, "missing": missing.error.code})\n`,
      },
    });
    t = await startTestHost({ roots: [root] });
  });
  after(async () => {
    await t?.close();
    fs.rmSync(root, { recursive: true, force: true });
  });

  test("self.config.profiles() and profile(name) read the plugin's own profiles", async () => {
    const res = await t.trigger("py_profiles", "read");
    assert.equal(res.status, 200, JSON.stringify(res.body));
    const { list, one, missing } = res.body.data;
    assert.deepEqual(
      [list.plugin_id, list.active, list.profiles.map((p: any) => [p.name, p.path, p.exists, p.problem])],
      ["py_profiles", null, [["calm", "profiles/calm.toml", true, null]]],
    );
    assert.deepEqual([one.name, one.active, one.config], ["calm", false, { shop: { max_items: 6 } }]);
    assert.equal(missing, "NOT_FOUND");
  });

  test("a startup hook that fails: POST /plugin/{id}/start answers 502 STARTUP_FAILED naming the hook", async () => {
    const res = await t.request("POST", "/plugin/py_shaky/start");
    assert.equal(res.status, 502);
    assert.deepEqual(res.body, {
      error: {
        code: "STARTUP_FAILED",
        message: "plugin 'py_shaky' failed to start: its startup hook failed with DB_DOWN: the database is unreachable",
        details: {
          plugin: "py_shaky",
          hook: "startup",
          cause: { code: "DB_DOWN", message: "the database is unreachable", details: { host: "db.local" } },
        },
      },
    });
    const stop = await t.request("POST", "/plugin/py_shaky/stop");
    assert.equal(stop.status, 200);
    assert.equal(stop.body.status, "stopped");
  });

  const reasonOf = async (id: string) => {
    const detail = (await t.request("GET", `/plugins/${id}`)).body;
    assert.equal(detail.status, "refused", `${id}: ${detail.status_reason}`);
    return detail.status_reason as string;
  };

  test("a syntax error: the refusal is Python's own last line", async () => {
    assert.match(await reasonOf("py_syntax"), /^SyntaxError: expected ':' \(__init__\.py, line 3\)$/);
  });

  test("a missing class: named, with its module", async () => {
    assert.equal(await reasonOf("py_noclass"), "__init__.py has no class 'Missing'");
  });

  test("an import error: the missing module named", async () => {
    assert.equal(await reasonOf("py_import"), "ModuleNotFoundError: No module named 'not_a_real_module_xyz'");
  });

  test("a malformed hook condition: refused when the class is defined, naming the hook", async () => {
    assert.equal(
      await reasonOf("py_badhook"),
      `ValueError: @before_entry 'check': invalid condition: assignment is not allowed at position 11 of "args.mode = 'fast'"`,
    );
  });

  test("a refused plugin is not restarted, and the others run", async () => {
    assert.equal((await t.trigger("py_ok", "ping")).body.data, "pong");
    assert.deepEqual((await t.trigger("py_ok", "early")).body.data, {
      code: "TRANSPORT_ERROR",
      message: "messages.push cannot be asked for before the plugin has started: call it from startup or later",
    });
    const call = await t.trigger("py_import", "anything");
    assert.equal(call.status, 409);
    assert.equal(call.body.error.code, "PLUGIN_NOT_RUNNING");
  });
});

describe('persist_mode = "auto": the freezable fields survive a crash', { skip: PYTHON_SKIP }, () => {
  let root: string;
  let t: TestHost;

  before(async () => {
    root = makeTempDir();
    writePlugin(root, {
      id: "py_persist",
      manifest: `[plugin]\nid = "py_persist"\nentry = "plugins.py_persist:Counter"\n\n[plugin_state]\npersist_mode = "auto"\n`,
      files: {
        "__init__.py": [
          "import os",
          "from plugin.sdk.plugin import NekoPluginBase, neko_plugin, plugin_entry, Ok",
          "",
          "@neko_plugin",
          "class Counter(NekoPluginBase):",
          '    freezable = ["count"]',
          "",
          "    def __init__(self, ctx):",
          "        super().__init__(ctx)",
          "        self.count = 0",
          "",
          '    @plugin_entry(id="bump")',
          "    def bump(self, **_):",
          "        self.count += 1",
          '        return Ok({"count": self.count, "pid": os.getpid()})',
          "",
          '    @plugin_entry(id="bump_quietly", persist=False)',
          "    def bump_quietly(self, **_):",
          "        self.count += 100",
          '        return Ok({"count": self.count})',
          "",
        ].join("\n"),
      },
    });
    t = await startTestHost({
      roots: [root],
      restartPolicy: { baseDelayMs: 100, maxDelayMs: 400, maxCrashes: 10, windowMs: 60_000 },
    });
  });
  after(async () => {
    await t?.close();
    fs.rmSync(root, { recursive: true, force: true });
  });

  test("saved after each call (not a persist=False one) and restored at the restart after kill -9", async () => {
    await t.trigger("py_persist", "bump");
    const second = (await t.trigger("py_persist", "bump")).body.data;
    assert.equal(second.count, 2);
    assert.equal((await t.trigger("py_persist", "bump_quietly")).body.data.count, 102);
    process.kill(second.pid, "SIGKILL");
    await waitFor(
      () => t.host.getPlugin("py_persist")?.status === "running" && t.host.getPlugin("py_persist")?.pid !== second.pid,
      { what: "the restart" },
    );
    assert.equal((await t.trigger("py_persist", "bump")).body.data.count, 3, "2 came back; the quiet 100 did not");
    const file = JSON.parse(fs.readFileSync(path.join(root, "py_persist", "data", ".neko-state.json"), "utf8"));
    assert.deepEqual({ frozen: file.frozen, fields: file.fields }, { frozen: false, fields: { count: 3 } });
  });
});

describe("when the host dies", { skip: PYTHON_SKIP }, () => {
  test("kill -9 of the host: the Python process sees its stdin close and exits", async () => {
    const root = makeTempDir();
    try {
      copyCompanion(root);
      const hostIndex = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../packages/host/src/index.ts");
      const script = path.join(root, "host.mts");
      fs.writeFileSync(
        script,
        `import { createSilentLogger, PluginHost } from ${JSON.stringify(hostIndex)};
const host = await PluginHost.create({ logger: createSilentLogger(), roots: [${JSON.stringify(root)}] });
await host.startAll();
console.log(JSON.stringify({ pid: host.getPlugin("py_companion")?.pid, status: host.getPlugin("py_companion")?.status }));
setInterval(() => {}, 1000);
`,
      );
      const child = spawn(process.execPath, ["--import", "tsx", script], {
        cwd: path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../.."),
        stdio: ["ignore", "pipe", "inherit"],
        // The host's run folder (its socket) is made under TMPDIR: inside root, so it goes with root.
        env: { ...process.env, TMPDIR: root },
      });
      try {
        const line = await new Promise<string>((resolve, reject) => {
          let text = "";
          child.stdout.on("data", (chunk) => {
            text += chunk;
            if (text.includes("\n")) resolve(text.split("\n")[0]);
          });
          child.on("exit", (code) => reject(new Error(`the host exited (${code})`)));
        });
        const { pid, status } = JSON.parse(line) as { pid: number; status: string };
        assert.equal(status, "running");
        assert.equal(isAlive(pid), true);
        child.kill("SIGKILL");
        await waitFor(() => !isAlive(pid), { what: "the Python process to exit", timeoutMs: 10_000 });
      } finally {
        child.kill("SIGKILL");
      }
    } finally {
      fs.rmSync(root, { recursive: true, force: true });
    }
  });
});

describe("a host without a usable Python", () => {
  let root: string;
  let t: TestHost | undefined;

  before(() => {
    root = makeTempDir();
    writePlugin(root, {
      id: "py_plugin",
      manifest: `[plugin]\nid = "py_plugin"\nentry = "plugin.plugins.py_plugin:P"\n`,
      files: { "__init__.py": "from plugin.sdk.plugin import NekoPluginBase\nclass P(NekoPluginBase):\n    pass\n" },
    });
    writePlugin(root, {
      id: "ts_plugin",
      className: "T",
      code: `import { NekoPluginBase, nekoPlugin, pluginEntry } from "@neko/plugin-sdk/plugin";
@nekoPlugin
export class T extends NekoPluginBase {
  @pluginEntry({ id: "ping" })
  ping() { return "pong"; }
}
`,
    });
    // An interpreter without pyzmq: it says so, as Python does, and fails.
    const fake = path.join(root, "python3-without-zmq");
    fs.writeFileSync(fake, `#!/bin/sh\necho "ModuleNotFoundError: No module named 'zmq'" >&2\nexit 1\n`, {
      mode: 0o755,
    });
  });
  after(async () => {
    await t?.close();
    fs.rmSync(root, { recursive: true, force: true });
  });

  test("a missing interpreter: the Python plugin is refused with the requirement; the host and the others run", async () => {
    t = await startTestHost({ roots: [root], python: [path.join(root, "no-such-python3")] });
    const detail = (await t.request("GET", "/plugins/py_plugin")).body;
    assert.equal(detail.status, "refused");
    assert.ok(
      detail.status_reason.startsWith(
        "Python plugins need python3 (3.11 or newer) with python3-zmq, python3-msgpack and python3-jsonschema " +
          "(apt-get install python3-zmq python3-msgpack python3-jsonschema), or NEKO_PYTHON naming such an interpreter",
      ),
      detail.status_reason,
    );
    assert.match(detail.status_reason, /no-such-python3: spawn .*no-such-python3 ENOENT\)$/);
    assert.equal((await t.trigger("ts_plugin", "ping")).body.data, "pong");
    const start = await t.request("POST", "/plugin/py_plugin/start");
    assert.equal(start.status, 502, "a start by hand says the same again");
    assert.equal(start.body.error.code, "PLUGIN_LOAD_FAILED");
    assert.match(start.body.error.message, /^Python plugins need python3/);
    await t.close();
    t = undefined;
  });

  test("NEKO_PYTHON naming an interpreter without pyzmq: refused, naming what it lacks", async () => {
    const saved = process.env.NEKO_PYTHON;
    process.env.NEKO_PYTHON = path.join(root, "python3-without-zmq");
    try {
      t = await startTestHost({ roots: [root] });
    } finally {
      if (saved === undefined) delete process.env.NEKO_PYTHON;
      else process.env.NEKO_PYTHON = saved;
    }
    const reason = (await t.request("GET", "/plugins/py_plugin")).body.status_reason;
    assert.match(reason, /python3-without-zmq: ModuleNotFoundError: No module named 'zmq'\)$/);
    assert.equal((await t.trigger("ts_plugin", "ping")).body.data, "pong");
  });
});
