/** Bus fan-out through 11 real plugin processes: one publisher, ten subscribers, every event to each, in order. */
import assert from "node:assert/strict";
import fs from "node:fs";
import { after, before, describe, test } from "node:test";
import { type BusFanoutPlugins, measureBusFanout, writeBusFanoutPlugins } from "../../bench/bus-fanout.ts";
import { makeTempDir, waitFor } from "../support/plugin-fixtures.ts";
import { startTestHost, type TestHost } from "../support/test-host.ts";

describe("bus fan-out, 1 publisher → 10 subscriber plugins", () => {
  let root: string;
  let t: TestHost;
  let plugins: BusFanoutPlugins;

  before(
    async () => {
      root = makeTempDir();
      plugins = writeBusFanoutPlugins(root, 10);
      t = await startTestHost({ roots: [root] });
      // startAll does not wait out a failed start: on a loaded machine a start can run out of time, and the supervisor
      // starts that plugin again. Wait until all eleven run: what is tested here is the bus, not start-up.
      const ids = [plugins.publisher, ...plugins.subscribers];
      const notRunning = () =>
        ids.map((id) => [id, t.host.getPlugin(id)?.status] as const).filter(([, status]) => status !== "running");
      await waitFor(() => notRunning().length === 0, { timeoutMs: 90_000, what: "every fan-out plugin to run" }).catch(
        (error: Error) => {
          throw new Error(
            `${error.message}; not running: ${notRunning()
              .map(([id, s]) => `${id} (${s})`)
              .join(", ")}`,
          );
        },
      );
      // Every wait here is bounded below the runner's 5-minute file timeout: a stuck start or close fails naming the
      // hook instead of hanging the file (issue 15).
    },
    { timeout: 150_000 },
  );
  after(
    async () => {
      await t?.close();
      fs.rmSync(root, { recursive: true, force: true });
    },
    { timeout: 45_000 },
  );

  test("every subscriber gets every event once, in publish order (the bench's bus row, small)", {
    timeout: 90_000,
  }, async () => {
    // 30 s per call and for the deliveries: a lost answer or delivery fails the test naming it.
    const summary = await measureBusFanout({
      ...plugins,
      host: t.host,
      events: 300,
      burst: 30,
      warmupEvents: 20,
      timeoutMs: 30_000,
    });
    assert.equal(summary.firstFailure, null);
    assert.equal(summary.failed, 0);
    assert.equal(summary.n, 300 * 10);
    const stats = (await t.request("GET", "/bus/stats")).body;
    const subs = stats.subscribers.filter((s: any) => plugins.subscribers.includes(s.plugin_id));
    assert.equal(subs.length, 10);
    for (const s of subs) {
      assert.equal(s.delivered, 320, `${s.plugin_id}: warm-up and measured events`);
      assert.equal(s.dropped, 0);
    }
  });
});
