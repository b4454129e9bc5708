/** Entry ids of external MCP tools (plugins/mcp_adapter/tool-entry-ids.ts). */
import assert from "node:assert/strict";
import { test } from "node:test";
import { ENTRY_ID, freeToolEntryId, toolEntryId } from "../../plugins/mcp_adapter/tool-entry-ids.ts";

test("an id is mcp_<server>_<tool>, with characters outside the entry id rule made '_'", () => {
  assert.equal(toolEntryId("everything", "get-sum"), "mcp_everything_get-sum");
  assert.equal(toolEntryId("fs", "read.file:v2"), "mcp_fs_read.file:v2");
  assert.equal(toolEntryId("fs", "read file/é"), "mcp_fs_read_file__");
});

test("a long name is cut and ends with a hash, so two long names stay apart", () => {
  const a = toolEntryId("s", `${"x".repeat(200)}a`);
  const b = toolEntryId("s", `${"x".repeat(200)}b`);
  assert.equal(a.length, 128);
  assert.match(a, ENTRY_ID);
  assert.match(a, /_[0-9a-f]{8}$/);
  assert.notEqual(a, b);
  assert.equal(a, toolEntryId("s", `${"x".repeat(200)}a`), "the same name gives the same id");
});

test("a taken id gets the hash of the server and the tool, the same whatever the order", () => {
  // "a b" and "a_b" both sanitize to mcp_s_a_b.
  const taken = new Set([toolEntryId("s", "a b")]);
  const second = freeToolEntryId("s", "a_b", (id) => taken.has(id));
  assert.match(second, /^mcp_s_a_b_[0-9a-f]{8}$/);
  assert.equal(
    freeToolEntryId("s", "a_b", (id) => taken.has(id)),
    second,
  );
  assert.equal(
    freeToolEntryId("s", "a_b", () => false),
    "mcp_s_a_b",
  );
  // Servers a_b/tool c and a/tool b_c meet at mcp_a_b_c.
  const clash = freeToolEntryId("a", "b_c", (id) => id === "mcp_a_b_c");
  assert.notEqual(clash, "mcp_a_b_c");
  assert.match(clash, ENTRY_ID);
});

test("when even the hashed id is taken, copies are numbered", () => {
  const taken = new Set<string>();
  const ids = [1, 2, 3].map(() => {
    const id = freeToolEntryId("s", "t", (candidate) => taken.has(candidate));
    taken.add(id);
    return id;
  });
  assert.equal(new Set(ids).size, 3);
  for (const id of ids) assert.match(id, ENTRY_ID);
});
