/**
 * The host services behind `this.plugins` (SPEC §3.4, §4.3): `plugins.list`, `plugins.get`, `plugins.call` and
 * `plugins.callEvent`. A call is checked (`allow_calls`, the call chain) and sent to the target with the chain and a
 * deadline no later than the caller's; the target's answer comes back as is.
 */
import { type Disposable, DisposableStore, ErrorCode, type PluginInfo, type WireResult } from "@neko/protocol";
import { checkCallChain, MAX_CALL_DEPTH } from "./call-chain.ts";
import type { HostContext, HostFeature } from "./host-context.ts";
import type { ServiceContext } from "./host-services.ts";
import type { RunsApi } from "./runs/run-registry.ts";
import type { UpstreamFailures } from "./upstream-failures.ts";
import { failure } from "./wire-result.ts";

export function pluginCallService(
  options: { maxDepth?: number; runs?: () => RunsApi; upstream?: UpstreamFailures } = {},
): HostFeature {
  const maxDepth = options.maxDepth ?? MAX_CALL_DEPTH;
  /**
   * A failure the caller gets is recorded, so an entry passing it on is answered naming it (upstream-failures.ts).
   * Tokens belong to the caller's process that made the call: one delivered after that process ended (or after a
   * restart) is not recorded, and the process's tokens are forgotten when it ends.
   */
  return (ctx): Disposable => {
    const watched = new WeakSet<object>();
    const delivered = (
      caller: string,
      run: CallerRun,
      plugin: string,
      entry: string,
      result: WireResult,
    ): WireResult => {
      const { upstream } = options;
      if (result.ok || !upstream) return result;
      if (!run || run.isDisposed || ctx.plugins.scope(caller)?.run !== run) return result;
      if (!watched.has(run)) {
        watched.add(run);
        run.add({ dispose: () => upstream.forget(caller) });
      }
      return { ok: false, error: upstream.record(caller, { plugin, entry }, result.error) };
    };
    const { services, operations } = ctx;
    const store = new DisposableStore();
    store.add(services.handle("plugins.list", () => ({ ok: true, value: pluginInfos(ctx) })));
    store.add(
      services.handle("plugins.get", ({ id }) => ({
        ok: true,
        value: pluginInfos(ctx).find((p) => p.id === id) ?? null,
      })),
    );
    store.add(
      services.handle("plugins.call", ({ pluginId, entryId, args, chain, timeoutMs, progressId }, call) => {
        const run = ctx.plugins.scope(call.pluginId)?.run;
        const allowed = authorize(ctx, call, pluginId, chain, maxDepth);
        if (!allowed.ok) return delivered(call.pluginId, run, pluginId, entryId, allowed);
        const runs = options.runs?.();
        if (progressId === undefined || !runs) {
          // The common call (every cross-plugin call): no async frame, one closure for the answer.
          return operations
            .callEntry(pluginId, entryId, args, {
              timeoutMs,
              deadline: call.deadline,
              chain: allowed.value as string[],
              cancel: call.cancel,
            })
            .then((result) => (result.ok ? result : delivered(call.pluginId, run, pluginId, entryId, result)));
        }
        return (async () => {
          const answer = (result: WireResult) => delivered(call.pluginId, run, pluginId, entryId, result);
          // A run, so the target's runUpdate reaches the caller as it happens.
          const { result } = await runs.execute({
            pluginId,
            entryId,
            args,
            timeoutMs,
            deadline: call.deadline,
            chain: allowed.value as string[],
            cancel: call.cancel,
            // Progress while the call runs; the end (a succeeded run's progress of 100 included) comes with the answer.
            onUpdate: (run) => {
              if (run.finished_at !== null) return;
              operations.push(call.pluginId, "call.progress", {
                progressId,
                runId: run.run_id,
                progress: run.progress,
                stage: run.stage,
                message: run.message,
              });
            },
          });
          return answer(result);
        })();
      }),
    );
    store.add(
      services.handle("plugins.callEvent", async ({ pluginId, eventType, eventId, args, chain, timeoutMs }, call) => {
        const run = ctx.plugins.scope(call.pluginId)?.run;
        const answer = (result: WireResult) =>
          delivered(call.pluginId, run, pluginId, `${eventType}:${eventId}`, result);
        const allowed = authorize(ctx, call, pluginId, chain, maxDepth);
        if (!allowed.ok) return answer(allowed);
        // The target runs the handler inside a call scope with this chain, so its own calls are checked too.
        return answer(
          await operations.callEvent(
            pluginId,
            { eventType, eventId, args, chain: allowed.value as string[] },
            { timeoutMs, deadline: call.deadline, cancel: call.cancel },
          ),
        );
      }),
    );
    return store;
  };
}

/** The caller's run store when its call came in (undefined for a plugin the host does not supervise). */
type CallerRun = DisposableStore | undefined;

/** What `this.plugins.list()` shows of each plugin (the first manifest of each id; shadowed copies are left out). */
function pluginInfos(ctx: HostContext): PluginInfo[] {
  const seen = new Set<string>();
  return ctx.api
    .listPlugins()
    .filter((p) => !seen.has(p.id) && seen.add(p.id))
    .map((p) => ({
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
        llmResultFields: e.llm_result_fields,
      })),
    }));
}

/** `allow_calls` of the caller, then the chain; Ok with the chain to send on. */
function authorize(
  ctx: HostContext,
  call: ServiceContext,
  target: string,
  chain: unknown,
  maxDepth: number,
): WireResult {
  const caller = call.pluginId;
  const allowed = ctx.plugins.manifest(caller)?.permissions.allowCalls;
  if (allowed && !allowed.includes(target)) {
    const list = allowed.length ? allowed.map((id) => `'${id}'`).join(", ") : "no plugin";
    return failure(
      ErrorCode.PermissionDenied,
      `plugin '${caller}' may not call plugin '${target}': [plugin.permissions].allow_calls in its plugin.toml allows ${list}`,
      "PluginCallError",
      { permission: "allow_calls", caller, target, allowCalls: allowed },
    );
  }
  return checkCallChain({ chain, caller, target, maxDepth });
}
