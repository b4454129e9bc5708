/** A stand-in `PluginHostApi` for route tests: every operation answers `answer`, and records what it was asked. */
import type { PluginHostApi } from "@neko/host";
import type { WireResult } from "@neko/protocol";

export function fakeHost(
  answer: WireResult,
  overrides: Partial<PluginHostApi> = {},
): PluginHostApi & { calls: unknown[] } {
  const calls: unknown[] = [];
  return {
    calls,
    listPlugins: () => [],
    getPlugin: () => undefined,
    callEntry: async (...args) => {
      calls.push(args);
      return answer;
    },
    startPlugin: async () => answer,
    stopPlugin: async () => answer,
    reloadPlugin: async () => answer,
    reloadAll: async () => answer,
    freezePlugin: async () => answer,
    unfreezePlugin: async () => answer,
    config: {} as PluginHostApi["config"],
    listStatus: () => [],
    getStatus: () => undefined,
    deliverMessage: async () => answer,
    staticUi: () => undefined,
    callEvent: async () => answer,
    events: { onStateChange: () => ({ dispose: () => undefined }) },
    bus: {} as PluginHostApi["bus"],
    // Known plugin: "p". The stand-ins record what the routes ask for.
    logs: {
      capacity: 50,
      read: (id, query) => {
        calls.push(["logs", id, query]);
        return id === "p" ? { plugin_id: id, records: [], dropped: 0 } : undefined;
      },
      follow: (id) => (id === "p" ? { dispose: () => undefined } : undefined),
    },
    metrics: {
      list: () => [],
      get: (id) => (id === "p" ? ({ plugin_id: id } as ReturnType<PluginHostApi["metrics"]["get"]>) : undefined),
      prometheus: () => '# HELP neko_up Stand-in.\n# TYPE neko_up gauge\nneko_up{plugin="p"} 1\n',
      history: (id) =>
        id === "p"
          ? { plugin_id: id, interval_ms: 5000, capacity: 120, history: [], count: 0, time: "2026-12-02T00:00:00.000Z" }
          : undefined,
      historyCapacity: 120,
    },
    logFiles: undefined,
    messages: {} as PluginHostApi["messages"],
    channels: { open: () => ({ ok: false, error: { name: "SdkError", code: "PLUGIN_NOT_RUNNING", message: "no" } }) },
    extensions: {
      enable: async (...args) => {
        calls.push(["enable", ...args]);
        return answer;
      },
      disable: async (...args) => {
        calls.push(["disable", ...args]);
        return answer;
      },
    },
    // Every trigger is a run: the stand-in records the call and answers as the host would.
    runs: {
      execute: async (o: { pluginId: string; entryId: string; args: unknown; timeoutMs?: number }) => {
        calls.push([o.pluginId, o.entryId, o.args, { timeoutMs: o.timeoutMs }]);
        return { runId: "run-1", result: answer };
      },
    } as unknown as PluginHostApi["runs"],
    info: () => ({
      host_version: "0",
      sdk_version: "0",
      node_version: process.version,
      platform: "x",
      uptime_s: 0,
      plugins: { total: 0, running: 0, by_status: {}, shadowed: 0 },
      stopping: false,
      dropped_frames: 0,
      refused_connections: 0,
      transport_endpoint: "ipc://x",
      workers: [],
      worker_endpoint: null,
    }),
    ...overrides,
  };
}
