/**
 * OneBot v11 events as they arrive (docs/onebot.md#events): `parseOneBotEvent` checks a decoded JSON value and says
 * what it is — a message event with its fields checked, another kind of event the adapter ignores (heartbeats,
 * lifecycle, notices, requests, `message_sent`), or something that is not a OneBot event at all, with the reason.
 * `messageText` reads a message (a CQ-code string or a segment array) as plain text.
 */

/** A QQ id (user, group, bot account): v11 sends integers; some implementations send digit strings. */
export type OneBotId = number;

/** One segment of a message in array form: `{ type: "text", data: { text } }`, `{ type: "at", data: { qq } }`, … */
export interface OneBotSegment {
  type: string;
  data: Record<string, unknown>;
}

export interface OneBotMessageEvent {
  messageType: "private" | "group";
  selfId: OneBotId;
  userId: OneBotId;
  /** Set for group messages. */
  groupId?: OneBotId;
  /** The implementation's id of the message, as text; absent when it sent none. */
  messageId?: string;
  /** The message as sent: a string (with CQ codes) or segments. */
  message: string | OneBotSegment[];
}

export type ParsedOneBotEvent =
  | { kind: "message"; event: OneBotMessageEvent }
  /** A well-formed event of another kind (`meta_event`, `notice`, `request`, `message_sent`, …). */
  | { kind: "ignored"; postType: string }
  | { kind: "invalid"; problem: string };

export function parseOneBotEvent(value: unknown): ParsedOneBotEvent {
  if (!isRecord(value)) return invalid("the event must be a JSON object");
  const postType = value.post_type;
  if (typeof postType !== "string" || postType === "") return invalid("'post_type' must be a non-empty string");
  if (postType !== "message") return { kind: "ignored", postType };

  const messageType = value.message_type;
  if (messageType !== "private" && messageType !== "group") {
    return invalid(`'message_type' must be "private" or "group", not ${shown(messageType)}`);
  }
  const selfId = readId(value.self_id);
  if (selfId === undefined) return invalid(`'self_id' must be a QQ id (an integer), not ${shown(value.self_id)}`);
  const userId = readId(value.user_id);
  if (userId === undefined) return invalid(`'user_id' must be a QQ id (an integer), not ${shown(value.user_id)}`);
  const event: OneBotMessageEvent = { messageType, selfId, userId, message: "" };
  if (messageType === "group") {
    const groupId = readId(value.group_id);
    if (groupId === undefined) {
      return invalid(`a group message needs 'group_id' (an integer), not ${shown(value.group_id)}`);
    }
    event.groupId = groupId;
  }
  if (value.message_id !== undefined) {
    if (typeof value.message_id !== "number" && typeof value.message_id !== "string") {
      return invalid(`'message_id' must be a number or a string, not ${shown(value.message_id)}`);
    }
    event.messageId = String(value.message_id);
  }
  const message = readMessage(value.message ?? value.raw_message);
  if (typeof message === "object" && "problem" in message) return invalid(message.problem);
  event.message = message;
  return { kind: "message", event };
}

/**
 * The text of a message: the text segments joined (other segments — at, face, image, … — left out), CQ codes removed
 * from a string message and its escapes (`&amp;`, `&#91;`, `&#93;`, `&#44;`) read back.
 */
export function messageText(message: string | readonly OneBotSegment[]): string {
  if (typeof message === "string") return unescapeCq(message.replace(/\[CQ:[^\]]*\]/g, ""));
  return message
    .filter((segment) => segment.type === "text" && typeof segment.data.text === "string")
    .map((segment) => segment.data.text as string)
    .join("");
}

function readMessage(value: unknown): string | OneBotSegment[] | { problem: string } {
  if (typeof value === "string") return value;
  if (!Array.isArray(value)) {
    return { problem: `'message' must be a string or an array of segments, not ${shown(value)}` };
  }
  const segments: OneBotSegment[] = [];
  for (const [i, segment] of value.entries()) {
    if (!isRecord(segment) || typeof segment.type !== "string") {
      return { problem: `'message[${i}]' must be a segment { type, data }` };
    }
    const data = segment.data ?? {};
    if (!isRecord(data)) return { problem: `'message[${i}].data' must be an object` };
    segments.push({ type: segment.type, data });
  }
  return segments;
}

function readId(value: unknown): OneBotId | undefined {
  if (typeof value === "number") return Number.isSafeInteger(value) && value >= 0 ? value : undefined;
  if (typeof value === "string" && /^\d{1,15}$/.test(value)) return Number(value);
  return undefined;
}

function unescapeCq(text: string): string {
  return text.replace(/&#91;/g, "[").replace(/&#93;/g, "]").replace(/&#44;/g, ",").replace(/&amp;/g, "&");
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function shown(value: unknown): string {
  if (value === undefined) return "missing";
  const json = JSON.stringify(value) ?? String(value);
  return json.length > 40 ? `${json.slice(0, 40)}…` : json;
}

function invalid(problem: string): ParsedOneBotEvent {
  return { kind: "invalid", problem };
}
