/**
 * One plugin cannot run the host out of memory through the bus: an event payload or conversation record over 1 MiB
 * is refused, and every namespace keeps its records within a byte bound.
 */
import assert from "node:assert/strict";
import fs from "node:fs";
import { after, before, describe, test } from "node:test";
import { makeTempDir, writePlugin } from "../support/plugin-fixtures.ts";
import { startTestHost, type TestHost } from "../support/test-host.ts";

const code = `
import { NekoPluginBase, nekoPlugin, pluginEntry, Ok } from "@neko/plugin-sdk/plugin";

@nekoPlugin
export class Flood extends NekoPluginBase {
  @pluginEntry({ id: "emit" })
  async emit({ type, bytes }: { type: string; bytes: number }) {
    const emitted = this.bus.emit(type, "x".repeat(bytes));
    await this.bus.flush();
    return Ok(emitted.ok ? "sent" : emitted.error.message);
  }

  @pluginEntry({ id: "add" })
  async add({ bytes, sourceLength }: { bytes: number; sourceLength?: number }) {
    const source = sourceLength === undefined ? undefined : "s".repeat(sourceLength);
    return await this.bus.conversations.add({ type: "turn", data: "x".repeat(bytes), ...(source !== undefined && { source }) });
  }
}
`;

const MiB = 1024 * 1024;

describe("bus limits", () => {
  let root: string;
  let t: TestHost;

  before(async () => {
    root = makeTempDir();
    writePlugin(root, { id: "flood", className: "Flood", code });
    t = await startTestHost({ roots: [root], bus: { namespaceMaxBytes: 8 * MiB } });
  });
  after(async () => {
    await t.close();
    fs.rmSync(root, { recursive: true, force: true });
  });

  test("an event payload over 1 MiB is refused to the plugin and never published; one under it is", async () => {
    const huge = await t.trigger("flood", "emit", { type: "huge", bytes: 2 * MiB });
    assert.match(huge.body.data, /emit: the payload is \d{7} bytes; the limit is 1048576/);
    assert.equal((await t.trigger("flood", "emit", { type: "fits", bytes: MiB / 2 })).body.data, "sent");
    assert.equal(t.host.bus.query("events", { type: "huge" }).records.length, 0);
    assert.equal(t.host.bus.query("events", { type: "fits" }).records.length, 1);
  });

  test("a conversation record over 1 MiB is refused with a ValidationError naming its size and the limit", async () => {
    const res = await t.trigger("flood", "add", { bytes: 2 * MiB });
    assert.equal(res.status, 400);
    assert.equal(res.body.error.code, "VALIDATION_ERROR");
    assert.match(res.body.error.message, /the data is \d{7} bytes; the limit is 1048576/);
    assert.equal((await t.trigger("flood", "add", { bytes: 1000 })).status, 200);
  });

  test("attacker: a conversation record's source is bounded, and the whole record counts against 1 MiB", async () => {
    const before = t.host.bus.query("conversations", {}).records.length;
    for (const sourceLength of [MiB, 129, 0]) {
      const res = await t.trigger("flood", "add", { bytes: 10, sourceLength });
      assert.equal(res.status, 400, `source of ${sourceLength} characters`);
      assert.equal(res.body.error.code, "VALIDATION_ERROR");
      assert.equal(res.body.error.message, "conversation record: source must be a string of 1–128 characters");
    }
    // The data fits (1 MiB as JSON, with its quotes), but not with its type and source.
    const whole = await t.trigger("flood", "add", { bytes: MiB - 2, sourceLength: 100 });
    assert.equal(whole.status, 400);
    assert.equal(whole.body.error.code, "VALIDATION_ERROR");
    assert.equal(
      whole.body.error.message,
      "bus.append: conversation record: the record is 1048680 bytes; the limit is 1048576 (1 MiB)",
    );
    assert.equal(t.host.bus.query("conversations", {}).records.length, before, "nothing refused was recorded");
    assert.equal((await t.trigger("flood", "add", { bytes: 10, sourceLength: 128 })).status, 200);
  });

  test("a namespace keeps its records within its byte bound, dropping the oldest", async () => {
    for (let i = 0; i < 12; i++) assert.equal((await t.trigger("flood", "add", { bytes: 900 * 1024 })).status, 200);
    const stats = t.host.bus.stats().namespaces.conversations;
    assert.equal(stats.max_bytes, 8 * MiB);
    assert.ok(stats.bytes <= 8 * MiB, `${stats.bytes} bytes kept`);
    assert.ok(stats.evicted >= 3, `${stats.evicted} evicted`);
  });
});
