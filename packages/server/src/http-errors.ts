/** Every error the server sends is `{ error: { code, message, details } }`; this maps codes to HTTP statuses. */
import type { FastifyReply } from "fastify";
import { ErrorCode, isErrorCode, type WireError, type WireResult } from "@neko/protocol";

/**
 * The HTTP status of every code of the framework's own. Keyed by the `ErrorCode` union: a new code without a status
 * does not compile. docs/http-api.md#status-codes lists the same table (a test compares them).
 */
export const STATUS_BY_CODE: Readonly<Record<ErrorCode, number>> = {
  [ErrorCode.Validation]: 400,
  [ErrorCode.BadRequest]: 400,
  [ErrorCode.InvalidJson]: 400,
  [ErrorCode.ConfigInvalid]: 400,
  [ErrorCode.Unauthorized]: 401,
  [ErrorCode.RequestTimeout]: 408,
  [ErrorCode.PermissionDenied]: 403,
  [ErrorCode.CrossOriginRefused]: 403,
  [ErrorCode.UiPathRefused]: 403,
  [ErrorCode.ConfigProtectedField]: 403,
  [ErrorCode.NotFound]: 404,
  [ErrorCode.PluginNotFound]: 404,
  [ErrorCode.EntryNotFound]: 404,
  [ErrorCode.ConfigKeyMissing]: 404,
  [ErrorCode.EventNotFound]: 404,
  [ErrorCode.RouteNotFound]: 404,
  [ErrorCode.UiNotRegistered]: 404,
  [ErrorCode.UiFileNotFound]: 404,
  [ErrorCode.PluginNotRunning]: 409,
  [ErrorCode.PluginUnreachable]: 503,
  [ErrorCode.EntryDisabled]: 409,
  [ErrorCode.PluginRefused]: 409,
  [ErrorCode.ExtensionCannotStartIndependent]: 409,
  [ErrorCode.NotAnExtension]: 409,
  [ErrorCode.Canceled]: 409,
  [ErrorCode.StoreDisabled]: 409,
  [ErrorCode.ConfigChangeRefused]: 409,
  [ErrorCode.ConfigProfileActive]: 409,
  [ErrorCode.FreezeRefused]: 409,
  [ErrorCode.NotFrozen]: 409,
  [ErrorCode.NotInRun]: 409,
  [ErrorCode.RunFinished]: 409,
  [ErrorCode.IdempotencyConflict]: 409,
  [ErrorCode.PreconditionFailed]: 412,
  [ErrorCode.PayloadTooLarge]: 413,
  [ErrorCode.UnsupportedMediaType]: 415,
  [ErrorCode.RangeNotSatisfiable]: 416,
  // Misdirected Request: this server will not answer for that name (RFC 9110 §15.5.20), whoever the client is.
  [ErrorCode.HostNotAllowed]: 421,
  [ErrorCode.HeadersTooLarge]: 431,
  [ErrorCode.Busy]: 429,
  // The request was understood and refused: the same as a plugin's own codes.
  [ErrorCode.SdkError]: 422,
  [ErrorCode.RunExportLimit]: 422,
  [ErrorCode.EntryFailed]: 500,
  [ErrorCode.HookFailed]: 500,
  [ErrorCode.Internal]: 500,
  [ErrorCode.StoreFailed]: 500,
  [ErrorCode.FreezeFailed]: 500,
  [ErrorCode.PluginCrashed]: 502,
  [ErrorCode.HandshakeFailed]: 502,
  [ErrorCode.PluginLoadFailed]: 502,
  [ErrorCode.PluginCall]: 502,
  [ErrorCode.UpstreamError]: 502,
  [ErrorCode.StartupFailed]: 502,
  [ErrorCode.Transport]: 502,
  [ErrorCode.ShuttingDown]: 503,
  [ErrorCode.TooManyClients]: 503,
  [ErrorCode.PageUnavailable]: 503,
  [ErrorCode.Timeout]: 504,
  [ErrorCode.CircularCall]: 508,
};

/** The status for an error code; a plugin's own codes (its `Err`s) are 422: the request was understood and refused. */
export function statusForCode(code: string): number {
  return isErrorCode(code) ? STATUS_BY_CODE[code] : 422;
}

export interface ErrorBody {
  error: { code: string; message: string; details: unknown };
}

export function errorBody(code: string, message: string, details: unknown = null): ErrorBody {
  return { error: { code, message, details } };
}

export function wireErrorBody(error: WireError): ErrorBody {
  return errorBody(error.code, error.message, error.details ?? null);
}

/**
 * The `POST /plugin/trigger` answer (SPEC §5.1): `{ success, …ids, data, error }`, 200 for Ok, the error code's
 * status for Err. `ids` names what ran (`plugin_id`, `entry_id` or the event, `run_id`).
 */
export function sendTriggerResult(reply: FastifyReply, ids: Record<string, unknown>, result: WireResult): FastifyReply {
  if (result.ok) return reply.send({ success: true, ...ids, data: result.value ?? null, error: null });
  return reply
    .code(statusForCode(result.error.code))
    .send({ success: false, ...ids, data: null, ...wireErrorBody(result.error) });
}

/** Answers with an Err from the host: its code's status and the error body. */
export function sendWireError(reply: FastifyReply, error: WireError): FastifyReply {
  return reply.code(statusForCode(error.code)).send(wireErrorBody(error));
}

/** Thrown inside a route to answer with an error body. */
export class HttpError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details: unknown = null,
    readonly statusCode = statusForCode(code),
  ) {
    super(message);
  }
}
