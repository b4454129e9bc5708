/** `neko-plugin serve`: host + HTTP server until Ctrl-C / SIGTERM, which stop every plugin process. */
import type { Command } from "commander";
import { createHostLogger, PluginHost, resolvePluginRoots } from "@neko/host";
import { createPluginServer, DEFAULT_HOST, DEFAULT_PORT, isLoopbackHost } from "@neko/server";
import { BUILTIN_PLUGINS_DIR } from "../builtin-plugins.ts";

interface ServeOptions {
  port?: string;
  host: string;
  pluginsDir: string[];
  builtin: boolean;
}

export function registerServeCommand(program: Command): void {
  program
    .command("serve")
    .description("run the plugin host and the HTTP server")
    .option("-p, --port <port>", `port to listen on (default: $NEKO_PORT or ${DEFAULT_PORT})`)
    .option("-H, --host <address>", "address to bind", DEFAULT_HOST)
    .option("-d, --plugins-dir <dir>", "an extra plugin root (repeatable)", collect, [])
    .option("--no-builtin", "do not load the built-in plugins/ folder")
    .action((options: ServeOptions) => serve(options));
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

async function serve(options: ServeOptions): Promise<void> {
  const port = Number(options.port ?? process.env.NEKO_PORT ?? DEFAULT_PORT);
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    fail(`--port must be a whole number from 0 to 65535 (got '${options.port}')`);
  const apiToken = process.env.NEKO_API_TOKEN || undefined;
  if (!isLoopbackHost(options.host) && !apiToken) {
    fail(`binding to ${options.host} exposes the server beyond this machine: set NEKO_API_TOKEN first`);
  }

  const logger = createHostLogger();
  const roots = resolvePluginRoots({
    builtinDir: options.builtin ? BUILTIN_PLUGINS_DIR : undefined,
    pluginDirs: options.pluginsDir,
    env: process.env,
  });
  logger.info({ roots }, "plugin roots");
  const host = await PluginHost.create({ roots, logger });
  const server = await createPluginServer({ host, logger, apiToken });

  let stoppingSince = 0;
  const shutdown = async (signal: string) => {
    if (stoppingSince) {
      // npm forwards Ctrl-C to us while the terminal sends it too: only a later, deliberate repeat forces the exit.
      if (Date.now() - stoppingSince < 1500) return;
      logger.warn(`${signal} again: exiting now`);
      process.exit(1);
    }
    stoppingSince = Date.now();
    logger.info(`${signal}: stopping every plugin…`);
    await server.close().catch(() => undefined);
    await host.stop();
    logger.info("stopped");
    process.exit(0);
  };
  process.on("SIGINT", () => void shutdown("SIGINT"));
  process.on("SIGTERM", () => void shutdown("SIGTERM"));

  try {
    await server.listen({ port, host: options.host });
  } catch (error) {
    await host.stop();
    fail(`could not listen on ${options.host}:${port}: ${(error as Error).message}`);
  }
  const url = server.listeningOrigin;
  logger.info(`listening on ${url} — starting plugins…`);
  await host.startAll();
  const info = host.info();
  const summary = Object.entries(info.plugins.by_status)
    .map(([status, n]) => `${n} ${status}`)
    .join(", ");
  logger.info(`ready at ${url}: ${info.plugins.total} plugins (${summary || "none"})`);
}

function fail(message: string): never {
  process.stderr.write(`neko-plugin serve: ${message}\n`);
  process.exit(1);
}
