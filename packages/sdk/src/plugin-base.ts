/** `NekoPluginBase`: the class every plugin extends (SPEC §3.4). */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { type PluginContext, takePendingContext } from "./plugin-context.ts";
import { createPluginLogger, type PluginLogger } from "./plugin-logger.ts";

export abstract class NekoPluginBase {
  readonly pluginId: string;
  readonly metadata: Record<string, unknown>;
  readonly configDir: string;
  readonly logger: PluginLogger;
  readonly ctx: PluginContext;

  constructor(context?: PluginContext) {
    // Outside a plugin process (a unit test constructing the class by hand) a throwaway context stands in.
    const ctx = context ?? takePendingContext() ?? standaloneContext(new.target.name);
    this.ctx = ctx;
    this.pluginId = ctx.pluginId;
    this.metadata = ctx.metadata;
    this.configDir = ctx.configDir;
    this.logger = ctx.logger;
  }

  /** A path under the plugin's `data/` folder; the folder is created on first use. */
  dataPath(...parts: string[]): string {
    fs.mkdirSync(this.ctx.dataDir, { recursive: true });
    const target = path.resolve(this.ctx.dataDir, ...parts);
    if (target !== this.ctx.dataDir && !target.startsWith(this.ctx.dataDir + path.sep)) {
      throw new RangeError(`dataPath: '${parts.join("/")}' leaves the plugin's data folder`);
    }
    return target;
  }
}

function standaloneContext(className: string): PluginContext {
  return {
    pluginId: className,
    metadata: {},
    configDir: process.cwd(),
    dataDir: path.join(os.tmpdir(), `neko-standalone-${className}`, "data"),
    logger: createPluginLogger(className, { level: "warn" }),
  };
}
