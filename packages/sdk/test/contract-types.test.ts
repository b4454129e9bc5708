/**
 * The contract between host and plugin is checked by the compiler on the plugin's side: a request, notification or
 * push the map does not have, params of the wrong shape, or a control handler of the wrong type do not type-check.
 * Each `@ts-expect-error` below fails `npm run typecheck` the day the line it marks compiles.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import type { PluginRuntime } from "../src/runtime/plugin-runtime.ts";
import { HostClient } from "../src/runtime/host-client.ts";
import { MemoryPluginTransport } from "../src/runtime/memory-plugin-transport.ts";

/** Never called: these lines are here for the compiler. */
async function compileTimeChecks(client: HostClient, runtime: PluginRuntime): Promise<void> {
  // @ts-expect-error: not a host service of the contract
  await client.request("plugins.calll", {});
  // @ts-expect-error: `plugins.call` needs `entryId`
  await client.request("plugins.call", { pluginId: "p", chain: [] });
  // @ts-expect-error: `memory.search` takes its query as a string
  await client.request("memory.search", { query: 42 });
  const answer = await client.request("memory.get", { bucket: "b" });
  // @ts-expect-error: `memory.get` answers records, not a string
  if (answer.ok) void (answer.value satisfies string);
  // @ts-expect-error: not a notification of the contract
  client.notify("bus.emitt", { type: "x" });
  // @ts-expect-error: a status must be an object
  client.notify("status.report", { status: "fine" });
  // @ts-expect-error: not a push topic of the contract
  client.onPush("bus.delivery", () => undefined);
  client.onPush("bus.deliver", (delivery) => void (delivery.batch satisfies number));
  // @ts-expect-error: not a control operation of the contract
  runtime.registerControl("freez", () => ({ ok: true, value: null }));
  // @ts-expect-error: `freeze` answers `{ fields, file }`
  runtime.registerControl("freeze", () => ({ ok: true, value: "frozen" }));
  runtime.registerControl("run_event", ({ eventType, eventId }) => ({ ok: true, value: `${eventType}:${eventId}` }));
}
void compileTimeChecks;

test("a push that breaks the contract is dropped before any handler sees it, and reported", () => {
  const dropped: string[] = [];
  const client = new HostClient(new MemoryPluginTransport(), { onDropped: (problem) => dropped.push(problem) });
  const seen: number[] = [];
  client.onPush("bus.deliver", (delivery) => seen.push(delivery.batch));
  client.deliver("bus.deliver", { batch: 1, events: [], deltas: [] });
  client.deliver("bus.deliver", { batch: "two", events: [] });
  client.deliver("no.such.topic", { batch: 3, events: [], deltas: [] });
  assert.deepEqual(seen, [1]);
  assert.equal(dropped.length, 1);
  assert.match(dropped[0], /^dropped a push that breaks the contract: push 'bus\.deliver': 'batch': /);
});
