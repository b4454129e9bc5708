/**
 * The `[mcp_servers.<name>]` tables of the adapter's manifest (docs/mcp-client.md): each names one external MCP server
 * and how to reach it. Read here into checked settings — at start, on every configuration change, and for
 * `add_server`'s arguments — so a server added at run time obeys exactly the rules of one written by hand.
 */

/** A server's name: it becomes part of entry ids (`mcp_<name>_<tool>`) and a TOML key. */
export const SERVER_NAME = /^[a-zA-Z0-9_-]{1,64}$/;

export type McpTransportKind = "stdio" | "streamable-http";
export const TRANSPORTS: readonly McpTransportKind[] = ["stdio", "streamable-http"];

export const DEFAULT_TOOL_TIMEOUT_SECONDS = 60;
export const DEFAULT_CONNECT_TIMEOUT_SECONDS = 15;
export const DEFAULT_PING_INTERVAL_SECONDS = 30;
/** One day: a longer bound is almost surely a typo, and Node timers cannot wait much longer anyway. */
const MAX_SECONDS = 86_400;

interface CommonSettings {
  name: string;
  /** `enabled = false`: listed, not connected until `connect_server`. */
  enabled: boolean;
  /** Bound of one tool call, which is also the timeout of its entry. */
  toolTimeoutSeconds: number;
  /** Bound of one connection attempt (spawn or HTTP, the MCP handshake and the first tools/list). */
  connectTimeoutSeconds: number;
  /** How often a connected server is pinged (a silent HTTP server is otherwise noticed only by a failed call); 0: never. */
  pingIntervalSeconds: number;
}

export interface StdioServerSettings extends CommonSettings {
  transport: "stdio";
  command: string;
  args: string[];
  env: Record<string, string>;
  cwd?: string;
}

export interface HttpServerSettings extends CommonSettings {
  transport: "streamable-http";
  url: string;
  headers: Record<string, string>;
}

export type McpServerSettings = StdioServerSettings | HttpServerSettings;

/** One thing wrong with a table; `field` is its manifest path (`mcp_servers.everything.command`). */
export interface SettingsProblem {
  field: string;
  message: string;
}

export type ParsedServer = { ok: true; settings: McpServerSettings } | { ok: false; problems: SettingsProblem[] };

const COMMON_KEYS = ["transport", "enabled", "tool_timeout", "connect_timeout", "ping_interval"] as const;
const KEYS_OF: Record<McpTransportKind, readonly string[]> = {
  stdio: [...COMMON_KEYS, "command", "args", "env", "cwd"],
  "streamable-http": [...COMMON_KEYS, "url", "headers"],
};
const ALL_KEYS = [...new Set([...KEYS_OF.stdio, ...KEYS_OF["streamable-http"]])];

/** Reads one `[mcp_servers.<name>]` table; every problem is listed, each naming its field. */
export function parseServerTable(name: string, table: unknown): ParsedServer {
  const at = (key?: string) => (key === undefined ? `mcp_servers.${name}` : `mcp_servers.${name}.${key}`);
  const problems: SettingsProblem[] = [];
  const problem = (key: string | undefined, message: string) => problems.push({ field: at(key), message });
  if (!SERVER_NAME.test(name)) {
    problem(undefined, "a server name is 1 to 64 letters, digits, '_' or '-'");
  }
  if (!isTable(table)) {
    problem(undefined, `must be a table (got ${describe(table)})`);
    return { ok: false, problems };
  }
  const transport = readTransport(table, (message) => problem("transport", message));
  if (transport === undefined) return { ok: false, problems };

  for (const key of Object.keys(table)) {
    if (KEYS_OF[transport].includes(key)) continue;
    if (ALL_KEYS.includes(key)) problem(key, `is not used by transport '${transport}'`);
    else problem(key, `is not a known key${suggestion(key, KEYS_OF[transport])}`);
  }
  const common = {
    name,
    enabled: readBoolean(table.enabled, true, (message) => problem("enabled", message)),
    toolTimeoutSeconds: readSeconds(table.tool_timeout, DEFAULT_TOOL_TIMEOUT_SECONDS, false, (m) =>
      problem("tool_timeout", m),
    ),
    connectTimeoutSeconds: readSeconds(table.connect_timeout, DEFAULT_CONNECT_TIMEOUT_SECONDS, false, (m) =>
      problem("connect_timeout", m),
    ),
    pingIntervalSeconds: readSeconds(table.ping_interval, DEFAULT_PING_INTERVAL_SECONDS, true, (m) =>
      problem("ping_interval", m),
    ),
  };
  let settings: McpServerSettings;
  if (transport === "stdio") {
    const command = table.command;
    if (typeof command !== "string" || command.trim() === "") {
      problem("command", `is required for transport 'stdio': the program to start (got ${describe(command)})`);
    }
    const cwd = table.cwd;
    if (cwd !== undefined && (typeof cwd !== "string" || cwd === "")) {
      problem("cwd", `must be a folder path (got ${describe(cwd)})`);
    }
    settings = {
      ...common,
      transport,
      command: typeof command === "string" ? command : "",
      args: readStrings(table.args, (m) => problem("args", m)),
      env: readStringTable(table.env, (key, m) => problem(key === undefined ? "env" : `env.${key}`, m)),
      ...(typeof cwd === "string" && cwd !== "" && { cwd }),
    };
  } else {
    const url = table.url;
    if (typeof url !== "string" || !isHttpUrl(url)) {
      problem("url", `is required for transport 'streamable-http': an http:// or https:// URL (got ${describe(url)})`);
    }
    settings = {
      ...common,
      transport,
      url: typeof url === "string" ? url : "",
      headers: readStringTable(table.headers, (key, m) => problem(key === undefined ? "headers" : `headers.${key}`, m)),
    };
  }
  return problems.length > 0 ? { ok: false, problems } : { ok: true, settings };
}

/** Reads the whole `mcp_servers` table: the usable servers, and for each unusable one, why. */
export function parseServersTable(value: unknown): {
  servers: McpServerSettings[];
  invalid: Array<{ name: string; problems: SettingsProblem[] }>;
} {
  if (value === undefined) return { servers: [], invalid: [] };
  if (!isTable(value)) {
    return {
      servers: [],
      invalid: [
        {
          name: "",
          problems: [
            {
              field: "mcp_servers",
              message: `must be a table of [mcp_servers.<name>] tables (got ${describe(value)})`,
            },
          ],
        },
      ],
    };
  }
  const servers: McpServerSettings[] = [];
  const invalid: Array<{ name: string; problems: SettingsProblem[] }> = [];
  for (const [name, table] of Object.entries(value)) {
    const parsed = parseServerTable(name, table);
    if (parsed.ok) servers.push(parsed.settings);
    else invalid.push({ name, problems: parsed.problems });
  }
  return { servers, invalid };
}

/** The manifest table for `settings`: what `add_server` writes, with the defaults left out. */
export function settingsTable(settings: McpServerSettings): Record<string, unknown> {
  const table: Record<string, unknown> = { transport: settings.transport };
  if (settings.transport === "stdio") {
    table.command = settings.command;
    if (settings.args.length > 0) table.args = settings.args;
    if (Object.keys(settings.env).length > 0) table.env = settings.env;
    if (settings.cwd !== undefined) table.cwd = settings.cwd;
  } else {
    table.url = settings.url;
    if (Object.keys(settings.headers).length > 0) table.headers = settings.headers;
  }
  if (!settings.enabled) table.enabled = false;
  if (settings.toolTimeoutSeconds !== DEFAULT_TOOL_TIMEOUT_SECONDS) table.tool_timeout = settings.toolTimeoutSeconds;
  if (settings.connectTimeoutSeconds !== DEFAULT_CONNECT_TIMEOUT_SECONDS) {
    table.connect_timeout = settings.connectTimeoutSeconds;
  }
  if (settings.pingIntervalSeconds !== DEFAULT_PING_INTERVAL_SECONDS)
    table.ping_interval = settings.pingIntervalSeconds;
  return table;
}

/** True when two settings reach the same server the same way (a change of any of them needs a new connection). */
export function sameSettings(a: McpServerSettings, b: McpServerSettings): boolean {
  return JSON.stringify(canonical(a)) === JSON.stringify(canonical(b));
}

/** `problems` as one line for an error message. */
export function problemsText(problems: readonly SettingsProblem[]): string {
  return problems.map((p) => `${p.field} ${p.message}`).join("; ");
}

/** `transport`, or for a table without one, what its keys imply: `command` is stdio, `url` Streamable HTTP. */
function readTransport(
  table: Record<string, unknown>,
  problem: (message: string) => void,
): McpTransportKind | undefined {
  const value = table.transport;
  if (value === undefined) {
    if (table.command !== undefined && table.url === undefined) return "stdio";
    if (table.url !== undefined && table.command === undefined) return "streamable-http";
    problem(`is required: "stdio" (with command) or "streamable-http" (with url)`);
    return undefined;
  }
  if (typeof value === "string" && (TRANSPORTS as readonly string[]).includes(value)) return value as McpTransportKind;
  problem(`must be "stdio" or "streamable-http" (got ${describe(value)})`);
  return undefined;
}

function readBoolean(value: unknown, fallback: boolean, problem: (message: string) => void): boolean {
  if (value === undefined) return fallback;
  if (typeof value === "boolean") return value;
  problem(`must be true or false (got ${describe(value)})`);
  return fallback;
}

function readSeconds(value: unknown, fallback: number, zeroAllowed: boolean, problem: (message: string) => void) {
  if (value === undefined) return fallback;
  const usable =
    typeof value === "number" &&
    Number.isFinite(value) &&
    value <= MAX_SECONDS &&
    (value > 0 || (zeroAllowed && value === 0));
  if (usable) return value;
  problem(
    `must be a number of seconds, ${zeroAllowed ? "0 (off)" : "above 0"} to ${MAX_SECONDS} (got ${describe(value)})`,
  );
  return fallback;
}

function readStrings(value: unknown, problem: (message: string) => void): string[] {
  if (value === undefined) return [];
  if (Array.isArray(value) && value.every((v) => typeof v === "string")) return [...value];
  problem(`must be a list of strings (got ${describe(value)})`);
  return [];
}

/** A table of strings; numbers and booleans are taken as their text (`DEBUG = 1` in TOML is meant as "1"). */
function readStringTable(
  value: unknown,
  problem: (key: string | undefined, message: string) => void,
): Record<string, string> {
  if (value === undefined) return {};
  if (!isTable(value)) {
    problem(undefined, `must be a table of name = "value" (got ${describe(value)})`);
    return {};
  }
  const out: Record<string, string> = {};
  for (const [key, v] of Object.entries(value)) {
    if (typeof v === "string" || typeof v === "number" || typeof v === "boolean") out[key] = String(v);
    else problem(key, `must be a string (got ${describe(v)})`);
  }
  return out;
}

function isHttpUrl(text: string): boolean {
  try {
    const url = new URL(text);
    return url.protocol === "http:" || url.protocol === "https:";
  } catch {
    return false;
  }
}

function isTable(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function describe(value: unknown): string {
  if (value === undefined) return "nothing";
  if (Array.isArray(value)) return "a list";
  if (value === null) return "null";
  if (typeof value === "object") return "a table";
  return JSON.stringify(value);
}

function canonical(settings: McpServerSettings): unknown {
  return Object.fromEntries(
    Object.entries(settings)
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([k, v]) => [
        k,
        isTable(v) ? Object.fromEntries(Object.entries(v).sort(([x], [y]) => x.localeCompare(y))) : v,
      ]),
  );
}

/** ` (did you mean 'command'?)` for a key one or two edits away from a known one, else nothing. */
function suggestion(key: string, known: readonly string[]): string {
  let best: { name: string; distance: number } | undefined;
  for (const name of known) {
    const distance = editDistance(key.toLowerCase(), name);
    if (distance <= 2 && (best === undefined || distance < best.distance)) best = { name, distance };
  }
  return best ? ` (did you mean '${best.name}'?)` : ` (known: ${known.join(", ")})`;
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      current[j] = Math.min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    previous = current;
  }
  return previous[b.length];
}
