/**
 * Key paths in configuration tables, for temporary hot updates (docs/config.md#temporary-changes): which keys a
 * temporary patch overlays, which keys a permanent change touches, and the patches without the touched keys — so a
 * permanent write is never hidden by an earlier temporary one.
 */
import { isDeepStrictEqual } from "node:util";
import { type ConfigTable, isTable, REPLACE_MARKER } from "./config-merge.ts";

/** The keys from the root, e.g. `["shop", "max_items"]`. */
export type KeyPath = readonly string[];

/**
 * The paths a patch sets: each value that is not a table, each empty table, and each table with `__replace__ = true`
 * (which replaces the table as a whole). `"__DELETE__"` counts as a value.
 */
export function leafPaths(patch: ConfigTable, prefix: KeyPath = []): KeyPath[] {
  const paths: KeyPath[] = [];
  for (const [key, value] of Object.entries(patch)) {
    if (key === REPLACE_MARKER) continue;
    const at = [...prefix, key];
    if (isLeaf(value)) paths.push(at);
    else paths.push(...leafPaths(value as ConfigTable, at));
  }
  return paths;
}

/**
 * The paths where `before` and `after` differ: a key added, removed or given another value; tables are compared key
 * by key.
 */
export function changedPaths(before: ConfigTable, after: ConfigTable, prefix: KeyPath = []): KeyPath[] {
  const paths: KeyPath[] = [];
  for (const key of new Set([...Object.keys(before), ...Object.keys(after)])) {
    const at = [...prefix, key];
    const was = before[key];
    const now = after[key];
    if (isTable(was) && isTable(now)) paths.push(...changedPaths(was, now, at));
    else if (!isDeepStrictEqual(was, now)) paths.push(at);
  }
  return paths;
}

/**
 * The patches without what they set on `touched` paths: a value at a touched path, inside it, or holding it (a value
 * replacing the table `shop` goes when `shop.max_items` is touched). Patches left empty go.
 */
export function withoutPaths(patches: ConfigTable[], touched: KeyPath[]): ConfigTable[] {
  if (touched.length === 0) return patches;
  return patches.map((patch) => prune(patch, [], touched)).filter((patch) => Object.keys(patch).length > 0);
}

function prune(table: ConfigTable, prefix: KeyPath, touched: KeyPath[]): ConfigTable {
  const kept: ConfigTable = {};
  for (const [key, value] of Object.entries(table)) {
    if (key === REPLACE_MARKER) {
      kept[key] = value;
      continue;
    }
    const at = [...prefix, key];
    // Touched here or above: the whole value goes.
    if (touched.some((t) => startsWith(at, t))) continue;
    if (isLeaf(value)) {
      // Touched below a value that sets (or replaces) the whole table: it goes too.
      if (touched.some((t) => startsWith(t, at))) continue;
      kept[key] = value;
      continue;
    }
    const inner = prune(value as ConfigTable, at, touched);
    if (Object.keys(inner).length > 0) kept[key] = inner;
  }
  return kept;
}

function isLeaf(value: unknown): boolean {
  return !isTable(value) || Object.keys(value).length === 0 || value[REPLACE_MARKER] === true;
}

/** True when `path` begins with `prefix` (or is it). */
function startsWith(path: KeyPath, prefix: KeyPath): boolean {
  return prefix.length <= path.length && prefix.every((key, i) => path[i] === key);
}
