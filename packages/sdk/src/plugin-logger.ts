/**
 * The plugin's structured logger. In a plugin process it writes pino JSON lines to stdout; the host reads them,
 * tags them with the plugin id and merges them into its own log (docs/logging.md).
 */
import { createRequire } from "node:module";
import path from "node:path";
import { fileURLToPath } from "node:url";
import type { Logger } from "pino";

export interface PluginLogger {
  debug(message: string, fields?: Record<string, unknown>): void;
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
  /** Logs at error level with the error's message and stack. */
  exception(message: string, error: unknown, fields?: Record<string, unknown>): void;
}

/**
 * The logger of a plugin (or an extension): pino is loaded, and the logger made, by its first record, so a plugin that
 * logs nothing never loads pino (docs/benchmarks.md).
 */
export function createPluginLogger(pluginId: string, options: { level?: string } = {}): PluginLogger {
  let made: PluginLogger | undefined;
  const logger = (): PluginLogger => {
    if (made === undefined) {
      const pino = require("pino") as typeof import("pino");
      made = wrapPino(
        pino(
          {
            level: options.level ?? process.env.NEKO_LOG_LEVEL ?? "info",
            base: { plugin: pluginId },
            messageKey: "msg",
          },
          // A thread plugin's fd 1 is its runner's: its lines go on its own stdout, which the runner tags.
          process.getBuiltinModule("node:worker_threads").isMainThread
            ? pino.destination({ fd: 1, sync: true })
            : process.stdout,
        ),
      );
    }
    return made;
  };
  return {
    debug: (message, fields) => logger().debug(message, fields),
    info: (message, fields) => logger().info(message, fields),
    warn: (message, fields) => logger().warn(message, fields),
    error: (message, fields) => logger().error(message, fields),
    exception: (message, error, fields) => logger().exception(message, error, fields),
  };
}

export function wrapPino(logger: Logger): PluginLogger {
  return {
    debug: (message, fields) => logger.debug(fields ?? {}, message),
    info: (message, fields) => logger.info(fields ?? {}, message),
    warn: (message, fields) => logger.warn(fields ?? {}, message),
    error: (message, fields) => logger.error(fields ?? {}, message),
    exception: (message, error, fields) => logger.error({ ...fields, err: withPluginStack(error) }, message),
  };
}

const require = createRequire(import.meta.url);

/**
 * The SDK's and the protocol package's source folders: their frames are the framework's, not the plugin's. Found on
 * first use, not as the module loads: resolving reads a package.json, and Node's reader of them notes then whether the
 * permission model is on, which a startup snapshot would keep as it was made (snapshot-main.ts).
 */
let frameworkDirs: string[] | undefined;
function frameworkDirsOf(): string[] {
  frameworkDirs ??= [
    path.resolve(path.dirname(fileURLToPath(import.meta.url)), ".."),
    // Resolved from this file's own place by createRequire, not by the module's own resolve (a linked plugin process
    // runs a compiled copy).
    path.dirname(path.dirname(require.resolve("@neko/protocol"))),
  ].map((dir) => `${dir}${path.sep}`);
  return frameworkDirs;
}

/** A frame of the SDK in a process started from a startup snapshot: its script, in a link of the compile cache. */
const SNAPSHOT_SCRIPT = /[0-9a-f]{40}\.link[/\\]snapshot\.cjs:\d+/;

/**
 * A stack as a plugin author wants it: the frames of the SDK, of the protocol package and of Node's internals left out
 * (a line says how many), so the plugin's own frames come first. A stack with no frame of the plugin's is kept whole
 * (the fault is the framework's then), and `NEKO_FULL_STACK=1` keeps every stack whole.
 */
export function pluginStack(stack: string, env: NodeJS.ProcessEnv = process.env): string {
  if (env.NEKO_FULL_STACK === "1") return stack;
  const lines = stack.split("\n");
  const isFrame = (line: string) => /^\s+at /.test(line);
  const hidden = (line: string) =>
    isFrame(line) &&
    (/\(?node:internal\//.test(line) ||
      /\(?node:(async_hooks|events|timers)\b/.test(line) ||
      frameworkDirsOf().some((dir) => line.includes(dir) || line.includes(`file://${dir}`)) ||
      SNAPSHOT_SCRIPT.test(line));
  const frames = lines.filter(isFrame);
  const kept = frames.filter((line) => !hidden(line));
  if (kept.length === 0 || kept.length === frames.length) return stack;
  const dropped = frames.length - kept.length;
  const out = lines.filter((line) => !hidden(line));
  out.push(
    `    … ${dropped} frame${dropped === 1 ? "" : "s"} of neko-plugin and Node hidden (NEKO_FULL_STACK=1 shows them)`,
  );
  return out.join("\n");
}

/** The error with its stack as `pluginStack` gives it; anything that is not an Error is left as it is. */
function withPluginStack(error: unknown): unknown {
  if (!(error instanceof Error) || typeof error.stack !== "string") return error;
  const stack = pluginStack(error.stack);
  if (stack === error.stack) return error;
  const copy = Object.assign(Object.create(Object.getPrototypeOf(error) as object) as Error, error);
  Object.defineProperty(copy, "message", { value: error.message, enumerable: false, writable: true });
  Object.defineProperty(copy, "stack", { value: stack, enumerable: false, writable: true });
  if (error.cause !== undefined) Object.defineProperty(copy, "cause", { value: error.cause, enumerable: false });
  return copy;
}

/** A logger that adds `fields` to every record of `parent` (an extension's logger adds `extension: <id>`). */
export function childLogger(parent: PluginLogger, fields: Record<string, unknown>): PluginLogger {
  return {
    debug: (message, more) => parent.debug(message, { ...fields, ...more }),
    info: (message, more) => parent.info(message, { ...fields, ...more }),
    warn: (message, more) => parent.warn(message, { ...fields, ...more }),
    error: (message, more) => parent.error(message, { ...fields, ...more }),
    exception: (message, error, more) => parent.exception(message, error, { ...fields, ...more }),
  };
}
