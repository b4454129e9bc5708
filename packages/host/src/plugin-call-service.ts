/**
 * The host services behind `this.plugins` (SPEC §3.4, §4.3): `plugins.list`, `plugins.get`, `plugins.call` and
 * `plugins.callEvent`. A call is checked (`allow_calls`, the call chain) and sent to the target through the
 * supervisor with the chain and a deadline no later than the caller's; the target's answer comes back as is.
 */
import { ErrorCode, type WireResult } from "@neko/protocol";
import { checkCallChain, MAX_CALL_DEPTH } from "./call-chain.ts";
import type { ServiceContext } from "./host-services.ts";
import { PLUGIN_ID_PATTERN } from "./manifest/plugin-manifest.ts";
import type { PluginHost, PluginView } from "./plugin-host.ts";
import { failure, validationFailure, type WireFailure } from "./wire-result.ts";

interface CallTarget {
  pluginId: string;
  args: Record<string, unknown>;
  chain: unknown;
  timeoutMs: number | undefined;
}

export function registerPluginCallService(host: PluginHost, options: { maxDepth?: number } = {}): void {
  const maxDepth = options.maxDepth ?? MAX_CALL_DEPTH;

  host.services.handle("plugins.list", () => ({ ok: true, value: pluginInfos(host) }));

  host.services.handle("plugins.get", (params: { id?: unknown }) => {
    if (typeof params?.id !== "string") return validationFailure("plugins.get needs an 'id' string");
    return { ok: true, value: pluginInfos(host).find((p) => p.id === params.id) ?? null };
  });

  host.services.handle("plugins.call", (params: Record<string, unknown>, ctx) => {
    const target = readTarget(params);
    if (!target.ok) return target;
    const { entryId } = params ?? {};
    if (typeof entryId !== "string" || entryId === "")
      return validationFailure("plugins.call needs an 'entryId' string");
    const { pluginId, args, timeoutMs } = target.value;
    const chain = authorize(host, ctx, target.value, maxDepth);
    if (!chain.ok) return chain;
    return host.callEntry(pluginId, entryId, args, {
      timeoutMs,
      deadline: ctx.deadline,
      chain: chain.value as string[],
      canceler: ctx.canceler,
    });
  });

  host.services.handle("plugins.callEvent", (params: Record<string, unknown>, ctx) => {
    const target = readTarget(params);
    if (!target.ok) return target;
    const { eventType, eventId } = params ?? {};
    if (typeof eventType !== "string" || eventType === "" || typeof eventId !== "string" || eventId === "") {
      return validationFailure("plugins.callEvent needs 'eventType' and 'eventId' strings");
    }
    const { pluginId, args, timeoutMs } = target.value;
    const chain = authorize(host, ctx, target.value, maxDepth);
    if (!chain.ok) return chain;
    // The target runs the handler inside a call scope with this chain, so its own calls are checked too.
    return host.callEvent(
      pluginId,
      { eventType, eventId, args, chain: chain.value as string[] },
      { timeoutMs, deadline: ctx.deadline, canceler: ctx.canceler },
    );
  });
}

/** What `this.plugins.list()` shows of each plugin (the first manifest of each id; shadowed copies are left out). */
function pluginInfos(host: PluginHost) {
  const seen = new Set<string>();
  return host
    .listPlugins()
    .filter((p) => !seen.has(p.id) && seen.add(p.id))
    .map((p: PluginView) => ({
      id: p.id,
      name: p.name,
      description: p.description,
      version: p.version,
      type: p.type,
      status: p.status,
      enabled: p.status !== "disabled" && p.status !== "refused",
      running: p.status === "running",
      entries: p.entries.map((e) => ({
        id: e.id,
        name: e.name,
        description: e.description,
        inputSchema: e.input_schema,
        kind: e.kind,
        timeout: e.timeout,
        enabled: e.enabled,
      })),
    }));
}

function readTarget(params: Record<string, unknown> | undefined): { ok: true; value: CallTarget } | WireFailure {
  const { pluginId, args = {}, chain, timeoutMs } = params ?? {};
  if (typeof pluginId !== "string" || !PLUGIN_ID_PATTERN.test(pluginId)) {
    return validationFailure(`'${String(pluginId)}' is not a plugin id`);
  }
  if (typeof args !== "object" || args === null || Array.isArray(args))
    return validationFailure("args must be an object");
  if (timeoutMs !== undefined && !(typeof timeoutMs === "number" && timeoutMs > 0)) {
    return validationFailure("timeoutMs must be a positive number");
  }
  return { ok: true, value: { pluginId, args: args as Record<string, unknown>, chain, timeoutMs } };
}

/** `allow_calls` of the caller, then the chain; Ok with the chain to send on. */
function authorize(host: PluginHost, ctx: ServiceContext, target: CallTarget, maxDepth: number): WireResult {
  const caller = ctx.pluginId;
  const allowed = host.manifest(caller)?.permissions.allowCalls;
  if (allowed && !allowed.includes(target.pluginId)) {
    const list = allowed.length ? allowed.map((id) => `'${id}'`).join(", ") : "no plugin";
    return failure(
      ErrorCode.PermissionDenied,
      `plugin '${caller}' may not call plugin '${target.pluginId}': [plugin.permissions].allow_calls in its plugin.toml allows ${list}`,
      "PluginCallError",
      { permission: "allow_calls", caller, target: target.pluginId, allowCalls: allowed },
    );
  }
  return checkCallChain({ chain: target.chain, caller, target: target.pluginId, maxDepth });
}
