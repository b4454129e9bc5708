/**
 * docs/wire-protocol.md lists the contract for plugins in other languages; this test holds its tables to the maps in
 * src/contract: the same methods, and for each the same params fields, required or optional (`name?:`) as the schema
 * says. A method added, renamed or changed without its row fails here.
 */
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { z } from "zod";
import {
  hostToPluginControls,
  hostToPluginPushes,
  type MethodMap,
  pluginToHostNotifications,
  pluginToHostRequests,
} from "../src/index.ts";

const doc = fs.readFileSync(
  path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../../docs/wire-protocol.md"),
  "utf8",
);

/** `field` for a required field, `field?` for an optional one, sorted. */
type Fields = string[];

/** Each row of the table under `heading`: its first cell's method, and the top-level fields of its second cell. */
function documented(heading: string): Map<string, Fields> {
  const start = doc.indexOf(`\n${heading}\n`);
  assert.ok(start >= 0, `docs/wire-protocol.md has a '${heading}' section`);
  const rows = new Map<string, Fields>();
  const section = doc.slice(start + heading.length + 2).split(/\n#/)[0];
  // Its first table; the header row names the columns (`method`, `op`, `topic`) and is no method.
  const table = section.split("\n").filter((line) => line.startsWith("|"));
  for (const line of table.slice(2)) {
    const cells = line.split(/(?<!\\)\|/).map((c) => c.trim());
    const method = /^`([A-Za-z_.]+)`$/.exec(cells[1] ?? "")?.[1];
    if (method) rows.set(method, topLevelFields(cells[2] ?? ""));
  }
  return rows;
}

function topLevelFields(cell: string): Fields {
  const open = cell.indexOf("{");
  if (open < 0) return [];
  const fields: string[] = [];
  let depth = 0;
  let part = "";
  for (const ch of cell.slice(open)) {
    if ("{[(".includes(ch)) depth += 1;
    if ("}])".includes(ch)) depth -= 1;
    if (depth === 0) break;
    if (depth === 1 && ch === ",") {
      fields.push(part);
      part = "";
    } else if (!(depth === 1 && ch === "{")) {
      part += ch;
    }
  }
  fields.push(part);
  return fields
    .map((f) => /^\s*([A-Za-z_]\w*)(\?)?\s*:/.exec(f))
    .flatMap((m) => (m ? [`${m[1]}${m[2] ?? ""}`] : []))
    .sort();
}

function contract(map: MethodMap): Map<string, Fields> {
  const out = new Map<string, Fields>();
  for (const [method, spec] of Object.entries(map)) {
    const schema = z.toJSONSchema(spec.params, { io: "input", unrepresentable: "any" }) as {
      properties?: Record<string, unknown>;
      required?: string[];
    };
    const required = new Set(schema.required ?? []);
    out.set(
      method,
      Object.keys(schema.properties ?? {})
        .map((name) => (required.has(name) ? name : `${name}?`))
        .sort(),
    );
  }
  return out;
}

const sorted = (m: Map<string, Fields>) => Object.fromEntries([...m].sort(([a], [b]) => a.localeCompare(b)));

for (const [heading, map] of [
  ["### Requests", pluginToHostRequests],
  ["### Notifications", pluginToHostNotifications],
  ["## Control operations (host → plugin)", hostToPluginControls],
  ["### Pushes (host → plugin)", hostToPluginPushes],
] as const) {
  test(`docs/wire-protocol.md '${heading}' lists the contract's methods with their fields`, () => {
    assert.deepEqual(sorted(documented(heading)), sorted(contract(map as MethodMap)));
  });
}

test("the table reader reads what the tables write", () => {
  assert.deepEqual(topLevelFields("`{ a: str, b?: { c: int, d?: str }, e?: [str] }` (note)"), ["a", "b?", "e?"]);
  assert.deepEqual(topLevelFields("`{}`"), []);
  assert.deepEqual(topLevelFields("`null`"), []);
});
