/**
 * `this.logger.enableFileLogging({ level, maxBytes, keep })` (docs/logging.md#the-plugins-own-log-file), the original's
 * `enable_plugin_file_logging` / `self.file_logger`: besides what every line already does (stdout → the host's log,
 * its buffer and its rotated files), the plugin's logger also writes its lines at or above `level` to a file of its
 * own, `data/logs/<id>.ndjson` in the plugin folder, rotated by size (`.1` … `.keep`, the oldest deleted). Written
 * synchronously, like the stdout lines, so a crash loses none.
 */
import fs from "node:fs";
import path from "node:path";
import { type SdkError, ValidationError } from "./errors.ts";
import type { PluginLogger } from "./plugin-logger.ts";
import { Err, Ok, type Result } from "./result.ts";

export const FILE_LOG_LEVELS = ["debug", "info", "warn", "error"] as const;
export type FileLogLevel = (typeof FILE_LOG_LEVELS)[number];
export const DEFAULT_FILE_LOG_MAX_BYTES = 5 * 1024 * 1024;
export const DEFAULT_FILE_LOGS_KEPT = 10;
const MAX_FILE_LOG_BYTES = 100 * 1024 * 1024;
const MAX_FILES_KEPT = 50;
/** A longer line keeps the first 8 KiB of its message only. */
const MAX_LINE_CHARS = 64 * 1024;

export interface FileLoggingOptions {
  /** The least level written: debug, info (default), warn, error; or the original's names (WARNING, CRITICAL, any case). */
  level?: string;
  /** A file is rotated before a line would take it past this size (default 5 MiB, 1 KiB to 100 MiB). */
  maxBytes?: number;
  /** Rotated files kept besides the current one (default 10, 0 to 50). */
  keep?: number;
}

export interface FileLoggingInfo {
  /** The current file (absolute). */
  path: string;
  level: FileLogLevel;
  maxBytes: number;
  keep: number;
}

/** The plugin's logger with its own file switch. */
export interface PluginFileLogger extends PluginLogger {
  /** Starts (or re-configures) the plugin's own log file; `Err(ValidationError)` naming a bad option. */
  enableFileLogging(options?: FileLoggingOptions): Result<FileLoggingInfo, SdkError>;
  /** Stops writing the file (it stays); false when it was not on. */
  disableFileLogging(): boolean;
  /** The file's settings while it is on, else null. */
  readonly fileLogging: FileLoggingInfo | null;
}

const RANK: Record<FileLogLevel, number> = { debug: 20, info: 30, warn: 40, error: 50 };
const ORIGINAL_NAMES: Record<string, FileLogLevel> = { warning: "warn", critical: "error", fatal: "error" };

/** `logger`, its lines also going to `<dataDir>/logs/<pluginId>.ndjson` once `enableFileLogging` is called. */
export function withFileLogging(logger: PluginLogger, place: { pluginId: string; dataDir: string }): PluginFileLogger {
  if (isFileLogger(logger)) return logger;
  let file: RotatingFile | undefined;
  const write = (level: FileLogLevel, message: string, fields?: Record<string, unknown>) => {
    if (!file || RANK[level] < RANK[file.info.level]) return;
    const problem = file.write(lineOf(place.pluginId, level, message, fields));
    if (problem) {
      file = undefined;
      logger.warn(`the plugin's log file was turned off: ${problem}`);
    }
  };
  return {
    debug: (message, fields) => {
      logger.debug(message, fields);
      write("debug", message, fields);
    },
    info: (message, fields) => {
      logger.info(message, fields);
      write("info", message, fields);
    },
    warn: (message, fields) => {
      logger.warn(message, fields);
      write("warn", message, fields);
    },
    error: (message, fields) => {
      logger.error(message, fields);
      write("error", message, fields);
    },
    exception: (message, error, fields) => {
      logger.exception(message, error, fields);
      write("error", message, { ...fields, err: errorFields(error) });
    },
    enableFileLogging(options: FileLoggingOptions = {}) {
      const checked = checkOptions(options);
      if (!checked.ok) return checked;
      const info = { path: path.join(place.dataDir, "logs", `${place.pluginId}.ndjson`), ...checked.value };
      file?.close();
      try {
        file = new RotatingFile(info);
      } catch (error) {
        file = undefined;
        return Err(
          new ValidationError(`enableFileLogging: cannot open ${info.path}: ${(error as Error).message}`, {
            details: { field: "path" },
          }),
        );
      }
      return Ok({ ...info });
    },
    disableFileLogging() {
      if (!file) return false;
      file.close();
      file = undefined;
      return true;
    },
    get fileLogging() {
      return file ? { ...file.info } : null;
    },
  };
}

function isFileLogger(logger: PluginLogger): logger is PluginFileLogger {
  return typeof (logger as Partial<PluginFileLogger>).enableFileLogging === "function";
}

function checkOptions(options: FileLoggingOptions): Result<Omit<FileLoggingInfo, "path">, SdkError> {
  const bad = (field: string, message: string) =>
    Err(new ValidationError(`enableFileLogging: ${message}`, { details: { field } }));
  if (typeof options !== "object" || options === null) return bad("options", "options must be an object");
  const given = options.level ?? "info";
  const lower = typeof given === "string" ? given.toLowerCase() : "";
  const level = (FILE_LOG_LEVELS as readonly string[]).includes(lower)
    ? (lower as FileLogLevel)
    : ORIGINAL_NAMES[lower];
  if (!level) {
    return bad(
      "level",
      `level must be one of ${FILE_LOG_LEVELS.join(", ")} (or WARNING, CRITICAL; any case); got ${String(given)}`,
    );
  }
  const maxBytes = options.maxBytes ?? DEFAULT_FILE_LOG_MAX_BYTES;
  if (!Number.isInteger(maxBytes) || maxBytes < 1024 || maxBytes > MAX_FILE_LOG_BYTES) {
    return bad(
      "maxBytes",
      `maxBytes must be a whole number from 1024 to ${MAX_FILE_LOG_BYTES}; got ${String(maxBytes)}`,
    );
  }
  const keep = options.keep ?? DEFAULT_FILE_LOGS_KEPT;
  if (!Number.isInteger(keep) || keep < 0 || keep > MAX_FILES_KEPT) {
    return bad("keep", `keep must be a whole number from 0 to ${MAX_FILES_KEPT}; got ${String(keep)}`);
  }
  return Ok({ level, maxBytes, keep });
}

/**
 * `{ time, level, plugin, msg, …fields }`: a field named like one of the first four does not replace it. A line too
 * long keeps its message's start and says how long it was.
 */
function lineOf(pluginId: string, level: FileLogLevel, msg: string, fields?: Record<string, unknown>): string {
  const time = new Date().toISOString();
  const framework = { time, level, plugin: pluginId, msg };
  let line: string;
  try {
    line = JSON.stringify(Object.assign({ ...framework }, fields, framework));
  } catch {
    line = JSON.stringify({ time, level, plugin: pluginId, msg, fields_dropped: "not serializable" });
  }
  if (line.length <= MAX_LINE_CHARS) return line;
  return JSON.stringify({ time, level, plugin: pluginId, msg: String(msg).slice(0, 8192), cut_from: line.length });
}

function errorFields(error: unknown): unknown {
  if (!(error instanceof Error)) return error;
  return { type: error.name, message: error.message, stack: error.stack };
}

class RotatingFile {
  /** -1 once closed, so a failed rotation does not close it twice (the number may be another file's by then). */
  private fd: number;
  private size: number;

  constructor(readonly info: FileLoggingInfo) {
    fs.mkdirSync(path.dirname(info.path), { recursive: true });
    // A lower `keep` than before: the rotated files above it go now, not never.
    for (let i = info.keep + 1; i <= MAX_FILES_KEPT; i++) fs.rmSync(`${info.path}.${i}`, { force: true });
    this.fd = fs.openSync(info.path, "a");
    this.size = fs.fstatSync(this.fd).size;
  }

  /** Appends one line; a problem (disk full, folder removed) as text, after which the file is closed. */
  write(line: string): string | undefined {
    const bytes = Buffer.from(`${line}\n`, "utf8");
    try {
      if (this.size > 0 && this.size + bytes.length > this.info.maxBytes) this.rotate();
      fs.writeSync(this.fd, bytes);
      this.size += bytes.length;
      return undefined;
    } catch (error) {
      this.close();
      return (error as Error).message;
    }
  }

  private rotate(): void {
    this.close();
    const { path: current, keep } = this.info;
    if (keep === 0) fs.rmSync(current, { force: true });
    else {
      fs.rmSync(`${current}.${keep}`, { force: true });
      for (let i = keep - 1; i >= 1; i--) {
        if (fs.existsSync(`${current}.${i}`)) fs.renameSync(`${current}.${i}`, `${current}.${i + 1}`);
      }
      fs.renameSync(current, `${current}.1`);
    }
    this.fd = fs.openSync(current, "a");
    this.size = 0;
  }

  close(): void {
    if (this.fd === -1) return;
    const fd = this.fd;
    this.fd = -1;
    try {
      fs.closeSync(fd);
    } catch {
      // closed already
    }
  }
}
