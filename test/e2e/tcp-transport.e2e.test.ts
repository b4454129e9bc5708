/**
 * The transport over tcp:// (SPEC §4.1, docs/architecture.md "Transport"): the host binds a TCP endpoint instead of
 * the default ipc:// socket, plugin processes connect to it, and calls work the same.
 */
import assert from "node:assert/strict";
import fs from "node:fs";
import { after, before, describe, test } from "node:test";
import { makeTempDir, writePlugin } from "../support/plugin-fixtures.ts";
import { calcPluginCode } from "../support/sample-plugins.ts";
import { startTestHost, type TestHost } from "../support/test-host.ts";

describe("the plugin transport over tcp://", () => {
  let root: string;
  let t: TestHost;

  before(async () => {
    root = makeTempDir();
    writePlugin(root, { id: "calc", className: "CalcPlugin", code: calcPluginCode });
    // Port 0: ZeroMQ picks a free port, and the host reports the one it got.
    t = await startTestHost({ roots: [root], endpoint: "tcp://127.0.0.1:0" });
  });
  after(async () => {
    await t.close();
    fs.rmSync(root, { recursive: true, force: true });
  });

  test("plugins connect over TCP and answer; /server/info shows the bound endpoint with its real port", async () => {
    const info = (await t.request("GET", "/server/info")).body;
    assert.match(info.transport_endpoint, /^tcp:\/\/127\.0\.0\.1:(\d+)$/);
    assert.notEqual(info.transport_endpoint, "tcp://127.0.0.1:0");
    const res = await t.trigger("calc", "add", { a: 2, b: 3 });
    assert.equal(res.status, 200);
    assert.deepEqual(res.body.data, { sum: 5 });
  });
});
