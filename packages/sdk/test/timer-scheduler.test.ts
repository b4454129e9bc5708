/** `TimerScheduler`'s configured intervals, start options and `"config:<key>"` parsing (issue 13, item 8). */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { createPluginLogger } from "../src/plugin-logger.ts";
import { TimerScheduler } from "../src/runtime/timer-scheduler.ts";
import { configKeyOf } from "../src/seconds-limit.ts";
import { collectPluginMetadata } from "../src/plugin-metadata.ts";
import { timerInterval } from "../src/trigger-decorators.ts";

const logger = createPluginLogger("t", { level: "silent" });
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe("timer intervals from the configuration", () => {
  test('"config:<key>" gives the key; a number gives none; another string is refused', () => {
    assert.equal(configKeyOf("s", "config:check.interval"), "check.interval");
    assert.equal(configKeyOf("s", "config:x"), "x");
    assert.equal(configKeyOf("s", 5), undefined);
    for (const bad of ["config:", "config:a..b", "config:.a", "cfg:a", "5", "config:a b"]) {
      assert.throws(() => configKeyOf("s", bad), {
        message: `s must be a number or "config:<key>" (such as "config:check.interval"); got '${bad}'`,
      });
    }
  });

  test("the decorator records the key and runImmediately", () => {
    class X {
      @timerInterval({ id: "c", seconds: "config:check.interval", runImmediately: true })
      c() {}

      @timerInterval({ id: "n", seconds: 2 })
      n() {}
    }
    const timers = collectPluginMetadata(X).timers.map(({ methodName: _m, ...t }) => t);
    assert.deepEqual(timers, [
      { id: "c", seconds: "config:check.interval", name: "c", autoStart: true, runImmediately: true },
      { id: "n", seconds: 2, name: "n", autoStart: true, runImmediately: false },
    ]);
    assert.throws(
      () => {
        class Y {
          // @ts-expect-error not a config reference
          @timerInterval({ id: "y", seconds: "soon" })
          y() {}
        }
        return Y;
      },
      {
        message: `@timerInterval 'y': seconds must be a number or "config:<key>" (such as "config:check.interval"); got 'soon'`,
      },
    );
  });

  test("applyConfig reads the key, names a missing or bad one and then changes nothing", () => {
    const timers = new TimerScheduler(logger);
    timers.add({ id: "c", seconds: "config:check.interval", name: "c", autoStart: true, tick: () => {} });
    let config: Record<string, unknown> = {};
    timers.useConfig((path) => config[path]);
    assert.equal(
      timers.applyConfig(),
      `timer 'c': seconds "config:check.interval": the configuration has no key 'check.interval'`,
    );
    config = { "check.interval": 3 };
    assert.equal(timers.applyConfig(), undefined);
    assert.equal(timers.describe()[0].seconds, 3);
    config = { "check.interval": "3" };
    assert.match(timers.applyConfig() ?? "", /must be above 0 and at most 2147483 seconds \(about 24 days\); got 3$/);
    assert.equal(timers.describe()[0].seconds, 3, "unchanged");
  });

  test("runImmediately and start({ seconds }) ticks; stop ends the override", async (t) => {
    const ticks: string[] = [];
    const timers = new TimerScheduler(logger);
    // A failed assertion must not leave a timer holding the test file open.
    t.after(() => timers.stopAll());
    timers.add({
      id: "now",
      seconds: 60,
      name: "now",
      autoStart: true,
      runImmediately: true,
      tick: () => ticks.push("now"),
    });
    timers.add({ id: "m", seconds: 60, name: "m", autoStart: false, tick: () => ticks.push("m") });
    timers.begin();
    await sleep(30);
    assert.deepEqual(ticks, ["now"]);
    assert.equal(timers.start("m", { seconds: 0.02 }), true);
    // At its own 60 s the timer would not tick at all: three ticks show the 20 ms override (no speed asserted).
    const deadline = Date.now() + 5000;
    while (ticks.filter((tick) => tick === "m").length < 3 && Date.now() < deadline) await sleep(10);
    assert.ok(ticks.filter((tick) => tick === "m").length >= 3, "the override ticks every 20 ms");
    timers.stop("m");
    assert.throws(() => timers.start("m", { seconds: 0 }), /startTimer\('m'\): seconds must be above 0/);
    assert.equal(timers.start("m"), true);
    assert.equal(timers.describe().find((t) => t.id === "m")?.seconds, 60, "the override ended with the stop");
    await timers.stopAll();
  });
});
