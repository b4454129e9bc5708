/**
 * `DefaultRouteEngine` (docs/adapters.md#routing): decides where a request goes, in this order: the request's explicit
 * target (unless `[adapter] explicit_targets = false`); the first `[[adapter.routes]]` rule whose `action` matches; a
 * `self` handler the adapter registered for the action; else `route_failed`. A `broadcast` is resolved here to the
 * running plugins that have the entry, so the policy can check each one.
 */
import type { PluginInfo } from "@neko/protocol";
import { Err, Ok, type Result } from "../../result.ts";
import type { SdkError } from "../../errors.ts";
import type { AdapterMode } from "../neko-adapter-plugin.ts";
import { type GatewayError, GatewayErrorCode, gatewayError } from "./gateway-error.ts";
import type { GatewayRequest, RouteDecision } from "./gateway-models.ts";
import type { RouteEngine } from "./gateway-stages.ts";

/** One `[[adapter.routes]]` table (docs/adapters.md#route-rules). */
export interface GatewayRouteRule {
  /** The action it matches: exact, or a pattern where `*` stands for any run of characters. */
  action: string;
  /** `plugin` (default), `self`, `broadcast` or `drop`. */
  route: RouteDecision["mode"];
  /** The target plugin of a `plugin` route. */
  plugin?: string;
  /** The target entry (`plugin`, `broadcast`) or handler (`self`); default: the request's action. */
  entry?: string;
  /** Arguments merged under the request's own (the request's values win). */
  args?: Record<string, unknown>;
  /**
   * In `hybrid` mode: the pipeline mode of the requests it matches. A `bridge` rule's target is `[adapter] target`
   * (`readGatewaySettings` fills it in).
   */
  mode?: AdapterMode;
}

export interface RouteEngineOptions {
  rules?: readonly GatewayRouteRule[];
  /** Whether a request's explicit target is followed (default true). */
  explicitTargets?: boolean;
  /** Whether the adapter handles `action` itself (the invoker's `self` handlers). */
  hasSelfHandler?: (action: string) => boolean;
  /** Lists the plugins a broadcast may reach; without it a broadcast rule fails with `route_failed`. */
  plugins?: { list(): Promise<Result<PluginInfo[], SdkError>> };
  /** The adapter's own id: a broadcast never calls back into the adapter. */
  selfId?: string;
}

interface CompiledRule {
  rule: GatewayRouteRule;
  matches: (action: string) => boolean;
}

export class DefaultRouteEngine implements RouteEngine {
  private readonly rules: CompiledRule[];

  constructor(private readonly options: RouteEngineOptions = {}) {
    this.rules = (options.rules ?? []).map((rule) => ({ rule, matches: actionMatcher(rule.action) }));
  }

  async route(request: GatewayRequest): Promise<Result<RouteDecision, GatewayError>> {
    if (request.target && this.options.explicitTargets !== false) {
      return Ok({ mode: "plugin", ...request.target, reason: "explicit target" });
    }
    const rule = this.ruleFor(request.action);
    if (rule) return this.follow(rule, request);
    if (this.options.hasSelfHandler?.(request.action)) {
      return Ok({ mode: "self", entryId: request.action, reason: "self handler" });
    }
    return failed(`no route for action '${request.action}'`, { action: request.action });
  }

  modeFor(request: GatewayRequest): AdapterMode | undefined {
    return this.ruleFor(request.action)?.mode;
  }

  private ruleFor(action: string): GatewayRouteRule | undefined {
    return this.rules.find((compiled) => compiled.matches(action))?.rule;
  }

  private async follow(rule: GatewayRouteRule, request: GatewayRequest): Promise<Result<RouteDecision, GatewayError>> {
    const reason = `route rule '${rule.action}'`;
    const entryId = rule.entry ?? request.action;
    const args = rule.args ? { args: { ...rule.args, ...request.args } } : {};
    switch (rule.route) {
      case "drop":
        return Ok({ mode: "drop", reason });
      case "self":
        return Ok({ mode: "self", entryId, ...args, reason });
      case "plugin":
        if (rule.plugin === undefined) return failed(`${reason} names no plugin`, { action: request.action });
        return Ok({ mode: "plugin", pluginId: rule.plugin, entryId, ...args, reason });
      case "broadcast": {
        const pluginIds = await this.pluginsWith(entryId);
        if (!pluginIds.ok) return pluginIds;
        if (pluginIds.value.length === 0) {
          return failed(`no running plugin has the entry '${entryId}'`, { action: request.action, entryId });
        }
        return Ok({ mode: "broadcast", entryId, pluginIds: pluginIds.value, ...args, reason });
      }
    }
  }

  /** The running plugins with an enabled entry `entryId`, the adapter excepted. */
  private async pluginsWith(entryId: string): Promise<Result<string[], GatewayError>> {
    const { plugins, selfId } = this.options;
    if (!plugins) return failed("this route engine cannot list plugins for a broadcast", { entryId });
    const listed = await plugins.list();
    if (!listed.ok) {
      return Err(
        gatewayError(GatewayErrorCode.RouteFailed, `could not list plugins: ${listed.error.message}`, {
          retryable: true,
          details: { entryId, code: listed.error.code },
        }),
      );
    }
    return Ok(
      listed.value
        .filter((p) => p.running && p.id !== selfId && p.entries.some((e) => e.id === entryId && e.enabled))
        .map((p) => p.id),
    );
  }
}

/**
 * Exact match, or a `*` pattern (any run of characters) matched against the whole action: the literal parts in order,
 * each found at its leftmost place (no regular expression, so no backtracking however many `*` it has).
 */
export function actionMatcher(pattern: string): (action: string) => boolean {
  if (!pattern.includes("*")) return (action) => action === pattern;
  const parts = pattern.split("*");
  const first = parts[0] ?? "";
  const last = parts[parts.length - 1] ?? "";
  const middle = parts.slice(1, -1).filter((part) => part !== "");
  return (action) => {
    if (action.length < first.length + last.length || !action.startsWith(first) || !action.endsWith(last)) {
      return false;
    }
    const end = action.length - last.length;
    let at = first.length;
    for (const part of middle) {
      const found = action.indexOf(part, at);
      if (found < 0 || found + part.length > end) return false;
      at = found + part.length;
    }
    return true;
  };
}

function failed(message: string, details: Record<string, unknown>): Result<never, GatewayError> {
  return Err(gatewayError(GatewayErrorCode.RouteFailed, message, { details }));
}
