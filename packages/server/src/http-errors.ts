/** Every error the server sends is `{ error: { code, message, details } }`; this maps codes to HTTP statuses. */
import type { FastifyReply } from "fastify";
import { ErrorCode, type WireError, type WireResult } from "@neko/protocol";

const STATUS_BY_CODE: Record<string, number> = {
  [ErrorCode.Validation]: 400,
  BAD_REQUEST: 400,
  INVALID_JSON: 400,
  [ErrorCode.ConfigInvalid]: 400,
  UNAUTHORIZED: 401,
  [ErrorCode.PermissionDenied]: 403,
  UI_PATH_REFUSED: 403,
  [ErrorCode.ConfigProtectedField]: 403,
  [ErrorCode.NotFound]: 404,
  [ErrorCode.PluginNotFound]: 404,
  [ErrorCode.EntryNotFound]: 404,
  [ErrorCode.ConfigKeyMissing]: 404,
  [ErrorCode.EventNotFound]: 404,
  ROUTE_NOT_FOUND: 404,
  UI_NOT_REGISTERED: 404,
  UI_FILE_NOT_FOUND: 404,
  [ErrorCode.PluginNotRunning]: 409,
  [ErrorCode.EntryDisabled]: 409,
  [ErrorCode.PluginRefused]: 409,
  [ErrorCode.Canceled]: 409,
  [ErrorCode.StoreDisabled]: 409,
  [ErrorCode.ConfigChangeRefused]: 409,
  [ErrorCode.FreezeRefused]: 409,
  [ErrorCode.NotFrozen]: 409,
  [ErrorCode.NotInRun]: 409,
  RUN_FINISHED: 409,
  [ErrorCode.FreezeFailed]: 500,
  [ErrorCode.PayloadTooLarge]: 413,
  PRECONDITION_FAILED: 412,
  UNSUPPORTED_MEDIA_TYPE: 415,
  RANGE_NOT_SATISFIABLE: 416,
  [ErrorCode.EntryFailed]: 500,
  [ErrorCode.HookFailed]: 500,
  INTERNAL_ERROR: 500,
  [ErrorCode.StoreFailed]: 500,
  [ErrorCode.PluginCrashed]: 502,
  [ErrorCode.HandshakeFailed]: 502,
  [ErrorCode.PluginLoadFailed]: 502,
  [ErrorCode.PluginCall]: 502,
  [ErrorCode.Transport]: 502,
  [ErrorCode.Timeout]: 504,
  [ErrorCode.CircularCall]: 508,
};

/** The status for an error code; a plugin's own codes (its `Err`s) are 422: the request was understood and refused. */
export function statusForCode(code: string): number {
  return STATUS_BY_CODE[code] ?? 422;
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
    readonly code: string,
    message: string,
    readonly details: unknown = null,
    readonly statusCode = statusForCode(code),
  ) {
    super(message);
  }
}
