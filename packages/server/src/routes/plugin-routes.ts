/** The plugin registry and lifecycle routes, and `POST /plugin/trigger` (SPEC §5.1). */
import type { FastifyInstance, FastifyReply } from "fastify";
import type { PluginHostApi } from "@neko/host";
import type { WireResult } from "@neko/protocol";
import { ErrorCode } from "@neko/protocol";
import { HttpError, sendTriggerResult, sendWireError } from "../http-errors.ts";
import { eventTriggerProperties, isEventTrigger, type TriggerTarget, triggerEvent } from "./event-trigger.ts";
import { type RouteDoc, schemaRef } from "../openapi/route-doc.ts";
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

const listDoc: RouteDoc = {
  tag: "plugins",
  summary: "Every plugin found, refused ones included",
  responses: {
    200: {
      description: "one object per plugin folder found",
      schema: {
        type: "object",
        required: ["plugins"],
        properties: { plugins: { type: "array", items: schemaRef("Plugin") } },
      },
    },
  },
};

const getDoc: RouteDoc = {
  tag: "plugins",
  summary: "One plugin, with its state history, last exit and SDK version",
  responses: { 200: { description: "the plugin", schema: schemaRef("PluginDetail") } },
  errors: { 404: "`PLUGIN_NOT_FOUND`: no plugin with that id" },
};

const triggerDoc: RouteDoc = {
  tag: "plugins",
  summary: "Call an entry, or an event handler, and wait for its result",
  description:
    "Give `entry_id`, or `event_type` and `event_id` for an `@onEvent` / `@customEvent` handler. Every entry call " +
    "is a run of kind `trigger` (`run_id`). A failed call is answered with the status of its error code, the " +
    "error in the `TriggerResult`; any code a plugin makes up itself is 422 (docs/http-api.md#post-plugintrigger).",
  responses: { 200: { description: "the entry returned Ok (`success: true`)", schema: schemaRef("TriggerResult") } },
  errorSchema: schemaRef("TriggerResult"),
  errors: {
    400: "`VALIDATION_ERROR`: the args break the entry's schema; or (a plain error body) the body names both an entry and an event, or neither",
    403: "`PERMISSION_DENIED`: a cross-plugin call refused by the caller's allow_calls, passed on by the entry",
    404: "`PLUGIN_NOT_FOUND` (`run_id: null`), `ENTRY_NOT_FOUND` (`details.entries`), `EVENT_NOT_FOUND` (`details.events`)",
    409: "`PLUGIN_NOT_RUNNING`, `ENTRY_DISABLED`, `CANCELED` (the plugin stopped during the call), `STORE_DISABLED`",
    422: 'the entry returned `Err` with its own code, or `SDK_ERROR` for `Err("text")`',
    500: "`ENTRY_FAILED`: the entry threw; `HOOK_FAILED`: a hook threw or returned what it may not",
    502: "`PLUGIN_CRASHED`: the process exited during the call; `PLUGIN_CALL_ERROR`, `TRANSPORT_ERROR`",
    504: "`TIMEOUT`: the entry ran past its timeout",
    508: "`CIRCULAR_CALL`: a cross-plugin call back into the chain, passed on by the entry",
  },
};

const notFound = "`PLUGIN_NOT_FOUND`: no plugin with that id";
const startFailures = {
  400: "`CONFIG_INVALID`: a configuration profile that cannot be read",
  404: notFound,
  409:
    "`PLUGIN_REFUSED`: refused for its manifest, or disabled; `EXTENSION_CANNOT_START_INDEPENDENT`: an extension " +
    "(it loads with its host plugin)",
  502:
    "`STARTUP_FAILED`: the `startup` handler returned `Err`, threw or took longer than 30 s (`details: { plugin, " +
    "hook, cause }`); `PLUGIN_CRASHED`, `HANDSHAKE_FAILED`, `PLUGIN_LOAD_FAILED`: the process did not come up",
};

const lifecycleDocs: Record<
  "start" | "stop" | "reload" | "freeze" | "unfreeze",
  Omit<RouteDoc, "tag" | "responses">
> = {
  start: {
    summary: "Start a plugin and wait for its startup handler",
    description:
      "Already running: succeeds. Clears the crash count (a quarantined plugin comes back) and wakes a frozen one.",
    errors: startFailures,
  },
  stop: {
    summary: "Stop a plugin (its shutdown handler, then the process)",
    description: "Never fails for a known plugin; `forced: true` says the process had to be killed.",
    errors: { 404: notFound },
  },
  reload: {
    summary: "Re-read plugin.toml and swap in the plugin's new code; `?mode=config`: new configuration, no restart",
    description:
      "A running plugin's new code starts in a new process while the old one serves; calls move to it once it is " +
      "ready, with none failing. Code that cannot load leaves the old process serving (502 `PLUGIN_LOAD_FAILED`). " +
      "A plugin refused for its manifest is read again: fixed, it is started and the answer says the state it reached.",
    errors: {
      ...startFailures,
      400: "`CONFIG_INVALID`: plugin.toml is not a valid manifest (mode=config), or a profile cannot be read",
      403: "`CONFIG_PROTECTED_FIELD`: mode=config, but `[plugin].entry` changed (that needs a full reload)",
      404: `${notFound}; or its folder is gone`,
      409: "`PLUGIN_REFUSED`: the manifest on disk is refused; `CONFIG_CHANGE_REFUSED`: the `reload` handler returned Err",
    },
  },
  freeze: {
    summary: "Save the plugin's freezable state and stop it (state `frozen`)",
    errors: {
      404: notFound,
      409: "`FREEZE_REFUSED`: the freeze handler returned Err or a field cannot be saved; `PLUGIN_NOT_RUNNING`",
      504: "`TIMEOUT`: the freeze handler took longer than 30 s",
    },
  },
  unfreeze: {
    summary: "Start a frozen plugin with its saved state",
    errors: { ...startFailures, 409: "`NOT_FROZEN`: neither frozen nor running; or as start (`PLUGIN_REFUSED`)" },
  },
};

const reloadAllDoc: RouteDoc = {
  tag: "plugins",
  summary: "Re-scan every plugin root and restart what was running",
  responses: {
    200: {
      description: "`total` folders found; `started` and `failed` count the starts attempted",
      schema: {
        type: "object",
        required: ["success", "total", "started", "failed", "plugins"],
        properties: {
          success: { type: "boolean", enum: [true] },
          total: { type: "integer" },
          started: { type: "integer" },
          failed: { type: "integer" },
          plugins: {
            type: "array",
            items: {
              type: "object",
              required: ["id", "status"],
              properties: { id: { type: "string" }, status: { type: "string" } },
            },
          },
        },
      },
    },
  },
};

const extensionBody = {
  type: ["object", "null"],
  properties: {
    write_manifest: {
      type: "boolean",
      description:
        "also write `[plugin_runtime] enabled` to the extension's plugin.toml (default: the choice is kept in the host's data folder)",
    },
  },
  additionalProperties: false,
} as const;

const extensionDocs: Record<"enable" | "disable", Omit<RouteDoc, "tag" | "responses">> = {
  enable: {
    summary: "Load an extension into its running host plugin, without restarting it",
    description:
      "The choice survives a restart. Answers the extension's state: `injected`, `pending` when its host plugin is " +
      "not running (it loads when the plugin starts), or `failed` with the reason when its code could not be loaded.",
    errors: {
      404: "`PLUGIN_NOT_FOUND`: no plugin with that id",
      409: "`NOT_AN_EXTENSION`: the id names a plugin or an adapter",
    },
  },
  disable: {
    summary: "Take an extension out of its running host plugin, without restarting it",
    description:
      "Its entries and hooks go, its `shutdown` runs, and what it registered (bus handlers, timers) is disposed. " +
      "The choice survives a restart.",
    errors: {
      404: "`PLUGIN_NOT_FOUND`: no plugin with that id",
      409: "`NOT_AN_EXTENSION`: the id names a plugin or an adapter",
    },
  },
};

interface TriggerBody extends TriggerTarget {
  entry_id: string;
}

export function registerPluginRoutes(app: FastifyInstance, host: PluginHostApi): void {
  app.get("/plugins", { config: { doc: listDoc } }, async () => ({ plugins: host.listPlugins() }));

  app.get<{ Params: { id: string } }>(
    "/plugins/:id",
    { schema: { params: pluginIdParams }, config: { doc: getDoc } },
    async (req) => {
      const plugin = host.getPlugin(req.params.id);
      if (!plugin) throw new HttpError(ErrorCode.PluginNotFound, `no plugin with id '${req.params.id}'`);
      return plugin;
    },
  );

  app.post<{ Body: TriggerBody }>(
    "/plugin/trigger",
    { schema: { body: triggerBody }, config: { doc: triggerDoc } },
    async (req, reply) => {
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
    },
  );

  for (const action of ["start", "stop", "reload", "freeze", "unfreeze"] as const) {
    app.post<{ Params: { id: string }; Querystring: { mode?: "full" | "config" } }>(
      `/plugin/:id/${action}`,
      {
        schema: { params: pluginIdParams, ...(action === "reload" && { querystring: reloadQuery }) },
        config: {
          doc: {
            tag: "plugins",
            ...lifecycleDocs[action],
            responses: { 200: { description: "done", schema: schemaRef("LifecycleResult") } },
          },
        },
      },
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

  for (const action of ["enable", "disable"] as const) {
    app.post<{ Params: { id: string }; Body: { write_manifest?: boolean } | null }>(
      `/plugin/:id/extension/${action}`,
      {
        schema: { params: pluginIdParams, body: extensionBody },
        config: {
          optionalBody: true,
          doc: {
            tag: "plugins",
            ...extensionDocs[action],
            responses: { 200: { description: "the extension's state now", schema: schemaRef("ExtensionResult") } },
          },
        },
      },
      async (req, reply) => {
        const options = { writeManifest: req.body?.write_manifest === true };
        const result = await host.extensions[action](req.params.id, options);
        if (!result.ok) return sendWireError(reply, result.error);
        return { success: true, ...(result.value as object) };
      },
    );
  }

  app.post("/plugins/reload", { config: { doc: reloadAllDoc } }, async (_req, reply) => {
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
