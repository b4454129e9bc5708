/** The plugin registry and lifecycle routes, and `POST /plugin/trigger` (SPEC §5.1). */
import type { FastifyInstance, FastifyReply } from "fastify";
import type { PluginHostApi } from "@neko/host";
import type { WireResult } from "@neko/protocol";
import { ErrorCode } from "@neko/protocol";
import { HttpError, sendTriggerResult, sendWireError } from "../http-errors.ts";
import { eventTriggerProperties, isEventTrigger, type TriggerTarget, triggerEvent } from "./event-trigger.ts";
import { entryCallProperties, pluginIdParams } from "./route-schemas.ts";

const triggerBody = {
  type: "object",
  required: ["plugin_id"],
  properties: { ...entryCallProperties, ...eventTriggerProperties },
} as const;

const reloadQuery = {
  type: "object",
  properties: {
    mode: { type: "string", enum: ["full", "config"], description: "config: re-read the configuration, no restart" },
  },
} as const;

interface TriggerBody extends TriggerTarget {
  entry_id: string;
}

export function registerPluginRoutes(app: FastifyInstance, host: PluginHostApi): void {
  app.get("/plugins", async () => ({ plugins: host.listPlugins() }));

  app.get<{ Params: { id: string } }>("/plugins/:id", { schema: { params: pluginIdParams } }, async (req) => {
    const plugin = host.getPlugin(req.params.id);
    if (!plugin) throw new HttpError(ErrorCode.PluginNotFound, `no plugin with id '${req.params.id}'`);
    return plugin;
  });

  app.post<{ Body: TriggerBody }>("/plugin/trigger", { schema: { body: triggerBody } }, async (req, reply) => {
    if (isEventTrigger(req.body)) return triggerEvent(host, req.body, reply);
    const { plugin_id, entry_id, args = {}, timeout } = req.body;
    // Every trigger is a run, so runUpdate / exportPush / finish work in the entry (docs/runs.md).
    const { runId, result } = await host.runs.execute({
      pluginId: plugin_id,
      entryId: entry_id,
      args,
      timeoutMs: timeout === undefined ? undefined : timeout * 1000,
    });
    return sendTriggerResult(reply, { plugin_id, entry_id, run_id: runId }, result);
  });

  for (const action of ["start", "stop", "reload", "freeze", "unfreeze"] as const) {
    app.post<{ Params: { id: string }; Querystring: { mode?: "full" | "config" } }>(
      `/plugin/:id/${action}`,
      { schema: { params: pluginIdParams, ...(action === "reload" && { querystring: reloadQuery }) } },
      async (req, reply) => {
        const id = req.params.id;
        const ops = {
          start: () => host.startPlugin(id),
          stop: () => host.stopPlugin(id),
          reload: () => host.reloadPlugin(id, { mode: req.query.mode }),
          freeze: () => host.freezePlugin(id),
          unfreeze: () => host.unfreezePlugin(id),
        };
        const result = await ops[action]();
        return lifecycleReply(reply, host, id, action, result);
      },
    );
  }

  app.post("/plugins/reload", async (_req, reply) => {
    const result = await host.reloadAll();
    if (!result.ok) return sendWireError(reply, result.error);
    return {
      success: true,
      ...(result.value as object),
      plugins: host.listPlugins().map((p) => ({ id: p.id, status: p.status })),
    };
  });
}

function lifecycleReply(reply: FastifyReply, host: PluginHostApi, id: string, action: string, result: WireResult) {
  const plugin = host.getPlugin(id);
  if (!result.ok) return sendWireError(reply, result.error);
  const detail = typeof result.value === "object" && result.value !== null ? result.value : {};
  return { success: true, plugin_id: id, action, status: plugin?.status ?? null, pid: plugin?.pid ?? null, ...detail };
}
