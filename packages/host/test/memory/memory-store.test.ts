import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { MemoryStore, toFtsQuery } from "../../src/memory/memory-store.ts";

describe("MemoryStore", () => {
  let dir: string;
  let store: MemoryStore;
  const put = (bucket: string, key: string, value: unknown) =>
    store.store({ bucket, key, value: value as never, valueJson: JSON.stringify(value), pluginId: "unit" });

  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "neko-memory-"));
    store = MemoryStore.open(path.join(dir, "nested", "memory.sqlite"));
    put("notes", "budget", "The quarterly budget report: the budget committee reviews the budget in March.");
    put("notes", "report", "A short report about the garden.");
    put("notes", "cats", { title: "Pets", body: "Cats sleep most of the day", tags: ["animals"] });
    put("work", "meeting", "Weekly meeting with the budget team");
    put("home", "meeting", "Parent-teacher meeting on Friday");
  });
  after(() => {
    store.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  test("search ranks the more relevant record first", () => {
    const hits = store.search("budget report", { limit: 10 });
    assert.deepEqual(
      hits.map((h) => `${h.bucket}/${h.key}`),
      ["notes/budget", "notes/report", "work/meeting"],
    );
    assert.ok(hits[0].score > hits[1].score && hits[1].score > hits[2].score, "scores fall with relevance");
    assert.equal(hits[0].value, "The quarterly budget report: the budget committee reviews the budget in March.");
    assert.equal(hits[0].pluginId, "unit");
  });

  test("search filters by bucket and honours the limit", () => {
    assert.deepEqual(
      store.search("meeting", { bucket: "work", limit: 10 }).map((h) => h.value),
      ["Weekly meeting with the budget team"],
    );
    assert.equal(store.search("meeting", { limit: 10 }).length, 2);
    assert.equal(store.search("budget report meeting", { limit: 1 }).length, 1);
  });

  test("words inside structured values are searchable, with stemming and without accents", () => {
    assert.deepEqual(
      store.search("cat sleeping", { limit: 5 }).map((h) => h.key),
      ["cats"],
    );
    put("notes", "café", "Un café crème");
    assert.deepEqual(
      store.search("CAFE creme", { limit: 5 }).map((h) => h.key),
      ["café"],
    );
  });

  test("user text never breaks the query: FTS5 syntax is read as words", () => {
    for (const nasty of [
      '"',
      'budget"',
      "AND",
      "budget AND",
      "NEAR(budget",
      "bud*",
      "-budget",
      "key:budget",
      "^budget",
      "(",
      "'; DROP TABLE memories; --",
    ]) {
      assert.doesNotThrow(() => store.search(nasty, { limit: 5 }), nasty);
    }
    assert.deepEqual(
      store.search("key:budget", { limit: 5 }).map((h) => h.key)[0],
      "budget",
      "a column filter is just two words",
    );
    assert.deepEqual(store.search("  ...  ", { limit: 5 }), [], "no words, no hits");
    assert.equal(toFtsQuery('say "hi" OR bye'), '"say" OR "hi" OR "or" OR "bye"');
    assert.equal(toFtsQuery("!!!"), undefined);
  });

  test("get lists a bucket most recently stored first; storing a key again replaces and bumps it", async () => {
    put("timeline", "one", 1);
    put("timeline", "two", 2);
    put("timeline", "three", 3);
    assert.deepEqual(
      store.recent("timeline", { limit: 10 }).map((r) => r.key),
      ["three", "two", "one"],
    );
    const first = store.recent("timeline", { limit: 10 }).find((r) => r.key === "one");
    await new Promise((r) => setTimeout(r, 5));
    const again = put("timeline", "one", { note: "replaced" });
    assert.equal(again.createdAt, first?.createdAt, "created time is kept");
    assert.ok(again.updatedAt > (first?.createdAt ?? 0));
    assert.deepEqual(
      store.recent("timeline", { limit: 2 }).map((r) => [r.key, r.value]),
      [
        ["one", { note: "replaced" }],
        ["three", 3],
      ],
    );
    assert.equal(store.search("replaced", { limit: 5 })[0]?.key, "one", "the index follows the new value");
    assert.deepEqual(store.search("1", { bucket: "timeline", limit: 5 }), [], "the old text left the index");
  });

  test("records survive closing and reopening the file", () => {
    const file = path.join(dir, "reopen.sqlite");
    const a = MemoryStore.open(file);
    a.store({ bucket: "b", key: "k", value: "persisted words", valueJson: '"persisted words"', pluginId: "p" });
    a.close();
    const b = MemoryStore.open(file);
    assert.equal(b.search("persisted", { limit: 1 })[0]?.value, "persisted words");
    b.store({ bucket: "b", key: "k2", value: "later", valueJson: '"later"', pluginId: "p" });
    assert.deepEqual(
      b.recent("b", { limit: 5 }).map((r) => r.key),
      ["k2", "k"],
      "the recency order continues after a reopen",
    );
    b.close();
  });
});
