/**
 * The one deep merge of configuration (SPEC §2.1), used for profiles, hot updates and plugin writes: tables merge key
 * by key, anything else replaces; `"__DELETE__"` removes a key; a table with `__replace__ = true` replaces the table
 * instead of merging into it. Neither marker is ever left in the result.
 */
export type ConfigTable = Record<string, unknown>;

export const DELETE_MARKER = "__DELETE__";
export const REPLACE_MARKER = "__replace__";

/** A new table: `base` with `overlay` merged in. Neither argument is changed. */
export function mergeConfig(base: ConfigTable, overlay: ConfigTable): ConfigTable {
  const result: ConfigTable = { ...base };
  for (const [key, value] of Object.entries(overlay)) {
    if (key === REPLACE_MARKER) continue;
    if (value === DELETE_MARKER) {
      delete result[key];
    } else if (isTable(value)) {
      const current = result[key];
      result[key] =
        isTable(current) && value[REPLACE_MARKER] !== true ? mergeConfig(current, value) : cleanTable(value);
    } else {
      result[key] = value;
    }
  }
  return result;
}

/** True for a plain table (not an array or a date). */
export function isTable(value: unknown): value is ConfigTable {
  return typeof value === "object" && value !== null && !Array.isArray(value) && !(value instanceof Date);
}

/** A table that lands where nothing was merged into: its markers have nothing to act on and are dropped. */
function cleanTable(table: ConfigTable): ConfigTable {
  return mergeConfig({}, table);
}
