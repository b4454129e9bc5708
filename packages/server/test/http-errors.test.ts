/**
 * The HTTP status of every error code: the table in code is the one documented (docs/http-api.md#status-codes), the
 * wire protocol's table names every code that can cross the wire, and a plugin's own codes are 422.
 */
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { ErrorCode } from "@neko/protocol";
import { STATUS_BY_CODE, statusForCode } from "../src/http-errors.ts";

const docs = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../../docs");

/** The first two cells of every row of the table under `heading`, as `code → second cell`. */
function codeTable(file: string, heading: string): Map<string, string> {
  const text = fs.readFileSync(path.join(docs, file), "utf8");
  const section = text.slice(text.indexOf(heading));
  const rows = new Map<string, string>();
  for (const line of section.split("\n").slice(1)) {
    if (line.startsWith("## ")) break;
    const cells = line.split("|").map((c) => c.trim());
    const code = /^`([A-Z_]+)`$/.exec(cells[1] ?? "")?.[1];
    if (code) rows.set(code, cells[2]);
  }
  return rows;
}

/** Codes only the HTTP server answers with: they never appear in a message between host and plugin. */
const HTTP_ONLY = new Set<string>([
  ErrorCode.BadRequest,
  ErrorCode.IdempotencyConflict,
  ErrorCode.InvalidJson,
  ErrorCode.Unauthorized,
  ErrorCode.UnsupportedMediaType,
  ErrorCode.RouteNotFound,
  ErrorCode.UiPathRefused,
  ErrorCode.UiNotRegistered,
  ErrorCode.UiFileNotFound,
  ErrorCode.PreconditionFailed,
  ErrorCode.RangeNotSatisfiable,
  ErrorCode.RequestTimeout,
  ErrorCode.PageUnavailable,
  ErrorCode.HeadersTooLarge,
  ErrorCode.ShuttingDown,
  ErrorCode.TooManyClients,
  ErrorCode.HostNotAllowed,
  ErrorCode.CrossOriginRefused,
]);

test("docs/http-api.md lists every error code with the status the server answers", () => {
  const documented = codeTable("http-api.md", "## Status codes");
  const inCode = Object.fromEntries(Object.entries(STATUS_BY_CODE).map(([code, status]) => [code, String(status)]));
  assert.deepEqual(Object.fromEntries([...documented].sort()), Object.fromEntries(Object.entries(inCode).sort()));
});

test("docs/wire-protocol.md lists every error code that can cross the wire", () => {
  const documented = [...codeTable("wire-protocol.md", "## Error codes").keys()].sort();
  const wire = Object.values(ErrorCode)
    .filter((code) => !HTTP_ONLY.has(code))
    .sort();
  assert.deepEqual(documented, wire);
});

test("a plugin's own codes are 422; the framework's have their own status", () => {
  assert.equal(statusForCode("MY_PLUGIN_SAYS_NO"), 422);
  assert.equal(statusForCode("toString"), 422);
  assert.equal(statusForCode(ErrorCode.PluginNotFound), 404);
  assert.equal(statusForCode(ErrorCode.Timeout), 504);
});
