/**
 * The host's log and each plugin's log as rotated NDJSON files (docs/logging.md#log-files): `<dir>/host.ndjson` gets
 * every line of the host logger (plugin lines included, as on the console), `<dir>/plugins/<id>.ndjson` every line of
 * that plugin's processes and the host's lines about its states. The folder is the host's run folder by default
 * (removed when the host stops; left behind if the host itself dies), or `NEKO_LOG_DIR` / `--log-dir`, which stays.
 */
import fs from "node:fs";
import path from "node:path";
import type { Disposable } from "@neko/protocol";
import { type HostContext, releaseWithPlugin } from "../host-context.ts";
import type { HostLogSink, LogRecord } from "../host-logger.ts";
import { stateChangeRecord } from "./plugin-logs.ts";
import { RotatingLogFile } from "./rotating-log-file.ts";

export const DEFAULT_LOG_FILE_MAX_BYTES = 10 * 1024 * 1024;
export const DEFAULT_LOG_FILES_KEPT = 5;
/** A longer line is cut (its message to MAX_MSG_CHARS, its other fields dropped), so one line never fills a file. */
export const MAX_LINE_CHARS = 64 * 1024;
const MAX_MSG_CHARS = 8 * 1024;

/** One of a plugin's log files: its name only (never a path), size in bytes and last change. */
export interface LogFileView {
  name: string;
  size: number;
  /** ISO time of its last write. */
  mtime: string;
}

/** What reading one file gives: its open handle to stream, or why not. */
export type LogFileRead =
  | { ok: true; name: string; size: number; handle: fs.promises.FileHandle }
  | { ok: false; problem: "bad-name" | "not-found" };

/** Each plugin's own log files, for `GET /plugin/{id}/logs/files` (docs/logging.md#log-files). */
export interface LogFilesApi {
  /** The plugin's current file and its rotated ones, newest first; only regular files, never a link. */
  listPluginFiles(pluginId: string): Promise<LogFileView[]>;
  /**
   * Opens one of them by name: only `<id>.ndjson` or `<id>.ndjson.<n>` of that plugin, a regular file in the
   * plugins' log folder (a link is refused, not followed). The caller closes the handle.
   */
  openPluginFile(pluginId: string, name: string): Promise<LogFileRead>;
}

/** Is `name` one of this plugin's log file names (`<id>.ndjson`, `<id>.ndjson.1`, …)? Ids hold no `.`. */
export function isPluginLogFileName(pluginId: string, name: string): boolean {
  const base = `${pluginId}.ndjson`;
  return name === base || (name.startsWith(`${base}.`) && /^[1-9][0-9]{0,5}$/.test(name.slice(base.length + 1)));
}

export interface LogFilesOptions {
  dir: string;
  /** Size at which a file is rotated (default 10 MiB). */
  maxBytes?: number;
  /** Rotated files kept per log besides the current one (default 5). */
  keep?: number;
  /** The host logger's lines, for `host.ndjson`; without it only plugin files are written. */
  hostLines?: HostLogSink;
}

export class LogFiles implements LogFilesApi, Disposable {
  readonly dir: string;
  private readonly maxBytes: number;
  private readonly keep: number;
  private readonly hostFile: RotatingLogFile;
  private readonly pluginFiles = new Map<string, RotatingLogFile>();
  /** Files of plugins that left the host, still writing their last lines. */
  private readonly closing = new Set<Promise<void>>();
  private readonly owned: Disposable[] = [];
  private droppedByClosed = 0;
  private closed: Promise<void> | undefined;

  constructor(
    private readonly ctx: HostContext,
    options: LogFilesOptions,
  ) {
    this.dir = options.dir;
    this.maxBytes = options.maxBytes ?? DEFAULT_LOG_FILE_MAX_BYTES;
    this.keep = options.keep ?? DEFAULT_LOG_FILES_KEPT;
    this.hostFile = this.file(path.join(this.dir, "host.ndjson"), {});
    if (options.hostLines) this.owned.push(options.hostLines.attach((line) => this.hostFile.write(boundedLine(line))));
    this.owned.push(
      ctx.events.onLog(({ pluginId, record }) => this.add(pluginId, record)),
      ctx.events.onStateChange(({ pluginId, change }) => this.add(pluginId, stateChangeRecord(change))),
    );
  }

  /** Lines not written because a file could not keep up or could not be written. */
  get linesDropped(): number {
    let dropped = this.droppedByClosed + this.hostFile.dropped;
    for (const file of this.pluginFiles.values()) dropped += file.dropped;
    return dropped;
  }

  /** The plugin's file (its id is a safe file name: `^[a-zA-Z0-9_-]{1,128}$`). */
  pluginFilePath(pluginId: string): string {
    return path.join(this.dir, "plugins", `${pluginId}.ndjson`);
  }

  /** `<logDir>/plugins` when it is a real folder; a link put in its place is not followed (undefined). */
  private async pluginsFolder(): Promise<string | undefined> {
    const folder = path.join(this.dir, "plugins");
    const stat = await fs.promises.lstat(folder).catch(() => undefined);
    return stat?.isDirectory() ? folder : undefined;
  }

  async listPluginFiles(pluginId: string): Promise<LogFileView[]> {
    const folder = await this.pluginsFolder();
    if (!folder) return [];
    let names: string[];
    try {
      names = await fs.promises.readdir(folder);
    } catch {
      return [];
    }
    const views: LogFileView[] = [];
    for (const name of names) {
      if (!isPluginLogFileName(pluginId, name)) continue;
      const stat = await fs.promises.lstat(path.join(folder, name)).catch(() => undefined);
      if (!stat?.isFile()) continue;
      views.push({ name, size: stat.size, mtime: stat.mtime.toISOString() });
    }
    return views.sort((a, b) => rotationIndex(a.name) - rotationIndex(b.name));
  }

  async openPluginFile(pluginId: string, name: string): Promise<LogFileRead> {
    if (!isPluginLogFileName(pluginId, name)) return { ok: false, problem: "bad-name" };
    const folder = await this.pluginsFolder();
    if (!folder) return { ok: false, problem: "not-found" };
    let handle: fs.promises.FileHandle;
    try {
      // O_NOFOLLOW: a link put in the folder is refused, whatever it points at.
      handle = await fs.promises.open(path.join(folder, name), fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW);
    } catch {
      return { ok: false, problem: "not-found" };
    }
    const stat = await handle.stat().catch(() => undefined);
    if (!stat?.isFile()) {
      await handle.close().catch(() => {});
      return { ok: false, problem: "not-found" };
    }
    return { ok: true, name, size: stat.size, handle };
  }

  private add(pluginId: string, record: LogRecord): void {
    if (this.closed) return;
    let file = this.pluginFiles.get(pluginId);
    if (!file) {
      if (!this.ctx.plugins.has(pluginId)) return;
      const made = this.file(this.pluginFilePath(pluginId), { plugin: pluginId });
      if (!releaseWithPlugin(this.ctx, pluginId, "lifetime", () => this.forget(pluginId))) return;
      file = made;
      this.pluginFiles.set(pluginId, file);
    }
    file.write(pluginLine(pluginId, record));
  }

  private forget(pluginId: string): void {
    const file = this.pluginFiles.get(pluginId);
    if (!file) return;
    this.pluginFiles.delete(pluginId);
    const done = file.close().then(() => {
      this.droppedByClosed += file.dropped;
      this.closing.delete(done);
    });
    this.closing.add(done);
  }

  private file(filePath: string, noteFields: Record<string, unknown>): RotatingLogFile {
    return new RotatingLogFile({
      path: filePath,
      maxBytes: this.maxBytes,
      keep: this.keep,
      noteFields,
      // Not through the host logger: its lines come back here.
      onError: (error) =>
        process.stderr.write(`neko-plugin: cannot write the log file ${filePath}: ${error.message}\n`),
    });
  }

  /** Resolves when every line queued so far is in its file (tests). */
  async flushed(): Promise<void> {
    await Promise.all([this.hostFile.flushed(), ...[...this.pluginFiles.values()].map((f) => f.flushed())]);
  }

  /** Stops taking lines; `whenClosed()` resolves once what was queued is written. */
  dispose(): void {
    if (this.closed) return;
    for (const d of this.owned) d.dispose();
    const files = [this.hostFile, ...this.pluginFiles.values()];
    this.closed = Promise.all([...files.map((f) => f.close()), ...this.closing]).then(() => undefined);
  }

  whenClosed(): Promise<void> {
    return this.closed ?? Promise.resolve();
  }

  debugCounts(): Record<string, number> {
    return { "logFiles.plugins": this.pluginFiles.size };
  }
}

/** 0 for the current file, n for `.n`. */
function rotationIndex(name: string): number {
  const match = /\.ndjson\.(\d+)$/.exec(name);
  return match ? Number(match[1]) : 0;
}

/** `{ time, level, plugin, msg, pid?, …fields }`, cut when too long. */
function pluginLine(pluginId: string, record: LogRecord): string {
  const { time, level, msg, ...fields } = record;
  const iso = new Date(time).toISOString();
  const line = JSON.stringify({ time: iso, level, plugin: pluginId, msg, ...fields });
  if (line.length <= MAX_LINE_CHARS) return line;
  return JSON.stringify({
    time: iso,
    level,
    plugin: pluginId,
    msg: msg.slice(0, MAX_MSG_CHARS),
    cut_from: line.length,
  });
}

/** A host line too long for the file keeps its start, as a message. */
function boundedLine(line: string): string {
  if (line.length <= MAX_LINE_CHARS) return line;
  const time = new Date().toISOString();
  return JSON.stringify({ time, level: "warn", msg: line.slice(0, MAX_MSG_CHARS), cut_from: line.length });
}
