/**
 * Writes a changed TOML document back over its old text while keeping the author's comments and layout: each
 * changed, added or removed value is edited on its own line. When a change cannot be made that way (a new or removed
 * table, a value spanning lines, a table written inline or with dotted keys), or when more than MAX_LINE_EDITS values
 * change at once, the document is serialized afresh.
 * Either way the result is checked to parse to exactly `next`.
 */
import { isDeepStrictEqual } from "node:util";
import { parse, stringify } from "smol-toml";
import { type ConfigTable, isTable } from "./config-merge.ts";

/** The most value edits made line by line, keeping comments; a bigger change writes the document afresh. */
export const MAX_LINE_EDITS = 200;

interface ValueEdit {
  table: string[];
  key: string;
  /** undefined removes the key. */
  value: unknown;
}

/** The text of `next`, as close to `text` (which parses to the old document) as possible. */
export function rewriteToml(text: string, next: ConfigTable): string {
  const edits = diff(parse(text), next, []);
  // Each edit looks its table and key up in the lines: past MAX_LINE_EDITS that would grow with the square of the
  // edits (thousands of keys in one write held the host's event loop for seconds), so the document is written afresh.
  if (edits && edits.length <= MAX_LINE_EDITS) {
    const newline = text.includes("\r\n") ? "\r\n" : "\n";
    let lines: string[] | undefined = text.split(/\r?\n/);
    for (const edit of edits) {
      lines = lines && applyEdit(lines, edit);
    }
    if (lines) {
      const edited = lines.join(newline);
      if (parsesTo(edited, next)) return edited;
    }
  }
  return stringify(next);
}

/** The value edits that turn `before` into `after`; undefined when a table itself appears, goes or changes kind. */
function diff(before: ConfigTable, after: ConfigTable, table: string[]): ValueEdit[] | undefined {
  const edits: ValueEdit[] = [];
  for (const key of new Set([...Object.keys(before), ...Object.keys(after)])) {
    const old = before[key];
    const now = after[key];
    if (isDeepStrictEqual(normalize(old), normalize(now))) continue;
    if (isTable(old) && isTable(now)) {
      const inner = diff(old, now, [...table, key]);
      if (!inner) return undefined;
      for (const edit of inner) edits.push(edit);
    } else if (isTable(old) || isTable(now)) {
      return undefined;
    } else {
      edits.push({ table, key, value: now });
    }
  }
  return edits;
}

function applyEdit(lines: string[], edit: ValueEdit): string[] | undefined {
  const region = tableRegion(lines, edit.table);
  if (!region) return undefined;
  const keyPattern = new RegExp(`^(\\s*)(${escapeRegExp(edit.key)}|"${escapeRegExp(edit.key)}")\\s*=`);
  let at = -1;
  for (let i = region.start; i < region.end; i++) {
    if (keyPattern.test(lines[i])) at = i;
  }
  const result = [...lines];
  if (edit.value === undefined) {
    if (at < 0 || !isWholeValueLine(lines[at])) return undefined;
    result.splice(at, 1);
    return result;
  }
  const literal = stringify({ [edit.key]: edit.value }).trimEnd();
  if (literal.includes("\n")) return undefined;
  if (at < 0) {
    let after = region.start - 1;
    for (let i = region.start; i < region.end; i++) if (/^\s*[^\s#[]/.test(lines[i])) after = i;
    result.splice(after + 1, 0, literal);
    return result;
  }
  if (!isWholeValueLine(lines[at])) return undefined;
  const indent = keyPattern.exec(lines[at])?.[1] ?? "";
  result[at] = `${indent}${literal}${trailingComment(lines[at])}`;
  return result;
}

/**
 * Lines that hold the keys of `table`: from after its `[a.b]` header up to the next header; for the root, everything
 * before the first header. Undefined when the table has no header line of its own.
 */
function tableRegion(lines: string[], table: string[]): { start: number; end: number } | undefined {
  const isHeader = (line: string) => /^\s*\[/.test(line);
  let start = 0;
  if (table.length > 0) {
    const header = new RegExp(`^\\s*\\[\\s*${table.map(escapeRegExp).join("\\s*\\.\\s*")}\\s*\\]\\s*(#.*)?$`);
    const index = lines.findIndex((line) => header.test(line));
    if (index < 0) return undefined;
    start = index + 1;
  }
  let end = start;
  while (end < lines.length && !isHeader(lines[end])) end++;
  return { start, end };
}

/** True when the line is a complete `key = value` on its own (not the start of a multi-line value). */
function isWholeValueLine(line: string): boolean {
  try {
    parse(line);
    return true;
  } catch {
    return false;
  }
}

/** The ` # comment` at the end of a `key = value` line, found where the text before it is still a whole value. */
function trailingComment(line: string): string {
  for (let i = line.indexOf("#"); i >= 0; i = line.indexOf("#", i + 1)) {
    const head = line.slice(0, i);
    if (isWholeValueLine(head) && isDeepStrictEqual(parse(head), parse(line))) {
      return ` ${line.slice(i)}`;
    }
  }
  return "";
}

function parsesTo(text: string, expected: ConfigTable): boolean {
  try {
    return isDeepStrictEqual(normalize(parse(text)), normalize(expected));
  } catch {
    return false;
  }
}

/** Plain data: parsed TOML tables have no prototype, and dates compare by their text. */
function normalize(value: unknown): unknown {
  return value === undefined ? undefined : JSON.parse(JSON.stringify(value));
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}
