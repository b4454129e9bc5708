/**
 * Commands in chat text (docs/onebot.md#commands): `/<command> <rest>` with a configurable prefix, and how the rest
 * becomes the entry's arguments — the whole rest as one named argument (a route rule's `text_arg`), or a JSON object.
 */
export interface OneBotCommand {
  /** The prefix it was written with (`/`). */
  prefix: string;
  /** The command word: `greet` of `/greet Neko`. */
  name: string;
  /** The text after the command word, trimmed: `Neko`. */
  rest: string;
}

export type CommandArgs = { ok: true; args: Record<string, unknown> } | { ok: false; usage: string };

/** Longest command word taken; a longer word is not a command. */
export const MAX_COMMAND_LENGTH = 64;

/**
 * The command in `text`, or undefined when the text does not start (after blanks) with one of `prefixes` directly
 * followed by a command word. The longest matching prefix wins; an empty prefix makes every message a command.
 */
export function parseCommand(text: string, prefixes: readonly string[]): OneBotCommand | undefined {
  const trimmed = text.trim();
  const prefix = [...prefixes].sort((a, b) => b.length - a.length).find((p) => trimmed.startsWith(p));
  if (prefix === undefined) return undefined;
  const match = /^(\S+)(?:\s+([\s\S]*))?$/.exec(trimmed.slice(prefix.length));
  if (!match || match[1].length > MAX_COMMAND_LENGTH) return undefined;
  return { prefix, name: match[1], rest: (match[2] ?? "").trim() };
}

/**
 * The arguments of a command: `{}` for no text; `{ [textArg]: rest }` when the route rule names a `text_arg`; else
 * the rest must be a JSON object (`/add {"a": 1, "b": 2}`). Anything else gives a one-line usage hint.
 */
export function commandArgs(command: OneBotCommand, textArg: string | undefined): CommandArgs {
  const { rest } = command;
  if (rest === "") return { ok: true, args: {} };
  if (textArg !== undefined) return { ok: true, args: { [textArg]: rest } };
  const usage = `${command.prefix}${command.name} takes its arguments as a JSON object, e.g. ${command.prefix}${command.name} {"key": "value"}`;
  if (!rest.startsWith("{")) return { ok: false, usage };
  let parsed: unknown;
  try {
    parsed = JSON.parse(rest);
  } catch (error) {
    return { ok: false, usage: `${usage} (${(error as Error).message})` };
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) return { ok: false, usage };
  return { ok: true, args: parsed as Record<string, unknown> };
}
