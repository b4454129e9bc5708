/**
 * The bundled extension example, `hello_world_extra`, as `npm start` runs it: loaded into `hello_world` under the
 * permission model, its entry callable there, its before-hook guarding `greet`, its store its own, and switched off
 * and on without restarting `hello_world`.
 */
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { createHostLogger } from "@neko/host";
import { copyExamplePlugins, makeTempDir } from "../support/plugin-fixtures.ts";
import { startTestHost, type TestHost } from "../support/test-host.ts";

describe("the hello_world_extra example", () => {
  let root: string;
  let dataDir: string;
  let t: TestHost;
  const hostLines: string[] = [];

  before(async () => {
    root = makeTempDir();
    dataDir = makeTempDir("neko-data-");
    copyExamplePlugins(root, ["hello_world", "hello_world_extra"]);
    const logger = createHostLogger({ pretty: false, destination: { write: (line) => hostLines.push(line) } });
    t = await startTestHost({ roots: [root], dataDir, logger });
  });
  after(async () => {
    await t.close();
    fs.rmSync(root, { recursive: true, force: true });
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  test("extra_shout greets through hello_world, counting in the extension's own store", async () => {
    const view = (await t.request("GET", "/plugins/hello_world")).body;
    assert.deepEqual(view.extensions, [{ id: "hello_world_extra", state: "injected", reason: null }]);
    // /proc/<pid>/cmdline shows the process's title, not its flags: the host says when one runs unconfined.
    const unconfined = hostLines.filter((line) => line.includes("runs without Node's permission model"));
    assert.deepEqual(unconfined, [], "hello_world runs confined, its extension with it");
    assert.ok(hostLines.some((line) => line.includes("plugin processes run under Node's permission model")));
    const first = await t.trigger("hello_world", "extra_shout", { name: "Neko" });
    assert.equal(first.status, 200, JSON.stringify(first.body));
    assert.deepEqual(first.body.data, { message: "HELLO, NEKO!", shouts: 1 });
    assert.equal((await t.trigger("hello_world", "extra_shout", {})).body.data.shouts, 2);
    assert.ok(fs.existsSync(path.join(root, "hello_world_extra", "data", "store.sqlite")));
  });

  test("its before-hook refuses the blocked names of its own config; disabled, greet is hello_world's alone", async () => {
    const blocked = await t.trigger("hello_world", "greet", { name: "Nobody" });
    assert.equal(blocked.status, 422);
    assert.equal(blocked.body.error.code, "NAME_BLOCKED");
    const pid = (await t.request("GET", "/plugins/hello_world")).body.pid;
    assert.equal((await t.request("POST", "/plugin/hello_world_extra/extension/disable")).body.state, "disabled");
    const greeted = await t.trigger("hello_world", "greet", { name: "Nobody" });
    assert.equal(greeted.status, 200);
    assert.equal(greeted.body.data.message, "Hello, Nobody!");
    assert.equal((await t.request("POST", "/plugin/hello_world_extra/extension/enable")).body.state, "injected");
    assert.equal((await t.request("GET", "/plugins/hello_world")).body.pid, pid);
    assert.equal((await t.trigger("hello_world", "greet", { name: "Nobody" })).status, 422);
  });
});
