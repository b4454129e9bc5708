/**
 * The `plugins/dynamic` example (entries from config), run from a copy in a temporary folder so that its permanent
 * writes never touch the repository: entries follow hot updates, the plugin's own config writes and reloads.
 */
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { parse } from "smol-toml";
import { copyExamplePlugins, makeTempDir } from "../support/plugin-fixtures.ts";
import { startTestHost, type TestHost } from "../support/test-host.ts";

describe("plugins/dynamic: entries from config", () => {
  let root: string;
  let t: TestHost;
  const manifestPath = () => path.join(root, "dynamic", "plugin.toml");
  const dynamicEntries = async () =>
    (await t.request("GET", "/plugins/dynamic")).body.entries
      .filter((e: { dynamic: boolean }) => e.dynamic)
      .map((e: { id: string }) => e.id)
      .sort();

  before(async () => {
    root = makeTempDir();
    copyExamplePlugins(root, ["dynamic"]);
    t = await startTestHost({ roots: [root] });
  });
  after(async () => {
    await t?.close();
    fs.rmSync(root, { recursive: true, force: true });
  });

  test("the [commands] of plugin.toml are entries at startup, with a schema from their placeholders", async () => {
    assert.deepEqual(await dynamicEntries(), ["hello", "ping"]);
    const hello = (await t.request("GET", "/plugins/dynamic")).body.entries.find(
      (e: { id: string }) => e.id === "hello",
    );
    assert.deepEqual(hello.input_schema.properties, { name: { type: "string" } });
    assert.deepEqual((await t.trigger("dynamic", "hello", { name: "Neko" })).body.data, { reply: "Hello, Neko!" });
    assert.deepEqual((await t.trigger("dynamic", "ping")).body.data, { reply: "pong" });
  });

  test("a hot update adds, changes and removes entries at once; a bad one is refused and nothing changes", async () => {
    const res = await t.request("POST", "/plugin/dynamic/config/hot-update", {
      config: { commands: { bye: "Bye, {name}!", ping: "PONG", hello: "__DELETE__" } },
      mode: "temporary",
    });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.deepEqual(await dynamicEntries(), ["bye", "ping"]);
    assert.deepEqual((await t.trigger("dynamic", "bye", { name: "you" })).body.data, { reply: "Bye, you!" });
    assert.deepEqual((await t.trigger("dynamic", "ping")).body.data, { reply: "PONG" });
    assert.equal((await t.trigger("dynamic", "hello")).status, 404);

    const bad = await t.request("POST", "/plugin/dynamic/config/hot-update", {
      config: { commands: { "no spaces": "x", list_commands: "taken" } },
    });
    assert.equal(bad.status, 409);
    assert.match(bad.body.error.message, /'no spaces' is not a valid command name/);
    assert.match(bad.body.error.message, /'list_commands' is taken by one of the plugin's own entries/);
    assert.deepEqual(await dynamicEntries(), ["bye", "ping"], "rolled back");
    assert.deepEqual((await t.request("GET", "/plugin/dynamic/config")).body.config.commands, {
      ping: "PONG",
      bye: "Bye, {name}!",
    });
  });

  test("add_command writes through this.config; permanent lands in plugin.toml", async () => {
    const added = await t.trigger("dynamic", "add_command", { name: "greet", reply: "Hi {who}", permanent: true });
    assert.equal(added.status, 200, JSON.stringify(added.body));
    assert.ok(added.body.data.commands.includes("greet"));
    assert.deepEqual((await t.trigger("dynamic", "greet", { who: "there" })).body.data, { reply: "Hi there" });
    assert.equal((parse(fs.readFileSync(manifestPath(), "utf8")) as any).commands.greet, "Hi {who}");
    assert.match(fs.readFileSync(manifestPath(), "utf8"), /^# Each key becomes an entry/m, "comments kept");
    assert.equal((await t.trigger("dynamic", "remove_command", { name: "greet" })).status, 200);
    assert.equal((await dynamicEntries()).includes("greet"), false);
  });

  test("after a hand edit, reload?mode=config re-registers the entries in the same process", async () => {
    const { pid } = (await t.request("GET", "/plugins/dynamic")).body;
    const text = fs.readFileSync(manifestPath(), "utf8").replace('ping = "pong"', 'ping = "pong"\ntime = "tick"');
    fs.writeFileSync(manifestPath(), text);
    const res = await t.request("POST", "/plugin/dynamic/reload?mode=config");
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.equal(res.body.pid, pid);
    assert.deepEqual(
      await dynamicEntries(),
      ["greet", "hello", "ping", "time"],
      "the file's commands, temporary ones gone",
    );
    assert.deepEqual((await t.trigger("dynamic", "time")).body.data, { reply: "tick" });
  });
});
