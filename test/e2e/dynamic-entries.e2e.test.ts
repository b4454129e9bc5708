/** Dynamic entries and the plugin → host request channel, through a real plugin process. */
import assert from "node:assert/strict";
import fs from "node:fs";
import { after, before, describe, test } from "node:test";
import { makeTempDir, writePlugin } from "../support/plugin-fixtures.ts";
import { startTestHost, type TestHost } from "../support/test-host.ts";

const code = `
import { NekoPluginBase, nekoPlugin, pluginEntry, Ok, Err, unwrap } from "@neko/plugin-sdk/plugin";

@nekoPlugin
export class DynPlugin extends NekoPluginBase {
  @pluginEntry({ id: "add_entry" })
  addEntry({ id, reply }: { id: string; reply: string }) {
    try {
      this.registerDynamicEntry(id, () => Ok({ reply, self: this.pluginId }), {
        description: "made at run time",
        inputSchema: { type: "object", properties: { n: { type: "number" } } },
      });
    } catch (error) {
      return Err((error as Error).message);
    }
    return Ok(this.listEntries().map((e) => e.id));
  }

  @pluginEntry({ id: "remove_entry" })
  removeEntry({ id }: { id: string }) {
    return Ok(this.unregisterDynamicEntry(id));
  }

  @pluginEntry({ id: "toggle" })
  toggle({ id, enabled }: { id: string; enabled: boolean }) {
    return Ok(enabled ? this.enableEntry(id) : this.disableEntry(id));
  }

  @pluginEntry({ id: "info" })
  async info() {
    return Ok(unwrap(await this.systemInfo.get()));
  }
}
`;

describe("dynamic entries and host services", () => {
  let root: string;
  let t: TestHost;
  const entryIds = async () =>
    (await t.request("GET", "/plugins/dyn")).body.entries.map((e: { id: string; enabled: boolean }) =>
      e.enabled ? e.id : `${e.id}(off)`,
    );

  before(async () => {
    root = makeTempDir();
    writePlugin(root, { id: "dyn", className: "DynPlugin", code });
    t = await startTestHost({ roots: [root] });
  });
  after(async () => {
    await t.close();
    fs.rmSync(root, { recursive: true, force: true });
  });

  test("an entry registered at run time is listed and callable at once, and can be removed", async () => {
    const added = await t.trigger("dyn", "add_entry", { id: "hello", reply: "hi" });
    assert.equal(added.status, 200);
    assert.ok(added.body.data.includes("hello"));
    assert.ok((await entryIds()).includes("hello"), "listed by /plugins right after the call returned");
    const listed = (await t.request("GET", "/plugins/dyn")).body.entries.find((e: any) => e.id === "hello");
    assert.equal(listed.dynamic, true);
    assert.equal(listed.description, "made at run time");
    const called = await t.trigger("dyn", "hello", { n: 1 });
    assert.deepEqual(called.body.data, { reply: "hi", self: "dyn" });
    const invalid = await t.trigger("dyn", "hello", { n: "one" });
    assert.equal(invalid.status, 400, "a dynamic entry's schema is enforced");
    assert.equal((await t.trigger("dyn", "remove_entry", { id: "hello" })).body.data, true);
    assert.equal((await entryIds()).includes("hello"), false);
    const gone = await t.trigger("dyn", "hello");
    assert.equal(gone.status, 404);
    assert.equal(gone.body.error.code, "ENTRY_NOT_FOUND");
  });

  test("an id clash is refused with a clear error", async () => {
    const clash = await t.trigger("dyn", "add_entry", { id: "info", reply: "x" });
    assert.equal(clash.status, 422);
    assert.match(clash.body.error.message, /entry id 'info' is already taken by a @pluginEntry method/);
  });

  test("a disabled entry stays listed and is refused; enabling brings it back", async () => {
    await t.trigger("dyn", "toggle", { id: "info", enabled: false });
    assert.ok((await entryIds()).includes("info(off)"));
    const refused = await t.trigger("dyn", "info");
    assert.equal(refused.status, 409);
    assert.equal(refused.body.error.code, "ENTRY_DISABLED");
    await t.trigger("dyn", "toggle", { id: "info", enabled: true });
    assert.equal((await t.trigger("dyn", "info")).status, 200);
  });

  test("this.systemInfo.get() answers through the host", async () => {
    const res = await t.trigger("dyn", "info");
    assert.equal(res.status, 200);
    const info = res.body.data;
    assert.equal(info.versions.node, process.version);
    assert.equal(info.versions.sdk, "0.1.0");
    assert.equal(info.plugins.running, 1);
    assert.equal(typeof info.resources.hostRssBytes, "number");
  });
});
