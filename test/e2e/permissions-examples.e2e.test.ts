/**
 * Every bundled example plugin starts under Node's permission model with the grants its plugin.toml gives, and
 * answers. A file of its own (it was a suite of permissions.e2e.test.ts): seven cold starts on a busy machine can take
 * most of a test file's 120 s, and shared with the other suite's, they went past it.
 */
import assert from "node:assert/strict";
import fs from "node:fs";
import { after, before, describe, test } from "node:test";
import { copyExamplePlugins, makeTempDir, waitFor } from "../support/plugin-fixtures.ts";
import { startTestHost, type TestHost } from "../support/test-host.ts";

describe("the bundled example plugins under the permission model", () => {
  const examples = ["api_client", "cache", "dynamic", "hello_world", "memo_reminder", "monitored", "notes"];
  let root: string;
  let t: TestHost;

  before(async () => {
    root = makeTempDir();
    copyExamplePlugins(root, examples);
    t = await startTestHost({ roots: [root] });
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
    for (const { id, pid } of plugins) {
      const argv = fs.readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0");
      assert.ok(argv.includes("--experimental-permission"), id);
    }
    const notes = await t.trigger("notes", "add", { title: "t", body: "b" });
    assert.equal(notes.status, 200, JSON.stringify(notes.body));
    assert.equal(notes.body.data.title, "t");
    const greet = await t.trigger("hello_world", "greet", { name: "Perm" });
    assert.equal(greet.body.data.message, "Hello, Perm!");
  });
});
