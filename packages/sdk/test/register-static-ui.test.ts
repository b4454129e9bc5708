/** `registerStaticUi` refuses bad arguments itself, before asking the host, and sends the defaults it fills in. */
import assert from "node:assert/strict";
import { test } from "node:test";
import type { WireResult } from "@neko/protocol";
import { constructWithContext, createPluginContext } from "../src/plugin-context.ts";
import { NekoPluginBase, nekoPlugin, ValidationError } from "../src/plugin.ts";
import type { HostBridge } from "../src/runtime/host-client.ts";

@nekoPlugin
class WithUi extends NekoPluginBase {}

function make(answer: WireResult) {
  const sent: Array<{ method: string; params: unknown }> = [];
  const bridge: HostBridge = {
    request: async (method, params) => {
      sent.push({ method, params });
      return answer;
    },
    notify: () => ({ ok: true, value: null }),
    onPush: () => () => undefined,
  };
  const plugin = constructWithContext(
    createPluginContext({ pluginId: "p", configDir: "/tmp/p", bridge }),
    () => new WithUi(),
  );
  return { plugin, sent };
}

test("bad arguments are an Err(ValidationError) naming the field, and nothing is sent", async () => {
  const { plugin, sent } = make({ ok: true, value: null });
  const cases: Array<[Parameters<WithUi["registerStaticUi"]>, string, RegExp]> = [
    [["/etc"], "dir", /absolute path/],
    [["../elsewhere"], "dir", /escapes the plugin folder/],
    [["static", { indexFile: "../index.html" }], "indexFile", /plain file name/],
    [["static", { cacheControl: "no-cache\nX: y" }], "cacheControl", /printable ASCII/],
  ];
  for (const [args, field, message] of cases) {
    const result = await plugin.registerStaticUi(...args);
    assert.equal(result.ok, false);
    if (result.ok) continue;
    assert.ok(result.error instanceof ValidationError);
    assert.match(result.error.message, /^registerStaticUi: /);
    assert.match(result.error.message, message);
    assert.deepEqual(result.error.details, { field });
  }
  assert.deepEqual(sent, []);
});

test("the defaults are filled in, and the host's verdict is the result", async () => {
  const refused = make({
    ok: false,
    error: {
      name: "ValidationError",
      code: "VALIDATION_ERROR",
      message: "registerStaticUi: nope",
      details: { field: "dir" },
    },
  });
  const result = await refused.plugin.registerStaticUi();
  assert.deepEqual(refused.sent, [
    { method: "static_ui.register", params: { dir: "static", indexFile: "index.html", cacheControl: "no-cache" } },
  ]);
  assert.ok(!result.ok && result.error instanceof ValidationError && result.error.message === "registerStaticUi: nope");
});
