/** Which entries the MCP adapter offers as tools, and their names (plugins/mcp_adapter/tool-catalog.ts). */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { matchesPattern, toolName } from "../../plugins/mcp_adapter/tool-catalog.ts";

describe("MCP tool catalog", () => {
  test("a pattern is a plugin id or plugin:entry, * standing for any run of characters", () => {
    assert.equal(matchesPattern("*", "notes", "add"), true);
    assert.equal(matchesPattern("notes", "notes", "add"), true);
    assert.equal(matchesPattern("notes", "notes_extra", "add"), false);
    assert.equal(matchesPattern("notes:add", "notes", "add"), true);
    assert.equal(matchesPattern("notes:add", "notes", "add_more"), false);
    assert.equal(matchesPattern("*:admin_*", "cache", "admin_clear"), true);
    assert.equal(matchesPattern("*:admin_*", "cache", "get"), false);
    assert.equal(matchesPattern("n*s", "notes", "x"), true);
  });

  test("an entry id with ':' (a prefix) is matched whole: only the first ':' splits the pattern", () => {
    assert.equal(matchesPattern("notes:admin:delete", "notes", "admin:delete"), true);
    assert.equal(matchesPattern("notes:admin:*", "notes", "admin:wipe"), true);
    assert.equal(matchesPattern("notes:admin:delete", "notes", "admin"), false);
  });

  test("regular-expression characters in a pattern are taken literally", () => {
    assert.equal(matchesPattern("a.b", "axb", "e"), false);
    assert.equal(matchesPattern("p:e.x", "p", "e.x"), true);
    assert.equal(matchesPattern("p:e.x", "p", "eXx"), false);
    assert.equal(matchesPattern("(.*)", "anything", "e"), false);
  });

  test("a tool is <plugin>__<entry>, with the entry id's ':' made '_'", () => {
    assert.equal(toolName("hello_world", "greet"), "hello_world__greet");
    assert.equal(toolName("p", "ns:op"), "p__ns_op");
  });
});
