/**
 * A message delivery (`POST /plugin/{id}/message`, `PluginHost.deliverMessage`) that is canceled or runs out of time
 * stops the `@message` handler running then, in a Python plugin exactly as in a TypeScript one: both runtimes serve
 * each handler under the delivery's own id, the id the host's `cancel` names (docs/python-plugins.md). An `async def`
 * handler sees its cancellation; a sync one keeps its thread, but the delivery is answered at once and nothing waits.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { Canceler } from "@neko/protocol";
import { makeTempDir, waitFor, writePlugin } from "../support/plugin-fixtures.ts";
import { PYTHON_SKIP } from "../support/python.ts";
import { startTestHost, type TestHost } from "../support/test-host.ts";
import fs from "node:fs";

const python = `
import asyncio, time
from plugin.sdk.plugin import NekoPluginBase, neko_plugin, plugin_entry, message, Ok

SEEN = {}

@neko_plugin
class Slow(NekoPluginBase):
    @message(id="slow_async", source="async")
    async def slow_async(self, text, **_):
        SEEN[text] = "running"
        try:
            await asyncio.sleep(20)
            SEEN[text] = "finished"
        except asyncio.CancelledError:
            SEEN[text] = "cancelled"
            raise
        return Ok("late")

    @message(id="slow_sync", source="sync")
    def slow_sync(self, text, **_):
        SEEN[text] = "running"
        time.sleep(1.5)
        SEEN[text] = "finished"
        return Ok("late")

    @message(id="first", source="two")
    async def first(self, text, **_):
        SEEN[text + ":first"] = "running"
        try:
            await asyncio.sleep(20)
        except asyncio.CancelledError:
            SEEN[text + ":first"] = "cancelled"
            raise
        return Ok("late")

    @message(id="second", source="two")
    async def second(self, text, **_):
        SEEN[text + ":second"] = "running"
        await asyncio.sleep(20)
        return Ok("late")

    @message(id="quick", source="quick")
    def quick(self, text, **_):
        return Ok("got " + text)

    @plugin_entry(id="seen")
    def seen(self, **_):
        return Ok(dict(SEEN))
`;

const typescript = `
import { NekoPluginBase, nekoPlugin, pluginEntry, message, Ok } from "@neko/plugin-sdk/plugin";

const SEEN: Record<string, string> = {};

@nekoPlugin
export class Slow extends NekoPluginBase {
  @message({ id: "slow_async", source: "async" })
  async slowAsync(msg: { text: string }, ctx: { signal: AbortSignal }) {
    SEEN[msg.text] = "running";
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => { SEEN[msg.text] = "finished"; resolve(); }, 20_000);
      ctx.signal.addEventListener("abort", () => { clearTimeout(timer); SEEN[msg.text] = "cancelled"; resolve(); });
    });
    return Ok("late");
  }

  @message({ id: "first", source: "two" })
  async first(msg: { text: string }, ctx: { signal: AbortSignal }) {
    SEEN[msg.text + ":first"] = "running";
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, 20_000);
      ctx.signal.addEventListener("abort", () => { clearTimeout(timer); SEEN[msg.text + ":first"] = "cancelled"; resolve(); });
    });
    return Ok("late");
  }

  @message({ id: "second", source: "two" })
  async second(msg: { text: string }) {
    SEEN[msg.text + ":second"] = "running";
    await new Promise((resolve) => setTimeout(resolve, 20_000));
    return Ok("late");
  }

  @message({ id: "quick", source: "quick" })
  quick(msg: { text: string }) {
    return Ok("got " + msg.text);
  }

  @pluginEntry({ id: "seen" })
  seen() {
    return Ok({ ...SEEN });
  }
}
`;

type Delivery = { ok: boolean; value?: { handlers: Array<{ id: string; result: any }> }; error?: any };

describe("canceling and timing out a message delivery", { skip: PYTHON_SKIP }, () => {
  let root: string;
  let t: TestHost;

  before(async () => {
    root = makeTempDir();
    writePlugin(root, {
      id: "py_msg",
      manifest: `[plugin]\nid = "py_msg"\nentry = "plugins.py_msg:Slow"\n`,
      files: { "__init__.py": python },
    });
    writePlugin(root, {
      id: "ts_msg",
      manifest: `[plugin]\nid = "ts_msg"\nentry = "index.ts:Slow"\n`,
      files: { "index.ts": typescript },
    });
    t = await startTestHost({ roots: [root] });
  });
  after(async () => {
    await t?.close();
    fs.rmSync(root, { recursive: true, force: true });
  });

  /** Delivers `{ source, text }`, canceled after `cancelAfterMs` (if given), within `timeoutMs`. */
  async function deliver(
    plugin: string,
    source: string,
    text: string,
    options: { cancelAfterMs?: number; timeoutMs?: number } = {},
  ): Promise<{ answer: Delivery; ms: number }> {
    const cancel = new Canceler();
    const timer =
      options.cancelAfterMs === undefined ? undefined : setTimeout(() => cancel.cancel(), options.cancelAfterMs);
    const started = Date.now();
    try {
      const answer = (await t.host.deliverMessage(
        plugin,
        { source, text },
        { timeoutMs: options.timeoutMs ?? 10_000, cancel },
      )) as Delivery;
      return { answer, ms: Date.now() - started };
    } finally {
      clearTimeout(timer);
    }
  }

  const seen = async (plugin: string) => (await t.trigger(plugin, "seen")).body.data as Record<string, string>;

  for (const plugin of ["py_msg", "ts_msg"]) {
    test(`${plugin}: a canceled delivery stops its async handler at once, which sees the cancellation`, async () => {
      const { answer, ms } = await deliver(plugin, "async", `c-${plugin}`, { cancelAfterMs: 300 });
      assert.ok(ms < 3000, `answered after ${ms} ms`);
      assert.deepEqual(answer, {
        ok: true,
        value: {
          handlers: [
            {
              id: "slow_async",
              result: { ok: false, error: { name: "SdkError", code: "CANCELED", message: "the call was canceled" } },
            },
          ],
        },
      });
      assert.equal((await seen(plugin))[`c-${plugin}`], "cancelled");
    });

    test(`${plugin}: a delivery past its time budget ends in the plugin's TIMEOUT naming message:<handler>`, async () => {
      const { answer, ms } = await deliver(plugin, "async", `t-${plugin}`, { timeoutMs: 500 });
      assert.ok(ms >= 400 && ms < 3000, `answered after ${ms} ms`);
      assert.equal(answer.ok, true);
      const [handler] = answer.value!.handlers;
      assert.equal(handler.id, "slow_async");
      const { error } = handler.result;
      assert.equal(error.code, "TIMEOUT");
      assert.match(error.message, /^message handler 'slow_async' timed out after 0\.\d{1,3}s$/);
      assert.deepEqual(Object.keys(error.details).sort(), ["entry", "firedBy", "plugin", "timeoutMs"]);
      assert.equal(error.details.plugin, plugin);
      assert.equal(error.details.entry, "message:slow_async");
      assert.equal(error.details.firedBy, "plugin");
      assert.ok(error.details.timeoutMs > 300 && error.details.timeoutMs <= 500, String(error.details.timeoutMs));
      await waitFor(async () => (await seen(plugin))[`t-${plugin}`] === "cancelled", { what: "the handler canceled" });
    });

    test(`${plugin}: a canceled delivery does not start its remaining handlers; each is answered CANCELED`, async () => {
      const { answer, ms } = await deliver(plugin, "two", `m-${plugin}`, { cancelAfterMs: 300 });
      assert.ok(ms < 3000, `answered after ${ms} ms, not after the second handler's 20 s`);
      assert.deepEqual(answer, {
        ok: true,
        value: {
          handlers: [
            {
              id: "first",
              result: { ok: false, error: { name: "SdkError", code: "CANCELED", message: "the call was canceled" } },
            },
            {
              id: "second",
              result: {
                ok: false,
                error: {
                  name: "SdkError",
                  code: "CANCELED",
                  message: "message handler 'second' did not run: the delivery was canceled",
                },
              },
            },
          ],
        },
      });
      const after = await seen(plugin);
      assert.equal(after[`m-${plugin}:first`], "cancelled");
      assert.equal(after[`m-${plugin}:second`], undefined, "the second handler never started");
    });

    test(`${plugin}: a delivery past its deadline does not start its remaining handlers either`, async () => {
      const { answer, ms } = await deliver(plugin, "two", `n-${plugin}`, { timeoutMs: 500 });
      assert.ok(ms >= 400 && ms < 3000, `answered after ${ms} ms`);
      const [first, second] = answer.value!.handlers;
      assert.equal(first.id, "first");
      assert.equal(first.result.error.code, "TIMEOUT");
      assert.deepEqual(second, {
        id: "second",
        result: {
          ok: false,
          error: {
            name: "SdkError",
            code: "CANCELED",
            message: "message handler 'second' did not run: the delivery timed out",
          },
        },
      });
      await new Promise((resolve) => setTimeout(resolve, 200));
      assert.equal((await seen(plugin))[`n-${plugin}:second`], undefined, "the second handler never started");
    });

    test(`${plugin}: after those, a delivery and an entry call are answered as usual`, async () => {
      const answer = await t.request("POST", `/plugin/${plugin}/message`, { source: "quick", text: "hi" });
      assert.equal(answer.status, 200);
      assert.deepEqual(answer.body.handlers, [{ id: "quick", success: true, data: "got hi", error: null }]);
    });
  }

  test("py_msg: a canceled delivery answers at once while its sync handler's thread runs on to its end", async () => {
    const { answer, ms } = await deliver("py_msg", "sync", "s1", { cancelAfterMs: 300 });
    assert.ok(ms < 1200, `answered after ${ms} ms, before the handler's 1.5 s sleep ended`);
    assert.equal(answer.value?.handlers[0].result.error.code, "CANCELED");
    assert.equal((await seen("py_msg")).s1, "running");
    await waitFor(async () => (await seen("py_msg")).s1 === "finished", { what: "the sync handler ended" });
    // Nothing of it is left: the next delivery runs and answers in full.
    const next = await deliver("py_msg", "sync", "s2", { timeoutMs: 10_000 });
    assert.deepEqual(next.answer.value?.handlers, [{ id: "slow_sync", result: { ok: true, value: "late" } }]);
  });

  test("py_msg: a sync handler past the delivery's budget: TIMEOUT, then the thread ends on its own", async () => {
    const { answer, ms } = await deliver("py_msg", "sync", "s3", { timeoutMs: 400 });
    assert.ok(ms < 1200, `answered after ${ms} ms`);
    assert.equal(answer.value?.handlers[0].result.error.code, "TIMEOUT");
    assert.equal(answer.value?.handlers[0].result.error.details.entry, "message:slow_sync");
    await waitFor(async () => (await seen("py_msg")).s3 === "finished", { what: "the sync handler ended" });
  });

  test("a cancel for an id the plugin does not serve is ignored; the plugin keeps answering", async () => {
    const cancel = new Canceler();
    cancel.cancel();
    const refused = (await t.host.deliverMessage("py_msg", { source: "quick", text: "x" }, { cancel })) as Delivery;
    assert.equal(refused.ok, false);
    assert.equal(refused.error.code, "CANCELED");
    assert.equal((await t.trigger("py_msg", "seen")).status, 200);
  });
});
