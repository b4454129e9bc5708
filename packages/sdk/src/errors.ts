/** The SDK's error family (SPEC §3.1) and its wire form: class name, code, message and details cross processes. */
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

const errorClasses: Record<string, typeof SdkError> = {
  SdkError,
  TransportError,
  ValidationError,
  NotFoundError,
  TimeoutError,
  PluginCallError,
  CircularCallError,
};

/** Any thrown or returned error value, as it goes on the wire. */
export function toWireError(error: unknown): WireError {
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
  return error;
}

function isWireError(value: unknown): value is WireError {
  if (typeof value !== "object" || value === null) return false;
  const v = value as Record<string, unknown>;
  return typeof v.name === "string" && typeof v.code === "string" && typeof v.message === "string";
}
