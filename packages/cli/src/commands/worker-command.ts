/**
 * `neko-plugin worker`: runs this machine's plugins for a host on another one, over ZeroMQ `tcp://` with CURVE
 * (SPEC §4.1, docs/workers.md). Runs until Ctrl-C / SIGTERM, which stop its plugin processes.
 */
import type { Command } from "commander";
import {
  createHostLogger,
  PLUGIN_RUNNER_PATH,
  PluginWorker,
  publicKeyHex,
  readKeyFile,
  resolvePluginRoots,
  warmPluginSources,
} from "@neko/host";

interface WorkerOptions {
  connect: string;
  pluginsDir: string[];
  serverKey: string;
  keyFile: string;
  name?: string;
}

export function registerWorkerCommand(program: Command): void {
  program
    .command("worker")
    .description("run this machine's plugins for a host on another machine")
    .requiredOption("-c, --connect <endpoint>", "the host's worker endpoint, tcp://HOST:PORT")
    .requiredOption("-d, --plugins-dir <dir>", "a plugin root on this machine (repeatable)", collect, [])
    .requiredOption("--server-key <key>", "the host's public key (from its key file)")
    .requiredOption("--key-file <file>", "this worker's key pair (neko-plugin keys --out FILE)")
    .option("-n, --name <name>", "how the host lists this machine (default: the hostname)")
    .addHelpText(
      "after",
      "\nExample:\n  $ neko-plugin worker --connect tcp://10.0.0.2:48920 --plugins-dir ./plugins --server-key <host public key> \\\n      --key-file worker.key",
    )
    .action((options: WorkerOptions) => worker(options));
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

async function worker(options: WorkerOptions): Promise<void> {
  if (!/^tcp:\/\/.+:\d+$/.test(options.connect)) fail(`--connect must be tcp://HOST:PORT (got '${options.connect}')`);
  let keys: { publicKey: string; secretKey: string };
  try {
    publicKeyHex(options.serverKey, "--server-key");
    keys = readKeyFile(options.keyFile);
  } catch (error) {
    fail((error as Error).message);
  }
  const logger = createHostLogger();
  const roots = resolvePluginRoots({ pluginDirs: options.pluginsDir, env: {} });
  let running: PluginWorker | undefined;
  try {
    running = await PluginWorker.start({
      connect: options.connect,
      serverKey: options.serverKey,
      keys,
      roots,
      name: options.name,
      logger,
      runnerPath: PLUGIN_RUNNER_PATH,
      prepareSources: (dir) => warmPluginSources(dir, logger),
      onFatal: (reason) => {
        process.stderr.write(`neko-plugin worker: the host refused this worker: ${reason}\n`);
        void running?.stop().finally(() => process.exit(1));
      },
    });
  } catch (error) {
    fail((error as Error).message);
  }
  logger.info({ roots }, `worker '${running.name}' connecting to ${options.connect}…`);
  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info(`${signal}: stopping every plugin…`);
    await running.stop();
    logger.info("stopped");
    process.exit(0);
  };
  process.on("SIGINT", () => void shutdown("SIGINT"));
  process.on("SIGTERM", () => void shutdown("SIGTERM"));
}

function fail(message: string): never {
  process.stderr.write(`neko-plugin worker: ${message}\n`);
  process.exit(1);
}
