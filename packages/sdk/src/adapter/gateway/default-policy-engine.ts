/**
 * `DefaultPolicyEngine` (docs/adapters.md#policy): the gateway's access control, configured by `[adapter.policy]`:
 * an allow-list and a deny-list of plugin ids (checked against the route, so rules and explicit targets alike are
 * covered, and a broadcast is narrowed to the permitted plugins), a limit on the size of a request's args, and a
 * token-bucket rate limit per connection. It also publishes the audit record of every request on the bus.
 */
import { payloadBytes } from "@neko/protocol";
import { Err, Ok, type Result } from "../../result.ts";
import { type GatewayError, GatewayErrorCode, gatewayError } from "./gateway-error.ts";
import type { GatewayAuditRecord, GatewayRequest, RouteDecision } from "./gateway-models.ts";
import type { PolicyEngine } from "./gateway-stages.ts";
import { TokenBucketLimiter } from "./token-bucket-limiter.ts";

/** The bus event type of audit records. */
export const AUDIT_EVENT_TYPE = "adapter.audit";
/** Default limit on a request's args, as `payloadBytes` counts them (about their JSON size). */
export const DEFAULT_MAX_PARAM_BYTES = 256 * 1024;

export interface PolicyOptions {
  /** Only these plugins may be reached; absent or empty: every plugin. */
  allowPlugins?: readonly string[];
  /** These plugins may never be reached (wins over `allowPlugins`). */
  denyPlugins?: readonly string[];
  /** Largest args in bytes (default 256 KiB); 0 for no limit. */
  maxParamBytes?: number;
  /** Requests per connection: up to `burst` at once, `perSecond` sustained. Absent: no rate limit. */
  rateLimit?: { burst: number; perSecond: number };
  /** Publishes an audit record (the adapter's `bus.emit(AUDIT_EVENT_TYPE, record)`); absent: no audit. */
  publishAudit?: (record: GatewayAuditRecord) => void;
  /** Clock in ms for the rate limit (tests pass their own). */
  now?: () => number;
}

export class DefaultPolicyEngine implements PolicyEngine {
  private readonly allow: ReadonlySet<string> | undefined;
  private readonly deny: ReadonlySet<string>;
  private readonly maxParamBytes: number;
  private readonly limiter: TokenBucketLimiter | undefined;

  constructor(private readonly options: PolicyOptions = {}) {
    this.allow = options.allowPlugins?.length ? new Set(options.allowPlugins) : undefined;
    this.deny = new Set(options.denyPlugins ?? []);
    this.maxParamBytes = options.maxParamBytes ?? DEFAULT_MAX_PARAM_BYTES;
    this.limiter =
      options.rateLimit &&
      new TokenBucketLimiter({
        ...options.rateLimit,
        ...(options.now && { now: options.now }),
      });
  }

  authorize(request: GatewayRequest): Result<void, GatewayError> {
    if (this.maxParamBytes > 0) {
      const bytes = payloadBytes(request.args);
      if (bytes > this.maxParamBytes) {
        return denied(`the arguments take ${bytes} bytes; the limit is ${this.maxParamBytes}`, {
          reason: "max_param_bytes",
          bytes,
          limit: this.maxParamBytes,
        });
      }
    }
    const taken = this.limiter?.take(request.connectionId);
    if (taken && !taken.allowed) {
      return Err(
        gatewayError(GatewayErrorCode.PolicyDenied, `rate limit of connection '${request.connectionId}' reached`, {
          retryable: true,
          details: { reason: "rate_limit", retryAfterMs: taken.retryAfterMs },
        }),
      );
    }
    return Ok(undefined);
  }

  authorizeRoute(_request: GatewayRequest, decision: RouteDecision): Result<RouteDecision, GatewayError> {
    if (decision.mode === "plugin" && decision.pluginId !== undefined && !this.permits(decision.pluginId)) {
      return denied(`plugin '${decision.pluginId}' may not be reached through this adapter`, {
        reason: "plugin_not_allowed",
        pluginId: decision.pluginId,
      });
    }
    if (decision.mode === "broadcast" && decision.pluginIds) {
      const permitted = decision.pluginIds.filter((id) => this.permits(id));
      if (permitted.length === 0) {
        return denied("none of the broadcast's plugins may be reached through this adapter", {
          reason: "plugin_not_allowed",
          pluginIds: decision.pluginIds,
        });
      }
      if (permitted.length < decision.pluginIds.length) return Ok({ ...decision, pluginIds: permitted });
    }
    return Ok(decision);
  }

  audit(record: GatewayAuditRecord): void {
    this.options.publishAudit?.(record);
  }

  /** Whether the lists let a request reach `pluginId`. */
  permits(pluginId: string): boolean {
    return !this.deny.has(pluginId) && (this.allow === undefined || this.allow.has(pluginId));
  }
}

function denied(message: string, details: Record<string, unknown>): Result<never, GatewayError> {
  return Err(gatewayError(GatewayErrorCode.PolicyDenied, message, { details }));
}
