/**
 * Timers whose interval comes from the configuration (`seconds: "config:check.interval"`), re-read after a hot update;
 * `runImmediately`; `startTimer(id, { seconds })` overriding the interval; a missing or bad key refused with a clear
 * error (issue 13, item 8). Through real plugin processes.
 */
import assert from "node:assert/strict";
import fs from "node:fs";
import { after, before, describe, test } from "node:test";
import { makeTempDir, waitFor, writePlugin } from "../support/plugin-fixtures.ts";
import { startTestHost, type TestHost } from "../support/test-host.ts";

const code = `
import { NekoPluginBase, nekoPlugin, pluginEntry, lifecycle, timerInterval, Ok } from "@neko/plugin-sdk/plugin";

@nekoPlugin
export class Clock extends NekoPluginBase {
  readyAt = 0;
  ticks: Record<string, number[]> = { configured: [], immediate: [], later: [], manual: [] };

  @lifecycle({ id: "startup" })
  onStartup() {
    this.readyAt = Date.now();
  }

  @timerInterval({ id: "configured", seconds: "config:check.interval" })
  configured() {
    this.ticks.configured.push(Date.now());
  }

  @timerInterval({ id: "immediate", seconds: 30, runImmediately: true })
  immediate() {
    this.ticks.immediate.push(Date.now());
  }

  @timerInterval({ id: "later", seconds: 30 })
  later() {
    this.ticks.later.push(Date.now());
  }

  @timerInterval({ id: "manual", seconds: 30, autoStart: false })
  manual() {
    this.ticks.manual.push(Date.now());
  }

  @pluginEntry({ id: "start" })
  start({ id, seconds, runImmediately }: { id: string; seconds?: number; runImmediately?: boolean }) {
    try {
      return Ok(this.startTimer(id, { seconds, runImmediately }));
    } catch (error) {
      return Ok({ threw: (error as Error).message });
    }
  }

  @pluginEntry({ id: "start_raw" })
  startRaw({ id, options }: { id: string; options: any }) {
    try {
      return Ok(this.startTimer(id, options));
    } catch (error) {
      return Ok({ threw: (error as Error).message, name: (error as Error).name });
    }
  }

  @pluginEntry({ id: "stop" })
  stop({ id }: { id: string }) {
    return Ok(this.stopTimer(id));
  }

  @pluginEntry({ id: "stats" })
  stats() {
    return Ok({ readyAt: this.readyAt, now: Date.now(), ticks: this.ticks });
  }
}
`;

const manifest = (id: string, table: string) => `[plugin]\nid = "${id}"\nentry = "index.ts:Clock"\n\n${table}`;

type Stats = { readyAt: number; now: number; ticks: Record<string, number[]> };

/** The average gap between the last `n` ticks. */
function meanGap(ticks: number[], n: number): number {
  const last = ticks.slice(-n);
  return (last[last.length - 1] - last[0]) / (last.length - 1);
}

describe("timers: configured intervals, runImmediately, startTimer overrides", () => {
  let root: string;
  let t: TestHost;
  const stats = async (id = "clock") => (await t.trigger(id, "stats")).body.data as Stats;

  before(async () => {
    root = makeTempDir();
    writePlugin(root, {
      id: "clock",
      className: "Clock",
      code,
      manifest: manifest("clock", "[check]\ninterval = 0.1\n"),
    });
    writePlugin(root, { id: "nokey", className: "Clock", code, manifest: manifest("nokey", "[check]\nother = 1\n") });
    writePlugin(root, {
      id: "badkey",
      className: "Clock",
      code,
      manifest: manifest("badkey", '[check]\ninterval = "soon"\n'),
    });
    t = await startTestHost({ roots: [root] });
  });
  after(async () => {
    await t.close();
    fs.rmSync(root, { recursive: true, force: true });
  });

  test("runImmediately ticks at once after startup; the default waits one interval", async () => {
    const s = await waitFor(
      async () => {
        const got = await stats();
        return got.ticks.immediate.length >= 1 ? got : undefined;
      },
      { what: "the immediate timer's first tick" },
    );
    assert.equal(s.ticks.immediate.length, 1);
    assert.ok(s.ticks.immediate[0] - s.readyAt < 2000, "long before its 30 s interval");
    assert.deepEqual(s.ticks.later, [], "a 30 s timer without runImmediately has not ticked yet");
  });

  test("the interval comes from the configuration and follows a hot update", async () => {
    await waitFor(async () => ((await stats()).ticks.configured.length >= 5 ? true : undefined), {
      what: "five ticks at 0.1 s",
    });
    const fast = meanGap((await stats()).ticks.configured, 5);
    assert.ok(fast >= 90 && fast < 400, `about 100 ms between ticks (got ${fast})`);

    const timerView = async () =>
      (await t.request("GET", "/plugins/clock")).body.timers.find((v: { id: string }) => v.id === "configured");
    assert.equal((await timerView()).seconds, 0.1);
    const res = await t.request("POST", "/plugin/clock/config/hot-update", { config: { check: { interval: 0.5 } } });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    // `/plugins` shows the interval the timer runs at now.
    const shown = await waitFor(async () => ((await timerView()).seconds === 0.5 ? true : undefined), {
      what: "/plugins showing the new interval",
      timeoutMs: 3000,
    });
    assert.equal(shown, true);
    const count = (await stats()).ticks.configured.length;
    await waitFor(async () => ((await stats()).ticks.configured.length >= count + 4 ? true : undefined), {
      what: "four ticks at the new interval",
      timeoutMs: 10_000,
    });
    const slow = meanGap((await stats()).ticks.configured, 3);
    assert.ok(slow >= 450 && slow < 900, `about 500 ms between ticks after the update (got ${slow})`);
  });

  test("a hot update giving the key a bad value is refused naming it; the old interval stays", async () => {
    for (const interval of ["soon", -1, 0]) {
      const res = await t.request("POST", "/plugin/clock/config/hot-update", { config: { check: { interval } } });
      // The host's refusal of a change the plugin turned down, with the plugin's reason as its cause.
      assert.equal(res.status, 409, JSON.stringify(res.body));
      assert.equal(res.body.error.code, "CONFIG_CHANGE_REFUSED");
      assert.equal(res.body.error.details.cause.code, "CONFIG_INVALID");
      assert.deepEqual(res.body.error.details.cause.details, { field: "seconds", check: "timer" });
      assert.match(
        res.body.error.message,
        /^plugin 'clock' refused the configuration change: its timer check refused it: timer 'configured': /,
      );
      assert.match(
        res.body.error.details.cause.message,
        /^timer 'configured': seconds "config:check\.interval" must be above 0 and at most 2147483 seconds \(about 24 days\); got /,
      );
    }
    const served = (await t.request("GET", "/plugin/clock/config")).body;
    assert.equal(served.config.check.interval, 0.5, "the old configuration stays");
    const count = (await stats()).ticks.configured.length;
    await waitFor(async () => ((await stats()).ticks.configured.length >= count + 2 ? true : undefined), {
      what: "the timer still ticking",
    });
  });

  test("a missing or bad key at start: the plugin does not start, and its reason names the timer and the key", async () => {
    const nokey = (await t.request("GET", "/plugins/nokey")).body;
    assert.notEqual(nokey.status, "running");
    assert.match(
      JSON.stringify(nokey),
      /timer 'configured': seconds \\"config:check\.interval\\": the configuration has no key 'check\.interval'/,
    );
    const badkey = (await t.request("GET", "/plugins/badkey")).body;
    assert.notEqual(badkey.status, "running");
    assert.match(JSON.stringify(badkey), /timer 'configured': seconds \\"config:check\.interval\\" must be above 0/);
    assert.equal((await t.request("GET", "/health")).status, 200);
  });

  test("startTimer(id, { seconds }) overrides the interval until stopped; a bad one throws", async () => {
    assert.equal(
      (await t.trigger("clock", "start", { id: "manual", seconds: 0.1, runImmediately: true })).body.data,
      true,
    );
    await waitFor(async () => ((await stats()).ticks.manual.length >= 4 ? true : undefined), {
      what: "the manual timer ticking at 0.1 s",
    });
    const gap = meanGap((await stats()).ticks.manual, 4);
    assert.ok(gap >= 90 && gap < 400, `about 100 ms (got ${gap})`);
    assert.equal((await t.trigger("clock", "stop", { id: "manual" })).body.data, true);
    const stopped = (await stats()).ticks.manual.length;
    await new Promise((resolve) => setTimeout(resolve, 400));
    assert.equal((await stats()).ticks.manual.length, stopped, "no tick after stopTimer");

    // Overriding a configured timer: a config change does not undo the override.
    assert.equal((await t.trigger("clock", "start", { id: "configured", seconds: 0.1 })).body.data, true);
    const before = (await stats()).ticks.configured.length;
    await waitFor(async () => ((await stats()).ticks.configured.length >= before + 4 ? true : undefined), {
      what: "the configured timer at the override",
    });
    assert.ok(meanGap((await stats()).ticks.configured, 4) < 400);

    const bad = (await t.trigger("clock", "start", { id: "manual", seconds: -2 })).body.data;
    assert.match(bad.threw, /^startTimer\('manual'\): seconds must be above 0/);
    assert.equal((await t.trigger("clock", "start", { id: "nothing" })).body.data, false);
    // Options of the wrong type are named, never taken for something else.
    const quoted = (await t.trigger("clock", "start_raw", { id: "manual", options: { runImmediately: "false" } })).body
      .data;
    assert.deepEqual(quoted, {
      name: "TypeError",
      threw: `startTimer('manual'): runImmediately must be true or false; got "false"`,
    });
    const none = (await t.trigger("clock", "start_raw", { id: "manual", options: null })).body.data;
    assert.deepEqual(none, {
      name: "TypeError",
      threw: "startTimer('manual', options): options must be an object like { seconds, runImmediately }; got null",
    });
    assert.equal((await t.trigger("clock", "stop", { id: "manual" })).body.data, true);
  });

  test("a stopped plugin: a change leaving a configured timer without its interval is refused, and it still starts", async () => {
    assert.equal((await t.request("POST", "/plugin/clock/stop")).status, 200);
    const before = (await t.request("GET", "/plugin/clock/config")).body.config.check.interval;
    for (const interval of [-5, "soon"]) {
      const res = await t.request("POST", "/plugin/clock/config/hot-update", {
        config: { check: { interval } },
        mode: "permanent",
      });
      assert.equal(res.status, 400, JSON.stringify(res.body));
      assert.equal(res.body.error.code, "CONFIG_INVALID");
      assert.equal(
        res.body.error.message,
        `plugin 'clock' would not start with this configuration: timer 'configured': seconds "config:check.interval" must be above 0 and at most 2147483 seconds (about 24 days); got ${interval}`,
      );
      assert.deepEqual(res.body.error.details, {
        field: "seconds",
        check: "timer",
        timer: "configured",
        key: "check.interval",
      });
    }
    const removed = await t.request("PUT", "/plugin/clock/config", { config: { check: { other: 1 } } });
    assert.equal(removed.status, 400, JSON.stringify(removed.body));
    assert.match(removed.body.error.message, /the configuration has no key 'check\.interval'$/);
    assert.equal((await t.request("GET", "/plugin/clock/config")).body.config.check.interval, before);
    // A good value is taken, and the plugin starts with it.
    const good = await t.request("POST", "/plugin/clock/config/hot-update", {
      config: { check: { interval: 0.25 } },
      mode: "permanent",
    });
    assert.equal(good.status, 200, JSON.stringify(good.body));
    const started = await t.request("POST", "/plugin/clock/start");
    assert.equal(started.status, 200, JSON.stringify(started.body));
    const timer = (await t.request("GET", "/plugins/clock")).body.timers.find(
      (v: { id: string }) => v.id === "configured",
    );
    assert.equal(timer.seconds, 0.25);
  });
});
