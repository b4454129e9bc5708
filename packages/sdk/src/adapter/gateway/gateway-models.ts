/**
 * The values that travel through the gateway pipeline (SPEC §3.7, docs/adapters.md#models): the external request an
 * adapter hands in, the normalized request the stages work on, the route decision, and the response that comes out
 * with its per-stage timings. Plain data: each survives JSON and msgpack unchanged.
 */
import type { GatewayStage } from "@neko/protocol";
import type { AdapterMode } from "../neko-adapter-plugin.ts";
import type { GatewayError } from "./gateway-error.ts";

/** A request as the adapter's protocol delivered it, before any stage ran. */
export interface ExternalRequest {
  /** The protocol's name (`mcp`, `onebot`, …): shown in audit records. */
  protocol: string;
  /** Who sent it: the connection, session or user the rate limit and the audit record are kept per. */
  connectionId: string;
  /** The protocol's id of this request; echoed in the response. */
  requestId: string;
  /** What is asked: a command, a tool name, … Route rules match on it. */
  action: string;
  /** The protocol's arguments; the default normalizer takes a plain object (or nothing) as the call's args. */
  payload?: unknown;
  /**
   * Set by the adapter's own code, never copied blindly from the peer: `target` (`"plugin:entry"`) names an explicit
   * target, and in `hybrid` mode `mode` picks the pipeline mode of this request.
   */
  metadata?: Record<string, unknown>;
}

/** A plugin entry: where a `plugin` route goes. */
export interface GatewayTarget {
  pluginId: string;
  entryId: string;
}

/** The request every stage after the normalizer works on. */
export interface GatewayRequest {
  protocol: string;
  connectionId: string;
  requestId: string;
  action: string;
  /** The arguments of the call (an object, always). */
  args: Record<string, unknown>;
  /** An explicit target; the default route engine sends the request there before looking at route rules. */
  target?: GatewayTarget;
  metadata: Record<string, unknown>;
  /** When the core received it (ms since the epoch). */
  receivedAt: number;
}

/**
 * Where a request goes. `self`: a handler the adapter registered in its own process for the action; `plugin`: one
 * entry of one plugin; `broadcast`: the entry `entryId` of every plugin in `pluginIds`; `drop`: nowhere, on purpose
 * (the response is `ok` with `data: null`).
 */
export interface RouteDecision {
  mode: "self" | "plugin" | "broadcast" | "drop";
  /** The target plugin (`plugin`). */
  pluginId?: string;
  /** The target entry (`plugin`, `broadcast`), or the handler's action (`self`). */
  entryId?: string;
  /** The plugins a `broadcast` reaches, as the route engine resolved them (the policy may narrow them). */
  pluginIds?: string[];
  /** The arguments to call with, when the route changes them (rule defaults merged in); else the request's. */
  args?: Record<string, unknown>;
  /** Why: which rule matched, or why the request is dropped. */
  reason?: string;
}

export { GATEWAY_STAGES, type GatewayStage } from "@neko/protocol";

/** Milliseconds each stage took (a stage that did not run is absent), and the whole request. */
export type StageTimings = Partial<Record<GatewayStage, number>> & { total: number };

interface GatewayResponseBase {
  requestId: string;
  /** The pipeline mode the request ran in (`hybrid` resolves to one of the three others). */
  mode: Exclude<AdapterMode, "hybrid">;
  /** The route taken; absent when the request failed before routing. */
  route?: RouteDecision;
  timings: StageTimings;
}

/** What `AdapterGatewayCore.process` answers: never a throw. */
export type GatewayResponse =
  | (GatewayResponseBase & { ok: true; data: unknown })
  | (GatewayResponseBase & { ok: false; error: GatewayError });

/** Per target of a `broadcast`: what that plugin answered. */
export type BroadcastOutcome = { ok: true; data: unknown } | { ok: false; error: { code: string; message: string } };

/** One record per request, handed to the policy engine's `audit` when the request is done. */
export interface GatewayAuditRecord {
  protocol: string;
  connectionId: string;
  requestId: string;
  action: string;
  mode: Exclude<AdapterMode, "hybrid">;
  /** `self` / `plugin` / `broadcast` / `drop` as routed, or `denied` when the policy refused it, `failed` otherwise. */
  decision: RouteDecision["mode"] | "denied" | "failed";
  pluginId?: string;
  entryId?: string;
  /** The broadcast's targets. */
  pluginIds?: string[];
  ok: boolean;
  /** The gateway error code, or null for a success. */
  code: string | null;
  durationMs: number;
  /** ISO time the request was received. */
  at: string;
}
