/** JSON Schemas shared by several route files. */

/** `{id}` in a route path: a plugin id (SPEC §2.1), so a path can never smuggle `..` or `/`. */
export const pluginIdParams = {
  type: "object",
  required: ["id"],
  properties: { id: { type: "string", pattern: "^[a-zA-Z0-9_-]{1,128}$" } },
} as const;
