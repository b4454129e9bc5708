/**
 * Plugin configuration routes (SPEC §5.1, docs/config.md): the effective configuration as JSON, plugin.toml as raw
 * text (comments kept), config profiles, and hot updates. Writes answer `{ success: true, … }`.
 */
import type { FastifyInstance, FastifyReply } from "fastify";
import { HOT_UPDATE_MODES, MAX_TOML_CONVERT_BYTES, type PluginHostApi } from "@neko/host";
import type { WireResult } from "@neko/protocol";
import { sendWireError } from "../http-errors.ts";
import { type JsonSchema, type RouteDoc, schemaRef } from "../openapi/route-doc.ts";
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
    profile: {
      type: ["string", "null"],
      description: "a declared profile: the patch is merged into its file instead of plugin.toml (mode permanent only)",
    },
  },
} as const;

const profileBody = {
  type: "object",
  required: ["config"],
  properties: {
    config: { type: "object", description: "the profile file's whole content, as JSON (no [plugin] table)" },
    make_active: {
      type: ["boolean", "null"],
      description: "true: also make it the active profile, in the same write",
    },
  },
} as const;

const parseTomlBody = {
  type: "object",
  required: ["toml"],
  properties: { toml: { type: "string", description: `TOML text, at most ${MAX_TOML_CONVERT_BYTES} bytes` } },
} as const;

const renderTomlBody = {
  type: "object",
  required: ["config"],
  properties: {
    config: { type: "object", description: `a table, at most ${MAX_TOML_CONVERT_BYTES} bytes as JSON` },
  },
} as const;

const activeProfileBody = {
  type: "object",
  required: ["name"],
  properties: { name: { type: ["string", "null"], description: "a declared profile, or null for none" } },
} as const;

type Id = { Params: { id: string } };

const notFound = "`PLUGIN_NOT_FOUND`: no plugin with that id";

/** The errors of a configuration write (docs/http-api.md#configuration-routes). */
const writeErrors = {
  400:
    "`CONFIG_INVALID`: not a valid manifest (`details.problems`), a `null` value, a bad profile, or a value the " +
    "plugin's configSchema refuses (`details.path`, `details.issues`)",
  403: "`CONFIG_PROTECTED_FIELD`: the change would alter `plugin.id` or `plugin.entry`",
  404: notFound,
  409: "`CONFIG_CHANGE_REFUSED`: the plugin's config_change handler returned Err (`details.cause`)",
};

function configDoc(summary: string, schema: JsonSchema, errors: RouteDoc["errors"] = { 404: notFound }): RouteDoc {
  return { tag: "config", summary, responses: { 200: { description: "the answer", schema } }, errors };
}

function writeDoc(summary: string, extra: Partial<RouteDoc> = {}): RouteDoc {
  return {
    tag: "config",
    summary,
    responses: {
      200: { description: "written (and offered to the running plugin)", schema: schemaRef("ConfigWrite") },
    },
    errors: writeErrors,
    ...extra,
  };
}

const effectiveConfig = {
  type: "object",
  required: ["plugin_id", "config", "profile", "temporary", "running"],
  properties: {
    plugin_id: { type: "string" },
    config: { type: "object", description: "plugin.toml merged with the active profile and any temporary change" },
    profile: { type: ["string", "null"], description: "the active profile" },
    temporary: { type: "boolean", description: "a temporary change is in force" },
    temporary_keys: {
      type: "array",
      items: { type: "string" },
      description: "the dotted key paths a temporary change overlays (e.g. `shop.max_items`)",
    },
    running: { type: "boolean" },
  },
};

const baseConfig = {
  type: "object",
  required: ["plugin_id", "path", "config"],
  properties: {
    plugin_id: { type: "string" },
    path: { type: "string" },
    config: { type: "object", description: "plugin.toml alone: no profile, no temporary change" },
  },
};

const effectiveBaseConfig = {
  type: "object",
  required: ["plugin_id", "path", "config", "temporary", "temporary_keys", "running"],
  properties: {
    plugin_id: { type: "string" },
    path: { type: "string" },
    config: {
      type: "object",
      description: "plugin.toml with the temporary changes in force, without the active profile",
    },
    temporary: { type: "boolean" },
    temporary_keys: { type: "array", items: { type: "string" } },
    running: { type: "boolean" },
  },
};

const profileActivated = {
  type: "object",
  required: ["success", "plugin_id", "mode", "config", "profile", "applied", "profiles_path", "profiles_exists"],
  properties: {
    success: { type: "boolean" },
    plugin_id: { type: "string" },
    mode: { type: "string", enum: ["profile"] },
    config: { type: "object", description: "the effective configuration afterwards" },
    profile: { type: "string", description: "the active profile: this one" },
    applied: { type: "boolean", description: "the running plugin took the change" },
    profiles_path: { type: "string" },
    profiles_exists: { type: "boolean" },
    config_profiles: { type: ["object", "null"], description: "as in GET /plugin/{id}/config/profiles" },
  },
};

const profileWrite = {
  type: "object",
  required: ["success", "plugin_id", "mode", "config", "profile", "applied", "name", "path", "created"],
  properties: {
    success: { type: "boolean" },
    plugin_id: { type: "string" },
    mode: {
      type: "string",
      enum: ["permanent", "profile"],
      description: "`profile`: the write also made it the active profile",
    },
    config: { type: ["object", "null"], description: "the effective configuration afterwards" },
    profile: { type: ["string", "null"], description: "the active profile" },
    applied: { type: "boolean", description: "the running plugin took the change (the profile is the active one)" },
    name: { type: "string" },
    path: { type: "string", description: "the profile file, relative to the plugin folder" },
    created: { type: "boolean", description: "the profile is new" },
  },
};

const profileDeleted = {
  type: "object",
  required: ["success", "plugin_id", "name", "profile", "removed", "path", "file_removed", "profiles"],
  properties: {
    success: { type: "boolean" },
    plugin_id: { type: "string" },
    name: { type: "string" },
    profile: { type: "string", description: "the same name (the original N.E.K.O.'s field)" },
    removed: { type: "boolean", description: "the declaration was removed (always true on success)" },
    path: { type: "string" },
    file_removed: { type: "boolean", description: "false: the file was missing, or another profile's too" },
    profiles: { type: "array", items: { type: "string" }, description: "the profiles still declared" },
  },
};

const parsedToml = {
  type: "object",
  required: ["config"],
  properties: { config: { type: "object", description: "the TOML as JSON (dates as their text)" } },
};

const renderedToml = {
  type: "object",
  required: ["toml"],
  properties: { toml: { type: "string" } },
};

const pluginParsedToml = {
  type: "object",
  required: ["plugin_id", "config"],
  properties: { plugin_id: { type: "string" }, ...parsedToml.properties },
};

const pluginRenderedToml = {
  type: "object",
  required: ["plugin_id", "toml"],
  properties: { plugin_id: { type: "string" }, ...renderedToml.properties },
};

const tooLarge = `\`PAYLOAD_TOO_LARGE\`: more than ${MAX_TOML_CONVERT_BYTES} bytes (\`details.limit\`)`;

const tomlFile = {
  type: "object",
  required: ["plugin_id", "path", "toml"],
  properties: {
    plugin_id: { type: "string" },
    path: { type: "string" },
    toml: { type: "string", description: "the file as written" },
  },
};

const profileFileInfo = {
  type: "object",
  required: ["path", "resolved_path", "exists"],
  properties: {
    path: { type: "string" },
    resolved_path: { type: ["string", "null"] },
    exists: { type: "boolean" },
  },
};

const profileList = {
  type: "object",
  required: ["plugin_id", "source", "active", "profiles", "profiles_path", "profiles_exists", "config_profiles"],
  properties: {
    plugin_id: { type: "string" },
    source: { type: ["string", "null"], enum: ["profiles.toml", "plugin.toml", null] },
    active: { type: ["string", "null"] },
    profiles: {
      type: "array",
      items: {
        type: "object",
        required: ["name", "path", "resolved_path", "exists", "problem"],
        properties: {
          name: { type: "string" },
          path: { type: "string" },
          resolved_path: { type: ["string", "null"] },
          exists: { type: "boolean" },
          problem: { type: ["string", "null"] },
        },
      },
    },
    profiles_path: { type: "string", description: "where profiles.toml is, or would be (absolute)" },
    profiles_exists: { type: "boolean" },
    config_profiles: {
      type: ["object", "null"],
      description: "the declarations keyed by name (the original N.E.K.O.'s shape); null: the plugin declares none",
      properties: {
        active: { type: ["string", "null"] },
        files: { type: "object", additionalProperties: profileFileInfo },
      },
    },
  },
};

const oneProfile = {
  type: "object",
  required: ["plugin_id", "name", "path", "active", "profile", "config"],
  properties: {
    plugin_id: { type: "string" },
    name: { type: "string" },
    path: { type: "string" },
    active: { type: "boolean" },
    profile: {
      type: "object",
      description: "the profile as the original N.E.K.O. describes it",
      required: ["name", ...profileFileInfo.required],
      properties: { name: { type: "string" }, ...profileFileInfo.properties },
    },
    config: { type: "object" },
  },
};

const configSchema = {
  type: "object",
  required: ["plugin_id", "schema"],
  properties: {
    plugin_id: { type: "string" },
    schema: {
      type: ["object", "null"],
      description:
        "the JSON Schema of the plugin's own tables (its `static configSchema`), as its process last sent it; null: " +
        "free-form configuration, or the plugin has not run since it declared one",
    },
  },
};

export function registerConfigRoutes(app: FastifyInstance, host: PluginHostApi): void {
  // plugin.toml may be sent as it is: `content-type: application/toml`. Not text/plain, which a form could send.
  app.addContentTypeParser("application/toml", { parseAs: "string" }, (_req, body, done) => done(null, body));

  app.get<Id>(
    "/plugin/:id/config",
    { schema: { params: pluginIdParams }, config: { doc: configDoc("The effective configuration", effectiveConfig) } },
    async (req, reply) => answer(reply, host.config.get(req.params.id)),
  );

  app.put<Id & { Body: { config: Record<string, unknown> } }>(
    "/plugin/:id/config",
    {
      schema: { params: pluginIdParams, body: configBody },
      config: { doc: writeDoc("Replace plugin.toml with a JSON document") },
    },
    async (req, reply) => written(reply, await host.config.replace(req.params.id, req.body.config)),
  );

  app.get<Id>(
    "/plugin/:id/config/base",
    {
      schema: { params: pluginIdParams },
      config: {
        doc: configDoc("plugin.toml alone, without the active profile or temporary changes", baseConfig, {
          400: "`CONFIG_INVALID`: plugin.toml is not valid TOML",
          404: notFound,
        }),
      },
    },
    async (req, reply) => answer(reply, host.config.base(req.params.id)),
  );

  app.get<Id>(
    "/plugin/:id/config/base/effective",
    {
      schema: { params: pluginIdParams },
      config: {
        doc: configDoc(
          "plugin.toml with the temporary changes in force, without the active profile",
          effectiveBaseConfig,
          { 400: "`CONFIG_INVALID`: plugin.toml or the profile declarations cannot be read", 404: notFound },
        ),
      },
    },
    async (req, reply) => answer(reply, host.config.effectiveBase(req.params.id)),
  );

  app.post<{ Body: { toml: string } }>(
    "/plugin/config/parse_toml",
    {
      schema: { body: parseTomlBody },
      config: {
        doc: {
          tag: "config",
          summary: "TOML text as JSON (touches no file)",
          responses: { 200: { description: "the parsed document", schema: parsedToml } },
          errors: {
            400: "`CONFIG_INVALID`: not valid TOML, naming the line and column (`details.line`, `details.column`)",
            413: tooLarge,
          },
        },
      },
    },
    async (req, reply) => answer(reply, host.config.parseToml(req.body.toml)),
  );

  app.post<{ Body: { config: Record<string, unknown> } }>(
    "/plugin/config/render_toml",
    {
      schema: { body: renderTomlBody },
      config: {
        doc: {
          tag: "config",
          summary: "A JSON table as TOML text (touches no file)",
          responses: { 200: { description: "the TOML text", schema: renderedToml } },
          errors: {
            400: "`CONFIG_INVALID`: a value TOML cannot hold (`null`, naming its key in `details.path`), or nesting too deep",
            413: tooLarge,
          },
        },
      },
    },
    async (req, reply) => answer(reply, host.config.renderToml(req.body.config)),
  );

  const pluginConversionErrors = {
    403: "`CONFIG_PROTECTED_FIELD`: the document names a `plugin.id` or `plugin.entry` other than the plugin's",
    404: notFound,
    413: tooLarge,
  };

  app.post<Id & { Body: { toml: string } }>(
    "/plugin/:id/config/parse_toml",
    {
      schema: { params: pluginIdParams, body: parseTomlBody },
      config: {
        doc: {
          tag: "config",
          summary: "TOML text as JSON, for this plugin (touches no file)",
          responses: { 200: { description: "the parsed document", schema: pluginParsedToml } },
          errors: {
            400: "`CONFIG_INVALID`: not valid TOML, naming the line and column (`details.line`, `details.column`)",
            ...pluginConversionErrors,
          },
        },
      },
    },
    async (req, reply) => answer(reply, host.config.parseToml(req.body.toml, req.params.id)),
  );

  app.post<Id & { Body: { config: Record<string, unknown> } }>(
    "/plugin/:id/config/render_toml",
    {
      schema: { params: pluginIdParams, body: renderTomlBody },
      config: {
        doc: {
          tag: "config",
          summary: "A JSON table as TOML text, for this plugin (touches no file)",
          responses: { 200: { description: "the TOML text", schema: pluginRenderedToml } },
          errors: {
            400: "`CONFIG_INVALID`: a value TOML cannot hold (`null`, naming its key in `details.path`), or nesting too deep",
            ...pluginConversionErrors,
          },
        },
      },
    },
    async (req, reply) => answer(reply, host.config.renderToml(req.body.config, req.params.id)),
  );

  app.get<Id>(
    "/plugin/:id/config/schema",
    {
      schema: { params: pluginIdParams },
      config: { doc: configDoc("The JSON Schema of the plugin's configuration, for a form", configSchema) },
    },
    async (req, reply) => answer(reply, host.config.schema(req.params.id)),
  );

  app.get<Id>(
    "/plugin/:id/config/toml",
    {
      schema: { params: pluginIdParams },
      config: { doc: configDoc("plugin.toml as written, comments included", tomlFile) },
    },
    async (req, reply) => answer(reply, host.config.getToml(req.params.id)),
  );

  app.put<Id & { Body: string | { toml?: unknown } }>(
    "/plugin/:id/config/toml",
    {
      schema: { params: pluginIdParams },
      config: {
        bodyTypes: ["application/json", "application/toml"],
        doc: writeDoc("Replace plugin.toml with TOML text", {
          body: {
            description: "the TOML text, or `{ toml }` as JSON",
            content: {
              "application/toml": { type: "string" },
              "application/json": { type: "object", required: ["toml"], properties: { toml: { type: "string" } } },
            },
          },
        }),
      },
    },
    async (req, reply) => {
      const text = typeof req.body === "string" ? req.body : req.body?.toml;
      return written(reply, await host.config.replaceToml(req.params.id, text));
    },
  );

  app.post<Id & { Body: { config: Record<string, unknown>; mode: string; profile?: string | null } }>(
    "/plugin/:id/config/hot-update",
    {
      schema: { params: pluginIdParams, body: hotUpdateBody },
      config: {
        doc: writeDoc("Merge a patch into the configuration, temporarily or permanently (or into a profile)", {
          errors: {
            ...writeErrors,
            400:
              `${writeErrors[400]}; with \`profile\`: mode \`temporary\`, a path leaving the plugin folder, or a ` +
              "`[plugin]` table",
            404: `${notFound}; \`NOT_FOUND\`: \`profile\` names no declared profile (\`details.profiles\`)`,
            409: `${writeErrors[409]}; \`PLUGIN_NOT_RUNNING\`: a temporary change needs a running plugin`,
          },
        }),
      },
    },
    async (req, reply) => written(reply, await host.config.hotUpdate(req.params.id, req.body)),
  );

  app.get<Id>(
    "/plugin/:id/config/profiles",
    {
      schema: { params: pluginIdParams },
      config: {
        doc: configDoc("The declared configuration profiles and the active one", profileList, {
          400: "`CONFIG_INVALID`: the profile declarations are malformed",
          404: notFound,
        }),
      },
    },
    async (req, reply) => answer(reply, host.config.profiles(req.params.id)),
  );

  app.get<{ Params: { id: string; name: string } }>(
    "/plugin/:id/config/profiles/:name",
    {
      schema: { params: profileParams },
      config: {
        doc: configDoc("One profile file's own content", oneProfile, {
          400: "`CONFIG_INVALID`: the profile file cannot be read or leaves the plugin folder",
          404: `${notFound}; \`NOT_FOUND\`: the plugin declares no such profile (\`details.profiles\`)`,
        }),
      },
    },
    async (req, reply) => answer(reply, host.config.profile(req.params.id, req.params.name)),
  );

  app.put<Id & { Body: { name: string | null } }>(
    "/plugin/:id/config/profiles/active",
    {
      schema: { params: pluginIdParams, body: activeProfileBody },
      config: { doc: writeDoc("Switch the active profile (null: none)") },
    },
    async (req, reply) => written(reply, await host.config.setActiveProfile(req.params.id, req.body.name)),
  );

  app.post<{ Params: { id: string; name: string } }>(
    "/plugin/:id/config/profiles/:name/activate",
    {
      schema: { params: profileParams },
      config: {
        doc: {
          tag: "config",
          summary: "Make a declared profile the active one (the original N.E.K.O.'s route)",
          responses: {
            200: { description: "switched, with the profile listing afterwards", schema: profileActivated },
          },
          errors: {
            ...writeErrors,
            400: "`CONFIG_INVALID`: the profile file is missing, invalid or leaves the plugin folder, or the plugin's configSchema refuses it (`details.path`)",
            404: `${notFound}; \`NOT_FOUND\`: the plugin declares no such profile (\`details.profiles\`)`,
          },
        },
      },
    },
    async (req, reply) => written(reply, await host.config.activateProfile(req.params.id, req.params.name)),
  );

  app.put<{
    Params: { id: string; name: string };
    Body: { config: Record<string, unknown>; make_active?: boolean | null };
  }>(
    "/plugin/:id/config/profiles/:name",
    {
      schema: { params: profileParams, body: profileBody },
      config: {
        doc: {
          tag: "config",
          summary: "Create a profile, or replace a profile file's content",
          responses: {
            200: { description: "written (and offered to the running plugin when active)", schema: profileWrite },
          },
          errors: {
            ...writeErrors,
            400:
              "`CONFIG_INVALID`: a name not allowed for a new profile, a path leaving the plugin folder, a [plugin] " +
              "table, a `null`, an undeclared file in the way, or a value the plugin's configSchema refuses " +
              "(`details.path`)",
          },
        },
      },
    },
    async (req, reply) =>
      written(
        reply,
        await host.config.writeProfile(req.params.id, req.params.name, req.body.config, {
          makeActive: req.body.make_active,
        }),
      ),
  );

  app.delete<{ Params: { id: string; name: string } }>(
    "/plugin/:id/config/profiles/:name",
    {
      schema: { params: profileParams },
      config: {
        doc: {
          tag: "config",
          summary: "Delete a profile that is not the active one: its declaration and its file",
          responses: { 200: { description: "deleted", schema: profileDeleted } },
          errors: {
            400: "`CONFIG_INVALID`: the profile declarations are malformed",
            404: `${notFound}; \`NOT_FOUND\`: the plugin declares no such profile (\`details.profiles\`)`,
            409: "`CONFIG_PROFILE_ACTIVE`: it is the active profile: switch to another (or none) first",
          },
        },
      },
    },
    async (req, reply) => written(reply, await host.config.deleteProfile(req.params.id, req.params.name)),
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
