/**
 * The host's logger: pino, pretty on a terminal and JSON lines otherwise. Plugin logs arrive as JSON lines on the
 * plugin's stdout and are re-emitted here tagged with the plugin id (docs/logging.md). Given a `HostLogSink`, every
 * line also goes there, for the host's log file.
 */
import { createRequire } from "node:module";
import pino, { type Logger } from "pino";
import type PinoPretty from "pino-pretty";
import type { Disposable } from "@neko/protocol";

export type HostLogger = Logger;

export interface HostLoggerOptions {
  level?: string;
  pretty?: boolean;
  /** Also receives every line (the host's log file, once the host has one). */
  sink?: HostLogSink;
  /** Where the lines are shown; default stdout. */
  destination?: { write(line: string): unknown };
}

/** pino-pretty is loaded when a logger is pretty (a terminal): a piped or silent host never pays for it (issue 15). */
const require = createRequire(import.meta.url);
function prettyStream(options: Parameters<typeof PinoPretty>[0]) {
  return (require("pino-pretty") as typeof PinoPretty)(options);
}

export function createHostLogger(options: HostLoggerOptions = {}): HostLogger {
  const level = options.level ?? process.env.NEKO_LOG_LEVEL ?? "info";
  const usePretty = options.pretty ?? process.stdout.isTTY === true;
  const shown = usePretty
    ? prettyStream({
        sync: true,
        // Pretty but piped (`--log-format pretty > file`): readable lines without escape codes.
        colorize: !options.destination && process.stdout.isTTY === true,
        ignore: "pid,hostname,plugin,call",
        messageFormat: "{if plugin}[{plugin}] {end}{msg}",
        translateTime: "SYS:HH:MM:ss.l",
        ...(options.destination && { destination: options.destination as NodeJS.WritableStream }),
      })
    : (options.destination ?? pino.destination({ dest: 1, sync: true }));
  if (!options.sink) return pino({ level, base: undefined }, shown as pino.DestinationStream);
  return pino(
    { level, base: undefined },
    pino.multistream([
      { level: level as pino.Level, stream: shown as pino.DestinationStream },
      { level: level as pino.Level, stream: options.sink },
    ]),
  );
}

/** Lines kept for a sink not yet attached: what the host logged before it knew where its log file is. */
const EARLY_LINES_KEPT = 200;

/**
 * Where the host logger's lines also go: the host attaches its log file when it has one. pino's lines are rewritten
 * to the log files' shape on the way (`time` as ISO text and `level` as a name first, instead of epoch ms and a number).
 */
export class HostLogSink {
  private target: ((line: string) => void) | undefined;
  private early: string[] = [];

  write(chunk: string): void {
    const line = fileLine(chunk.endsWith("\n") ? chunk.slice(0, -1) : chunk);
    if (this.target) this.target(line);
    else if (this.early.length < EARLY_LINES_KEPT) this.early.push(line);
  }

  /** Sends every later line (and those kept from before) to `target`, until disposed. */
  attach(target: (line: string) => void): Disposable {
    this.target = target;
    for (const line of this.early) target(line);
    this.early = [];
    return {
      dispose: () => {
        if (this.target === target) this.target = undefined;
      },
    };
  }
}

/** pino's `{"level":30,"time":1700000000000,` becomes `{"time":"2023-11-14T22:13:20.000Z","level":"info",`. */
function fileLine(line: string): string {
  const head = /^\{"level":(\d+),"time":(\d+)/.exec(line);
  if (!head) return line;
  const level = LEVEL_NAMES[Number(head[1])] ?? head[1];
  const time = new Date(Number(head[2])).toISOString();
  return `{"time":"${time}","level":"${level}"${line.slice(head[0].length)}`;
}

/** A silent logger for tests that do not look at logs. */
export function createSilentLogger(): HostLogger {
  return pino({ level: "silent" });
}

export interface LogRecord {
  time: number;
  level: string;
  msg: string;
  /** The plugin process that wrote it, set by the host (the plugin's own `pid` field is dropped). */
  pid?: number;
  [key: string]: unknown;
}

/** pino's level names, lowest first; a record's level is one of these (or a plugin's own word, ranked as info). */
export const LOG_LEVELS = ["trace", "debug", "info", "warn", "error", "fatal"] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

const LEVEL_NAMES: Record<number, string> = {
  10: "trace",
  20: "debug",
  30: "info",
  40: "warn",
  50: "error",
  60: "fatal",
};

export function isLogLevel(name: string): name is LogLevel {
  return (LOG_LEVELS as readonly string[]).includes(name);
}

/** The original N.E.K.O.'s level names (Python's logging) that differ from pino's. */
const LEVEL_ALIASES: Record<string, LogLevel> = { warning: "warn", critical: "fatal" };

/**
 * The level a name given by a user means: pino's names and Python's (`INFO`, `WARNING`, `CRITICAL`, as the original's
 * API takes them), in any case; undefined for another word.
 */
export function logLevelNamed(name: string): LogLevel | undefined {
  const lower = name.toLowerCase();
  return isLogLevel(lower) ? lower : LEVEL_ALIASES[lower];
}

/** A level's place in LOG_LEVELS (trace 0 … fatal 5); a name pino does not know ranks as info. */
export function logLevelRank(name: string): number {
  const rank = (LOG_LEVELS as readonly string[]).indexOf(name);
  return rank === -1 ? 2 : rank;
}

/** The largest time a Date can hold (ms either side of the epoch). */
const MAX_DATE_MS = 8.64e15;

/** How deep a log record's fields may nest, and how many objects and arrays they may hold in all. */
const MAX_FIELD_DEPTH = 6;
const MAX_FIELD_NODES = 256;
const OMITTED = "[omitted: nested too deep or too large]";

/**
 * A plugin's fields as kept: past MAX_FIELD_DEPTH levels, or past MAX_FIELD_NODES objects and arrays, a value is
 * replaced by a marker. The record then costs memory in proportion to what it shows, and any JSON serializer (the
 * logs route, the host log) can write it without running out of stack.
 */
function boundedFields(fields: Record<string, unknown>): Record<string, unknown> {
  const budget = { nodes: MAX_FIELD_NODES };
  const bound = (value: unknown, depth: number): unknown => {
    if (value === null || typeof value !== "object") return value;
    if (depth >= MAX_FIELD_DEPTH || budget.nodes <= 0) return OMITTED;
    budget.nodes -= 1;
    if (Array.isArray(value)) {
      const kept = value.slice(0, MAX_FIELD_NODES).map((item) => bound(item, depth + 1));
      return value.length > MAX_FIELD_NODES ? [...kept, `[${value.length - MAX_FIELD_NODES} more omitted]`] : kept;
    }
    const out: Record<string, unknown> = {};
    for (const [key, item] of Object.entries(value).slice(0, MAX_FIELD_NODES)) out[key] = bound(item, depth + 1);
    return out;
  };
  return bound(fields, 0) as Record<string, unknown>;
}

/** One line of a plugin's stdout as a log record: pino JSON when it is, plain text at info level otherwise. */
export function parsePluginLogLine(line: string): LogRecord {
  if (line.startsWith("{")) {
    try {
      const parsed = JSON.parse(line) as Record<string, unknown>;
      const { level, time, msg, pid: _pid, hostname: _hostname, plugin: _plugin, ...rest } = parsed;
      return {
        ...boundedFields(rest),
        // Only a time a Date can hold: the record's time is shown as an ISO string later.
        time: typeof time === "number" && Math.abs(time) <= MAX_DATE_MS ? time : Date.now(),
        level: typeof level === "number" ? (LEVEL_NAMES[level] ?? "info") : String(level ?? "info"),
        msg: typeof msg === "string" ? msg : "",
      };
    } catch {
      // Not JSON after all: fall through to plain text.
    }
  }
  return { time: Date.now(), level: "info", msg: line };
}
