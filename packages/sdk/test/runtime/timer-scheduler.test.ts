/** TimerScheduler in memory: when ticking begins, start/stop, and stopAll waiting for a tick in progress. */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { createPluginLogger } from "../../src/plugin-logger.ts";
import { TimerScheduler } from "../../src/runtime/timer-scheduler.ts";

const logger = createPluginLogger("timer-test", { level: "silent" });

describe("timer scheduler", () => {
  test("nothing ticks before begin(); a timer started early ticks once the plugin has started", async () => {
    const scheduler = new TimerScheduler(logger);
    const ticks: string[] = [];
    scheduler.add({ id: "auto", seconds: 0.02, name: "auto", autoStart: true, tick: () => void ticks.push("auto") });
    scheduler.add({
      id: "early",
      seconds: 0.02,
      name: "early",
      autoStart: false,
      tick: () => void ticks.push("early"),
    });
    scheduler.add({ id: "idle", seconds: 0.02, name: "idle", autoStart: false, tick: () => void ticks.push("idle") });
    assert.equal(scheduler.start("early"), true);
    await sleep(80);
    assert.equal(ticks.length, 0, "no tick before begin()");
    scheduler.begin();
    await sleep(100);
    assert.ok(ticks.includes("auto") && ticks.includes("early"));
    assert.equal(ticks.includes("idle"), false);
    await scheduler.stopAll();
    const count = ticks.length;
    await sleep(60);
    assert.equal(ticks.length, count, "no tick after stopAll()");
    assert.equal(scheduler.start("idle"), false, "stopped for good");
  });

  test("stopAll waits for the tick in progress; ids and intervals are checked", async () => {
    const scheduler = new TimerScheduler(logger);
    let finished = false;
    scheduler.add({
      id: "slow",
      seconds: 0.01,
      name: "slow",
      autoStart: true,
      tick: async () => {
        await sleep(100);
        finished = true;
      },
    });
    scheduler.begin();
    await sleep(40);
    await scheduler.stopAll();
    assert.equal(finished, true);
    assert.throws(() => scheduler.add({ id: "slow", seconds: 1, name: "", autoStart: true, tick: () => {} }), {
      message: "timer id 'slow' is already taken",
    });
    assert.throws(() => scheduler.add({ id: "huge", seconds: 3e6, name: "", autoStart: true, tick: () => {} }), {
      message: /seconds must be above 0 and at most 2147483 seconds/,
    });
    assert.equal(scheduler.stop("unknown"), false);
  });
});
