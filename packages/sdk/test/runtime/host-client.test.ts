/** The host client holds what a plugin sends before the handshake, so requests from a constructor are not lost. */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { PluginToHost } from "@neko/protocol";
import { constructWithContext, createPluginContext } from "../../src/plugin-context.ts";
import { createPluginLogger } from "../../src/plugin-logger.ts";
import { NekoPluginBase, nekoPlugin } from "../../src/plugin.ts";
import { HostClient } from "../../src/runtime/host-client.ts";
import { MemoryPluginTransport } from "../../src/runtime/memory-plugin-transport.ts";
import { PluginRuntime } from "../../src/runtime/plugin-runtime.ts";

const kinds = (sent: PluginToHost[]) =>
  sent.map((m) => (m.type === "request" || m.type === "notify" ? `${m.type}:${m.method}` : m.type));

describe("host client", () => {
  test("with waitForWelcome, requests and notifications wait for open() and then leave in order", async () => {
    const transport = new MemoryPluginTransport();
    const client = new HostClient(transport, { waitForWelcome: true });
    const answer = client.request("system.info", {});
    client.notify("status.report", { status: { n: 1 } });
    assert.deepEqual(transport.sent, []);
    client.open();
    assert.deepEqual(kinds(transport.sent), ["request:system.info", "notify:status.report"]);
    const request = transport.sent[0] as Extract<PluginToHost, { type: "request" }>;
    client.settle(request.id, { ok: true, value: "info" });
    assert.deepEqual(await answer, { ok: true, value: "info" });
    client.notify("status.report", { status: { n: 2 } });
    assert.equal(transport.sent.length, 3, "after open() a message goes out at once");
  });

  test("a notification that cannot be encoded is refused at once, not held", () => {
    const transport = new MemoryPluginTransport();
    const client = new HostClient(transport, { waitForWelcome: true });
    const result = client.notify("status.report", { status: { big: 2n ** 70n } });
    assert.equal(result.ok, false);
    client.open();
    assert.deepEqual(transport.sent, []);
  });

  test("a held message is what was sent at the time: changing (or breaking) its objects later changes nothing", () => {
    const transport = new MemoryPluginTransport();
    const client = new HostClient(transport, { waitForWelcome: true });
    const state: Record<string, unknown> = { n: 1 };
    client.notify("bus.emit", { type: "ready", payload: state });
    state.n = 2;
    state.self = state; // a cycle: the live object could no longer be encoded
    client.open();
    assert.deepEqual(transport.sent, [
      { type: "notify", method: "bus.emit", params: { type: "ready", payload: { n: 1 } } },
    ]);
  });

  test("what a constructor sends reaches the host after welcome and before ready", async () => {
    @nekoPlugin
    class Early extends NekoPluginBase {
      constructor() {
        super();
        this.reportStatus({ phase: "constructed" });
      }
    }
    const transport = new MemoryPluginTransport();
    const client = new HostClient(transport, { waitForWelcome: true });
    const logger = createPluginLogger("early", { level: "silent" });
    const ctx = createPluginContext({ pluginId: "early", configDir: "/tmp", logger, bridge: client });
    const instance = constructWithContext(ctx, () => new Early());
    const runtime = new PluginRuntime({ instance, logger, entries: ctx.entries });
    runtime.attach(transport, { client, onShutdown: () => undefined });
    transport.send(runtime.hello({ pluginId: "early", secret: "s" }));
    assert.deepEqual(kinds(transport.sent), ["hello"]);
    const ready = transport.next((m) => m.type === "ready");
    transport.deliver({ type: "welcome" });
    await ready;
    assert.deepEqual(kinds(transport.sent), ["hello", "notify:status.report", "ready"]);
  });
});
