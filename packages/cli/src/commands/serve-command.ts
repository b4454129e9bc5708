/** `neko-plugin serve`: host + HTTP server until Ctrl-C / SIGTERM, which stop every plugin process. */
import type { Command } from "commander";
import { createHostLogger, PluginHost, resolvePluginRoots } from "@neko/host";
import { createPluginServer, DEFAULT_HOST, DEFAULT_PORT, isLoopbackHost, parseAllowedHosts } from "@neko/server";
import { BUILTIN_PLUGINS_DIR } from "../builtin-plugins.ts";

interface ServeOptions {
  port?: string;
  host: string;
  pluginsDir: string[];
  allowedHost: string[];
  builtin: boolean;
}

export function registerServeCommand(program: Command): void {
  program
    .command("serve")
    .description("run the plugin host and the HTTP server")
    .option("-p, --port <port>", `port to listen on (default: $NEKO_PORT or ${DEFAULT_PORT})`)
    .option("-H, --host <address>", "address to bind", DEFAULT_HOST)
    .option("-d, --plugins-dir <dir>", "an extra plugin root (repeatable)", collect, [])
    .option(
      "--allowed-host <name>",
      "another host name (optionally name:port) the server answers to, besides its address (repeatable; also " +
        "$NEKO_ALLOWED_HOSTS, comma-separated)",
      collect,
      [],
    )
    .option("--no-builtin", "do not load the built-in plugins/ folder")
    .action((options: ServeOptions) => serve(options));
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

async function serve(options: ServeOptions): Promise<void> {
  const port = readPort(options.port);
  const apiToken = process.env.NEKO_API_TOKEN || undefined;
  if (!isLoopbackHost(options.host) && !apiToken) {
    fail(`binding to ${options.host} exposes the server beyond this machine: set NEKO_API_TOKEN first`);
  }
  const allowedHosts = readAllowedHosts(options.allowedHost);

  const logger = createHostLogger();
  const roots = resolvePluginRoots({
    builtinDir: options.builtin ? BUILTIN_PLUGINS_DIR : undefined,
    pluginDirs: options.pluginsDir,
    env: process.env,
  });
  logger.info({ roots }, "plugin roots");
  const host = await PluginHost.create({ roots, logger });
  const server = await createPluginServer({ host, logger, apiToken, allowedHosts });

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
    // Plugins stop without waiting for calls in flight (those fail fast instead of holding the stop up), dependents
    // before their dependencies; open HTTP connections get a moment to receive those answers, then they are cut.
    const closing = server.close().catch(() => undefined);
    await host.stop();
    const cut = setTimeout(() => server.server.closeAllConnections(), 1000);
    await closing;
    clearTimeout(cut);
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

/** --port, else NEKO_PORT (an empty one counts as unset), else the default; a bad value names where it came from. */
function readPort(flag: string | undefined): number {
  const fromEnv = process.env.NEKO_PORT || undefined;
  const [source, text] = flag !== undefined ? ["--port", flag] : fromEnv !== undefined ? ["NEKO_PORT", fromEnv] : [];
  if (source === undefined) return DEFAULT_PORT;
  const port = Number(text);
  if (!/^\d+$/.test(text ?? "") || port > 65535)
    fail(`${source} must be a whole number from 0 to 65535 (got '${text}')`);
  return port;
}

/** --allowed-host names, then NEKO_ALLOWED_HOSTS (comma-separated); a malformed one names where it came from. */
function readAllowedHosts(flags: string[]): string[] {
  const fromEnv = (process.env.NEKO_ALLOWED_HOSTS ?? "")
    .split(",")
    .map((name) => name.trim())
    .filter(Boolean);
  for (const [source, names] of [["--allowed-host", flags] as const, ["NEKO_ALLOWED_HOSTS", fromEnv] as const]) {
    try {
      parseAllowedHosts(names);
    } catch (error) {
      fail(`${source}: ${(error as Error).message}`);
    }
  }
  return [...flags, ...fromEnv];
}

function fail(message: string): never {
  process.stderr.write(`neko-plugin serve: ${message}\n`);
  process.exit(1);
}
