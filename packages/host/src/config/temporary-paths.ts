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
 * The paths a patch sets: each value that is not a table, and each table with `__replace__ = true` (which replaces
 * the table as a whole). `"__DELETE__"` counts as a value. An empty table sets nothing (merged, it changes nothing).
 */
export function leafPaths(patch: ConfigTable, prefix: KeyPath = [], paths: KeyPath[] = []): KeyPath[] {
  for (const [key, value] of Object.entries(patch)) {
    if (key === REPLACE_MARKER) continue;
    const at = [...prefix, key];
    if (isLeaf(value)) paths.push(at);
    else leafPaths(value as ConfigTable, at, paths);
  }
  return paths;
}

/**
 * The paths where `before` and `after` differ: a key added, removed or given another value; tables are compared key
 * by key.
 */
export function changedPaths(
  before: ConfigTable,
  after: ConfigTable,
  prefix: KeyPath = [],
  paths: KeyPath[] = [],
): KeyPath[] {
  for (const key of new Set([...Object.keys(before), ...Object.keys(after)])) {
    const at = [...prefix, key];
    const was = before[key];
    const now = after[key];
    if (isTable(was) && isTable(now)) changedPaths(was, now, at, paths);
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
  // The touched paths as a tree, so each key of a patch is looked up once, not against every touched path.
  const tree: TouchedNode = new Map();
  for (const keys of touched) {
    let node = tree;
    for (const key of keys) {
      let child = node.get(key);
      if (child === undefined) {
        child = new Map();
        node.set(key, child);
      }
      node = child;
    }
    node.set(TOUCHED, new Map());
  }
  return patches.map((patch) => prune(patch, tree)).filter((patch) => Object.keys(patch).length > 0);
}

/** A key path's children; `TOUCHED` among them marks the path itself as touched. */
type TouchedNode = Map<string | typeof TOUCHED, TouchedNode>;
const TOUCHED = Symbol("touched");

/** `node`: the touched paths below the table's own path (none of them touches the table or a table holding it). */
function prune(table: ConfigTable, node: TouchedNode): ConfigTable {
  const kept: ConfigTable = {};
  for (const [key, value] of Object.entries(table)) {
    if (key === REPLACE_MARKER) {
      kept[key] = value;
      continue;
    }
    const below = node.get(key);
    if (below === undefined) {
      kept[key] = value;
      continue;
    }
    // Touched here: the whole value goes. Touched below a value that sets (or replaces) the whole table: it goes too.
    if (below.has(TOUCHED) || isLeaf(value)) continue;
    const inner = prune(value as ConfigTable, below);
    if (Object.keys(inner).length > 0) kept[key] = inner;
  }
  return kept;
}

function isLeaf(value: unknown): boolean {
  return !isTable(value) || value[REPLACE_MARKER] === true;
}
