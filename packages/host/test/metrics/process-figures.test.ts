import assert from "node:assert/strict";
import { test } from "node:test";
import type { ProcessStats } from "@neko/protocol";
import { ProcessFigures } from "../../src/metrics/process-figures.ts";

const stats = (over: Partial<ProcessStats>): ProcessStats => ({
  rssBytes: 50_000_000,
  heapUsedBytes: 10_000_000,
  heapTotalBytes: 20_000_000,
  cpuUserUs: 0,
  cpuSystemUs: 0,
  uptimeMs: 0,
  ...over,
});

test("nothing reported yet: every figure is null", () => {
  assert.deepEqual(new ProcessFigures().view(), {
    cpu_percent: null,
    rss_bytes: null,
    heap_used_bytes: null,
    heap_total_bytes: null,
    event_loop_lag_ms: null,
    event_loop_lag_max_ms: null,
    sampled_at: null,
  });
});

test("CPU use is CPU time over uptime: since the start first, then between reports", () => {
  const figures = new ProcessFigures();
  // 300 ms of CPU in the first second of the process.
  figures.update(stats({ cpuUserUs: 200_000, cpuSystemUs: 100_000, uptimeMs: 1000, loopLagP50Ms: 0.4 }), 0);
  assert.equal(figures.view().cpu_percent, 30);
  // Then 1.5 s of CPU in 1 s (two threads busy).
  figures.update(stats({ cpuUserUs: 1_500_000, cpuSystemUs: 300_000, uptimeMs: 2000, loopLagMaxMs: 9 }), 1);
  assert.deepEqual(figures.view(), {
    cpu_percent: 150,
    rss_bytes: 50_000_000,
    heap_used_bytes: 10_000_000,
    heap_total_bytes: 20_000_000,
    event_loop_lag_ms: 0.4,
    event_loop_lag_max_ms: 9,
    sampled_at: new Date(1).toISOString(),
  });
});

test("a report with no time passed keeps the CPU figure before it", () => {
  const figures = new ProcessFigures();
  figures.update(stats({ cpuUserUs: 100_000, uptimeMs: 1000 }));
  figures.update(stats({ cpuUserUs: 100_000, uptimeMs: 1000 }));
  assert.equal(figures.view().cpu_percent, 10);
});

test("a thread plugin's CPU and resident memory are its runner's: null; its heap and loop lag are its own", () => {
  const figures = new ProcessFigures();
  figures.update(stats({ cpuUserUs: 200_000, uptimeMs: 1000, loopLagP50Ms: 0.2, loopLagMaxMs: 3 }), 0, {
    thread: true,
  });
  figures.update(stats({ cpuUserUs: 900_000, uptimeMs: 2000 }), 1, { thread: true });
  assert.deepEqual(figures.view(), {
    cpu_percent: null,
    rss_bytes: null,
    heap_used_bytes: 10_000_000,
    heap_total_bytes: 20_000_000,
    event_loop_lag_ms: 0.2,
    event_loop_lag_max_ms: 3,
    sampled_at: new Date(1).toISOString(),
  });
});
