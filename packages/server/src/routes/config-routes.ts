/**
 * Plugin configuration routes (SPEC §5.1, docs/config.md): the effective configuration as JSON, plugin.toml as raw
 * text (comments kept), config profiles, and hot updates. Writes answer `{ success: true, … }`.
 */
import type { FastifyInstance, FastifyReply } from "fastify";
import { HOT_UPDATE_MODES, type PluginHostApi } from "@neko/host";
import type { WireResult } from "@neko/protocol";
import { sendWireError } from "../http-errors.ts";
import { pluginIdParams } from "./route-schemas.ts";

const profileParams = {
  type: "object",
  required: ["id", "name"],
  properties: { ...pluginIdParams.properties, name: { type: "string", minLength: 1 } },
} as const;

const configBody = {
  type: "object",
  required: ["config"],
  properties: { config: { type: "object", description: "the whole plugin.toml as JSON" } },
} as const;

const hotUpdateBody = {
  type: "object",
  required: ["config"],
  properties: {
    config: { type: "object", description: 'the keys to change, deep-merged; "__DELETE__" removes a key' },
    mode: { type: "string", enum: [...HOT_UPDATE_MODES], default: "temporary" },
  },
} as const;

const activeProfileBody = {
  type: "object",
  required: ["name"],
  properties: { name: { type: ["string", "null"], description: "a declared profile, or null for none" } },
} as const;

type Id = { Params: { id: string } };

export function registerConfigRoutes(app: FastifyInstance, host: PluginHostApi): void {
  // plugin.toml may be sent as it is: `content-type: application/toml` (or text/plain).
  app.addContentTypeParser("application/toml", { parseAs: "string" }, (_req, body, done) => done(null, body));

  app.get<Id>("/plugin/:id/config", { schema: { params: pluginIdParams } }, async (req, reply) =>
    answer(reply, host.config.get(req.params.id)),
  );

  app.put<Id & { Body: { config: Record<string, unknown> } }>(
    "/plugin/:id/config",
    { schema: { params: pluginIdParams, body: configBody } },
    async (req, reply) => written(reply, await host.config.replace(req.params.id, req.body.config)),
  );

  app.get<Id>("/plugin/:id/config/toml", { schema: { params: pluginIdParams } }, async (req, reply) =>
    answer(reply, host.config.getToml(req.params.id)),
  );

  app.put<Id & { Body: string | { toml?: unknown } }>(
    "/plugin/:id/config/toml",
    { schema: { params: pluginIdParams } },
    async (req, reply) => {
      const text = typeof req.body === "string" ? req.body : req.body?.toml;
      return written(reply, await host.config.replaceToml(req.params.id, text));
    },
  );

  app.post<Id & { Body: { config: Record<string, unknown>; mode: string } }>(
    "/plugin/:id/config/hot-update",
    { schema: { params: pluginIdParams, body: hotUpdateBody } },
    async (req, reply) => written(reply, await host.config.hotUpdate(req.params.id, req.body)),
  );

  app.get<Id>("/plugin/:id/config/profiles", { schema: { params: pluginIdParams } }, async (req, reply) =>
    answer(reply, host.config.profiles(req.params.id)),
  );

  app.get<{ Params: { id: string; name: string } }>(
    "/plugin/:id/config/profiles/:name",
    { schema: { params: profileParams } },
    async (req, reply) => answer(reply, host.config.profile(req.params.id, req.params.name)),
  );

  app.put<Id & { Body: { name: string | null } }>(
    "/plugin/:id/config/profiles/active",
    { schema: { params: pluginIdParams, body: activeProfileBody } },
    async (req, reply) => written(reply, await host.config.setActiveProfile(req.params.id, req.body.name)),
  );
}

function answer(reply: FastifyReply, result: WireResult) {
  if (!result.ok) return sendWireError(reply, result.error);
  return result.value;
}

function written(reply: FastifyReply, result: WireResult) {
  if (!result.ok) return sendWireError(reply, result.error);
  return { success: true, ...(result.value as object) };
}
