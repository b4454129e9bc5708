/**
 * What an external MCP tool's answer becomes for the entry's caller: its structured content (else `{ content }`) as
 * `Ok`, and an `isError` answer or a failed call as an `Err` with a stable code, the server and the tool named.
 */
import {
  type CallToolResult,
  SdkError as McpSdkError,
  ProtocolError,
  SdkErrorCode,
} from "@modelcontextprotocol/client";
import { Err, Ok, type Result, SdkError, TimeoutError } from "@neko/plugin-sdk/plugin";

/** Error codes of the MCP client side, beside the framework's own (`TIMEOUT`, `CANCELED`, `VALIDATION_ERROR`). */
export const McpClientErrorCode = {
  ServerNotFound: "MCP_SERVER_NOT_FOUND",
  ServerExists: "MCP_SERVER_EXISTS",
  ServerInvalid: "MCP_SERVER_INVALID",
  NotConnected: "MCP_SERVER_NOT_CONNECTED",
  ToolNotFound: "MCP_TOOL_NOT_FOUND",
  /** The tool ran and answered `isError: true`. */
  ToolError: "MCP_TOOL_ERROR",
  /** The server answered the call with a JSON-RPC error, or the call failed on the way. */
  CallFailed: "MCP_CALL_FAILED",
} as const;

/** A tool's answer as an entry result: `isError` becomes an `Err` carrying the tool's own words. */
export function toolResult(server: string, tool: string, result: CallToolResult): Result<unknown, SdkError> {
  const content = Array.isArray(result.content) ? result.content : [];
  if (result.isError) {
    const text = content
      .filter((block): block is { type: "text"; text: string } => block.type === "text")
      .map((block) => block.text)
      .join("\n");
    return Err(
      new SdkError(`MCP tool '${tool}' of server '${server}' reported an error: ${text || "(no message)"}`, {
        code: McpClientErrorCode.ToolError,
        details: {
          server,
          tool,
          content,
          ...(result.structuredContent !== undefined && { structured_content: result.structuredContent }),
        },
      }),
    );
  }
  if (result.structuredContent !== undefined) return Ok(result.structuredContent);
  return Ok({ content });
}

/** Why a tool call threw, as an error the entry's caller can act on; `canceled`: the caller's signal was aborted. */
export function callError(options: {
  server: string;
  tool: string;
  error: unknown;
  timeoutSeconds: number;
  canceled: boolean;
}): SdkError {
  const { server, tool, error, timeoutSeconds } = options;
  const details = { server, tool };
  // The SDK reports an abort as its request timeout; the caller's signal tells the two apart.
  if (options.canceled) {
    return new SdkError(`the call of MCP tool '${tool}' was canceled`, { code: "CANCELED", details });
  }
  if (ProtocolError.isInstance(error)) {
    return new SdkError(`MCP server '${server}' refused the call of '${tool}': ${error.message}`, {
      code: McpClientErrorCode.CallFailed,
      details: { ...details, mcp_code: error.code, ...(error.data !== undefined && { data: error.data }) },
    });
  }
  if (McpSdkError.isInstance(error)) {
    if (error.code === SdkErrorCode.RequestTimeout) {
      return new TimeoutError(`MCP tool '${tool}' of server '${server}' did not answer within ${timeoutSeconds} s`, {
        details,
      });
    }
    if (error.code === SdkErrorCode.ConnectionClosed || error.code === SdkErrorCode.NotConnected) {
      return new SdkError(`the connection to MCP server '${server}' closed during the call of '${tool}'`, {
        code: McpClientErrorCode.NotConnected,
        details,
      });
    }
  }
  return new SdkError(`the call of MCP tool '${tool}' of server '${server}' failed: ${messageOf(error)}`, {
    code: McpClientErrorCode.CallFailed,
    details,
  });
}

/** An error's message, with its cause's when it has one (fetch's "fetch failed" says why only there). */
export function messageOf(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const cause = error.cause instanceof Error ? error.cause.message : undefined;
  return cause && !error.message.includes(cause) ? `${error.message} (${cause})` : error.message;
}
