/** The bench's pure helpers: its argument parsing, the reference ratios and the table (no timing is asserted). */
import assert from "node:assert/strict";
import fs from "node:fs";
import { describe, test } from "node:test";
import { BENCH_GROUPS, parseBenchArgs } from "../bench/bench-args.ts";
import { payloadArgs, payloadName } from "../bench/bench-payload.ts";
import { PLUGIN_RUNTIME_DEPENDENCIES } from "../bench/fork-floor.ts";
import { type BenchRow, megabytesPerSec, refName, refRatios, renderTable, toJson } from "../bench/report-table.ts";
import { formatMegabytesPerSec, type LatencySummary, medianSummary } from "../bench/stats.ts";

const summary = (p50Ms: number, opsPerSec: number): LatencySummary => ({
  n: 100,
  p50Ms,
  p99Ms: p50Ms * 2,
  opsPerSec,
  failed: 0,
  firstFailure: null,
});

const machine = { cpus: 2, cpuModel: "Test CPU", node: "v20.0.0", platform: "linux-x64", loadAverageAtStart: 1.5 };

const rows: BenchRow[] = [
  {
    kind: "round-trip",
    id: "floor.c1",
    label: "floor",
    short: "ZeroMQ floor",
    concurrency: 1,
    summary: summary(0.2, 4000),
  },
  {
    kind: "round-trip",
    id: "entry.c1",
    label: "entry call",
    ref: "floor.c1",
    concurrency: 1,
    summary: summary(0.3, 3000),
  },
  {
    kind: "round-trip",
    id: "payload",
    label: "entry call, 1 KiB args",
    concurrency: 1,
    summary: summary(1, 2000),
    payloadBytes: 1024,
  },
  { kind: "startup", id: "fork_bare", label: "bare fork", samplesMs: [100, 80, 120] },
  { kind: "startup", id: "cold_start", label: "cold start", ref: "fork_bare", samplesMs: [150] },
  { kind: "memory", id: "rss_deps", label: "Node + deps", samplesBytes: [60 * 1048576] },
  { kind: "memory", id: "rss_plugin", label: "per plugin", ref: "rss_deps", samplesBytes: [90 * 1048576] },
  { kind: "memory", id: "orphan", label: "compared with a row not run", ref: "rss_bare", samplesBytes: [1] },
];

describe("bench report table", () => {
  test("ratios divide by the reference row: p50 for every kind, ops/s for round trips only", () => {
    assert.deepEqual(refRatios(rows[1], rows), { p50: 0.3 / 0.2, opsPerSec: 0.75 });
    assert.deepEqual(refRatios(rows[4], rows), { p50: 1.5, opsPerSec: null });
    assert.deepEqual(refRatios(rows[6], rows), { p50: 1.5, opsPerSec: null });
    assert.equal(refRatios(rows[0], rows), undefined);
    assert.equal(refRatios(rows[7], rows), undefined);
  });

  test("the vs column names the reference by its short name, with its concurrency, or says it was not run", () => {
    assert.equal(refName(rows[1], rows), "ZeroMQ floor @1");
    assert.equal(refName(rows[4], rows), "bare fork");
    assert.equal(refName(rows[7], rows), "rss_bare (not run)");
    assert.equal(refName(rows[0], rows), "");
  });

  test("MB/s is the payload once per call", () => {
    assert.equal(megabytesPerSec(rows[2]), 2.048);
    assert.equal(megabytesPerSec(rows[1]), undefined);
    assert.equal(formatMegabytesPerSec(2.048), "2.05");
    assert.equal(formatMegabytesPerSec(123.4), "123");
  });

  test("the table has one line per row with its reference and ratios, and a legend", () => {
    const lines = renderTable(rows, machine).split("\n");
    assert.match(
      lines[0],
      /^neko-plugin bench · 2 × Test CPU · Node v20\.0\.0 · linux-x64 · load average 1\.50 at start$/,
    );
    assert.deepEqual(lines[2].split(/\s{2,}/), [
      "measurement",
      "conc",
      "n",
      "failed",
      "p50",
      "p99",
      "ops/s",
      "MB/s",
      "vs",
      "p50 ×",
      "ops/s ×",
    ]);
    const line = (label: string) => lines.find((l) => l.startsWith(label)) ?? "";
    assert.deepEqual(
      line("entry call  ")
        .split(/\s{2,}/)
        .slice(1),
      ["1", "100", "0", "300 µs", "600 µs", "3,000", "ZeroMQ floor @1", "1.50×", "0.75×"],
    );
    assert.match(line("entry call, 1 KiB args"), / 2,000 {2}2\.05$/);
    assert.match(line("cold start"), / 150 ms\s+150 ms\s+bare fork\s+1\.50×$/);
    assert.match(line("per plugin"), / 90\.0 MiB\s+90\.0 MiB\s+Node \+ deps\s+1\.50×$/);
    assert.match(line("compared with a row not run"), / rss_bare \(not run\)\s+—$/);
    assert.ok(lines.some((l) => l.startsWith("p50 × = p50 ÷ the vs row's p50")));
  });

  test("the JSON gives each row its reference and ratios", () => {
    const json = toJson(rows, machine) as { rows: Array<Record<string, unknown>> };
    assert.deepEqual(
      json.rows.map((r) => [r.id, r.ref, r.p50_vs_ref]),
      [
        ["floor.c1", null, null],
        ["entry.c1", "floor.c1", 0.3 / 0.2],
        ["payload", null, null],
        ["fork_bare", null, null],
        ["cold_start", "fork_bare", 1.5],
        ["rss_deps", null, null],
        ["rss_plugin", "rss_deps", 1.5],
        ["orphan", "rss_bare", null],
      ],
    );
    assert.equal(json.rows[1].ops_per_sec_vs_ref, 0.75);
    assert.equal(json.rows[2].megabytes_per_sec, 2.048);
    assert.equal(json.rows[3].p50_ms, 100);
  });
});

describe("bench arguments", () => {
  test("no argument runs every group and prints the table", () => {
    assert.deepEqual(parseBenchArgs([]), { json: false, groups: new Set(BENCH_GROUPS) });
  });

  test("--only picks groups, as one list or several, with = or a separate value", () => {
    assert.deepEqual(parseBenchArgs(["--only", "moleculer,fork", "--json"]), {
      json: true,
      groups: new Set(["moleculer", "fork"]),
    });
    assert.deepEqual(parseBenchArgs(["--only=floor", "--only", "payload"]), {
      json: false,
      groups: new Set(["floor", "payload"]),
    });
  });

  test("an unknown group or argument, or --only without a value, is refused with the usage", () => {
    assert.match(parseBenchArgs(["--only", "floor,nope"]) as string, /^unknown group\(s\): nope \(usage: .*moleculer/);
    assert.match(parseBenchArgs(["--fast"]) as string, /^unknown argument: --fast \(usage:/);
    assert.match(parseBenchArgs(["--only"]) as string, /^--only needs a comma-separated list/);
  });
});

describe("bench payloads and floors", () => {
  test("payload args carry exactly the named number of bytes", () => {
    assert.equal((payloadArgs(65536).data as string).length, 65536);
    assert.deepEqual([1024, 65536, 1048576].map(payloadName), ["1 KiB", "64 KiB", "1 MiB"]);
  });

  test("the dependencies floor imports only packages the SDK or the protocol depends on", () => {
    const declared = new Set(
      ["packages/sdk/package.json", "packages/protocol/package.json"].flatMap((file) =>
        Object.keys(JSON.parse(fs.readFileSync(new URL(`../${file}`, import.meta.url), "utf8")).dependencies),
      ),
    );
    const packages = PLUGIN_RUNTIME_DEPENDENCIES.map((specifier) => specifier.split("/")[0]);
    assert.deepEqual(
      packages.filter((name) => !declared.has(name)),
      [],
    );
  });
});

test("medianSummary: each field's median over the rounds (the transport group's ABBA rounds), counts summed", () => {
  const run = (p50Ms: number, p99Ms: number, opsPerSec: number, failed = 0): LatencySummary => ({
    n: 100,
    p50Ms,
    p99Ms,
    opsPerSec,
    failed,
    firstFailure: failed ? "boom" : null,
  });
  assert.deepEqual(medianSummary([run(3, 30, 100), run(1, 10, 300), run(2, 20, 200, 1)]), {
    n: 300,
    p50Ms: 2,
    p99Ms: 20,
    opsPerSec: 200,
    failed: 1,
    firstFailure: "boom",
  });
  // An even count: the mean of the middle two.
  assert.equal(medianSummary([run(1, 1, 1), run(4, 4, 4), run(2, 2, 2), run(9, 9, 9)]).p50Ms, 3);
});
