/** When the MCP adapter tries a server again (plugins/mcp_adapter/reconnect-backoff.ts). */
import assert from "node:assert/strict";
import { test } from "node:test";
import { ReconnectBackoff } from "../../plugins/mcp_adapter/reconnect-backoff.ts";

test("the waits double up to the cap", () => {
  const backoff = new ReconnectBackoff({ initialMs: 1000, maxMs: 10_000 });
  const waits = Array.from({ length: 6 }, () => backoff.next(0));
  assert.deepEqual(waits, [1000, 2000, 4000, 8000, 10_000, 10_000]);
  assert.equal(backoff.failures, 6);
});

test("a connection that lasted starts the waits afresh; a short one does not", () => {
  const backoff = new ReconnectBackoff({ initialMs: 1000, stableAfterMs: 30_000 });
  assert.equal(backoff.next(0), 1000);
  assert.equal(backoff.next(1000), 2000);
  backoff.connected(10_000);
  assert.equal(backoff.next(15_000), 4000, "up 5 s: still failing");
  backoff.connected(20_000);
  assert.equal(backoff.next(60_000), 1000, "up 40 s: healthy");
  assert.equal(backoff.failures, 1);
});

test("reset starts afresh", () => {
  const backoff = new ReconnectBackoff();
  backoff.next(0);
  backoff.next(0);
  backoff.reset();
  assert.equal(backoff.failures, 0);
  assert.equal(backoff.next(0), 1000);
});
