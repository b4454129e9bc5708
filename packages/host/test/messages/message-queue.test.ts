import assert from "node:assert/strict";
import { test } from "node:test";
import { createSilentLogger } from "../../src/host-logger.ts";
import { fakeHostContext } from "../support/fake-host-context.ts";
import { BusRecordStore } from "../../src/bus/bus-record-store.ts";
import { checkMessage, MessageQueue } from "../../src/messages/message-queue.ts";

function refusal(input: unknown): { field: unknown; message: string } {
  const checked = checkMessage(input, "p");
  assert.equal(checked.ok, false, `expected a refusal for ${JSON.stringify(input)}`);
  if (checked.ok) throw new Error("unreachable");
  assert.equal(checked.error.code, "VALIDATION_ERROR");
  assert.equal(checked.error.name, "ValidationError");
  return { field: (checked.error.details as { field: string }).field, message: checked.error.message };
}

test("each message type requires its own field, and the refusal names it", () => {
  assert.equal(refusal({ messageType: "text" }).field, "content");
  assert.equal(refusal({ messageType: "text", content: "" }).field, "content");
  assert.equal(refusal({ messageType: "url", content: "not a url" }).field, "content");
  assert.equal(refusal({ messageType: "url", content: "ftp://example.com/x" }).field, "content");
  assert.equal(refusal({ messageType: "binary" }).field, "binaryData");
  assert.equal(refusal({ messageType: "binary", binaryData: new Uint8Array() }).field, "binaryData");
  assert.equal(refusal({ messageType: "binary", binaryData: "not base64!" }).field, "binaryData");
  assert.equal(refusal({ messageType: "binary_url" }).field, "binaryUrl");
  assert.equal(refusal({ messageType: "binary_url", binaryUrl: "nope" }).field, "binaryUrl");
  assert.match(refusal({ messageType: "binary_url" }).message, /'binaryUrl' is required for messageType 'binary_url'/);
});

test("shared fields are checked: type, priority, source, description, metadata, unknown keys", () => {
  assert.equal(refusal({ messageType: "video", content: "x" }).field, "messageType");
  assert.equal(refusal({ content: "x", priority: 11 }).field, "priority");
  assert.equal(refusal({ content: "x", priority: 2.5 }).field, "priority");
  assert.equal(refusal({ content: "x", priority: -1 }).field, "priority");
  assert.equal(refusal({ content: "x", source: "" }).field, "source");
  assert.equal(refusal({ content: "x", description: 7 }).field, "description");
  assert.equal(refusal({ content: "x", metadata: [1] }).field, "metadata");
  assert.equal(refusal({ content: "x", message_type: "text" }).field, "message_type");
  assert.match(refusal({ content: "x", message_type: "text" }).message, /unknown field 'message_type'/);
  assert.equal(refusal(null).field, "message");
  assert.equal(refusal({ messageType: "binary", binaryData: new Uint8Array(1024 * 1024 + 1) }).field, "binaryData");
});

test("defaults: type text, priority 5, source = the plugin id; bytes and base64 are both accepted", () => {
  const text = checkMessage({ content: "hello" }, "p");
  assert.ok(text.ok);
  assert.deepEqual(text.value, {
    source: "p",
    priority: 5,
    data: { messageType: "text", description: "", content: "hello", binaryData: null, binaryUrl: null, metadata: {} },
  });
  const bytes = checkMessage({ messageType: "binary", binaryData: new Uint8Array([1, 2, 3]) }, "p");
  const base64 = checkMessage({ messageType: "binary", binaryData: "AQID" }, "p");
  assert.ok(bytes.ok && base64.ok);
  assert.equal(bytes.value.data.binaryData, "AQID");
  assert.equal(base64.value.data.binaryData, "AQID");
  const url = checkMessage({ messageType: "url", content: "https://example.com/a?b=c", priority: 0 }, "p");
  assert.ok(url.ok);
});

test("the queue keeps the newest messages within its bounds and pages them by cursor", () => {
  const store = new BusRecordStore({ logger: createSilentLogger(), namespace: "messages", capacity: 20 });
  const queue = new MessageQueue(store, fakeHostContext().ctx);
  for (let i = 1; i <= 25; i++) assert.ok(queue.push(i % 5 ? "a" : "b", { content: `m${i}`, priority: i % 11 }).ok);
  const page = queue.list({ maxCount: 10 });
  assert.deepEqual(
    page.messages.map((m) => m.id),
    [6, 7, 8, 9, 10, 11, 12, 13, 14, 15],
  );
  assert.equal(page.dropped, 5);
  assert.equal(page.missed, 5);
  assert.equal(page.has_more, true);
  const onlyB = queue.list({ pluginId: "b", after: 0 });
  assert.deepEqual(
    onlyB.messages.map((m) => m.content),
    ["m10", "m15", "m20", "m25"],
  );
  assert.equal(queue.list({ priorityMin: 9, maxCount: 100 }).messages.length, 4);
  const restarted = queue.list({ after: 9999 });
  assert.equal(restarted.messages[0].id, 6, "a cursor ahead of the queue (host restarted) reads from the start");
});
