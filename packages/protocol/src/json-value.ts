/**
 * JSON-compatible values: what the store, the memory and `callEntryJson` accept, checked so that a value reads back
 * exactly as it was written. `findJsonProblem` names the first part that would not survive `JSON.stringify`.
 */

export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };
export type JsonObject = { [key: string]: JsonValue };

export interface JsonProblem {
  /** Where the bad part is, from the root `$`: `$.items[2].when`. */
  path: string;
  /** What it is, in a few words: `a Date`, `NaN`, `a cyclic reference to $`. */
  problem: string;
}

/** Deeper than this is refused: it would overflow the stack of whoever serializes it. */
export const MAX_JSON_DEPTH = 256;

/** Undefined when `value` is JSON-compatible; otherwise the first problem found (depth first). */
export function findJsonProblem(value: unknown): JsonProblem | undefined {
  return walk(value, "$", [], []);
}

function walk(value: unknown, path: string, ancestors: object[], ancestorPaths: string[]): JsonProblem | undefined {
  switch (typeof value) {
    case "string":
    case "boolean":
      return undefined;
    case "number":
      return Number.isFinite(value) ? undefined : { path, problem: `${value} (numbers must be finite)` };
    case "undefined":
      return { path, problem: "undefined (use null, or leave the key out)" };
    case "bigint":
      return { path, problem: "a BigInt (use a number or a string)" };
    case "symbol":
      return { path, problem: "a symbol" };
    case "function":
      return { path, problem: "a function" };
  }
  if (value === null) return undefined;
  const object = value as object;
  const seen = ancestors.indexOf(object);
  if (seen >= 0) return { path, problem: `a cyclic reference to ${ancestorPaths[seen]}` };
  if (ancestors.length >= MAX_JSON_DEPTH) return { path, problem: `nesting deeper than ${MAX_JSON_DEPTH} levels` };
  const nextAncestors = [...ancestors, object];
  const nextPaths = [...ancestorPaths, path];
  if (Array.isArray(object)) {
    for (let i = 0; i < object.length; i++) {
      if (!(i in object)) return { path: `${path}[${i}]`, problem: "a hole in a sparse array" };
      const problem = walk(object[i], `${path}[${i}]`, nextAncestors, nextPaths);
      if (problem) return problem;
    }
    return undefined;
  }
  const proto = Object.getPrototypeOf(object);
  if (proto !== Object.prototype && proto !== null) {
    const name = (object.constructor as { name?: string } | undefined)?.name || "class instance";
    const hint = object instanceof Date ? " (store date.toISOString() or date.getTime())" : "";
    return { path, problem: `a ${name}, not a plain object${hint}` };
  }
  if (Object.getOwnPropertySymbols(object).length > 0) return { path, problem: "an object with symbol keys" };
  for (const [key, child] of Object.entries(object)) {
    const problem = walk(child, childPath(path, key), nextAncestors, nextPaths);
    if (problem) return problem;
  }
  return undefined;
}

function childPath(path: string, key: string): string {
  return /^[A-Za-z_$][\w$]*$/.test(key) ? `${path}.${key}` : `${path}[${JSON.stringify(key)}]`;
}
