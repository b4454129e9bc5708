/**
 * A gateway response as an MCP tool result (docs/mcp.md#tool-calls-and-results): success gives `structuredContent`
 * (the fields of `llmResultFields` when the entry names some; a value that is not an object is `{ result: value }`)
 * and the same as JSON text. A failure is `isError: true` with a code and the message, as text and in
 * `structuredContent.error`: the entry's own code when the entry answered `Err` (the gateway's `invoke_failed` stays
 * in `gateway_code`), else the gateway's (`policy_denied`, `route_failed`, …).
 */
import type { CallToolResult } from "@modelcontextprotocol/server";
import type { GatewayResponse } from "@neko/plugin-sdk/adapter";

export function toolResult(response: GatewayResponse, llmResultFields: string[] | null): CallToolResult {
  if (!response.ok) {
    const { code: gatewayCode, message, retryable, details } = response.error;
    const from = details as { code?: unknown; details?: unknown } | undefined;
    const code = typeof from?.code === "string" ? from.code : gatewayCode;
    return {
      isError: true,
      content: [{ type: "text", text: `${code}: ${message}` }],
      structuredContent: {
        error: { code, message, gateway_code: gatewayCode, retryable, details: from?.details ?? details ?? null },
      },
    };
  }
  const value = response.data;
  const structured = isPlainObject(value) ? pick(value, llmResultFields) : { result: value ?? null };
  const text = typeof value === "string" ? value : JSON.stringify(structured);
  return { content: [{ type: "text", text }], structuredContent: structured };
}

function pick(value: Record<string, unknown>, fields: string[] | null): Record<string, unknown> {
  if (!fields || fields.length === 0) return value;
  return Object.fromEntries(fields.filter((f) => Object.hasOwn(value, f)).map((f) => [f, value[f]]));
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
