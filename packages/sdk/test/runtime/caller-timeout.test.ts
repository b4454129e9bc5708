/** A cross-plugin call's own deadline: only a timeout this process made is named `firedBy: "caller"`. */
import assert from "node:assert/strict";
import { test } from "node:test";
import type { WireResult } from "@neko/protocol";
import { toWireError } from "../../src/errors.ts";
import { PluginsClient } from "../../src/plugins-client.ts";
import { type HostBridge, HostClient } from "../../src/runtime/host-client.ts";
import { MemoryPluginTransport } from "../../src/runtime/memory-plugin-transport.ts";

test("a timeout the caller's HostClient made is named after the target", async () => {
  const client = new HostClient(new MemoryPluginTransport());
  const plugins = new PluginsClient(client, "me");
  const result = await plugins.callEntry("other:slow", {}, { timeout: 0.05 });
  assert.equal(result.ok, false);
  if (result.ok) return;
  assert.equal(result.error.code, "TIMEOUT");
  assert.equal(result.error.message, "entry 'other:slow' timed out after 0.05s");
  assert.deepEqual(result.error.details, { plugin: "other", entry: "slow", timeoutMs: 50, firedBy: "caller" });
});

test("an answer from the wire that says firedBy caller stays as it came, with its upstream token", async () => {
  const answer: WireResult = {
    ok: false,
    error: {
      name: "TimeoutError",
      code: "TIMEOUT",
      message: "entry 'x:y' timed out after 1s",
      details: { plugin: "x", entry: "y", timeoutMs: 1000, firedBy: "caller" },
      upstream: "token-1",
    },
  };
  const bridge = { request: async () => answer } as unknown as HostBridge;
  const result = await new PluginsClient(bridge, "me").callEntry("other:slow", {});
  assert.equal(result.ok, false);
  if (result.ok) return;
  assert.deepEqual(toWireError(result.error), answer.error);
});
