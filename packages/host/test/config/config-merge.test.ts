import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { mergeConfig } from "../../src/config/config-merge.ts";

describe("mergeConfig", () => {
  const base = {
    plugin: { id: "p", entry: "index.ts:P" },
    server: { host: "localhost", port: 80, tls: { cert: "a.pem", key: "a.key" } },
    tags: ["a", "b"],
    debug: true,
  };

  test("tables merge key by key; scalars and arrays replace", () => {
    const merged = mergeConfig(base, { server: { port: 8080, tls: { key: "b.key" } }, tags: ["c"], extra: 1 });
    assert.deepEqual(merged, {
      plugin: { id: "p", entry: "index.ts:P" },
      server: { host: "localhost", port: 8080, tls: { cert: "a.pem", key: "b.key" } },
      tags: ["c"],
      debug: true,
      extra: 1,
    });
  });

  test('"__DELETE__" removes a key, at any depth', () => {
    const merged = mergeConfig(base, {
      debug: "__DELETE__",
      server: { tls: { cert: "__DELETE__" } },
      nope: "__DELETE__",
    });
    assert.equal("debug" in merged, false);
    assert.deepEqual(merged.server, { host: "localhost", port: 80, tls: { key: "a.key" } });
    assert.equal("nope" in merged, false, "deleting an absent key is fine");
  });

  test("__replace__ = true replaces the table instead of merging into it", () => {
    const merged = mergeConfig(base, { server: { __replace__: true, socket: "/run/x.sock" } });
    assert.deepEqual(merged.server, { socket: "/run/x.sock" });
    const nested = mergeConfig(base, { server: { tls: { __replace__: true, none: true } } });
    assert.deepEqual(nested.server, { host: "localhost", port: 80, tls: { none: true } });
  });

  test("markers never reach the result, even in tables that had nothing to merge into", () => {
    const merged = mergeConfig(base, {
      fresh: { keep: 1, gone: "__DELETE__", inner: { __replace__: true, x: 1 } },
      __replace__: true,
    });
    assert.deepEqual(merged.fresh, { keep: 1, inner: { x: 1 } });
    assert.equal("__replace__" in merged, false, "a top-level __replace__ does not wipe the document");
  });

  test("a table replacing a scalar (and the reverse) takes its place; the inputs are not changed", () => {
    const before = structuredClone(base);
    const merged = mergeConfig(base, { debug: { level: 2 }, server: "down" });
    assert.deepEqual(merged.debug, { level: 2 });
    assert.equal(merged.server, "down");
    assert.deepEqual(base, before);
  });
});
