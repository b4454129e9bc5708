/**
 * The contract between host and plugin is checked by the compiler on the host's side: a method name that is not in
 * the map, params of the wrong shape, or an answer of the wrong type in a handler do not type-check. Each
 * `@ts-expect-error` below fails `npm run typecheck` the day the line it marks compiles. The runtime half checks that
 * what the types promise also holds for params from an untrusted peer.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import type { SystemInfo } from "@neko/protocol";
import { createSilentLogger } from "../src/host-logger.ts";
import { HostServices } from "../src/host-services.ts";
import type { PluginSupervisor } from "../src/supervisor/plugin-supervisor.ts";

/** Never called: these lines are here for the compiler. */
function compileTimeChecks(services: HostServices, supervisor: PluginSupervisor): void {
  // @ts-expect-error: not a host service of the contract
  services.handle("plugins.calll", () => ({ ok: true, value: null }));
  // @ts-expect-error: `plugins.get` answers PluginInfo | null, not a number
  services.handle("plugins.get", () => ({ ok: true, value: 42 }));
  services.handle("memory.get", ({ bucket, limit }) => {
    // @ts-expect-error: `bucket` is a string, `limit` a number or undefined
    const wrong: number = bucket;
    void wrong;
    void (limit satisfies number | undefined);
    return { ok: true, value: [] };
  });
  // @ts-expect-error: not a notification of the contract
  services.onNotify("status.reportt", () => undefined);
  services.onNotify("bus.emit", ({ type, priority }) => {
    void (type satisfies string);
    void (priority satisfies number);
  });
  // @ts-expect-error: not a control operation of the contract
  void supervisor.control("p", "freez", null);
  // @ts-expect-error: `config.apply` needs `config`, `mode` and `lifecycle`
  void supervisor.control("p", "config.apply", { config: {} });
  // @ts-expect-error: `bus.deliver` carries a BusDelivery
  supervisor.push("p", "bus.deliver", { batch: "one" });
  // @ts-expect-error: not a push topic of the contract
  supervisor.push("p", "bus.delivery", { batch: 1, events: [], deltas: [] });
  const info: SystemInfo | undefined = undefined;
  void info;
}
void compileTimeChecks;

test("what the types forbid is refused at the boundary too: params from a peer are checked against the schema", async () => {
  const services = new HostServices(createSilentLogger());
  let handled = 0;
  services.handle("memory.get", () => {
    handled += 1;
    return { ok: true, value: [] };
  });
  const ask = (params: unknown) =>
    services.request("memory.get", params, { pluginId: "p", deadline: Date.now() + 1000 });
  assert.deepEqual(await ask({ bucket: "b" }), { ok: true, value: [] });
  const wrong = await ask({ bucket: 7 });
  assert.equal(wrong.ok ? "" : wrong.error.code, "VALIDATION_ERROR");
  assert.equal(wrong.ok ? "" : wrong.error.message, "memory: the bucket must be a non-empty string");
  assert.deepEqual(wrong.ok ? null : wrong.error.details, { field: "bucket" });
  const tooBig = await ask({ bucket: "b", limit: 1001 });
  assert.equal(tooBig.ok ? "" : tooBig.error.message, "memory: limit must be a whole number from 1 to 1000");
  assert.equal(handled, 1, "the handler ran only for the good params");
  const unknown = await services.request("plugins.calll", {}, { pluginId: "p", deadline: Date.now() + 1000 });
  assert.equal(unknown.ok ? "" : unknown.error.code, "NOT_FOUND");
});
