/**
 * A cancel travels down a chain of cross-plugin calls (docs/cross-plugin-calls.md): when the entry that made a call
 * is canceled (a run cancel, its timeout, an explicit signal) or its process dies, the called plugin's handler sees
 * its own signal aborted at once, not at its deadline.
 */
import assert from "node:assert/strict";
import fs from "node:fs";
import { after, before, describe, test } from "node:test";
import { makeTempDir, waitFor, writePlugin } from "../support/plugin-fixtures.ts";
import { startTestHost, type TestHost } from "../support/test-host.ts";

const frontCode = `
import { NekoPluginBase, nekoPlugin, pluginEntry } from "@neko/plugin-sdk/plugin";

@nekoPlugin
export class Front extends NekoPluginBase {
  @pluginEntry({ id: "relay", timeout: 60 })
  async relay({ tag }: { tag: string }) {
    const result = await this.plugins.callEntry("back:hold", { tag });
    return result.ok ? { ok: true } : { code: result.error.code };
  }

  @pluginEntry({ id: "relay_then_exit", timeout: 60 })
  async relayThenExit({ tag }: { tag: string }) {
    setTimeout(() => process.exit(1), 300);
    await this.plugins.callEntry("back:hold", { tag });
  }

  @pluginEntry({ id: "relay_with_signal", timeout: 60 })
  async relayWithSignal({ tag }: { tag: string }) {
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 300);
    const started = Date.now();
    const result = await this.plugins.callEntry("back:hold", { tag }, { signal: controller.signal });
    return { code: result.ok ? "ok" : result.error.code, ms: Date.now() - started };
  }
}
`;

const backCode = `
import { NekoPluginBase, nekoPlugin, pluginEntry } from "@neko/plugin-sdk/plugin";

const seen: Record<string, string> = {};

@nekoPlugin
export class Back extends NekoPluginBase {
  @pluginEntry({ id: "hold", timeout: 60 })
  async hold({ tag }: { tag: string }, ctx: { signal: AbortSignal }) {
    seen[tag] = "running";
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, 50_000);
      ctx.signal.addEventListener("abort", () => {
        clearTimeout(timer);
        seen[tag] = "aborted";
        resolve();
      });
    });
    return seen[tag];
  }

  @pluginEntry({ id: "seen" })
  seenEntry({ tag }: { tag: string }) {
    return seen[tag] ?? "never";
  }
}
`;

describe("cancel across plugins", () => {
  let root: string;
  let t: TestHost;
  const seen = async (tag: string) => (await t.trigger("back", "seen", { tag })).body.data;
  const until = (tag: string, state: string) =>
    waitFor(async () => (await seen(tag)) === state, { timeoutMs: 10_000, what: `'${tag}' to be ${state}` });

  before(async () => {
    root = makeTempDir();
    writePlugin(root, { id: "front", className: "Front", code: frontCode });
    writePlugin(root, { id: "back", className: "Back", code: backCode });
    t = await startTestHost({ roots: [root] });
  });
  after(async () => {
    await t.close();
    fs.rmSync(root, { recursive: true, force: true });
  });

  test("canceling a run aborts the handler of the plugin its entry is calling", async () => {
    const { body } = await t.request("POST", "/runs", { plugin_id: "front", entry_id: "relay", args: { tag: "run" } });
    await until("run", "running");
    const started = Date.now();
    assert.equal((await t.request("POST", `/runs/${body.run_id}/cancel`)).status, 200);
    await until("run", "aborted");
    assert.ok(Date.now() - started < 5000, "at once, not at back:hold's 60 s deadline");
    const run = await waitFor(async () => {
      const r = (await t.request("GET", `/runs/${body.run_id}`)).body;
      return r.status === "canceled" ? r : undefined;
    });
    assert.equal(run.status, "canceled");
  });

  test("a caller's own AbortSignal cancels the call: CANCELED at once, and the target saw the abort", async () => {
    const res = await t.trigger("front", "relay_with_signal", { tag: "signal" });
    assert.equal(res.status, 200);
    assert.equal(res.body.data.code, "CANCELED");
    assert.ok(res.body.data.ms < 5000, `answered after ${res.body.data.ms} ms`);
    await until("signal", "aborted");
  });

  test("when the calling plugin's process dies mid-call, the call it was waiting on is canceled", async () => {
    const res = await t.trigger("front", "relay_then_exit", { tag: "crash" });
    assert.equal(res.body.error.code, "PLUGIN_CRASHED");
    await until("crash", "aborted");
  });
});
