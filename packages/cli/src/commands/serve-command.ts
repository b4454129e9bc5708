/** `neko-plugin serve`: host + HTTP server until Ctrl-C / SIGTERM, which stop every plugin process. */
import type { Command } from "commander";
import {
  createHostLogger,
  type HostLogger,
  HostLogSink,
  isTransportKind,
  LOCAL_TRANSPORT_ENV,
  PluginHost,
  type PluginHostOptions,
  readKeyFile,
  resolvePluginRoots,
  TRANSPORT_KINDS,
  type TransportKind,
} from "@neko/host";
import { createPluginServer, DEFAULT_HOST, DEFAULT_PORT, isLoopbackHost, parseAllowedHosts } from "@neko/server";
import { BUILTIN_PLUGINS_DIR } from "../builtin-plugins.ts";

interface ServeOptions {
  port?: string;
  host: string;
  pluginsDir: string[];
  allowedHost: string[];
  builtin: boolean;
  workers?: string;
  keyFile?: string;
  workerKey: string[];
  logDir?: string;
  logFormat?: string;
  transport?: string;
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
    .option(
      "--transport <kind>",
      `how local Node plugins talk to the host when their manifest does not say: pipe (a private socket pair per ` +
        `process) or zmq (default: $${LOCAL_TRANSPORT_ENV}, else pipe; Python plugins and workers always use zmq)`,
    )
    .option("--workers <endpoint>", "accept remote workers at tcp://ADDRESS:PORT (docs/workers.md)")
    .option("--key-file <file>", "the host's CURVE key pair, for --workers (neko-plugin keys --out FILE)")
    .option("--worker-key <key>", "the public key of a worker allowed to connect (repeatable)", collect, [])
    .option(
      "--log-dir <dir>",
      "keep the rotated log files here, after the host stops too (default: $NEKO_LOG_DIR, else the run folder)",
    )
    .option(
      "--log-format <format>",
      "pretty (readable, coloured) or json (one object per line) (default: $NEKO_LOG_FORMAT, else pretty on a " +
        "terminal and json otherwise)",
    )
    .addHelpText(
      "after",
      "\nExamples:\n  $ neko-plugin serve\n  $ neko-plugin serve --port 8080 --plugins-dir ./my-plugins\n" +
        "  $ neko-plugin serve --log-format json > host.log",
    )
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

  const workers = readWorkerOptions(options);
  const localTransport = readTransport(options.transport);
  // The host's log file gets every line of its logger, from the first one on.
  const hostLines = new HostLogSink();
  const logger = createHostLogger({ sink: hostLines, pretty: readLogFormat(options.logFormat) });
  const roots = resolvePluginRoots({
    builtinDir: options.builtin ? BUILTIN_PLUGINS_DIR : undefined,
    pluginDirs: options.pluginsDir,
    env: process.env,
  });
  logger.info({ roots }, "plugin roots");
  // A browser sends the token to a WebSocket as a subprotocol, which takes only these characters (RFC 7230 tokens).
  if (apiToken !== undefined && !/^[A-Za-z0-9!#$%&'*+\-.^_`|~]+$/.test(apiToken)) {
    logger.warn(
      "NEKO_API_TOKEN has characters a browser cannot send to the WebSockets (/ws/*): use only letters, digits and " +
        "!#$%&'*+-.^_`|~ (scripts sending the Authorization header are not affected)",
    );
  }
  let host: PluginHost;
  try {
    host = await PluginHost.create({
      roots,
      logger,
      workers,
      logFiles: { dir: options.logDir, hostLines },
      ...(localTransport && { localTransport }),
    });
  } catch (error) {
    fail((error as Error).message);
  }
  if (workers) {
    logger.info(`accepting ${workers.authorizedKeys.length} workers at ${host.info().worker_endpoint}`);
  }
  const server = await createPluginServer({ host, logger, apiToken, allowedHosts });

  stopOnSignals({ server, host, logger });

  const url = await listenOrExit({ server, host, address: options.host, port, command: "serve" });
  logger.info(`listening on ${url} — starting plugins…`);
  await host.startAll();
  const info = host.info();
  const summary = Object.entries(info.plugins.by_status)
    .map(([status, n]) => `${n} ${status}`)
    .join(", ");
  const plugins = `${info.plugins.total} plugin${info.plugins.total === 1 ? "" : "s"}`;
  logger.info(`ready at ${url}: ${plugins} (${summary || "none"})`);
}

function readWorkerOptions(options: ServeOptions): PluginHostOptions["workers"] {
  if (!options.workers) {
    if (options.keyFile || options.workerKey.length > 0) fail("--key-file and --worker-key go with --workers");
    return undefined;
  }
  if (!/^tcp:\/\/.+:\d+$/.test(options.workers))
    fail(`--workers must be tcp://ADDRESS:PORT (got '${options.workers}')`);
  if (!options.keyFile) fail("--workers needs --key-file: the host's key pair (neko-plugin keys --out FILE)");
  if (options.workerKey.length === 0) fail("--workers needs at least one --worker-key: no worker could connect");
  try {
    return { endpoint: options.workers, keys: readKeyFile(options.keyFile), authorizedKeys: options.workerKey };
  } catch (error) {
    fail((error as Error).message);
  }
}

/** --log-format, else NEKO_LOG_FORMAT: true for pretty, false for JSON, undefined to decide by the terminal. */
export function readLogFormat(flag: string | undefined): boolean | undefined {
  const fromEnv = process.env.NEKO_LOG_FORMAT || undefined;
  const [source, format] = flag !== undefined ? ["--log-format", flag] : ["NEKO_LOG_FORMAT", fromEnv];
  if (format === undefined) return undefined;
  if (format !== "pretty" && format !== "json") fail(`${source} must be pretty or json (got '${format}')`);
  return format === "pretty";
}

/** --transport, checked; undefined leaves the choice to $NEKO_PLUGIN_TRANSPORT and the default. */
function readTransport(flag: string | undefined): TransportKind | undefined {
  if (flag === undefined) return undefined;
  if (!isTransportKind(flag)) fail(`--transport must be one of ${TRANSPORT_KINDS.join(", ")} (got '${flag}')`);
  return flag;
}

/** --port, else NEKO_PORT (an empty one counts as unset), else the default; a bad value names where it came from. */
export function readPort(flag: string | undefined): number {
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

/**
 * Ctrl-C and SIGTERM stop every plugin and the server, then exit (`serve`, `dev`). Plugins stop without waiting for
 * calls in flight (those fail fast instead of holding the stop up), dependents before their dependencies; open HTTP
 * connections get a moment to receive those answers, then they are cut. `beforeStop` runs first (dev's watcher).
 */
export function stopOnSignals(options: {
  server: Awaited<ReturnType<typeof createPluginServer>>;
  host: PluginHost;
  logger: HostLogger;
  beforeStop?: () => void;
}): void {
  const { server, host, logger } = options;
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
    options.beforeStop?.();
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
}

/** Listens, answering the origin; a port that cannot be had stops the host and exits 1 with the reason. */
export async function listenOrExit(options: {
  server: Awaited<ReturnType<typeof createPluginServer>>;
  host: PluginHost;
  address: string;
  port: number;
  command: string;
}): Promise<string> {
  const { server, host, address, port } = options;
  try {
    await server.listen({ port, host: address });
  } catch (error) {
    await host.stop();
    process.stderr.write(
      `neko-plugin ${options.command}: could not listen on ${address}:${port}: ${(error as Error).message}\n`,
    );
    process.exit(1);
  }
  return server.listeningOrigin;
}
