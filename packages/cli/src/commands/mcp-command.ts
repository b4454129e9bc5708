/**
 * `neko-plugin mcp` (SPEC §6, docs/mcp.md): a host with the given plugins and no HTTP server, serving all their
 * entries as an MCP server over stdio, for an MCP client that starts it (Claude Desktop, an IDE, an agent). stdout
 * carries only MCP messages; every log line goes to stderr. The MCP server itself runs in the `mcp_adapter` plugin.
 */
import type { Command } from "commander";
import { StdioServerTransport } from "@modelcontextprotocol/server/stdio";
import { createHostLogger, PluginHost, resolvePluginRoots } from "@neko/host";
import { MCP_ADAPTER_ID, relayMcp } from "@neko/server";
import { BUILTIN_PLUGINS_DIR } from "../builtin-plugins.ts";

interface McpOptions {
  pluginsDir: string[];
  builtin: boolean;
}

export function registerMcpCommand(program: Command): void {
  program
    .command("mcp")
    .description("serve every plugin entry as an MCP tool over stdio (no HTTP server; logs go to stderr)")
    .option("-d, --plugins-dir <dir>", "an extra plugin root (repeatable)", (v: string, p: string[]) => [...p, v], [])
    .option("--no-builtin", "do not load the built-in plugins/ folder (one of the roots must hold mcp_adapter)")
    .addHelpText("after", "\nExample (an MCP client's server command):\n  $ neko-plugin mcp --plugins-dir ./my-plugins")
    .action((options: McpOptions) => mcp(options));
}

async function mcp(options: McpOptions): Promise<void> {
  // stdout is the MCP channel: nothing else may be written there.
  const logger = createHostLogger({ pretty: false, destination: process.stderr });
  const roots = resolvePluginRoots({
    builtinDir: options.builtin ? BUILTIN_PLUGINS_DIR : undefined,
    pluginDirs: options.pluginsDir,
    env: process.env,
  });
  let host: PluginHost;
  try {
    host = await PluginHost.create({ roots, logger, logFiles: false });
  } catch (error) {
    fail((error as Error).message);
  }
  let stopping = false;
  const stop = async (code: number) => {
    if (stopping) return;
    stopping = true;
    await host.stop();
    process.exit(code);
  };
  process.on("SIGINT", () => void stop(0));
  process.on("SIGTERM", () => void stop(0));

  await host.startAll();
  const adapter = host.getPlugin(MCP_ADAPTER_ID);
  if (adapter?.status !== "running") {
    const why = adapter
      ? `it is ${adapter.status}${adapter.status_reason ? `: ${adapter.status_reason}` : ""}`
      : "no root holds it";
    logger.error(`neko-plugin mcp needs the ${MCP_ADAPTER_ID} plugin running, and ${why}`);
    await stop(1);
    return;
  }
  const transport = new StdioServerTransport();
  const relayed = relayMcp(host.channels, transport, {
    onError: (error) => logger.warn({ err: error }, "the MCP connection failed"),
  });
  if (!relayed.ok) {
    logger.error(`could not reach the ${MCP_ADAPTER_ID} plugin: ${relayed.error.message}`);
    await stop(1);
    return;
  }
  // The client closing stdin ends the session and this process (0); the adapter going away ends them too (1).
  const onclose = transport.onclose;
  transport.onclose = () => {
    onclose?.();
    if (!process.stdin.readableEnded) logger.error(`the ${MCP_ADAPTER_ID} plugin went away: the MCP session ended`);
    void stop(process.stdin.readableEnded ? 0 : 1);
  };
  process.stdin.once("end", () => void stop(0));
  await transport.start();
  const info = host.info();
  logger.info(`serving MCP over stdio: ${info.plugins.running} plugins running`);
}

function fail(message: string): never {
  process.stderr.write(`neko-plugin mcp: ${message}\n`);
  process.exit(1);
}
