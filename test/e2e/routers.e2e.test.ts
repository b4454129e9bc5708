/** `PluginRouter` and `includeRouter` through a real plugin process: one router mounted in the constructor, one in startup. */
import assert from "node:assert/strict";
import fs from "node:fs";
import { after, before, describe, test } from "node:test";
import { makeTempDir, writePlugin } from "../support/plugin-fixtures.ts";
import { startTestHost, type TestHost } from "../support/test-host.ts";

const code = `
import {
  beforeEntry, Err, lifecycle, NekoPluginBase, nekoPlugin, Ok, PluginRouter, pluginEntry, unwrap, z,
} from "@neko/plugin-sdk/plugin";

class CounterRouter extends PluginRouter<RoutedPlugin> {
  @pluginEntry({ id: "bump", description: "Adds to a stored counter", params: z.object({ by: z.number().int() }) })
  async bump({ by }: { by: number }) {
    const current = unwrap(await this.plugin.store.get<number>("count", 0));
    unwrap(await this.plugin.store.set("count", current + by));
    return Ok({ count: current + by, plugin: this.plugin.pluginId });
  }

  @beforeEntry({ target: "bump" })
  noHugeSteps({ args }: { args: Record<string, unknown> }) {
    if ((args.by as number) > 100) return Err("steps above 100 are refused");
  }
}

class GreetRouter extends PluginRouter<RoutedPlugin> {
  @pluginEntry({
    id: "hello",
    inputSchema: { type: "object", properties: { name: { type: "string" } }, required: ["name"] },
  })
  hello({ name }: { name: string }) {
    return Ok({ text: this.plugin.greeting + ", " + name });
  }
}

@nekoPlugin
export class RoutedPlugin extends NekoPluginBase {
  greeting = "Hello";
  greetRouter = new GreetRouter();

  constructor() {
    super();
    unwrap(this.includeRouter(new CounterRouter()));
  }

  @lifecycle({ id: "startup" })
  startup() {
    unwrap(this.includeRouter(this.greetRouter, { prefix: "greet." }));
  }

  @pluginEntry({ id: "mount_again" })
  mountAgain({ prefix }: { prefix: string }) {
    return this.includeRouter(new CounterRouter(), { prefix });
  }

  @pluginEntry({ id: "unmount_greet" })
  unmountGreet() {
    return Ok(this.excludeRouter(this.greetRouter));
  }
}
`;

// unwrap() in the constructor: a router that cannot be mounted keeps the plugin from loading, with the reason.
const clashingCode = `
import { NekoPluginBase, nekoPlugin, PluginRouter, pluginEntry, unwrap } from "@neko/plugin-sdk/plugin";

class PingRouter extends PluginRouter {
  @pluginEntry({ id: "ping" })
  ping() { return "router"; }
}

@nekoPlugin
export class ClashingPlugin extends NekoPluginBase {
  constructor() {
    super();
    unwrap(this.includeRouter(new PingRouter()));
  }

  @pluginEntry({ id: "ping" })
  ping() { return "plugin"; }
}
`;

describe("plugin routers", () => {
  let root: string;
  let dataDir: string;
  let t: TestHost;
  const plugin = async () => (await t.request("GET", "/plugins/routed")).body;

  before(async () => {
    root = makeTempDir();
    dataDir = makeTempDir("neko-data-");
    writePlugin(root, { id: "routed", className: "RoutedPlugin", code });
    writePlugin(root, { id: "clashing", className: "ClashingPlugin", code: clashingCode });
    t = await startTestHost({ roots: [root], dataDir });
  });
  after(async () => {
    await t.close();
    fs.rmSync(root, { recursive: true, force: true });
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  test("/plugins lists the routers' entries under their prefixed ids, with schemas, and their hooks", async () => {
    const listed = await plugin();
    assert.equal(listed.status, "running", listed.status_reason);
    const byId = new Map(listed.entries.map((e: { id: string }) => [e.id, e]));
    assert.deepEqual([...byId.keys()].sort(), ["bump", "greet.hello", "mount_again", "unmount_greet"]);
    const bump = byId.get("bump") as any;
    assert.equal(bump.description, "Adds to a stored counter");
    assert.deepEqual(bump.input_schema.required, ["by"]);
    assert.equal(bump.dynamic, false);
    const hello = byId.get("greet.hello") as any;
    assert.deepEqual(hello.input_schema.required, ["name"]);
    assert.equal(hello.dynamic, false);
    assert.deepEqual(
      listed.hooks.map((h: { id: string; target: string; source: string }) => `${h.id}@${h.target} ${h.source}`),
      ["noHugeSteps@bump router:CounterRouter"],
    );
  });

  test("router entries are callable, use the plugin's store, and are validated and hooked", async () => {
    const first = await t.trigger("routed", "bump", { by: 2 });
    assert.equal(first.status, 200, JSON.stringify(first.body));
    assert.deepEqual(first.body.data, { count: 2, plugin: "routed" });
    assert.deepEqual((await t.trigger("routed", "bump", { by: 3 })).body.data, { count: 5, plugin: "routed" });
    assert.deepEqual((await t.trigger("routed", "greet.hello", { name: "Ann" })).body.data, { text: "Hello, Ann" });

    const wrongType = await t.trigger("routed", "bump", { by: "two" });
    assert.equal(wrongType.status, 400);
    assert.equal(wrongType.body.error.code, "VALIDATION_ERROR");
    assert.match(wrongType.body.error.message, /\bby\b/);
    const missing = await t.trigger("routed", "greet.hello", {});
    assert.equal(missing.status, 400);
    assert.match(missing.body.error.message, /name/);

    const hooked = await t.trigger("routed", "bump", { by: 500 });
    assert.match(hooked.body.error.message, /steps above 100 are refused/);
    assert.deepEqual((await t.trigger("routed", "bump", { by: 1 })).body.data.count, 6, "refused calls did not run");
  });

  test("an id clash at run time is an Err naming the id; a free prefix mounts at once", async () => {
    const clash = await t.trigger("routed", "mount_again", { prefix: "" });
    assert.equal(clash.status, 400, "the entry passed on includeRouter's Err(ValidationError)");
    assert.equal(clash.body.error.code, "VALIDATION_ERROR");
    assert.match(clash.body.error.message, /entry id 'bump' is already taken by an entry of router CounterRouter/);
    const mounted = await t.trigger("routed", "mount_again", { prefix: "second_" });
    assert.equal(mounted.status, 200);
    assert.deepEqual(
      mounted.body.data.map((e: { id: string }) => e.id),
      ["second_bump"],
    );
    assert.equal((await t.trigger("routed", "second_bump", { by: 1 })).body.data.count, 7);
    const hooks = (await plugin()).hooks.map((h: { target: string }) => h.target);
    assert.deepEqual(hooks.sort(), ["bump", "second_bump"], "the host learned of the new router's hooks");
  });

  test("excludeRouter takes the entries out of /plugins at once", async () => {
    assert.equal((await t.trigger("routed", "unmount_greet")).body.data, true);
    const ids = (await plugin()).entries.map((e: { id: string }) => e.id);
    assert.equal(ids.includes("greet.hello"), false);
    const gone = await t.trigger("routed", "greet.hello", { name: "Ann" });
    assert.equal(gone.status, 404);
    assert.equal(gone.body.error.code, "ENTRY_NOT_FOUND");
  });

  test("a router that cannot be mounted in the constructor, unwrapped, refuses the plugin with the reason", async () => {
    const clashing = (await t.request("GET", "/plugins/clashing")).body;
    assert.equal(clashing.status, "refused");
    assert.match(
      clashing.status_reason,
      /includeRouter\(PingRouter\): entry id 'ping' is already taken by a @pluginEntry method/,
    );
  });
});
