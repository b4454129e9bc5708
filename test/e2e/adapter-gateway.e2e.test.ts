/**
 * The gateway pipeline through real processes (SPEC §3.7, docs/adapters.md): a test adapter built with
 * `AdapterGatewayCore.forPlugin` from its `[adapter]` table runs requests against real target plugins: the route rules
 * and their args, the deny list (also narrowing a broadcast), the rate limit after a burst, an entry's `Err`, a cancel
 * that aborts the target entry's signal in its own process, an audit record per request on the bus, and the
 * per-stage timings in `GET /plugin/metrics/{id}` and `/metrics`.
 */
import assert from "node:assert/strict";
import fs from "node:fs";
import { after, before, describe, test } from "node:test";
import { isAlive, makeTempDir, waitFor, writePlugin } from "../support/plugin-fixtures.ts";
import { startTestHost, type TestHost } from "../support/test-host.ts";

const adapterManifest = `
[plugin]
id = "gw_adapter"
type = "adapter"
entry = "index.ts:GwAdapter"

[adapter]
mode = "gateway"
timeout = 20

[adapter.policy]
deny_plugins = ["gw_other"]
max_param_bytes = 2048
rate_limit = { burst = 5, per_second = 0.01 }

[[adapter.routes]]
action = "greet"
plugin = "gw_target"
entry = "greet"
args = { greeting = "Hello" }

[[adapter.routes]]
action = "slow"
plugin = "gw_target"
entry = "slow"

[[adapter.routes]]
action = "fail"
plugin = "gw_target"
entry = "fail"

[[adapter.routes]]
action = "secret"
plugin = "gw_other"
entry = "whoami"

[[adapter.routes]]
action = "notify"
route = "broadcast"
entry = "on_notify"
`;

const adapterCode = `
import { AdapterGatewayCore, NekoAdapterPlugin } from "@neko/plugin-sdk/adapter";
import { lifecycle, nekoPlugin, Ok, pluginEntry } from "@neko/plugin-sdk/plugin";

@nekoPlugin
export class GwAdapter extends NekoAdapterPlugin {
  gateway!: AdapterGatewayCore;

  @lifecycle({ id: "startup" })
  startup() {
    this.gateway = AdapterGatewayCore.forPlugin(this);
    this.gateway.handle("ping", (args) => Ok({ pong: args.n ?? null, pid: process.pid }));
    return Ok({ mode: this.gateway.mode });
  }

  @lifecycle({ id: "shutdown" })
  shutdown() {
    this.gateway.dispose();
  }

  /** One external request through the pipeline (its own connection unless one is named); cancel_after_ms aborts it. */
  @pluginEntry({ id: "handle" })
  async handle({ action, payload, connection, request_id, metadata, cancel_after_ms }: any) {
    const controller = new AbortController();
    const timer = cancel_after_ms === undefined ? undefined : setTimeout(() => controller.abort(), cancel_after_ms);
    try {
      const response = await this.gateway.process(
        { protocol: "e2e", connectionId: connection ?? request_id, requestId: request_id, action, payload, metadata },
        { signal: controller.signal },
      );
      return Ok(response);
    } finally {
      clearTimeout(timer);
    }
  }
}
`;

const targetCode = `
import { Err, nekoPlugin, NekoPluginBase, Ok, pluginEntry, ValidationError } from "@neko/plugin-sdk/plugin";

@nekoPlugin
export class GwTarget extends NekoPluginBase {
  @pluginEntry({ id: "greet" })
  greet({ name = "World", greeting }: { name?: string; greeting: string }) {
    return Ok({ message: greeting + ", " + name + "!" });
  }

  @pluginEntry({ id: "fail" })
  fail() {
    return Err(new ValidationError("name cannot be empty", { details: { field: "name" } }));
  }

  /** Waits for its signal; says on the bus when the signal came. */
  @pluginEntry({ id: "slow", timeout: 60 })
  async slow(_args: unknown, ctx: { signal: AbortSignal }) {
    await new Promise<void>((resolve) => ctx.signal.addEventListener("abort", () => resolve(), { once: true }));
    this.bus.emit("gw_target.aborted", { pid: process.pid });
    return Ok("aborted");
  }

  @pluginEntry({ id: "on_notify" })
  onNotify({ text }: { text: string }) {
    return Ok({ heard: text, by: this.pluginId });
  }
}
`;

const otherCode = `
import { nekoPlugin, NekoPluginBase, Ok, pluginEntry } from "@neko/plugin-sdk/plugin";

@nekoPlugin
export class GwOther extends NekoPluginBase {
  @pluginEntry({ id: "whoami" })
  whoami() {
    return Ok({ secret: true });
  }

  @pluginEntry({ id: "on_notify" })
  onNotify({ text }: { text: string }) {
    return Ok({ heard: text, by: this.pluginId });
  }
}
`;

describe("the gateway pipeline in a real adapter process", () => {
  let root: string;
  let t: TestHost;
  const pids: number[] = [];

  before(async () => {
    root = makeTempDir("neko-gateway-");
    writePlugin(root, { id: "gw_adapter", manifest: adapterManifest, code: adapterCode });
    writePlugin(root, { id: "gw_target", className: "GwTarget", code: targetCode });
    writePlugin(root, { id: "gw_other", className: "GwOther", code: otherCode });
    t = await startTestHost({ roots: [root] });
    for (const id of ["gw_adapter", "gw_target", "gw_other"]) {
      const plugin = await t.request("GET", `/plugins/${id}`);
      assert.equal(plugin.body.status, "running", `${id} runs: ${JSON.stringify(plugin.body)}`);
      pids.push(plugin.body.pid);
    }
  });

  after(async () => {
    await t?.close();
    for (const pid of pids) assert.equal(isAlive(pid), false, `process ${pid} is gone`);
    fs.rmSync(root, { recursive: true, force: true });
  });

  /** Runs a request through the adapter's gateway; the answer is the `GatewayResponse`. */
  async function handle(args: Record<string, unknown>) {
    const res = await t.trigger("gw_adapter", "handle", args);
    assert.equal(res.status, 200, JSON.stringify(res.body));
    return res.body.data;
  }

  test("a routed request reaches the target with the rule's args and answers with the route and stage timings", async () => {
    const response = await handle({ action: "greet", payload: { name: "Neko" }, request_id: "g-1" });
    assert.equal(response.ok, true, JSON.stringify(response));
    assert.deepEqual(response.data, { message: "Hello, Neko!" });
    assert.equal(response.requestId, "g-1");
    assert.equal(response.mode, "gateway");
    assert.deepEqual(response.route, {
      mode: "plugin",
      pluginId: "gw_target",
      entryId: "greet",
      args: { greeting: "Hello", name: "Neko" },
      reason: "route rule 'greet'",
    });
    for (const stage of ["normalize", "policy", "route", "invoke", "serialize", "total"]) {
      assert.equal(typeof response.timings[stage], "number", `timing of ${stage}`);
    }
    assert.ok(response.timings.invoke <= response.timings.total);

    const self = await handle({ action: "ping", payload: { n: 7 }, request_id: "g-2" });
    assert.equal(self.ok, true);
    assert.equal(self.route.mode, "self");
    assert.equal(self.data.pong, 7);
    assert.equal(self.data.pid, pids[0], "a self handler runs in the adapter's process");
  });

  test("each failure has its stable code: policy_denied, route_failed, invoke_failed, invalid_request", async () => {
    const denied = await handle({ action: "secret", request_id: "f-1" });
    assert.equal(denied.error.code, "policy_denied");
    assert.equal(denied.error.details.pluginId, "gw_other");

    const big = await handle({ action: "greet", payload: { name: "x".repeat(5000) }, request_id: "f-2" });
    assert.equal(big.error.code, "policy_denied");
    assert.equal(big.error.details.reason, "max_param_bytes");

    const unrouted = await handle({ action: "teleport", request_id: "f-3" });
    assert.equal(unrouted.error.code, "route_failed");

    const failed = await handle({ action: "fail", request_id: "f-4" });
    assert.equal(failed.error.code, "invoke_failed");
    assert.equal(failed.error.message, "name cannot be empty");
    assert.equal(failed.error.details.code, "VALIDATION_ERROR");

    const missing = await handle({ action: "x", metadata: { target: "gw_target:nope" }, request_id: "f-5" });
    assert.equal(missing.error.code, "invoke_failed");
    assert.equal(missing.error.details.code, "ENTRY_NOT_FOUND");

    const invalid = await handle({ action: "greet", payload: [1, 2], request_id: "f-6" });
    assert.equal(invalid.error.code, "invalid_request");
  });

  test("a broadcast reaches every running plugin with the entry that the policy permits", async () => {
    const response = await handle({ action: "notify", payload: { text: "hi" }, request_id: "b-1" });
    assert.equal(response.ok, true, JSON.stringify(response));
    assert.deepEqual(response.route.pluginIds, ["gw_target"], "gw_other is on the deny list; the adapter is skipped");
    assert.deepEqual(response.data, { results: { gw_target: { ok: true, data: { heard: "hi", by: "gw_target" } } } });
  });

  test("a burst over the rate limit gets policy_denied once the connection's bucket is empty", async () => {
    const answers = [];
    for (let i = 0; i < 7; i++)
      answers.push(await handle({ action: "greet", connection: "flood", request_id: `r-${i}` }));
    assert.deepEqual(
      answers.map((a) => a.ok),
      [true, true, true, true, true, false, false],
    );
    assert.equal(answers[5].error.code, "policy_denied");
    assert.equal(answers[5].error.retryable, true);
    assert.equal(answers[5].error.details.reason, "rate_limit");
    const other = await handle({ action: "greet", connection: "calm", request_id: "r-calm" });
    assert.equal(other.ok, true, "another connection is not limited");
  });

  test("a cancel reaches the target entry in its own process: its signal is aborted", async () => {
    const before = t.host.bus.query("events", { type: "gw_target.aborted" }).records.length;
    const response = await handle({ action: "slow", cancel_after_ms: 300, request_id: "c-1" });
    assert.equal(response.ok, false);
    assert.equal(response.error.code, "invoke_failed");
    assert.equal(response.error.details.code, "CANCELED");
    const aborted = await waitFor(
      () => {
        const records = t.host.bus.query("events", { type: "gw_target.aborted" }).records;
        return records.length > before ? records.at(-1) : undefined;
      },
      { what: "the target's abort event" },
    );
    assert.equal((aborted.data as { pid: number }).pid, pids[1], "the abort happened in the target's process");
  });

  test("every request has one audit record on the bus: who, what, decision, code, duration", async () => {
    const res = await t.request("GET", "/bus/events?type=adapter.audit&plugin_id=gw_adapter&max_count=1000");
    assert.equal(res.status, 200);
    const audits = res.body.records.map((r: { data: any }) => r.data);
    const byId = new Map(audits.map((a: any) => [a.requestId, a]));
    const ids = ["g-1", "g-2", "f-1", "f-2", "f-3", "f-4", "f-5", "f-6", "b-1", "r-0", "r-5", "r-calm", "c-1"];
    for (const id of ids) assert.ok(byId.has(id), `an audit record for ${id}`);
    assert.equal(audits.filter((a: any) => a.requestId === "g-1").length, 1, "exactly one per request");
    const greet = byId.get("g-1") as any;
    assert.equal(greet.protocol, "e2e");
    assert.equal(greet.connectionId, "g-1");
    assert.equal(greet.action, "greet");
    assert.equal(greet.decision, "plugin");
    assert.equal(greet.pluginId, "gw_target");
    assert.equal(greet.entryId, "greet");
    assert.equal(greet.ok, true);
    assert.equal(greet.code, null);
    assert.ok(greet.durationMs > 0);
    const denied = byId.get("f-1") as any;
    assert.equal(denied.decision, "denied");
    assert.equal(denied.code, "policy_denied");
    assert.equal((byId.get("r-5") as any).connectionId, "flood");
    assert.equal((byId.get("r-5") as any).code, "policy_denied");
    assert.equal((byId.get("c-1") as any).code, "invoke_failed");
    assert.deepEqual((byId.get("b-1") as any).pluginIds, ["gw_target"]);
  });

  test("the per-stage timings are in GET /plugin/metrics/{id} and in /metrics", async () => {
    // 2 + 6 + 1 + 8 + 1 requests so far, of which 9 ok.
    const metrics = await waitFor(
      async () => {
        const res = await t.request("GET", "/plugin/metrics/gw_adapter");
        return res.body.gateway?.requests === 18 && res.body.gateway;
      },
      { what: "18 gateway requests in the metrics" },
    );
    assert.deepEqual(metrics.outcomes, {
      ok: 9,
      policy_denied: 4,
      route_failed: 1,
      invoke_failed: 3,
      invalid_request: 1,
    });
    assert.equal(metrics.stages.total.count, 18);
    assert.equal(metrics.stages.normalize.count, 18);
    assert.equal(metrics.stages.serialize.count, 18);
    assert.equal(metrics.stages.invoke.count, 12, "the 4 denied, the unrouted and the invalid request never invoked");
    for (const stage of ["normalize", "policy", "route", "invoke", "serialize", "total"]) {
      const figures = metrics.stages[stage];
      assert.ok(figures.p50_ms >= 0 && figures.p50_ms <= figures.max_ms, `${stage}: ${JSON.stringify(figures)}`);
    }
    assert.ok(metrics.stages.total.max_ms >= 290, "the canceled request took about its 300 ms");

    const text = await (await fetch(`${t.url}/metrics`)).text();
    assert.match(text, /^neko_gateway_requests_total\{plugin="gw_adapter",outcome="ok"\} 9$/m);
    assert.match(text, /^neko_gateway_requests_total\{plugin="gw_adapter",outcome="policy_denied"\} 4$/m);
    assert.match(text, /^neko_gateway_stage_duration_seconds_count\{plugin="gw_adapter",stage="invoke"\} 12$/m);
  });
});
