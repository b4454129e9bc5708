/**
 * One MCP tool call over Streamable HTTP (`/mcp`), from the official MCP client SDK in this process to the echo
 * plugin: through the HTTP transport, the relay to the `mcp_adapter` process, its MCP server, and the cross-plugin
 * call to the echo plugin and back. One session; at concurrency 64, 64 calls in flight on it.
 */
import { setMaxListeners } from "node:events";
import { Client, StreamableHTTPClientTransport } from "@modelcontextprotocol/client";
import { BENCH_ARGS, ECHO_ENTRY_ID } from "./bench-payload.ts";
import { type LoadPlan, type LoadResults, runLoadPlan } from "./load-loop.ts";

export async function measureMcpToolCalls(options: {
  url: string;
  pluginId: string;
  plan: LoadPlan;
  signal: AbortSignal;
}): Promise<LoadResults> {
  // The SDK's client hands one long-lived AbortSignal to every fetch, and Node 20's fetch lets go of its listener on
  // that signal only when the request is collected: thousands of calls in a few seconds pass Node's warning limit.
  // That is the client's, not what is measured: the warning is off for the rest of the bench run.
  setMaxListeners(0);
  const client = new Client({ name: "neko-bench", version: "1.0.0" });
  await client.connect(new StreamableHTTPClientTransport(new URL(`${options.url}/mcp`)));
  const name = `${options.pluginId}__${ECHO_ENTRY_ID}`;
  const op = async () => {
    const result = await client.callTool({ name, arguments: BENCH_ARGS });
    if (result.isError) throw new Error(`MCP tool call failed: ${JSON.stringify(result.content)}`);
  };
  try {
    // Fails loudly before measuring if the tool does not answer what we expect.
    const first = await client.callTool({ name, arguments: BENCH_ARGS });
    if (JSON.stringify(first.structuredContent) !== JSON.stringify(BENCH_ARGS)) {
      throw new Error(`the MCP tool answered ${JSON.stringify(first)}`);
    }
    return await runLoadPlan(op, options.plan, options.signal);
  } finally {
    await client.close().catch(() => undefined);
  }
}
