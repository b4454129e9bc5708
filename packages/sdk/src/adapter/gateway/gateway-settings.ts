/**
 * `readGatewaySettings` (docs/adapters.md#configuration): the gateway's keys of an adapter's `[adapter]` table,
 * checked: `target`, `timeout`, `explicit_targets`, `audit`, `[adapter.policy]` and `[[adapter.routes]]`. A wrong
 * value (or an unknown key of `[adapter.policy]`) throws a `ValidationError` naming it, so an adapter built on a bad
 * table fails its startup, saying why.
 */
import { PLUGIN_ID_PATTERN } from "@neko/protocol";
import { ValidationError } from "../../errors.ts";
import { secondsProblem } from "../../seconds-limit.ts";
import type { AdapterMode, AdapterSettings } from "../neko-adapter-plugin.ts";
import { isPlainObject, MAX_GATEWAY_ID_LENGTH, readTarget } from "./default-request-normalizer.ts";
import type { PolicyOptions } from "./default-policy-engine.ts";
import type { GatewayRouteRule } from "./default-route-engine.ts";
import type { GatewayTarget } from "./gateway-models.ts";

export interface GatewaySettings {
  mode: AdapterMode;
  /** `bridge` mode's target (`target = "plugin:entry"`). */
  target?: GatewayTarget;
  /** `timeout` (seconds) as ms: bounds each call when the request gives no timeout. */
  timeoutMs?: number;
  explicitTargets: boolean;
  audit: boolean;
  policy: Pick<PolicyOptions, "allowPlugins" | "denyPlugins" | "maxParamBytes" | "rateLimit">;
  routes: GatewayRouteRule[];
}

const MODES: readonly AdapterMode[] = ["gateway", "router", "bridge", "hybrid"];
const ROUTES: readonly GatewayRouteRule["route"][] = ["plugin", "self", "broadcast", "drop"];
const POLICY_KEYS = ["allow_plugins", "deny_plugins", "max_param_bytes", "rate_limit"];

export function readGatewaySettings(adapter: AdapterSettings): GatewaySettings {
  const settings: GatewaySettings = {
    mode: adapter.mode,
    explicitTargets: readBoolean(adapter.explicit_targets, "adapter.explicit_targets", true),
    audit: readBoolean(adapter.audit, "adapter.audit", true),
    policy: readPolicy(adapter.policy),
    routes: [],
  };
  if (adapter.target !== undefined) {
    const target = readTarget(adapter.target);
    if (!target.ok || !target.value) {
      throw new ValidationError(`adapter.target must be "<plugin>:<entry>"`, { details: { key: "adapter.target" } });
    }
    settings.target = target.value;
  }
  settings.routes = readRoutes(adapter.routes, settings.target);
  if (adapter.mode === "bridge" && !settings.target) {
    throw new ValidationError(`[adapter] mode = "bridge" needs target = "<plugin>:<entry>"`, {
      details: { key: "adapter.target" },
    });
  }
  if (adapter.timeout !== undefined) {
    const problem = secondsProblem("adapter.timeout", adapter.timeout);
    if (problem) throw new ValidationError(problem, { details: { key: "adapter.timeout" } });
    settings.timeoutMs = (adapter.timeout as number) * 1000;
  }
  return settings;
}

function readPolicy(value: unknown): GatewaySettings["policy"] {
  if (value === undefined) return {};
  const table = readTable(value, "adapter.policy", POLICY_KEYS);
  const policy: GatewaySettings["policy"] = {};
  if (table.allow_plugins !== undefined) policy.allowPlugins = readIds(table.allow_plugins, "allow_plugins");
  if (table.deny_plugins !== undefined) policy.denyPlugins = readIds(table.deny_plugins, "deny_plugins");
  if (table.max_param_bytes !== undefined) {
    const bytes = table.max_param_bytes;
    if (!Number.isSafeInteger(bytes) || (bytes as number) < 0) {
      throw bad("adapter.policy.max_param_bytes", "must be a whole number of bytes (0: no limit)");
    }
    policy.maxParamBytes = bytes as number;
  }
  if (table.rate_limit !== undefined) {
    const rate = readTable(table.rate_limit, "adapter.policy.rate_limit", ["burst", "per_second"]);
    const { burst, per_second: perSecond } = rate;
    if (typeof burst !== "number" || !Number.isInteger(burst) || burst < 1) {
      throw bad("adapter.policy.rate_limit.burst", "must be a whole number ≥ 1");
    }
    if (typeof perSecond !== "number" || !Number.isFinite(perSecond) || perSecond <= 0) {
      throw bad("adapter.policy.rate_limit.per_second", "must be a number above 0");
    }
    policy.rateLimit = { burst, perSecond };
  }
  return policy;
}

function readRoutes(value: unknown, bridgeTarget: GatewayTarget | undefined): GatewayRouteRule[] {
  if (value === undefined) return [];
  if (!Array.isArray(value)) throw bad("adapter.routes", "must be a list of tables ([[adapter.routes]])");
  return value.map((item, i) => readRule(item, `adapter.routes[${i}]`, bridgeTarget));
}

function readRule(value: unknown, where: string, bridgeTarget: GatewayTarget | undefined): GatewayRouteRule {
  // Other keys are the adapter's own (a help text, …): they are left to it.
  const table = readTable(value, where);
  const { action, plugin, entry, args, mode } = table;
  if (typeof action !== "string" || action.length === 0 || action.length > MAX_GATEWAY_ID_LENGTH) {
    throw bad(`${where}.action`, `must be a string of 1–${MAX_GATEWAY_ID_LENGTH} characters`);
  }
  if (mode === "bridge") {
    // A bridged request goes to [adapter] target: the rule names no target of its own, and routes there in any mode.
    const own = ["route", "plugin", "entry", "args"].find((key) => table[key] !== undefined);
    if (own) throw bad(`${where}.${own}`, `is not for a rule with mode = "bridge": it goes to [adapter] target`);
    if (!bridgeTarget) throw bad("adapter.target", `is needed by ${where} (mode = "bridge")`);
    return { action, route: "plugin", plugin: bridgeTarget.pluginId, entry: bridgeTarget.entryId, mode };
  }
  const route = table.route ?? (plugin === undefined ? undefined : "plugin");
  if (!ROUTES.includes(route as GatewayRouteRule["route"])) {
    throw bad(`${where}.route`, `must be one of ${ROUTES.join(", ")} (default plugin when 'plugin' is set)`);
  }
  const rule: GatewayRouteRule = { action, route: route as GatewayRouteRule["route"] };
  if (plugin !== undefined) {
    if (typeof plugin !== "string" || !PLUGIN_ID_PATTERN.test(plugin))
      throw bad(`${where}.plugin`, "must be a plugin id");
    rule.plugin = plugin;
  }
  if (rule.route === "plugin" && rule.plugin === undefined) throw bad(`${where}.plugin`, "is needed by a plugin route");
  if (entry !== undefined) {
    if (typeof entry !== "string" || entry.length === 0 || entry.length > MAX_GATEWAY_ID_LENGTH) {
      throw bad(`${where}.entry`, `must be a string of 1–${MAX_GATEWAY_ID_LENGTH} characters`);
    }
    rule.entry = entry;
  } else if (action.includes("*") && rule.route !== "drop") {
    throw bad(`${where}.entry`, "is needed when the action is a pattern");
  }
  if (args !== undefined) {
    if (!isPlainObject(args)) throw bad(`${where}.args`, "must be a table");
    rule.args = args;
  }
  if (mode !== undefined) {
    if (!MODES.includes(mode as AdapterMode)) throw bad(`${where}.mode`, `must be one of ${MODES.join(", ")}`);
    rule.mode = mode as AdapterMode;
  }
  return rule;
}

/** The table at `where`; with `keys`, a key not among them is refused. */
function readTable(value: unknown, where: string, keys?: readonly string[]): Record<string, unknown> {
  if (!isPlainObject(value)) throw bad(where, "must be a table");
  if (!keys) return value;
  const unknownKey = Object.keys(value).find((key) => !keys.includes(key));
  if (unknownKey !== undefined) throw bad(`${where}.${unknownKey}`, `is not a key of it (known: ${keys.join(", ")})`);
  return value;
}

function readIds(value: unknown, key: string): string[] {
  if (!Array.isArray(value) || !value.every((id) => typeof id === "string" && PLUGIN_ID_PATTERN.test(id))) {
    throw bad(`adapter.policy.${key}`, "must be a list of plugin ids");
  }
  return value as string[];
}

function readBoolean(value: unknown, key: string, fallback: boolean): boolean {
  if (value === undefined) return fallback;
  if (typeof value !== "boolean") throw bad(key, "must be true or false");
  return value;
}

function bad(key: string, problem: string): ValidationError {
  return new ValidationError(`${key} ${problem}`, { details: { key } });
}
