/**
 * Entry point of a plugin process (started by the host's supervisor through bin/plugin-runner.mjs).
 * Connects to the host, loads the plugin class, says hello with the one-time secret, then serves calls.
 */
import fs from "node:fs";
import path from "node:path";
import { ErrorCode, formatLoadFailureLine, PROTOCOL_VERSION } from "@neko/protocol";
import { toWireError } from "../errors.ts";
import { constructWithContext, createPluginContext } from "../plugin-context.ts";
import { createPluginLogger } from "../plugin-logger.ts";
import { installConfigSync } from "./config-sync.ts";
import { EntryRegistry } from "./entry-registry.ts";
import { HostClient } from "./host-client.ts";
import { PluginFreezer, persistModeOf } from "./plugin-freezer.ts";
import { loadPluginClass } from "./plugin-loader.ts";
import { PluginRuntime } from "./plugin-runtime.ts";
import { ProcessStatsSampler } from "./process-stats-sampler.ts";
import { guardWorkerThreads } from "./worker-threads-guard.ts";
import { ZmqPluginTransport } from "./zmq-plugin-transport.ts";

function requireEnv(name: string): string {
  const value = process.env[name];
  if (!value) {
    process.stderr.write(`plugin runner: ${name} is not set; this process must be started by the neko-plugin host\n`);
    process.exit(2);
  }
  return value;
}

const pluginId = requireEnv("NEKO_PLUGIN_ID");
const secret = requireEnv("NEKO_PLUGIN_SECRET");
const endpoint = requireEnv("NEKO_ENDPOINT");
const pluginDir = requireEnv("NEKO_PLUGIN_DIR");
const dataDir = path.join(pluginDir, "data");
const [modulePath, className] = requireEnv("NEKO_PLUGIN_ENTRY").split("::");
// The manifest and the effective configuration (manifest deep-merged with the active profile) come in a file the host
// wrote for this process (an environment string is capped at 128 KiB); read once, then deleted.
const contextFile = requireEnv("NEKO_PLUGIN_CONTEXT_FILE");
const context = JSON.parse(fs.readFileSync(contextFile, "utf8")) as {
  manifest?: Record<string, unknown>;
  config?: Record<string, unknown> | null;
};
fs.rmSync(contextFile, { force: true });
const metadata = context.manifest ?? {};
// `this.config` falls back to the manifest.
const config = context.config ?? null;
// The secret is for this handshake only; nothing the plugin runs later can read it.
delete process.env.NEKO_PLUGIN_SECRET;

const logger = createPluginLogger(pluginId);
const transport = new ZmqPluginTransport(endpoint);
const client = new HostClient(transport, { waitForWelcome: true, onDropped: (problem) => logger.warn(problem) });

async function exit(code: number): Promise<never> {
  await transport.close();
  process.exit(code);
}

// The host is our parent: when it goes away (even by kill -9) the IPC channel closes and so do we.
process.on("disconnect", () => process.exit(0));
// Ctrl-C in a terminal signals the whole process group; the host decides when its plugins stop.
process.on("SIGINT", () => undefined);

process.on("uncaughtException", (error) => logger.exception("uncaught exception", error));
process.on("unhandledRejection", (error) => logger.exception("unhandled rejection", error));

// Before any plugin code: under the permission model, threads only when [plugin.permissions] grants them.
guardWorkerThreads(metadata);

let runtime: PluginRuntime;
try {
  const PluginClass = await loadPluginClass(path.resolve(pluginDir, modulePath), className);
  const entries = new EntryRegistry();
  const instance = constructWithContext(
    createPluginContext({
      pluginId,
      metadata,
      ...(config && { config }),
      configDir: pluginDir,
      dataDir,
      logger,
      entries,
      bridge: client,
    }),
    () => new PluginClass(),
  );
  runtime = new PluginRuntime({ instance, logger, entries });
  installConfigSync(runtime);
  PluginFreezer.install({ runtime, dataDir, persistMode: persistModeOf(metadata), logger });
} catch (error) {
  const wire = { ...toWireError(error), code: ErrorCode.PluginLoadFailed };
  transport.send({ type: "load_failed", protocol: PROTOCOL_VERSION, pluginId, secret, error: wire });
  // Written synchronously to the stderr pipe: it reaches the host even if the process exits before the frame does.
  process.stderr.write(formatLoadFailureLine(wire));
  await exit(1);
  throw error;
}

// Sampling lasts as long as the process: `exit` ends both.
const stats = new ProcessStatsSampler();
runtime.attach(transport, { client, onShutdown: () => void exit(0), sampleStats: () => stats.sample() });
transport.send(runtime.hello({ pluginId, secret }));
