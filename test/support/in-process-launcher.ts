/**
 * Runs the real SDK runtime inside the test process, over a `MemoryHostTransport`: a `PluginLauncher` for a
 * `PluginHost` whose plugins are classes the test hands it. The host side is the real one (supervisor, features,
 * host services); only the process and the socket are left out, so hundreds of starts take no time.
 */
import path from "node:path";
import {
  type ChildExit,
  type ChildLine,
  type LaunchRequest,
  MemoryHostTransport,
  type PluginChild,
  type PluginLauncher,
} from "@neko/host";
import { Emitter } from "@neko/protocol";
import { constructWithContext, createPluginContext } from "../../packages/sdk/src/plugin-context.ts";
import { createPluginLogger } from "../../packages/sdk/src/plugin-logger.ts";
import type { NekoPluginBase } from "../../packages/sdk/src/plugin.ts";
import { installConfigSync } from "../../packages/sdk/src/runtime/config-sync.ts";
import { EntryRegistry } from "../../packages/sdk/src/runtime/entry-registry.ts";
import { HostClient } from "../../packages/sdk/src/runtime/host-client.ts";
import { PluginRuntime } from "../../packages/sdk/src/runtime/plugin-runtime.ts";

let nextPid = 70_000;

export class InProcessLauncher implements PluginLauncher {
  readonly transport = new MemoryHostTransport();
  /** How many plugin "processes" were launched. */
  launched = 0;

  constructor(private readonly classes: Record<string, new () => NekoPluginBase>) {}

  launch(request: LaunchRequest): PluginChild {
    const PluginClass = this.classes[request.pluginId];
    if (!PluginClass) throw new Error(`no class for plugin '${request.pluginId}' in this test`);
    this.launched += 1;
    return new InProcessChild(request, this.transport, PluginClass);
  }
}

class InProcessChild implements PluginChild {
  readonly pid = nextPid++;
  private readonly lines = new Emitter<ChildLine>();
  private readonly exits = new Emitter<ChildExit>();
  readonly onLine = this.lines.event;
  readonly onExit = this.exits.event;
  private exited = false;
  private readonly close: () => Promise<void>;

  constructor(request: LaunchRequest, transport: MemoryHostTransport, PluginClass: new () => NekoPluginBase) {
    const connection = transport.connect(request.connection);
    this.close = () => connection.close();
    // A process starts on a later turn: the launcher has returned and the host is waiting for the hello.
    setImmediate(() => {
      const { pluginId } = request;
      const context = request.context as { manifest?: Record<string, unknown>; config?: Record<string, unknown> };
      const logger = createPluginLogger(pluginId, { level: "silent" });
      const client = new HostClient(connection, { waitForWelcome: true });
      const entries = new EntryRegistry();
      const instance = constructWithContext(
        createPluginContext({
          pluginId,
          metadata: context.manifest ?? {},
          ...(context.config && { config: context.config }),
          configDir: request.pluginDir,
          dataDir: path.join(request.pluginDir, "data"),
          logger,
          entries,
          bridge: client,
        }),
        () => new PluginClass(),
      );
      const runtime = new PluginRuntime({ instance, logger, entries });
      installConfigSync(runtime);
      runtime.attach(connection, { client, onShutdown: () => this.exit(0, null) });
      connection.send(runtime.hello({ pluginId, secret: request.secret }));
    });
  }

  kill(signal: NodeJS.Signals = "SIGKILL"): void {
    this.exit(null, signal);
  }

  outputDone(): Promise<void> {
    return Promise.resolve();
  }

  private exit(code: number | null, signal: NodeJS.Signals | null): void {
    if (this.exited) return;
    this.exited = true;
    void this.close();
    setImmediate(() => this.exits.fire({ code, signal }));
  }
}
