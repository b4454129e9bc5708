/**
 * What a plugin process (or thread) runs (started by the host's supervisor through bin/plugin-runner.mjs, which imports
 * plugin-main.ts, or calls this from a startup snapshot: snapshot-main.ts). Reads its bootstrap descriptor, connects
 * to the host, loads the plugin class, says hello with the one-time secret, then serves calls.
 */
import fs from "node:fs";
import path from "node:path";
import {
  BOOTSTRAP_FD_ENV,
  ErrorCode,
  type ExtensionSpec,
  formatLoadFailureLine,
  MAX_BOOTSTRAP_BYTES,
  type PluginBootstrap,
  PROTOCOL_VERSION,
  parseBootstrap,
  pipeEndpointFd,
} from "@neko/protocol";
import { describeConfigSchema } from "../config-schema.ts";
import { toWireError } from "../errors.ts";
import { constructWithContext, createPluginContext } from "../plugin-context.ts";
import { withFileLogging } from "../plugin-file-logger.ts";
import { createPluginLogger } from "../plugin-logger.ts";
import { installConfigSync } from "./config-sync.ts";
import { EntryRegistry } from "./entry-registry.ts";
import { HostClient } from "./host-client.ts";
import { PluginFreezer, persistModeOf } from "./plugin-freezer.ts";
import { loadPluginClass } from "./plugin-loader.ts";
import { PluginRuntime } from "./plugin-runtime.ts";
import type { PluginTransport } from "./plugin-transport.ts";
import { PortPluginTransport } from "./port-plugin-transport.ts";
import { ProcessStatsSampler } from "./process-stats-sampler.ts";
import { PipePluginTransport } from "./pipe-plugin-transport.ts";
import { type ThreadBootstrap, takeThreadBootstrap } from "./thread-bootstrap.ts";
import { guardHeapSnapshots } from "./heap-snapshot-guard.ts";
import { guardWorkerThreads } from "./worker-threads-guard.ts";

function fail(message: string): never {
  process.stderr.write(`plugin runner: ${message}; this process must be started by the neko-plugin host\n`);
  process.exit(2);
}

function restoreHeapLimitFlag(): void {
  const restore = (globalThis as Record<symbol, unknown>)[Symbol.for("neko-plugin.restore-heap-limit-flag")];
  if (typeof restore === "function") restore();
}

function requireEnv(name: string): string {
  return process.env[name] || fail(`${name} is not set`);
}

/**
 * The secret, the connection's credentials and the context (manifest, effective configuration) come through the
 * bootstrap descriptor: read to its end, once, before any plugin code is loaded, and closed.
 */
function readBootstrap(thread: ThreadBootstrap | undefined): PluginBootstrap {
  // A thread plugin's comes from its runner (thread-bootstrap.ts).
  let text = thread?.bootstrap;
  if (text === undefined) {
    const fd = Number(requireEnv(BOOTSTRAP_FD_ENV));
    try {
      text = fs.readFileSync(fd, "utf8");
      fs.closeSync(fd);
    } catch (error) {
      fail(`could not read the bootstrap descriptor ${fd} (${(error as Error).message})`);
    }
  }
  if (text.length > MAX_BOOTSTRAP_BYTES) fail("the bootstrap is larger than MAX_BOOTSTRAP_BYTES");
  const bootstrap = parseBootstrap(text);
  return typeof bootstrap === "string" ? fail(bootstrap) : bootstrap;
}

/** Runs the plugin of this process or thread: resolves once its hello is sent (it then serves calls until its exit). */
export async function runPluginProcess(): Promise<void> {
  const thread = takeThreadBootstrap();
  const bootstrap = readBootstrap(thread);
  const { pluginId, secret } = bootstrap;
  const pluginDir = requireEnv("NEKO_PLUGIN_DIR");
  const dataDir = path.join(pluginDir, "data");
  const [modulePath, className] = requireEnv("NEKO_PLUGIN_ENTRY").split("::");
  const context = bootstrap.context as {
    manifest?: Record<string, unknown>;
    config?: Record<string, unknown> | null;
    /** The extensions to load into this plugin (docs/extensions.md). */
    extensions?: ExtensionSpec[];
  };
  const metadata = context.manifest ?? {};
  // `this.config` falls back to the manifest.
  const config = context.config ?? null;

  // One logger for the plugin and the SDK's own lines (a failing entry, an unhandled rejection): once the plugin turns on
  // its own log file (docs/logging.md), they all go there too.
  const logger = withFileLogging(createPluginLogger(pluginId), { pluginId, dataDir });
  // A thread plugin never loads ZeroMQ (its runner holds its connection): the addon would make a context per thread.
  // A process uses the pipe transport (the host's socket pair, fd `pipe:<fd>`), which needs no native code, or ZeroMQ,
  // whose addon is loaded only for a process the host put on ZeroMQ.
  const pipeFd = thread ? undefined : pipeEndpointFd(bootstrap.connection.endpoint);
  const transport: PluginTransport = thread
    ? new PortPluginTransport(thread.port)
    : pipeFd !== undefined
      ? new PipePluginTransport(pipeFd)
      : new (await import("./zmq-plugin-transport.ts")).ZmqPluginTransport(bootstrap.connection);
  const client = new HostClient(transport, { waitForWelcome: true, onDropped: (problem) => logger.warn(problem) });

  async function exit(code: number): Promise<never> {
    await transport.close();
    process.exit(code);
  }

  // The host is our parent: when it goes away (even by kill -9) the IPC channel closes and so do we.
  process.on("disconnect", () => process.exit(0));
  // A host that died while this module's imports were loading closed the channel before anyone listened.
  if (process.send !== undefined && !process.connected) process.exit(0);
  // Ctrl-C in a terminal signals the whole process group; the host decides when its plugins stop.
  process.on("SIGINT", () => undefined);

  process.on("uncaughtException", (error) => logger.exception("uncaught exception", error));
  process.on("unhandledRejection", (error) => logger.exception("unhandled rejection", error));

  // Before any plugin code: under the permission model, threads only when [plugin.permissions] grants them.
  guardWorkerThreads(metadata);
  // Nor a heap snapshot written, as the heap nears its limit, where it may not write.
  guardHeapSnapshots();
  // Before any plugin code: the heap limit's flag, set aside while the runtime loaded (bin/heap-limit-flag.mjs), is back,
  // so a worker the plugin starts is held to the same limit.
  restoreHeapLimitFlag();

  let runtime: PluginRuntime;
  let configSchema: Record<string, unknown> | undefined;
  try {
    const PluginClass = await loadPluginClass(path.resolve(pluginDir, modulePath), className);
    // Sent with the hello; the host checks the configuration against it before the plugin's startup runs.
    const declared = (PluginClass as { configSchema?: unknown }).configSchema;
    if (declared !== undefined) configSchema = describeConfigSchema(declared);
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
    runtime.extensions.install();
  } catch (error) {
    const wire = { ...toWireError(error), code: ErrorCode.PluginLoadFailed };
    transport.send({ type: "load_failed", protocol: PROTOCOL_VERSION, pluginId, secret, error: wire });
    // Written synchronously to the stderr pipe: it reaches the host even if the process exits before the frame does.
    process.stderr.write(formatLoadFailureLine(wire));
    await exit(1);
    throw error;
  }

  // Before the hello, so it lists their entries; a broken one is reported in it as `failed` and the plugin starts.
  await runtime.extensions.loadAtStart(Array.isArray(context.extensions) ? context.extensions : []);

  // Sampling lasts as long as the process: `exit` ends both.
  const stats = new ProcessStatsSampler();
  runtime.attach(transport, { client, onShutdown: () => void exit(0), sampleStats: () => stats.sample() });
  transport.send(runtime.hello({ pluginId, secret, ...(configSchema && { configSchema }) }));
}
