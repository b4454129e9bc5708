/**
 * The example plugins `notes`, `cache` and `api_client` (SPEC §7) through the real server. They are copied from the
 * repository's plugins/ folder to a temporary root, so the test never writes into the repository's data folders.
 */
import assert from "node:assert/strict";
import fs from "node:fs";
import { after, before, describe, test } from "node:test";
import { copyExamplePlugins, makeTempDir } from "../support/plugin-fixtures.ts";
import { startTestHost, type TestHost } from "../support/test-host.ts";

const EXAMPLES = ["notes", "cache", "api_client"];

describe("example plugins: notes, cache, api_client", () => {
  let root: string;
  let dataDir: string;
  let t: TestHost;

  before(async () => {
    root = makeTempDir();
    dataDir = makeTempDir("neko-data-");
    copyExamplePlugins(root, EXAMPLES);
    t = await startTestHost({ roots: [root], dataDir });
  });
  after(async () => {
    await t?.close();
    fs.rmSync(root, { recursive: true, force: true });
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  test("every example starts and lists its entries", async () => {
    const { body } = await t.request("GET", "/plugins");
    for (const id of EXAMPLES) {
      const plugin = body.plugins.find((p: { id: string }) => p.id === id);
      assert.equal(plugin?.status, "running", `${id}: ${plugin?.status_reason}`);
      assert.deepEqual(plugin.errors, []);
    }
  });

  test("notes: add, list, get, delete, and they survive a restart of the plugin", async () => {
    const first = await t.trigger("notes", "add", { title: "Groceries", body: "milk, eggs", tags: ["home"] });
    assert.equal(first.status, 200);
    const note = first.body.data;
    assert.equal(note.title, "Groceries");
    assert.match(note.id, /^[0-9a-f]{8}$/);
    await new Promise((r) => setTimeout(r, 5));
    const second = (await t.trigger("notes", "add", { title: "Call Bob", tags: ["work"] })).body.data;
    const list = (await t.trigger("notes", "list")).body.data;
    assert.equal(list.total, 2);
    assert.deepEqual(
      list.notes.map((n: { title: string }) => n.title),
      ["Call Bob", "Groceries"],
      "newest first",
    );
    const home = (await t.trigger("notes", "list", { tag: "home" })).body.data;
    assert.deepEqual(
      home.notes.map((n: { id: string }) => n.id),
      [note.id],
    );
    assert.deepEqual((await t.trigger("notes", "get", { id: note.id })).body.data, note);

    await t.request("POST", "/plugin/notes/stop");
    await t.request("POST", "/plugin/notes/start");
    assert.equal((await t.trigger("notes", "list")).body.data.total, 2, "kept across a restart");

    assert.deepEqual((await t.trigger("notes", "delete", { id: second.id })).body.data, { deleted: second.id });
    const gone = await t.trigger("notes", "get", { id: second.id });
    assert.equal(gone.status, 404);
    assert.equal(gone.body.error.code, "NOT_FOUND");
    assert.match(gone.body.error.message, new RegExp(`no note with id '${second.id}'`));
    const empty = await t.trigger("notes", "add", { title: "   " });
    assert.equal(empty.status, 400);
    assert.match(empty.body.error.message, /title/);
  });

  test("notes: the tag entries come from a router included with the prefix tags_", async () => {
    const listed = (await t.request("GET", "/plugins/notes")).body;
    const ids = listed.entries.map((e: { id: string }) => e.id);
    assert.ok(ids.includes("tags_list") && ids.includes("tags_rename"), ids.join(", "));
    await t.trigger("notes", "add", { title: "Paint", tags: ["diy", "weekend"] });
    await t.trigger("notes", "add", { title: "Shelf", tags: ["diy"] });
    const renamed = await t.trigger("notes", "tags_rename", { from: "diy", to: "craft" });
    assert.deepEqual(renamed.body.data, { from: "diy", to: "craft", renamed: 2 });
    const tags = (await t.trigger("notes", "tags_list")).body.data.tags as Array<{ tag: string; count: number }>;
    assert.deepEqual(
      tags.filter((x) => ["craft", "diy", "weekend"].includes(x.tag)),
      [
        { tag: "craft", count: 2 },
        { tag: "weekend", count: 1 },
      ],
    );
    const bad = await t.trigger("notes", "tags_rename", { from: "craft" });
    assert.equal(bad.status, 400);
    assert.match(bad.body.error.message, /to/);
  });

  test("cache: set, get, expiry and stats", async () => {
    await t.trigger("cache", "set", { key: "k", value: { n: 1 }, ttl_seconds: 60 });
    assert.deepEqual((await t.trigger("cache", "get", { key: "k" })).body.data.value, { n: 1 });
    await t.trigger("cache", "set", { key: "short", value: "x", ttl_seconds: 0.05 });
    await new Promise((r) => setTimeout(r, 100));
    assert.deepEqual((await t.trigger("cache", "get", { key: "short" })).body.data, { hit: false, value: null });
    const stats = (await t.trigger("cache", "stats")).body.data;
    assert.ok(stats.hits >= 1 && stats.misses >= 1);
    assert.equal(stats.entries, 1, "the expired entry was dropped");
  });

  test("api_client: an async fetch is cached in the cache plugin through cross-plugin calls", async () => {
    const url = `${t.url}/health`;
    const first = await t.trigger("api_client", "fetch", { url });
    assert.equal(first.status, 200, JSON.stringify(first.body));
    assert.equal(first.body.data.status, 200);
    assert.equal(first.body.data.cached, false);
    assert.equal(first.body.data.cache, "stored");
    assert.equal(first.body.data.body.status, "ok");
    await new Promise((r) => setTimeout(r, 5));
    const second = (await t.trigger("api_client", "fetch", { url })).body.data;
    assert.equal(second.cached, true);
    assert.equal(second.body.time, first.body.data.body.time, "the same answer, from the cache");
    const stats = (await t.trigger("api_client", "cache_stats")).body.data;
    assert.ok(stats.hits >= 1);

    const many = (
      await t.trigger("api_client", "fetch_many", { urls: [url, `${t.url}/plugins`, "http://127.0.0.1:1/x"] })
    ).body.data.results;
    assert.deepEqual(
      many.map((r: { ok: boolean; cached?: boolean }) => [r.ok, r.cached]),
      [
        [true, true],
        [true, false],
        [false, undefined],
      ],
    );
    assert.match(many[2].error, /could not fetch http:\/\/127.0.0.1:1\/x/);
  });

  test("api_client: bad URLs are refused, and without the cache it still fetches", async () => {
    const ftp = await t.trigger("api_client", "fetch", { url: "ftp://example.com/file" });
    assert.equal(ftp.status, 400);
    assert.match(ftp.body.error.message, /only http and https URLs/);
    const down = await t.trigger("api_client", "fetch", { url: "http://127.0.0.1:1/" });
    assert.equal(down.body.error.code, "FETCH_FAILED");

    await t.request("POST", "/plugin/cache/stop");
    const uncached = await t.trigger("api_client", "fetch", { url: `${t.url}/health?fresh=1` });
    assert.equal(uncached.status, 200);
    assert.equal(uncached.body.data.cached, false);
    assert.equal(uncached.body.data.cache, "unavailable");
    const stats = await t.trigger("api_client", "cache_stats");
    // cache_stats passes on what its call to the stopped cache got: the answer names both.
    assert.equal(stats.status, 502);
    assert.equal(stats.body.error.code, "UPSTREAM_ERROR");
    assert.equal(stats.body.error.details.cause.plugin, "cache");
    assert.equal(stats.body.error.details.cause.code, "PLUGIN_NOT_RUNNING");
    await t.request("POST", "/plugin/cache/start");
  });
});
