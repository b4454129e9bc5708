/** Timers (SPEC §3.5) through a real plugin process: first tick, no overlap, errors, start/stop, shutdown. */
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import type { LogRecord } from "@neko/host";
import { makeTempDir, waitFor, writePlugin } from "../support/plugin-fixtures.ts";
import { startTestHost, type TestHost } from "../support/test-host.ts";

const code = `
import fs from "node:fs";
import { NekoPluginBase, nekoPlugin, pluginEntry, lifecycle, timerInterval, plugin, Ok, Err, type TimerTick } from "@neko/plugin-sdk/plugin";

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

@nekoPlugin
export class TickerPlugin extends NekoPluginBase {
  startedAt = 0;
  firstTickAt = 0;
  session: { touchedBy: string[] } | undefined;
  slow = { ticks: 0, active: 0, maxActive: 0, spans: [] as Array<[number, number]> };
  throws = 0;
  errs = 0;
  manual = 0;

  @lifecycle({ id: "startup" })
  onStartup() {
    this.startedAt = Date.now();
    this.session = { touchedBy: ["startup"] };
  }

  @timerInterval({ id: "first", seconds: 0.4, name: "First tick" })
  first({ tick }: TimerTick) {
    if (tick !== 1) return;
    this.firstTickAt = Date.now();
    this.session!.touchedBy.push("timer");
  }

  @timerInterval({ id: "slow", seconds: 0.05 })
  async slowTick() {
    this.slow.active += 1;
    this.slow.maxActive = Math.max(this.slow.maxActive, this.slow.active);
    const start = Date.now();
    await sleep(150);
    this.slow.spans.push([start, Date.now()]);
    this.slow.active -= 1;
    this.slow.ticks += 1;
  }

  @timerInterval({ id: "throws", seconds: 0.05 })
  throwing() {
    this.throws += 1;
    throw new Error("tick failed " + this.throws);
  }

  @plugin.timer({ id: "errs", seconds: 0.05 })
  erring() {
    this.errs += 1;
    return Err("tick refused");
  }

  @timerInterval({ id: "maker", seconds: 0.1 })
  maker({ tick }: TimerTick) {
    if (tick < 2) return;
    this.registerDynamicEntry("from_timer", () => Ok({ made: "by a timer", tick }), { description: "made by a timer" });
    this.stopTimer("maker");
  }

  @timerInterval({ id: "manual", seconds: 0.05, autoStart: false })
  manualTick() {
    this.manual += 1;
  }

  @pluginEntry({ id: "timer" })
  timer({ action, id }: { action: "start" | "stop"; id: string }) {
    return Ok(action === "start" ? this.startTimer(id) : this.stopTimer(id));
  }

  @pluginEntry({ id: "stats" })
  stats() {
    return Ok({
      startedAt: this.startedAt,
      firstTickAt: this.firstTickAt,
      touchedBy: this.session?.touchedBy,
      slow: this.slow,
      throws: this.throws,
      errs: this.errs,
      manual: this.manual,
    });
  }

  @lifecycle({ id: "shutdown" })
  async onShutdown() {
    const counts = () => ({
      slow: this.slow.ticks + this.slow.active,
      throws: this.throws,
      errs: this.errs,
      manual: this.manual,
    });
    const atStart = counts();
    const activeAtStart = this.slow.active;
    await sleep(300);
    fs.writeFileSync(this.dataPath("shutdown.json"), JSON.stringify({ atStart, after: counts(), activeAtStart }));
  }
}
`;

describe("timers through a real plugin", () => {
  let root: string;
  let t: TestHost;
  const logs: LogRecord[] = [];
  const stats = async () => (await t.trigger("ticker", "stats")).body.data;

  before(async () => {
    root = makeTempDir();
    writePlugin(root, { id: "ticker", className: "TickerPlugin", code });
    t = await startTestHost({ roots: [root] }, { onLog: (_id, record) => logs.push(record) });
  });
  after(async () => {
    await t.close();
    fs.rmSync(root, { recursive: true, force: true });
  });

  test("the first tick comes one interval after startup, on the same event loop as startup and entries", async () => {
    const s = await waitFor(async () => {
      const data = await stats();
      return data.firstTickAt ? data : undefined;
    });
    assert.ok(s.firstTickAt - s.startedAt >= 390, `first tick ${s.firstTickAt - s.startedAt}ms after startup`);
    assert.deepEqual(s.touchedBy, ["startup", "timer"], "an object made in startup is used by the timer");
  });

  test("a slow tick delays the next one: ticks of one timer never overlap and keep coming", async () => {
    const s = await waitFor(async () => {
      const data = await stats();
      return data.slow.ticks >= 5 ? data : undefined;
    });
    assert.equal(s.slow.maxActive, 1, "never two ticks of one timer at once");
    const spans: Array<[number, number]> = s.slow.spans;
    for (let i = 1; i < spans.length; i += 1) {
      assert.ok(spans[i][0] >= spans[i - 1][1], `tick ${i + 1} started before tick ${i} ended`);
    }
    const later = await waitFor(async () => {
      const data = await stats();
      return data.slow.ticks >= s.slow.ticks + 2 ? data : undefined;
    });
    assert.ok(later.slow.ticks > s.slow.ticks, "ticks keep coming");
  });

  test("a tick that throws or returns Err is logged and the timer goes on", async () => {
    const s = await waitFor(async () => {
      const data = await stats();
      return data.throws >= 3 && data.errs >= 3 ? data : undefined;
    });
    assert.ok(s.throws >= 3);
    const thrown = logs.find((r) => /^timer 'throws' tick \d+ threw$/.test(r.msg));
    assert.ok(thrown, "the throw is logged");
    assert.equal(thrown.level, "error");
    assert.match(JSON.stringify(thrown.err), /tick failed/);
    const refused = logs.find((r) => /^timer 'errs' tick \d+ returned an error: tick refused$/.test(r.msg));
    assert.equal(refused?.level, "warn");
  });

  test("a dynamic entry registered from a timer appears in /plugins and is callable", async () => {
    const entry = await waitFor(async () =>
      (await t.request("GET", "/plugins/ticker")).body.entries.find((e: { id: string }) => e.id === "from_timer"),
    );
    assert.equal(entry.dynamic, true);
    assert.equal(entry.description, "made by a timer");
    const called = await t.trigger("ticker", "from_timer");
    assert.deepEqual(called.body.data, { made: "by a timer", tick: 2 });
  });

  test("an autoStart: false timer waits for startTimer, and stopTimer stops it", async () => {
    assert.equal((await stats()).manual, 0, "not started by itself");
    assert.equal((await t.trigger("ticker", "timer", { action: "start", id: "manual" })).body.data, true);
    await waitFor(async () => (await stats()).manual >= 2);
    assert.equal((await t.trigger("ticker", "timer", { action: "stop", id: "manual" })).body.data, true);
    const stopped = (await stats()).manual;
    await new Promise((r) => setTimeout(r, 200));
    assert.equal((await stats()).manual, stopped, "no tick after stopTimer");
    assert.equal((await t.trigger("ticker", "timer", { action: "start", id: "nope" })).body.data, false, "unknown id");
  });

  test("/plugins lists the timers", async () => {
    const timers = (await t.request("GET", "/plugins/ticker")).body.timers;
    assert.deepEqual(
      timers.map((tm: { id: string }) => tm.id),
      ["first", "slow", "throws", "errs", "maker", "manual"],
    );
    assert.deepEqual(
      timers.find((tm: { id: string }) => tm.id === "first"),
      { id: "first", name: "First tick", seconds: 0.4, auto_start: true },
    );
    assert.equal(timers.find((tm: { id: string }) => tm.id === "manual").auto_start, false);
  });

  test("all timers stop before the shutdown lifecycle runs: it sees no further ticks", async () => {
    await t.trigger("ticker", "timer", { action: "start", id: "manual" });
    const stop = await t.request("POST", "/plugin/ticker/stop");
    assert.equal(stop.status, 200);
    const file = path.join(root, "ticker", "data", "shutdown.json");
    const seen = JSON.parse(fs.readFileSync(file, "utf8"));
    assert.equal(seen.activeAtStart, 0, "the tick in progress finished before shutdown began");
    assert.ok(seen.atStart.slow > 0 && seen.atStart.throws > 0 && seen.atStart.manual > 0);
    assert.deepEqual(seen.after, seen.atStart, "no timer ticked during the 300 ms shutdown handler");
  });
});
