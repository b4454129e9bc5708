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

    const res = await t.request("POST", "/plugin/clock/config/hot-update", { config: { check: { interval: 0.5 } } });
    assert.equal(res.status, 200, JSON.stringify(res.body));
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
      assert.deepEqual(res.body.error.details.cause.details, { field: "seconds" });
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
  });
});
