/**
 * The plugin's structured logger. In a plugin process it writes pino JSON lines to stdout; the host reads them,
 * tags them with the plugin id and merges them into its own log (docs/logging.md).
 */
import pino, { type Logger } from "pino";

export interface PluginLogger {
  debug(message: string, fields?: Record<string, unknown>): void;
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
  /** Logs at error level with the error's message and stack. */
  exception(message: string, error: unknown, fields?: Record<string, unknown>): void;
}

export function createPluginLogger(pluginId: string, options: { level?: string } = {}): PluginLogger {
  const base = pino(
    { level: options.level ?? process.env.NEKO_LOG_LEVEL ?? "info", base: { plugin: pluginId }, messageKey: "msg" },
    pino.destination({ fd: 1, sync: true }),
  );
  return wrapPino(base);
}

export function wrapPino(logger: Logger): PluginLogger {
  return {
    debug: (message, fields) => logger.debug(fields ?? {}, message),
    info: (message, fields) => logger.info(fields ?? {}, message),
    warn: (message, fields) => logger.warn(fields ?? {}, message),
    error: (message, fields) => logger.error(fields ?? {}, message),
    exception: (message, error, fields) => logger.error({ ...fields, err: error }, message),
  };
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
