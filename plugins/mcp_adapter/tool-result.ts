/**
 * An entry's `Result` as an MCP tool result (docs/mcp.md#results): `Ok` gives `structuredContent` (the fields of
 * `llmResultFields` when the entry names some; a value that is not an object is `{ result: value }`) and the same as
 * JSON text; an `Err` is `isError: true` with the error's code and message, as text and in `structuredContent.error`.
 */
import type { CallToolResult } from "@modelcontextprotocol/server";
import type { Result, SdkError } from "@neko/plugin-sdk/plugin";

export function toolResult(result: Result<unknown, SdkError>, llmResultFields: string[] | null): CallToolResult {
  if (!result.ok) {
    const { code, message, details } = result.error;
    return {
      isError: true,
      content: [{ type: "text", text: `${code}: ${message}` }],
      structuredContent: { error: { code, message, details: details ?? null } },
    };
  }
  const value = result.value;
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
