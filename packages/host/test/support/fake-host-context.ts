/**
 * A `HostContext` for unit tests of one feature: real host services and real plugin scopes, with the plugins, their
 * states and the supervisor's events played by the test. A state change ends or begins a plugin's run as the
 * supervisor does; `remove` forgets a plugin with everything it held.
 */
import { Emitter, type WireResult } from "@neko/protocol";
import type { HostContext, PluginOperations } from "../../src/host-context.ts";
import { createSilentLogger, type HostLogger, type LogRecord } from "../../src/host-logger.ts";
import { HostServices } from "../../src/host-services.ts";
import type { ProcessFiguresView } from "../../src/metrics/process-figures.ts";
import { PluginScope } from "../../src/supervisor/plugin-scope.ts";
import { LIVE_STATES, type PluginState } from "../../src/supervisor/plugin-state.ts";
import type { FinishedCall, PluginLogLine, PluginStateChange } from "../../src/supervisor/plugin-supervisor.ts";

export interface FakePlugin {
  state?: PluginState;
  dir?: string;
  process?: { pid: number | undefined; startedAt: number; figures: ProcessFiguresView };
}

const notRunning = async (): Promise<WireResult> => ({
  ok: false,
  error: { name: "SdkError", code: "PLUGIN_NOT_RUNNING", message: "no plugin runs in this test" },
});

export function fakeHostContext(
  plugins: Record<string, FakePlugin> = {},
  options: { logger?: HostLogger; operations?: Partial<PluginOperations> } = {},
) {
  const logger = options.logger ?? createSilentLogger();
  const known = new Map<string, FakePlugin & { scope: PluginScope }>();
  const stateChanges = new Emitter<PluginStateChange>();
  const calls = new Emitter<FinishedCall>();
  const logs = new Emitter<PluginLogLine>();
  const add = (id: string, plugin: FakePlugin = {}) => {
    const scope = new PluginScope((error) => {
      throw error;
    });
    if (LIVE_STATES.has(plugin.state ?? "stopped")) scope.beginRun();
    known.set(id, { ...plugin, scope });
  };
  for (const [id, plugin] of Object.entries(plugins)) add(id, plugin);
  const services = new HostServices(logger);
  const ctx: HostContext = {
    logger,
    services,
    dataDir: "/nonexistent",
    events: {
      onStateChange: stateChanges.event,
      onCall: calls.event,
      onLog: logs.event,
      onEntriesChange: new Emitter<{ pluginId: string }>().event,
    },
    api: {
      listPlugins: () => [],
      info: () => {
        throw new Error("not in this test");
      },
      config: {} as HostContext["api"]["config"],
    },
    plugins: {
      has: (id) => known.has(id),
      ids: () => [...known.keys()],
      location: (id) => {
        const dir = known.get(id)?.dir;
        return dir === undefined ? undefined : { dir, manifestPath: `${dir}/plugin.toml` };
      },
      manifest: () => undefined,
      state: (id) => (known.has(id) ? (known.get(id)?.state ?? "stopped") : undefined),
      machine: (id) => (known.has(id) ? "local" : undefined),
      hello: () => undefined,
      problems: () => [],
      process: (id) => known.get(id)?.process,
      scope: (id) => known.get(id)?.scope,
      refreshManifest: async () => undefined,
    },
    operations: {
      callEntry: notRunning,
      callEvent: notRunning,
      control: notRunning,
      push: () => false,
      addLaunchContext: () => ({ dispose: () => undefined }),
      addLaunchGrant: () => ({ dispose: () => undefined }),
      addHelloCheck: () => ({ dispose: () => undefined }),
      ...options.operations,
    },
  };
  return {
    ctx,
    services,
    /** Moves a plugin to `state` as the supervisor would: its run ends when it leaves the live states. */
    setState(id: string, state: PluginState) {
      const plugin = known.get(id);
      if (!plugin) throw new Error(`no plugin '${id}' in this test`);
      if (state === "starting") plugin.scope.beginRun();
      else if (!LIVE_STATES.has(state)) plugin.scope.endRun();
      plugin.state = state;
      stateChanges.fire({ pluginId: id, change: { time: Date.now(), state } });
    },
    add,
    /** The plugin leaves the host: what it held goes with it. */
    remove(id: string) {
      known.get(id)?.scope.dispose();
      known.delete(id);
    },
    call: (call: FinishedCall) => calls.fire(call),
    log: (pluginId: string, record: LogRecord) => logs.fire({ pluginId, record }),
    /** How many listeners the supervisor's events have: a disposed feature leaves none. */
    listeners: () => stateChanges.size + calls.size + logs.size,
    scopeSize: (id: string) => known.get(id)?.scope.size ?? 0,
  };
}
