/** JSON Schemas shared by several route files. */

/** `{id}` in a route path: a plugin id (SPEC §2.1), so a path can never smuggle `..` or `/`. */
export const pluginIdParams = {
  type: "object",
  required: ["id"],
  properties: { id: { type: "string", pattern: "^[a-zA-Z0-9_-]{1,128}$" } },
} as const;

/** The body fields shared by `POST /plugin/trigger` and `POST /runs`: what to run, with what, for how long. */
export const entryCallProperties = {
  plugin_id: { type: "string", minLength: 1 },
  entry_id: { type: "string", minLength: 1 },
  args: { type: "object" },
  timeout: {
    type: "number",
    exclusiveMinimum: 0,
    description: "seconds; can shorten, never lengthen, the entry's own timeout",
  },
} as const;
