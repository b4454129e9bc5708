/**
 * `this.memory` (SPEC §5.3) through real plugin processes: one plugin stores, another searches; ranking, buckets,
 * recency, refused values and bad parameters; the file lives under the host's `dataDir`.
 */
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { makeTempDir, writePlugin } from "../support/plugin-fixtures.ts";
import { startTestHost, type TestHost } from "../support/test-host.ts";

const code = `
import { NekoPluginBase, nekoPlugin, pluginEntry, Ok } from "@neko/plugin-sdk/plugin";

@nekoPlugin
export class MemoPlugin extends NekoPluginBase {
  @pluginEntry({ id: "remember" })
  remember({ key, value, bucket }: { key: string; value: unknown; bucket?: string }) {
    return this.memory.store(key, value, bucket === undefined ? {} : { bucket });
  }

  @pluginEntry({ id: "search" })
  search({ query, bucket, limit }: { query: string; bucket?: string; limit?: number }) {
    return this.memory.search(query, { ...(bucket !== undefined && { bucket }), ...(limit !== undefined && { limit }) });
  }

  @pluginEntry({ id: "recent" })
  recent({ bucket, limit }: { bucket: string; limit?: number }) {
    return this.memory.get(bucket, limit === undefined ? {} : { limit });
  }

  @pluginEntry({ id: "remember_date" })
  rememberDate() {
    return this.memory.store("when", { at: new Date() });
  }
}
`;

describe("memory", () => {
  let root: string;
  let dataDir: string;
  let t: TestHost;

  before(async () => {
    root = makeTempDir();
    dataDir = makeTempDir("neko-data-");
    for (const id of ["writer", "reader"]) {
      writePlugin(root, { id, manifest: `[plugin]\nid = "${id}"\nentry = "index.ts:MemoPlugin"\n`, code });
    }
    t = await startTestHost({ roots: [root], dataDir });
    const docs: Array<[string, string, unknown]> = [
      ["notes", "budget", "Quarterly budget report. The budget committee approves the budget."],
      ["notes", "garden", "A report on the garden: tomatoes and beans."],
      ["notes", "travel", { title: "Trip", places: ["Kyoto", "Osaka"], note: "on a budget" }],
      ["work", "standup", "Daily meeting at nine"],
      ["home", "school", "Parent meeting on Friday"],
    ];
    for (const [bucket, key, value] of docs) {
      const res = await t.trigger("writer", "remember", { bucket, key, value });
      assert.equal(res.status, 200, JSON.stringify(res.body));
    }
  });
  after(async () => {
    await t?.close();
    fs.rmSync(root, { recursive: true, force: true });
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  test("another plugin finds what one stored, the more relevant record first", async () => {
    const res = await t.trigger("reader", "search", { query: "budget report" });
    assert.equal(res.status, 200);
    const hits = res.body.data;
    assert.equal(hits[0].key, "budget", "both words, several times: the most relevant");
    assert.deepEqual(hits.map((h: { key: string }) => h.key).sort(), ["budget", "garden", "travel"]);
    assert.ok(hits[0].score > hits[1].score && hits[1].score >= hits[2].score, "ranked by score");
    assert.equal(hits[0].pluginId, "writer");
    assert.equal(hits[0].bucket, "notes");
    const travel = hits.find((h: { key: string }) => h.key === "travel");
    assert.deepEqual(travel.value, { title: "Trip", places: ["Kyoto", "Osaka"], note: "on a budget" });
    assert.ok(fs.existsSync(path.join(dataDir, "memory.sqlite")), "the store is in the host's dataDir");
  });

  test("search filters by bucket and limits the hits", async () => {
    const work = (await t.trigger("reader", "search", { query: "meeting", bucket: "work" })).body.data;
    assert.deepEqual(
      work.map((h: { key: string }) => h.key),
      ["standup"],
    );
    const all = (await t.trigger("reader", "search", { query: "meeting" })).body.data;
    assert.equal(all.length, 2);
    const one = (await t.trigger("reader", "search", { query: "budget report", limit: 1 })).body.data;
    assert.equal(one.length, 1);
    const odd = await t.trigger("reader", "search", { query: 'budget" OR NEAR( *' });
    assert.equal(odd.status, 200, "FTS5 syntax in user text is only words");
    assert.equal(odd.body.data[0].key, "budget");
  });

  test("get lists a bucket most recently stored first", async () => {
    await t.trigger("writer", "remember", { bucket: "notes", key: "garden", value: "Garden report, updated" });
    const recent = (await t.trigger("reader", "recent", { bucket: "notes", limit: 2 })).body.data;
    assert.deepEqual(
      recent.map((r: { key: string; value: unknown }) => [r.key, r.value]),
      [
        ["garden", "Garden report, updated"],
        ["travel", { title: "Trip", places: ["Kyoto", "Osaka"], note: "on a budget" }],
      ],
    );
    assert.deepEqual((await t.trigger("reader", "recent", { bucket: "empty" })).body.data, []);
  });

  test("every write is mirrored on the bus's memory namespace: where it went, not the value", async () => {
    await t.trigger("writer", "remember", { bucket: "mirror", key: "k1", value: { n: 1 } });
    const res = await t.request("GET", "/bus/memory?plugin_id=writer&max_count=1");
    assert.equal(res.status, 200);
    const [record] = res.body.records;
    assert.equal(record.type, "stored");
    assert.equal(record.pluginId, "writer");
    assert.deepEqual(record.data, { bucket: "mirror", key: "k1" });
  });

  test("bad values and parameters get clear errors", async () => {
    const date = await t.trigger("writer", "remember_date");
    assert.equal(date.status, 400);
    assert.match(date.body.error.message, /memory: the value for key 'when' is not JSON-compatible: \$\.at is a Date/);
    const noKey = await t.trigger("writer", "remember", { key: "", value: 1 });
    assert.match(noKey.body.error.message, /the key must be a non-empty string/);
    const badLimit = await t.trigger("reader", "search", { query: "x", limit: 0 });
    assert.equal(badLimit.status, 400);
    assert.match(badLimit.body.error.message, /limit must be a whole number from 1 to 100/);
    const noBucket = await t.trigger("reader", "recent", {});
    assert.match(noBucket.body.error.message, /the bucket must be a non-empty string/);
    const defaultBucket = await t.trigger("writer", "remember", { key: "loose", value: "in the default bucket" });
    assert.equal(defaultBucket.body.data.bucket, "default");
  });
});
