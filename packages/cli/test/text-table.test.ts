/** Columns for `list` and `status`: aligned whatever the colour, colour only on a terminal without NO_COLOR. */
import assert from "node:assert/strict";
import { test } from "node:test";
import { formatTable, paintFor, stateColour, terminalSafe } from "../src/text-table.ts";

const ESC = "\u001b[";

test("colour on a terminal; none in a pipe or with NO_COLOR", () => {
  assert.equal(paintFor({ isTTY: true }, {})("running", "green"), `${ESC}32mrunning${ESC}39m`);
  assert.equal(paintFor({ isTTY: false }, {})("running", "green"), "running");
  assert.equal(paintFor({}, {})("running", "green"), "running");
  assert.equal(paintFor({ isTTY: true }, { NO_COLOR: "1" })("running", "green"), "running");
});

test("columns are as wide as their widest cell, measured before colour; the last is not padded", () => {
  const rows = [
    ["calc", "running", ""],
    ["a_longer_id", "refused", "importing index.ts failed"],
  ];
  const plain = formatTable({ header: ["ID", "STATE", "REASON"], rows, paint: paintFor({}) });
  assert.equal(
    plain,
    ["ID           STATE    REASON", "calc         running", "a_longer_id  refused  importing index.ts failed"].join(
      "\n",
    ),
  );
  const coloured = formatTable({
    header: ["ID", "STATE", "REASON"],
    rows,
    paint: paintFor({ isTTY: true }, {}),
    colourOf: (column, cell) => (column === 1 ? stateColour(cell.trim()) : undefined),
  });
  // Without its escape codes, the coloured table is the plain one.
  const stripped = coloured
    .split(ESC)
    .map((part, i) => (i === 0 ? part : part.replace(/^\d+m/, "")))
    .join("");
  assert.equal(stripped, plain);
  assert.ok(coloured.includes(`${ESC}31mrefused${ESC}39m`), "refused in red");
  assert.ok(coloured.startsWith(`${ESC}1m${"ID".padEnd(11)}${ESC}22m`), "a bold header");
});

test("states: green when serving, red when failed, yellow in between", () => {
  assert.equal(stateColour("running"), "green");
  for (const state of ["crashed", "refused", "quarantined", "failed"]) assert.equal(stateColour(state), "red");
  assert.equal(stateColour("starting"), "yellow");
});

test("terminalSafe shows a server's control characters escaped: no escape sequence or fake row reaches a terminal", () => {
  assert.equal(terminalSafe("running\u001b]0;TITLE\u0007"), "running\\x1b]0;TITLE\\x07");
  assert.equal(terminalSafe("a\nFAKE  running"), "a\\x0aFAKE  running");
  assert.equal(terminalSafe("tab\tkept"), "tab\tkept");
  assert.equal(terminalSafe(42), "42");
  assert.equal(terminalSafe(undefined), "");
});
