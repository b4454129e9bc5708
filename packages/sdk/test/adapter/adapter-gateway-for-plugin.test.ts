/**
 * `AdapterGatewayCore.forPlugin`: a core with every default stage from an adapter's `[adapter]` table, over the
 * adapter's own `this.plugins` and `this.bus` (a recording host bridge stands in for the host).
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import type { WireResult } from "@neko/protocol";
import {
  AdapterGatewayCore,
  type GatewayAuditRecord,
  type GatewayStageReport,
  NekoAdapterPlugin,
} from "../../src/adapter.ts";
import { ValidationError } from "../../src/errors.ts";
import { createPluginContext } from "../../src/plugin-context.ts";
import { createPluginLogger } from "../../src/plugin-logger.ts";
import type { HostBridge } from "../../src/runtime/host-client.ts";

class TestAdapter extends NekoAdapterPlugin {}

function adapterWith(adapter: Record<string, unknown>) {
  const requests: Array<{ method: string; params: any; signal: AbortSignal | undefined }> = [];
  const notes: Array<[string, any]> = [];
  const bridge: HostBridge = {
    request: async (method, params, options): Promise<any> => {
      requests.push({ method, params, signal: options?.signal });
      if (method === "plugins.call") {
        const { pluginId, entryId, args } = params as { pluginId: string; entryId: string; args: unknown };
        return { ok: true, value: { called: `${pluginId}:${entryId}`, args } } satisfies WireResult;
      }
      return { ok: true, value: null } satisfies WireResult;
    },
    notify: (method, params) => {
      notes.push([method, params]);
      return { ok: true, value: null };
    },
    onPush: () => () => undefined,
  };
  const plugin = new TestAdapter(
    createPluginContext({
      pluginId: "my_adapter",
      configDir: "/nonexistent",
      config: { adapter },
      bridge,
      logger: createPluginLogger("my_adapter", { level: "silent" }),
    }),
  );
  return { plugin, requests, notes };
}

test("the rules, policy and mode of [adapter]; calls through this.plugins with the caller's signal", async () => {
  const { plugin, requests, notes } = adapterWith({
    mode: "gateway",
    timeout: 3,
    policy: { deny_plugins: ["vault"] },
    routes: [{ action: "greet", plugin: "hello_world", entry: "greet", args: { name: "World" } }],
  });
  const core = AdapterGatewayCore.forPlugin(plugin);
  assert.equal(core.mode, "gateway");
  const controller = new AbortController();
  const response = await core.process(
    { protocol: "test", connectionId: "c1", requestId: "1", action: "greet", payload: { loud: true } },
    { signal: controller.signal },
  );
  assert.equal(response.ok, true);
  assert.deepEqual((response as { data: unknown }).data, {
    called: "hello_world:greet",
    args: { name: "World", loud: true },
  });
  const call = requests.find((r) => r.method === "plugins.call");
  assert.equal(call?.signal, controller.signal, "the signal reaches the host request");
  assert.equal(call?.params.timeoutMs, 3000, "[adapter] timeout bounds the call");

  const denied = await core.process({
    protocol: "test",
    connectionId: "c1",
    requestId: "2",
    action: "x",
    metadata: { target: "vault:open" },
  });
  assert.equal(denied.ok, false);

  const audits = notes
    .filter(([method, p]) => method === "bus.emit" && p.type === "adapter.audit")
    .map(([, p]) => p.payload as GatewayAuditRecord);
  assert.deepEqual(
    audits.map((a) => [a.requestId, a.decision, a.code]),
    [
      ["1", "plugin", null],
      ["2", "denied", "policy_denied"],
    ],
  );

  assert.equal(notes.filter(([m]) => m === "adapter.stage_timings").length, 0, "timings are held for a moment");
  core.dispose();
  const reports = notes.filter(([m]) => m === "adapter.stage_timings").map(([, p]) => p as GatewayStageReport);
  assert.equal(reports.length, 1);
  assert.deepEqual(reports[0]?.outcomes, { ok: 1, policy_denied: 1 });
  assert.equal(reports[0]?.stages.total?.length, 2);
  assert.equal(reports[0]?.stages.invoke?.length, 1, "the denied request never reached invoke");
});

test("bridge mode from [adapter] target; audit = false publishes nothing; overrides replace a stage", async () => {
  const { plugin, requests, notes } = adapterWith({ mode: "bridge", target: "echo:raw", audit: false });
  const core = AdapterGatewayCore.forPlugin(plugin, {
    serializer: { serialize: (response) => ({ ok: true, value: { ...response, data: { wrapped: response.ok } } }) },
  });
  const response = await core.process({
    protocol: "t",
    connectionId: "c",
    requestId: "1",
    action: "a",
    payload: { n: 1 },
  });
  assert.deepEqual((response as { data: unknown }).data, { wrapped: true });
  assert.deepEqual(
    requests
      .filter((r) => r.method === "plugins.call")
      .map((r) => [r.params.pluginId, r.params.entryId, r.params.args]),
    [["echo", "raw", { n: 1 }]],
  );
  assert.equal(notes.filter(([m]) => m === "bus.emit").length, 0);
  core.dispose();
});

test("a wrong [adapter] table fails forPlugin, naming the key", () => {
  const { plugin } = adapterWith({ routes: [{ action: "greet", route: "teleport" }] });
  assert.throws(
    () => AdapterGatewayCore.forPlugin(plugin),
    (error: unknown) => error instanceof ValidationError && /adapter\.routes\[0\]\.route/.test(error.message),
  );
});
