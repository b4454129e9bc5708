/**
 * A plugin that returns what cannot be encoded hurts only itself: the caller gets an answer at once, the plugin and
 * the host go on. (Odd request frames are covered by host-services.test.ts and codec.test.ts.)
 */
import assert from "node:assert/strict";
import fs from "node:fs";
import { after, before, describe, test } from "node:test";
import { makeTempDir, writePlugin } from "../support/plugin-fixtures.ts";
import { startTestHost, type TestHost } from "../support/test-host.ts";

const code = `
import { NekoPluginBase, nekoPlugin, pluginEntry, Ok } from "@neko/plugin-sdk/plugin";

@nekoPlugin
export class Odd extends NekoPluginBase {
  @pluginEntry({ id: "huge_bigint" })
  huge() {
    return Ok({ big: 2n ** 70n });
  }

  @pluginEntry({ id: "cycle" })
  cycle() {
    const a: any = { name: "a" };
    a.self = a;
    return Ok(a);
  }

  @pluginEntry({ id: "unsendable" })
  async unsendable() {
    const cyclic: any = {};
    cyclic.self = cyclic;
    const call = await this.plugins.callEntry("odd:ping", cyclic);
    const emitted = this.bus.emit("t", { s: Symbol("x") });
    return Ok({
      call: call.ok ? "ok" : call.error.code,
      emit: emitted.ok ? "ok" : emitted.error.code,
      message: call.ok ? "" : call.error.message,
    });
  }

  @pluginEntry({ id: "oversized" })
  oversized() {
    return Ok("x".repeat(65 * 1024 * 1024));
  }

  @pluginEntry({ id: "oversized_call" })
  async oversizedCall() {
    const call = await this.plugins.callEntry("odd:ping", { blob: "y".repeat(65 * 1024 * 1024) });
    return Ok(call.ok ? "ok" : { code: call.error.code, message: call.error.message });
  }

  @pluginEntry({ id: "ping" })
  ping() {
    return Ok({ pong: true, pid: process.pid });
  }
}
`;

describe("frames a plugin should not send", () => {
  let root: string;
  let t: TestHost;

  before(async () => {
    root = makeTempDir();
    writePlugin(root, { id: "odd", className: "Odd", code });
    t = await startTestHost({ roots: [root] });
  });
  after(async () => {
    await t.close();
    fs.rmSync(root, { recursive: true, force: true });
  });

  test("a result that cannot be encoded answers ENTRY_FAILED at once, and the plugin goes on", async () => {
    for (const entry of ["huge_bigint", "cycle"]) {
      const started = Date.now();
      const res = await t.trigger("odd", entry);
      assert.equal(res.status, 500, entry);
      assert.equal(res.body.error.code, "ENTRY_FAILED");
      assert.match(res.body.error.message, /cannot be sent to the host/);
      assert.ok(Date.now() - started < 5000, "answered long before the 30 s deadline");
    }
    assert.equal((await t.trigger("odd", "ping")).body.data.pong, true);
  });

  test("a result over the 64 MiB frame limit answers 413 PAYLOAD_TOO_LARGE at once; the plugin is not cut off", async () => {
    const pid = (await t.trigger("odd", "ping")).body.data.pid;
    const started = Date.now();
    const res = await t.trigger("odd", "oversized");
    assert.equal(res.status, 413);
    assert.equal(res.body.error.code, "PAYLOAD_TOO_LARGE");
    assert.match(res.body.error.message, /65\.0 MiB, over the 64 MiB frame limit/);
    assert.ok(Date.now() - started < 10_000, "answered long before the 30 s deadline");
    // Same process, still connected: without the check ZeroMQ drops its connection and the heartbeat kills it.
    assert.deepEqual((await t.trigger("odd", "ping")).body.data, { pong: true, pid });
  });

  test("a host request over the frame limit is an Err with PAYLOAD_TOO_LARGE, and nothing is sent", async () => {
    const res = await t.trigger("odd", "oversized_call");
    assert.equal(res.status, 200);
    assert.equal(res.body.data.code, "PAYLOAD_TOO_LARGE");
    assert.match(res.body.data.message, /'plugins.call' cannot be sent: the message is 65\.0 MiB/);
    assert.equal((await t.trigger("odd", "ping")).body.data.pong, true);
  });

  test("host requests and bus events that cannot be encoded are an Err, not a throw", async () => {
    const res = await t.trigger("odd", "unsendable");
    assert.equal(res.status, 200);
    assert.equal(res.body.data.call, "VALIDATION_ERROR");
    assert.equal(res.body.data.emit, "VALIDATION_ERROR");
    assert.match(res.body.data.message, /'plugins.call' cannot be sent/);
  });
});
