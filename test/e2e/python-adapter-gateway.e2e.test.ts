/**
 * A Python adapter (SPEC §3.7, §3.8; docs/adapters.md, docs/python-plugins.md#adapters): an adapter written for the
 * original N.E.K.O. (`plugin.sdk.adapter`, test/python-plugins/py_gateway) runs its requests through the Python
 * gateway pipeline — normalize → policy → route → invoke through the host's cross-plugin call → serialize — to a
 * TypeScript plugin and a Python plugin, with the stable error codes of the TypeScript gateway, an audit record per
 * request on the bus and its stage timings in the host's metrics.
 */
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { after, before, describe, test } from "node:test";
import { makeTempDir, waitFor, writePlugin } from "../support/plugin-fixtures.ts";
import { PYTHON_SKIP } from "../support/python.ts";
import { startTestHost, type TestHost } from "../support/test-host.ts";

const FIXTURES = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../python-plugins");

const tsTargetCode = `
import { Err, NekoPluginBase, nekoPlugin, Ok, pluginEntry, SdkError, z } from "@neko/plugin-sdk/plugin";

@nekoPlugin
export class GwTs extends NekoPluginBase {
  @pluginEntry({ id: "greet", params: z.object({ greeting: z.string(), name: z.string() }) })
  greet({ greeting, name }: { greeting: string; name: string }) {
    return Ok({ message: greeting + ", " + name + "!" });
  }

  @pluginEntry({ id: "dispatch", inputSchema: { type: "object" } })
  dispatch(args: Record<string, unknown>) {
    return Ok({ dispatched: args });
  }

  @pluginEntry({ id: "refuse" })
  refuse() {
    return Err(new SdkError("no such note", { code: "NOTE_MISSING", details: { id: 7 } }));
  }

  static seen: Record<string, string> = {};

  @pluginEntry({ id: "hold", timeout: 60 })
  async hold(_args: unknown, ctx: { signal: AbortSignal }) {
    GwTs.seen.hold = "holding";
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, 20_000);
      ctx.signal.addEventListener("abort", () => {
        clearTimeout(timer);
        GwTs.seen.hold = "aborted";
        resolve();
      });
    });
    return Ok(null);
  }

  @pluginEntry({ id: "seen" })
  seenState() {
    return Ok(GwTs.seen);
  }

  @pluginEntry({ id: "slow", timeout: 30 })
  async slow() {
    await new Promise((resolve) => setTimeout(resolve, 5000));
    return Ok(null);
  }
}
`;

const tsSecretCode = `
import { NekoPluginBase, nekoPlugin, Ok, pluginEntry } from "@neko/plugin-sdk/plugin";

@nekoPlugin
export class GwSecret extends NekoPluginBase {
  @pluginEntry({ id: "peek" })
  peek() {
    return Ok({ secret: 42 });
  }
}
`;

const badGatewayCode = `
from plugin.sdk.adapter import AdapterGatewayCore, NekoAdapterPlugin, Ok, lifecycle, neko_plugin


@neko_plugin
class BadGateway(NekoAdapterPlugin):
    @lifecycle(id="startup")
    def startup(self, **_):
        self.gateway = AdapterGatewayCore.for_plugin(self)
        return Ok(None)
`;

describe("a Python adapter's gateway pipeline", { skip: PYTHON_SKIP }, () => {
  let root: string;
  let t: TestHost;
  let sent = 0;
  const line = async (args: Record<string, unknown>) => {
    sent += 1;
    const res = await t.trigger("py_gateway", "line", args);
    assert.equal(res.status, 200, JSON.stringify(res.body));
    return res.body.data;
  };

  before(async () => {
    root = makeTempDir();
    for (const id of ["py_gateway", "py_ext_host"]) {
      fs.cpSync(path.join(FIXTURES, id), path.join(root, id), { recursive: true, filter: (s) => !s.includes("data") });
    }
    writePlugin(root, { id: "gw_ts", className: "GwTs", code: tsTargetCode });
    writePlugin(root, { id: "gw_secret", className: "GwSecret", code: tsSecretCode });
    writePlugin(root, {
      id: "py_bad_gateway",
      manifest:
        '[plugin]\nid = "py_bad_gateway"\ntype = "adapter"\nentry = "__init__.py:BadGateway"\n\n' +
        '[adapter.policy]\nallow = ["gw_ts"]\n',
      files: { "__init__.py": badGatewayCode },
    });
    t = await startTestHost({ roots: [root] });
  });
  after(async () => {
    await t?.close();
    fs.rmSync(root, { recursive: true, force: true });
  });

  test("a route rule reaches a TypeScript plugin: the response in the TypeScript gateway's shape", async () => {
    const response = await line({
      action: "greet_ts",
      payload: { name: "Neko" },
      connection: "g-1",
      request_id: "g-1",
    });
    assert.deepEqual(Object.keys(response), ["requestId", "mode", "route", "timings", "ok", "data"]);
    assert.deepEqual(
      { ...response, timings: Object.keys(response.timings).sort() },
      {
        requestId: "g-1",
        mode: "gateway",
        route: {
          mode: "plugin",
          pluginId: "gw_ts",
          entryId: "greet",
          args: { greeting: "Hello", name: "Neko" },
          reason: "route rule 'greet_ts'",
        },
        timings: ["invoke", "normalize", "policy", "route", "serialize", "total"],
        ok: true,
        data: { message: "Hello, Neko!" },
      },
    );
    assert.ok(response.timings.total >= response.timings.invoke && response.timings.invoke > 0);
  });

  test("a route rule reaches a Python plugin; a pattern rule, an explicit target, a self handler, a drop", async () => {
    const py = await line({ action: "greet_py", payload: { name: "Py" }, connection: "g-2" });
    assert.equal(py.ok, true, JSON.stringify(py));
    assert.deepEqual(py.data, { message: "Hello, Py!", trail: [] });
    const pattern = await line({ action: "ts.notes.add", payload: { text: "x" }, connection: "g-3" });
    assert.deepEqual([pattern.route.entryId, pattern.data], ["dispatch", { dispatched: { text: "x" } }]);
    const explicit = await line({
      action: "anything",
      payload: { greeting: "Hi", name: "X" },
      metadata: { target: "gw_ts:greet" },
      connection: "g-4",
    });
    assert.deepEqual(
      [explicit.route, explicit.data],
      [{ mode: "plugin", pluginId: "gw_ts", entryId: "greet", reason: "explicit target" }, { message: "Hi, X!" }],
    );
    const self = await line({ action: "ping", connection: "g-5" });
    assert.deepEqual(
      [self.route, self.data],
      [
        { mode: "self", entryId: "ping", reason: "self handler" },
        { pong: true, connection: "g-5" },
      ],
    );
    const dropped = await line({ action: "ignore.me", connection: "g-6" });
    assert.deepEqual(
      [dropped.ok, dropped.data, dropped.route],
      [true, null, { mode: "drop", reason: "route rule 'ignore.*'" }],
    );
  });

  test("invalid_request: a missing action, a payload that is not an object, a bad target", async () => {
    const noAction = await line({ action: "", connection: "f-1" });
    assert.deepEqual(
      [noAction.ok, noAction.error, "route" in noAction],
      [
        false,
        {
          code: "invalid_request",
          message: "'action' must be a string of 1–256 characters",
          retryable: false,
          details: { field: "action" },
        },
        false,
      ],
    );
    const list = await line({ action: "greet_ts", payload: [1, 2], connection: "f-1" });
    assert.deepEqual(list.error, {
      code: "invalid_request",
      message: "the payload must be an object of arguments",
      retryable: false,
      details: { field: "payload" },
    });
    const target = await line({ action: "x", metadata: { target: "no-colon" }, connection: "f-1" });
    assert.deepEqual(target.error.details, { field: "target" });
    assert.equal(target.error.message, 'the target "no-colon" is not "<plugin>:<entry>" or { pluginId, entryId }');
  });

  test("policy_denied: a denied plugin (by rule or explicit target), args over the limit, the rate limit", async () => {
    const secret = await line({ action: "secret", connection: "p-1" });
    assert.deepEqual(secret.error, {
      code: "policy_denied",
      message: "plugin 'gw_secret' may not be reached through this adapter",
      retryable: false,
      details: { reason: "plugin_not_allowed", pluginId: "gw_secret" },
    });
    const explicit = await line({ action: "x", metadata: { target: "gw_secret:peek" }, connection: "p-2" });
    assert.equal(explicit.error.details.reason, "plugin_not_allowed");
    const big = await line({ action: "greet_ts", payload: { name: "x".repeat(2000) }, connection: "p-3" });
    assert.equal(big.error.code, "policy_denied");
    assert.deepEqual(big.error.details, { reason: "max_param_bytes", bytes: 2012, limit: 1024 });
    const answers = [];
    for (let i = 0; i < 4; i++) answers.push(await line({ action: "ping", connection: "flood" }));
    assert.deepEqual(
      answers.map((a) => a.ok),
      [true, true, true, false],
    );
    assert.equal(answers[3].error.code, "policy_denied");
    assert.equal(answers[3].error.retryable, true);
    assert.equal(answers[3].error.details.reason, "rate_limit");
    assert.ok(answers[3].error.details.retryAfterMs > 0);
  });

  test("route_failed: no rule, target or handler for the action", async () => {
    const none = await line({ action: "nope", connection: "r-1" });
    assert.deepEqual(none.error, {
      code: "route_failed",
      message: "no route for action 'nope'",
      retryable: false,
      details: { action: "nope" },
    });
  });

  test("invoke_failed: the entry's Err with its code and details, a missing plugin, a timeout (retryable)", async () => {
    const refused = await line({ action: "x", metadata: { target: "gw_ts:refuse" }, connection: "i-1" });
    assert.deepEqual(refused.error, {
      code: "invoke_failed",
      message: "no such note",
      retryable: false,
      details: { pluginId: "gw_ts", entryId: "refuse", code: "NOTE_MISSING", details: { id: 7 } },
    });
    const ghost = await line({ action: "x", metadata: { target: "ghost:x" }, connection: "i-2" });
    assert.equal(ghost.error.code, "invoke_failed");
    assert.equal(ghost.error.details.code, "PLUGIN_NOT_FOUND");
    const started = Date.now();
    const slow = await line({ action: "x", metadata: { target: "gw_ts:slow" }, connection: "i-3" });
    assert.equal(slow.error.code, "invoke_failed");
    assert.equal(slow.error.retryable, true);
    assert.equal(slow.error.details.code, "TIMEOUT");
    const took = Date.now() - started;
    assert.ok(took >= 1900 && took < 4500, `[adapter] timeout = 2 bounds the call (took ${took} ms)`);
  });

  test("internal_error: a result that is not JSON is named where", async () => {
    const odd = await line({ action: "odd", connection: "e-1" });
    assert.deepEqual(odd.error, {
      code: "internal_error",
      message: "the result is not JSON-compatible: data.not json is a set",
      retryable: false,
      details: { path: "$.not" },
    });
  });

  test("a core built by hand in the original's style: a normalizer reading raw, raising GatewayErrorException", async () => {
    const res = await t.trigger("py_gateway", "handle_request", {
      raw_data: { tool: "gw_ts__greet", arguments: { greeting: "Yo", name: "Z" }, id: "t-1" },
    });
    assert.deepEqual(
      [res.body.data.ok, res.body.data.data, res.body.data.requestId],
      [true, { message: "Yo, Z!" }, "t-1"],
    );
    const bad = await t.trigger("py_gateway", "handle_request", { raw_data: { tool: "bad" } });
    assert.deepEqual(bad.body.data.error, {
      code: "invalid_request",
      message: "unknown tool 'bad'",
      retryable: false,
      details: { tool: "bad", code: "TOOL_UNKNOWN" },
    });
  });

  test("every request has one audit record on the bus; the stage timings reach the host's metrics", async () => {
    const res = await t.request("GET", "/bus/events?type=adapter.audit&plugin_id=py_gateway&max_count=1000");
    assert.equal(res.status, 200);
    const audits = res.body.records.map((r: { data: any }) => r.data);
    const greet = audits.filter((a: any) => a.requestId === "g-1");
    assert.equal(greet.length, 1, "exactly one for g-1");
    const { durationMs, at, ...rest } = greet[0];
    assert.deepEqual(rest, {
      protocol: "line",
      connectionId: "g-1",
      requestId: "g-1",
      action: "greet_ts",
      mode: "gateway",
      decision: "plugin",
      ok: true,
      code: null,
      pluginId: "gw_ts",
      entryId: "greet",
    });
    assert.ok(durationMs > 0);
    assert.match(at, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    const denied = audits.find((a: any) => a.connectionId === "p-1");
    assert.deepEqual([denied.decision, denied.code], ["denied", "policy_denied"]);
    const metrics = await waitFor(
      async () => {
        const m = await t.request("GET", "/plugin/metrics/py_gateway");
        return m.body.gateway?.requests === sent && m.body.gateway;
      },
      { what: `${sent} gateway requests in the metrics` },
    );
    assert.deepEqual(metrics.outcomes, {
      ok: 9,
      invalid_request: 3,
      policy_denied: 4,
      route_failed: 1,
      invoke_failed: 3,
      internal_error: 1,
    });
    assert.equal(metrics.stages.normalize.count, sent);
    assert.equal(metrics.stages.invoke.count, 13);
  });

  test("canceling the adapter's run cancels the target's call in its own process; the request is audited", async () => {
    const started = await t.request("POST", "/runs", {
      plugin_id: "py_gateway",
      entry_id: "line",
      args: { action: "x", metadata: { target: "gw_ts:hold" }, connection: "k-1", request_id: "k-1" },
    });
    assert.equal(started.status, 202, JSON.stringify(started.body));
    const seen = async () => (await t.trigger("gw_ts", "seen")).body.data.hold;
    await waitFor(async () => (await seen()) === "holding", { what: "the target holding" });
    const at = Date.now();
    assert.equal((await t.request("POST", `/runs/${started.body.run_id}/cancel`)).status, 200);
    await waitFor(async () => (await seen()) === "aborted", { what: "the target's abort" });
    assert.ok(Date.now() - at < 1500, "at once, not at the 2 s timeout");
    const run = await waitFor(async () => {
      const r = (await t.request("GET", `/runs/${started.body.run_id}`)).body;
      return r.status === "canceled" ? r : undefined;
    });
    assert.equal(run.status, "canceled");
    const audit = await waitFor(async () => {
      const res = await t.request("GET", "/bus/events?type=adapter.audit&plugin_id=py_gateway&max_count=1000");
      return res.body.records.map((r: { data: any }) => r.data).find((a: any) => a.requestId === "k-1");
    });
    assert.deepEqual(
      [audit.decision, audit.code, audit.pluginId, audit.entryId],
      ["plugin", "invoke_failed", "gw_ts", "hold"],
    );
  });

  test("a wrong [adapter] key fails the adapter's startup, naming it", async () => {
    const res = await t.request("POST", "/plugin/py_bad_gateway/start");
    assert.equal(res.status, 502, JSON.stringify(res.body));
    assert.equal(res.body.error.code, "STARTUP_FAILED");
    assert.equal(
      res.body.error.details.cause.message,
      "adapter.policy.allow is not a key of it (known: allow_plugins, deny_plugins, max_param_bytes, rate_limit)",
    );
    assert.deepEqual(res.body.error.details.cause.details, { key: "adapter.policy.allow" });
    assert.equal((await t.request("GET", "/plugins/py_gateway")).body.status, "running");
  });
});
