/**
 * The local transport of a thread plugin (docs/wire-protocol.md#transport-and-framing): its runner relays every
 * thread's frames over its one ZeroMQ connection, so the host admits it on ZeroMQ even when its manifest or the host's
 * default says `pipe` (a pipe admission would wait for a socket pair no thread has). A process plugin beside it keeps
 * its pipe.
 */
import assert from "node:assert/strict";
import fs from "node:fs";
import { after, before, describe, test } from "node:test";
import { makeTempDir, writePlugin } from "../support/plugin-fixtures.ts";
import { startTestHost, type TestHost } from "../support/test-host.ts";

const code = `
import { NekoPluginBase, nekoPlugin, pluginEntry, Ok } from "@neko/plugin-sdk/plugin";
import { isMainThread } from "node:worker_threads";

@nekoPlugin
export class P extends NekoPluginBase {
  @pluginEntry({ id: "where" })
  where() {
    return Ok({ pid: process.pid, mainThread: isMainThread });
  }
}
`;

describe("the local transport of a thread plugin", { concurrency: false }, () => {
  let root: string;
  let t: TestHost;

  before(async () => {
    root = makeTempDir();
    const runtime = (extra: string) => `[plugin_runtime]\n${extra}\n`;
    const manifest = (id: string, extra: string) => `[plugin]\nid = "${id}"\nentry = "index.ts:P"\n${runtime(extra)}`;
    writePlugin(root, {
      id: "threaded",
      code,
      manifest: manifest("threaded", 'isolation = "thread"\ntransport = "pipe"'),
    });
    writePlugin(root, { id: "threaded_default", code, manifest: manifest("threaded_default", 'isolation = "thread"') });
    writePlugin(root, { id: "proc", code, manifest: manifest("proc", 'transport = "pipe"') });
    t = await startTestHost({ roots: [root], localTransport: "pipe" });
  });

  after(async () => {
    await t?.close();
    fs.rmSync(root, { recursive: true, force: true });
  });

  test("a thread plugin asking for pipe, or under a pipe default, runs in its thread over ZeroMQ; a process keeps pipe", async () => {
    for (const id of ["threaded", "threaded_default"]) {
      const res = await t.trigger(id, "where");
      assert.equal(res.status, 200, JSON.stringify(res.body));
      assert.equal(res.body.data.mainThread, false);
      assert.equal(t.host.localTransportOf(id), "zmq");
    }
    const proc = await t.trigger("proc", "where");
    assert.equal(proc.status, 200);
    assert.equal(proc.body.data.mainThread, true);
    assert.equal(t.host.localTransportOf("proc"), "pipe");
  });
});
