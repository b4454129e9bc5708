/**
 * The text the adapter answers in chat (docs/onebot.md#replies): an entry's result as one message, a failure as a
 * short line with its code (never a stack), and the help line for an unknown command.
 */

/** Longest reply sent; a longer one is cut, ending with "…". */
export const MAX_REPLY_CHARS = 3000;
/** Longest error message shown. */
const MAX_ERROR_CHARS = 300;

/**
 * The reply for a result: a string as is; an object's `message` or `text` (when a string); anything else as compact
 * JSON. Null or undefined (a `drop` route, an entry that returns nothing): no reply.
 */
export function resultText(data: unknown): string | undefined {
  if (data === undefined || data === null) return undefined;
  if (typeof data === "string") return clip(data, MAX_REPLY_CHARS);
  if (typeof data === "object" && !Array.isArray(data)) {
    const { message, text } = data as { message?: unknown; text?: unknown };
    if (typeof message === "string") return clip(message, MAX_REPLY_CHARS);
    if (typeof text === "string") return clip(text, MAX_REPLY_CHARS);
  }
  return clip(JSON.stringify(data) ?? String(data), MAX_REPLY_CHARS);
}

/**
 * `Error (EMPTY_NAME): name cannot be empty`: the most specific code known (the entry's own, else the gateway's) and
 * the first line of the message.
 */
export function errorText(error: { code: string; message: string; details?: Record<string, unknown> }): string {
  const inner = error.details?.code;
  const code = typeof inner === "string" && inner !== "" ? inner : error.code;
  const firstLine = error.message.split("\n", 1)[0]?.trim() || "failed";
  return `Error (${code}): ${clip(firstLine, MAX_ERROR_CHARS)}`;
}

/** One line: `Unknown command /foo. Commands: /greet <name>, /help`. */
export function helpText(options: { unknown?: string; commands: readonly string[] }): string {
  const head = options.unknown === undefined ? "" : `Unknown command ${clip(options.unknown, 80)}. `;
  const list =
    options.commands.length === 0 ? "No commands are configured." : `Commands: ${options.commands.join(", ")}`;
  return head + list;
}

function clip(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}
