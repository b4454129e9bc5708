/**
 * The five stages of the gateway pipeline as interfaces (SPEC §3.7, docs/adapters.md#stages): an adapter replaces any
 * of the defaults with its own. A stage answers a `Result`: `Err(GatewayError)` is a refusal the core reports as is;
 * a stage that throws is a bug the core reports as `internal_error`. Either way `process` never throws.
 */
import type { CallProgress } from "../../plugins-client.ts";
import type { Result } from "../../result.ts";
import type { AdapterMode } from "../neko-adapter-plugin.ts";
import type { GatewayError } from "./gateway-error.ts";
import type {
  ExternalRequest,
  GatewayAuditRecord,
  GatewayRequest,
  GatewayResponse,
  RouteDecision,
} from "./gateway-models.ts";

/** A stage's answer, sync or async. */
export type StageResult<T> = Result<T, GatewayError> | Promise<Result<T, GatewayError>>;

/** External request → `GatewayRequest`. Fails with `invalid_request`. */
export interface RequestNormalizer {
  normalize(external: ExternalRequest): StageResult<GatewayRequest>;
}

/** Access control. Skipped in `router` and `bridge` modes, except `audit`, which hears of every request. */
export interface PolicyEngine {
  /** Before routing: may this request go on at all? Fails with `policy_denied`. */
  authorize(request: GatewayRequest): StageResult<void>;
  /** After routing: may it go where it was routed? May narrow the decision (a broadcast's targets). */
  authorizeRoute?(request: GatewayRequest, decision: RouteDecision): StageResult<RouteDecision>;
  /** Told once per request when it is done, in every mode. Must not throw (a throw is logged and ignored). */
  audit?(record: GatewayAuditRecord): void;
}

/** Where a request goes. Fails with `route_failed`. */
export interface RouteEngine {
  route(request: GatewayRequest): StageResult<RouteDecision>;
  /** In `hybrid` mode, when the request's metadata does not say: the mode for this request (its route rule's). */
  modeFor?(request: GatewayRequest): AdapterMode | undefined;
}

export interface InvokeOptions {
  /** Aborting it cancels the call (the target entry's `ctx.signal` is aborted). */
  signal?: AbortSignal;
  /** Bounds the call; default the target entry's own timeout. */
  timeoutMs?: number;
  /** The target entry's `runUpdate`s (a `plugin` route). */
  onProgress?: (update: CallProgress) => void;
}

/** Runs the decision. Fails with `invoke_failed`. */
export interface PluginInvoker {
  invoke(request: GatewayRequest, decision: RouteDecision, options: InvokeOptions): StageResult<unknown>;
}

/**
 * Shapes the response for the protocol: gets the core's response (`data` is what the invoker returned) and returns the
 * one `process` answers. Timings are filled in by the core afterwards. A failure becomes `internal_error`.
 */
export interface ResponseSerializer {
  serialize(response: GatewayResponse, request: GatewayRequest | undefined): StageResult<GatewayResponse>;
}
