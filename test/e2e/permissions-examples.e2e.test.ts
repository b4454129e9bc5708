/**
 * Every bundled example plugin starts under Node's permission model with the grants its plugin.toml gives, and
 * answers. A file of its own (it was a suite of permissions.e2e.test.ts): seven cold starts on a busy machine can take
 * most of a test file's 120 s, and shared with the other suite's, they went past it.
 */
import assert from "node:assert/strict";
import fs from "node:fs";
import { after, before, describe, test } from "node:test";
import { createHostLogger } from "@neko/host";
import { copyExamplePlugins, makeTempDir, waitFor } from "../support/plugin-fixtures.ts";
import { startTestHost, type TestHost } from "../support/test-host.ts";

describe("the bundled example plugins under the permission model", () => {
  const examples = ["api_client", "cache", "dynamic", "hello_world", "memo_reminder", "monitored", "notes"];
  let root: string;
  let t: TestHost;
  const hostLines: string[] = [];

  before(async () => {
    root = makeTempDir();
    copyExamplePlugins(root, examples);
    const logger = createHostLogger({ pretty: false, destination: { write: (line) => hostLines.push(line) } });
    t = await startTestHost({ roots: [root], logger });
  });
  after(async () => {
    await t.close();
    fs.rmSync(root, { recursive: true, force: true });
  });

  test("every one starts, confined, and answers", async () => {
    // Seven cold starts on a busy machine may outlast a handshake's 20 s; a restart then brings the plugin up.
    type Listed = Array<{ id: string; status: string; pid: number }>;
    const running = async (): Promise<Listed | undefined> => {
      const plugins = (await t.request("GET", "/plugins")).body.plugins as Listed;
      return plugins.every((p) => p.status === "running") ? plugins : undefined;
    };
    const plugins = await waitFor(running, { timeoutMs: 90_000, what: "every example plugin running" });
    assert.deepEqual(plugins.map((p) => p.id).sort(), examples);
    // /proc/<pid>/cmdline shows each process's title, not its flags: the host says which ones run unconfined.
    for (const { id, pid } of plugins) {
      assert.equal(fs.readFileSync(`/proc/${pid}/cmdline`, "utf8").replace(/\0+$/, ""), `neko-plugin: ${id}`);
    }
    const records = hostLines.map((line) => JSON.parse(line) as { msg: string; plugin?: string });
    assert.ok(records.some((r) => r.msg.startsWith("plugin processes run under Node's permission model")));
    assert.deepEqual(
      records.filter((r) => r.msg.startsWith("runs without Node's permission model")).map((r) => r.plugin),
      [],
    );
    const notes = await t.trigger("notes", "add", { title: "t", body: "b" });
    assert.equal(notes.status, 200, JSON.stringify(notes.body));
    assert.equal(notes.body.data.title, "t");
    const greet = await t.trigger("hello_world", "greet", { name: "Perm" });
    assert.equal(greet.body.data.message, "Hello, Perm!");
  });
});
