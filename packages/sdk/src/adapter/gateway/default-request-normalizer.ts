/**
 * `DefaultRequestNormalizer` (docs/adapters.md#normalizer): checks an `ExternalRequest`'s fields and makes it a
 * `GatewayRequest`: the payload (a plain object, or nothing) becomes the args; `metadata.target`
 * (`"plugin:entry"` or `{ pluginId, entryId }`) becomes the explicit target. Anything else is `invalid_request`.
 */
import { PLUGIN_ID_PATTERN } from "@neko/protocol";
import { Err, Ok, type Result } from "../../result.ts";
import { type GatewayError, GatewayErrorCode, gatewayError } from "./gateway-error.ts";
import type { ExternalRequest, GatewayRequest, GatewayTarget } from "./gateway-models.ts";
import type { RequestNormalizer } from "./gateway-stages.ts";

/** Longest action, connection id or request id taken (they end up in logs and audit records). */
export const MAX_GATEWAY_ID_LENGTH = 256;

export class DefaultRequestNormalizer implements RequestNormalizer {
  constructor(private readonly now: () => number = Date.now) {}

  normalize(external: ExternalRequest): Result<GatewayRequest, GatewayError> {
    if (typeof external !== "object" || external === null) return invalid("the request is not an object");
    for (const field of ["protocol", "connectionId", "requestId", "action"] as const) {
      const value = external[field];
      if (typeof value !== "string" || value.length === 0 || value.length > MAX_GATEWAY_ID_LENGTH) {
        return invalid(`'${field}' must be a string of 1–${MAX_GATEWAY_ID_LENGTH} characters`, { field });
      }
    }
    const { payload } = external;
    if (payload !== undefined && payload !== null && !isPlainObject(payload)) {
      return invalid("the payload must be an object of arguments", { field: "payload" });
    }
    const metadata = external.metadata ?? {};
    if (!isPlainObject(metadata)) return invalid("'metadata' must be an object", { field: "metadata" });
    const target = readTarget(metadata.target);
    if (!target.ok) return target;
    const request: GatewayRequest = {
      protocol: external.protocol,
      connectionId: external.connectionId,
      requestId: external.requestId,
      action: external.action,
      args: payload ?? {},
      metadata,
      receivedAt: this.now(),
    };
    if (target.value) request.target = target.value;
    return Ok(request);
  }
}

/** `"plugin:entry"` or `{ pluginId, entryId }`; undefined when there is none. */
export function readTarget(value: unknown): Result<GatewayTarget | undefined, GatewayError> {
  if (value === undefined || value === null) return Ok(undefined);
  let pluginId: unknown;
  let entryId: unknown;
  if (typeof value === "string") {
    const colon = value.indexOf(":");
    pluginId = colon > 0 ? value.slice(0, colon) : undefined;
    entryId = colon > 0 ? value.slice(colon + 1) : undefined;
  } else if (isPlainObject(value)) {
    ({ pluginId, entryId } = value);
  }
  if (
    typeof pluginId !== "string" ||
    !PLUGIN_ID_PATTERN.test(pluginId) ||
    typeof entryId !== "string" ||
    entryId.length === 0 ||
    entryId.length > MAX_GATEWAY_ID_LENGTH
  ) {
    const shown = typeof value === "string" ? ` ${JSON.stringify(value)}` : "";
    return invalid(`the target${shown} is not "<plugin>:<entry>" or { pluginId, entryId }`, { field: "target" });
  }
  return Ok({ pluginId, entryId });
}

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

function invalid(message: string, details?: Record<string, unknown>): Result<never, GatewayError> {
  return Err(gatewayError(GatewayErrorCode.InvalidRequest, message, details ? { details } : {}));
}
