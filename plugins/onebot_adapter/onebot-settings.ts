/**
 * The adapter's configuration (docs/onebot.md#configuration): the `[onebot]` table, checked, and the OneBot keys of
 * the `[[adapter.routes]]` rules (`text_arg`); the gateway reads the rest of `[adapter]` itself. A wrong value throws
 * a `ValidationError` naming the key, so the adapter's start fails saying why.
 */
import { actionMatcher } from "@neko/plugin-sdk/adapter";
import { ValidationError } from "@neko/plugin-sdk/plugin";

export interface OneBotSettings {
  host: string;
  /** 0 picks a free port. */
  port: number;
  /** Empty: no token is asked for. */
  accessToken: string;
  /** Empty: HTTP POST bodies are not signature-checked. */
  secret: string;
  /** What a command starts with (`/`); longest first when several match. */
  commandPrefixes: string[];
}

/** A route rule as the OneBot side reads it: which command it serves and how the text becomes arguments. */
export interface OneBotCommandRule {
  action: string;
  /** The argument that takes the text after the command word. */
  textArg?: string;
  /** Whether the rule answers at all (`drop` rules are not listed in the help). */
  listed: boolean;
  matches: (command: string) => boolean;
}

export const DEFAULT_ONEBOT_PORT = 48917;

const KEYS = ["host", "port", "access_token", "secret", "command_prefix"];

export function readOneBotSettings(value: unknown): OneBotSettings {
  const table = value ?? {};
  if (!isTable(table)) throw bad("onebot", "must be a table ([onebot])");
  const unknownKey = Object.keys(table).find((key) => !KEYS.includes(key));
  if (unknownKey !== undefined) throw bad(`onebot.${unknownKey}`, `is not a key of it (known: ${KEYS.join(", ")})`);
  const { host = "127.0.0.1", port = DEFAULT_ONEBOT_PORT, access_token = "", secret = "" } = table;
  if (typeof host !== "string" || host === "") throw bad("onebot.host", "must be a host name or address");
  if (!Number.isInteger(port) || (port as number) < 0 || (port as number) > 65535) {
    throw bad("onebot.port", "must be a port number 0–65535 (0 picks a free one)");
  }
  if (typeof access_token !== "string") throw bad("onebot.access_token", "must be a string");
  if (typeof secret !== "string") throw bad("onebot.secret", "must be a string");
  const prefix = table.command_prefix ?? "/";
  const prefixes = typeof prefix === "string" ? [prefix] : prefix;
  if (!Array.isArray(prefixes) || prefixes.length === 0 || !prefixes.every((p) => typeof p === "string")) {
    throw bad("onebot.command_prefix", 'must be a string or a list of strings (e.g. "/" or ["/", "!"])');
  }
  return {
    host,
    port: port as number,
    accessToken: access_token,
    secret,
    commandPrefixes: prefixes as string[],
  };
}

/** The command rules of `[[adapter.routes]]`, in order (the gateway checks the tables' other keys). */
export function readCommandRules(routes: unknown): OneBotCommandRule[] {
  if (!Array.isArray(routes)) return [];
  return routes.flatMap((table, i) => {
    if (!isTable(table)) return [];
    const action = String(table.action);
    const rule: OneBotCommandRule = { action, listed: table.route !== "drop", matches: actionMatcher(action) };
    const textArg = table.text_arg;
    if (textArg !== undefined) {
      if (typeof textArg !== "string" || !/^[A-Za-z_][\w-]{0,63}$/.test(textArg)) {
        throw bad(`adapter.routes[${i}].text_arg`, "must name an argument (letters, digits, _ and -)");
      }
      rule.textArg = textArg;
    }
    return [rule];
  });
}

function isTable(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function bad(key: string, problem: string): ValidationError {
  return new ValidationError(`${key} ${problem}`, { details: { key } });
}
