/**
 * The SDK's error family (SPEC §3.1) and its wire form: class name, code, message and details cross processes. An
 * operation Node's permission model refused (`ERR_ACCESS_DENIED`) goes on the wire as a `PermissionDeniedError` that
 * names the `[plugin.permissions]` key to grant (SPEC §10).
 */
import { ErrorCode, type WireError } from "@neko/protocol";

export interface SdkErrorOptions {
  code?: string;
  details?: unknown;
  cause?: unknown;
}

export class SdkError extends Error {
  readonly code: string;
  readonly details: unknown;

  constructor(message: string, options: SdkErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = options.code ?? (new.target as typeof SdkError).defaultCode;
    this.details = options.details;
  }

  static readonly defaultCode: string = ErrorCode.SdkError;

  toJSON(): WireError {
    return toWireError(this);
  }
}

export class TransportError extends SdkError {
  static override readonly defaultCode: string = ErrorCode.Transport;
}
export class ValidationError extends SdkError {
  static override readonly defaultCode: string = ErrorCode.Validation;
}
export class NotFoundError extends SdkError {
  static override readonly defaultCode: string = ErrorCode.NotFound;
}
export class TimeoutError extends SdkError {
  static override readonly defaultCode: string = ErrorCode.Timeout;
}
export class PluginCallError extends SdkError {
  static override readonly defaultCode: string = ErrorCode.PluginCall;
}
export class CircularCallError extends PluginCallError {
  static override readonly defaultCode: string = ErrorCode.CircularCall;
}

/** Something the plugin's permissions do not allow; `details.permission` is the `[plugin.permissions]` key. */
export class PermissionDeniedError extends SdkError {
  static override readonly defaultCode: string = ErrorCode.PermissionDenied;
}

const errorClasses: Record<string, typeof SdkError> = {
  SdkError,
  TransportError,
  ValidationError,
  NotFoundError,
  TimeoutError,
  PluginCallError,
  CircularCallError,
  PermissionDeniedError,
};

/**
 * The host's token for a failure it delivered to a cross-plugin call (`WireError.upstream`), kept on the error rebuilt
 * from it: not enumerable, so it shows in no log or JSON of the error.
 */
const UPSTREAM = Symbol("neko.upstream");

/** The token of the cross-plugin failure `error` is, or was caused by (its `cause` chain, a few links deep). */
function upstreamOf(error: unknown): string | undefined {
  let found: unknown = error;
  for (let depth = 0; depth < 8 && typeof found === "object" && found !== null; depth += 1) {
    const token = (found as { [UPSTREAM]?: unknown })[UPSTREAM];
    if (typeof token === "string") return token;
    found = (found as { cause?: unknown }).cause;
  }
  return undefined;
}

/** Any thrown or returned error value, as it goes on the wire. */
export function toWireError(error: unknown): WireError {
  // An SdkError is worded by whoever made it; anything else Node's permission model refused is worded here.
  const denied = error instanceof SdkError ? undefined : permissionDenied(error);
  if (denied) return toWireError(denied);
  const upstream = upstreamOf(error);
  const wire = plainWireError(error);
  return upstream === undefined ? wire : { ...wire, upstream };
}

function plainWireError(error: unknown): WireError {
  if (error instanceof SdkError) {
    const wire: WireError = { name: error.name, code: error.code, message: error.message };
    if (error.details !== undefined) wire.details = error.details;
    return wire;
  }
  if (error instanceof Error) {
    return { name: error.name, code: ErrorCode.EntryFailed, message: error.message };
  }
  if (isWireError(error)) return error;
  return { name: "SdkError", code: ErrorCode.SdkError, message: String(error), details: error };
}

/** Rebuilds the SDK class named on the wire (an unknown name becomes an `SdkError` with the same code). */
export function fromWireError(wire: WireError): SdkError {
  const Cls = errorClasses[wire.name] ?? SdkError;
  const error = new Cls(wire.message, { code: wire.code, details: wire.details });
  if (!(wire.name in errorClasses)) error.name = wire.name;
  if (typeof wire.upstream === "string") Object.defineProperty(error, UPSTREAM, { value: wire.upstream });
  return error;
}

function isWireError(value: unknown): value is WireError {
  if (typeof value !== "object" || value === null) return false;
  const v = value as Record<string, unknown>;
  return typeof v.name === "string" && typeof v.code === "string" && typeof v.message === "string";
}

/** Node's names for what its permission model refused, as the manifest grants them. */
const GRANTS: Record<string, { key: string; path: boolean }> = {
  FileSystemRead: { key: "fs_read", path: true },
  FileSystemWrite: { key: "fs_write", path: true },
  ChildProcess: { key: "child_process", path: false },
  WorkerThreads: { key: "worker_threads", path: false },
};

/**
 * The error Node's permission model threw (`ERR_ACCESS_DENIED`, itself or as the cause of another), said in the
 * manifest's words: `permission denied: fs_write '/etc/x' — add it to [plugin.permissions] fs_write in plugin.toml`.
 * Undefined for any other error.
 */
export function permissionDenied(error: unknown): PermissionDeniedError | undefined {
  let found: unknown = error;
  for (let depth = 0; depth < 8 && found instanceof Error; depth += 1) {
    const { code, permission, resource } = found as Error & {
      code?: unknown;
      permission?: unknown;
      resource?: unknown;
    };
    if (code === "ERR_ACCESS_DENIED" && typeof permission === "string") {
      const where = typeof resource === "string" && resource !== "" ? resource : undefined;
      const grant = GRANTS[permission];
      const message = !grant
        ? `permission denied: ${permission}${where ? ` '${where}'` : ""} — Node's permission model refused it (see docs/permissions.md)`
        : grant.path
          ? `permission denied: ${grant.key} '${where ?? ""}' — add it to [plugin.permissions] ${grant.key} in plugin.toml`
          : `permission denied: ${grant.key} — set ${grant.key} = true in [plugin.permissions] of plugin.toml`;
      return new PermissionDeniedError(message, {
        details: { permission: grant?.key ?? permission, ...(where && { resource: where }), node: permission },
        cause: found,
      });
    }
    // Calls on a file descriptor (fsync, fchmod, …) Node 20 refuses to every process under the model: nothing grants them.
    if (code === "ERR_ACCESS_DENIED" && /is disabled when Permission Model is enabled/.test(found.message)) {
      return new PermissionDeniedError(
        `permission denied: ${found.message} No [plugin.permissions] key grants it (see docs/permissions.md)`,
        { details: { permission: null, node: found.message }, cause: found },
      );
    }
    found = found.cause;
  }
  return undefined;
}
