/**
 * The memo_reminder example (SPEC §7: timers, store, pushMessage) through the real server, copied to a temporary
 * root so the test never writes into the repository.
 */
import assert from "node:assert/strict";
import fs from "node:fs";
import { after, before, describe, test } from "node:test";
import { copyExamplePlugins, makeTempDir, waitFor } from "../support/plugin-fixtures.ts";
import { startTestHost, type TestHost } from "../support/test-host.ts";

describe("example plugin: memo_reminder", () => {
  let root: string;
  let t: TestHost;

  before(async () => {
    root = makeTempDir();
    copyExamplePlugins(root, ["memo_reminder"]);
    t = await startTestHost({ roots: [root], dataDir: root });
  });
  after(async () => {
    await t?.close();
    fs.rmSync(root, { recursive: true, force: true });
  });

  test("a memo that falls due is pushed once on the message queue, at the configured priority", async () => {
    const later = (await t.trigger("memo_reminder", "add_memo", { text: "water the plants", due_in_seconds: 3600 }))
      .body.data;
    const soon = (await t.trigger("memo_reminder", "add_memo", { text: "call mum", due_in_seconds: 0.2 })).body.data;
    assert.equal(typeof soon.id, "string");
    const page = await waitFor(
      async () => {
        const res = await t.request("GET", "/plugin/messages?plugin_id=memo_reminder");
        return res.body.messages.length > 0 ? res.body : undefined;
      },
      { what: "the reminder to be pushed" },
    );
    assert.equal(page.messages.length, 1);
    const [message] = page.messages;
    assert.equal(message.content, "call mum");
    assert.equal(message.priority, 7);
    assert.equal(message.message_type, "text");
    assert.equal(message.metadata.memoId, soon.id);
    const pending = (await t.trigger("memo_reminder", "list_memos", { pending_only: true })).body.data;
    assert.deepEqual(
      pending.map((m: { id: string }) => m.id),
      [later.id],
    );
    // Two more ticks of the timer (each reports a new checkedAt): still one reminder.
    const checkedAt = async () =>
      (await t.request("GET", "/plugin/status?plugin_id=memo_reminder")).body.status?.checkedAt;
    for (let tick = 0; tick < 2; tick++) {
      const before = await checkedAt();
      await waitFor(async () => (await checkedAt()) !== before, { what: "another timer tick" });
    }
    const again = await t.request("GET", "/plugin/messages?plugin_id=memo_reminder");
    assert.equal(again.body.messages.length, 1);
    const status = await t.request("GET", "/plugin/status?plugin_id=memo_reminder");
    assert.equal(status.body.status.pending, 1);
  });

  test("memos survive a restart of the plugin; bad input is refused", async () => {
    const stop = await t.request("POST", "/plugin/memo_reminder/stop");
    assert.equal(stop.status, 200);
    await t.request("POST", "/plugin/memo_reminder/start");
    const all = (await t.trigger("memo_reminder", "list_memos")).body.data;
    assert.deepEqual(all.map((m: { text: string }) => m.text).sort(), ["call mum", "water the plants"]);
    const bad = await t.trigger("memo_reminder", "add_memo", { text: "  ", due_in_seconds: 5 });
    assert.equal(bad.status, 400);
    assert.match(bad.body.error.message, /text/);
    const missing = await t.trigger("memo_reminder", "delete_memo", { id: "nope" });
    assert.equal(missing.status, 404);
  });
});
