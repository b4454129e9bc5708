/**
 * The bench's results: one row per figure of SPEC §9, the ratios of round-trip rows to the floor, and their
 * rendering as an aligned text table or as JSON.
 */
import {
  formatBytes,
  formatDuration,
  formatRate,
  formatRatio,
  type LatencySummary,
  percentile,
  sortedAscending,
} from "./stats.ts";

export type BenchRow =
  /** Request → answer, timed one by one; `floor` marks the rows every other round trip is divided by. */
  | { kind: "round-trip"; id: string; label: string; floor: boolean; concurrency: number; summary: LatencySummary }
  /** Something started a few times (or once); each sample is one wall-clock duration. */
  | { kind: "startup"; id: string; label: string; samplesMs: number[] }
  | { kind: "memory"; id: string; label: string; samplesBytes: number[] }
  /** A SPEC §9 figure whose feature has not landed yet. */
  | { kind: "pending"; id: string; label: string; note: string };

export interface MachineInfo {
  cpus: number;
  cpuModel: string;
  node: string;
  platform: string;
  /** 1-minute load average when the run began: above the core count, other work shared the CPUs. */
  loadAverageAtStart: number;
}

/** Row ratios: p50 ÷ the floor's p50 and ops/s ÷ the floor's ops/s, at the same concurrency. */
function floorRatios(row: BenchRow, rows: readonly BenchRow[]): { p50: number; opsPerSec: number } | undefined {
  if (row.kind !== "round-trip") return undefined;
  const floor = rows.find((r) => r.kind === "round-trip" && r.floor && r.concurrency === row.concurrency);
  if (floor?.kind !== "round-trip") return undefined;
  return {
    p50: row.summary.p50Ms / floor.summary.p50Ms,
    opsPerSec: row.summary.opsPerSec / floor.summary.opsPerSec,
  };
}

const HEADER = ["measurement", "conc", "n", "failed", "p50", "p99", "ops/s", "p50 ÷ floor", "ops/s ÷ floor"];
/** Columns after the first are numbers: right-aligned. */
const RIGHT_ALIGNED_FROM = 1;

export function renderTable(rows: readonly BenchRow[], machine: MachineInfo): string {
  const measured = rows.map((row) => (row.kind === "pending" ? undefined : rowCells(row, rows)));
  const widths = HEADER.map((h, i) =>
    Math.max(h.length, ...rows.map((r, j) => (i === 0 ? r.label : (measured[j]?.[i] ?? "")).length)),
  );
  const line = (c: string[]) =>
    c
      .map((text, i) => (i < RIGHT_ALIGNED_FROM ? text.padEnd(widths[i]) : text.padStart(widths[i])))
      .join("  ")
      .trimEnd();
  const rule = widths.map((w) => "─".repeat(w)).join("  ");
  const body = rows.map((row, j) =>
    row.kind === "pending" ? `${row.label.padEnd(widths[0])}  not measured yet: ${row.note}` : line(measured[j] ?? []),
  );
  const title = [
    "neko-plugin bench",
    `${machine.cpus} × ${machine.cpuModel}`,
    `Node ${machine.node}`,
    machine.platform,
    `load average ${machine.loadAverageAtStart.toFixed(2)} at start`,
  ].join(" · ");
  return [title, "", line(HEADER), rule, ...body, ...failureNotes(rows)].join("\n");
}

/** Failed operations are not timed, so a row with failures under-reports its cost: say so under the table. */
function failureNotes(rows: readonly BenchRow[]): string[] {
  const notes = rows.flatMap((row) =>
    row.kind === "round-trip" && row.summary.failed > 0
      ? [`  ${row.label} @${row.concurrency}: ${row.summary.failed} failed, first: ${row.summary.firstFailure}`]
      : [],
  );
  return notes.length ? ["", "FAILED operations (not timed; see docs/benchmarks.md):", ...notes] : [];
}

function rowCells(row: Exclude<BenchRow, { kind: "pending" }>, rows: readonly BenchRow[]): string[] {
  switch (row.kind) {
    case "round-trip": {
      const s = row.summary;
      const ratio = floorRatios(row, rows);
      return [
        row.label,
        String(row.concurrency),
        String(s.n),
        String(s.failed),
        formatDuration(s.p50Ms),
        formatDuration(s.p99Ms),
        formatRate(s.opsPerSec),
        row.floor ? "1 (floor)" : formatRatio(ratio?.p50 ?? Number.NaN),
        row.floor ? "1 (floor)" : formatRatio(ratio?.opsPerSec ?? Number.NaN),
      ];
    }
    case "startup": {
      const sorted = sortedAscending(row.samplesMs);
      return [row.label, "", String(sorted.length), "", ...[50, 99].map((p) => formatDuration(percentile(sorted, p)))];
    }
    case "memory": {
      const sorted = sortedAscending(row.samplesBytes);
      if (sorted.length === 0) return [row.label, "", "0", "", "n/a (no /proc)"];
      return [row.label, "", String(sorted.length), "", ...[50, 99].map((p) => formatBytes(percentile(sorted, p)))];
    }
  }
}

/** The same results for machines: raw numbers in ms, bytes and ops/s. */
export function toJson(rows: readonly BenchRow[], machine: MachineInfo): object {
  return { machine, rows: rows.map((row) => rowJson(row, rows)) };
}

function rowJson(row: BenchRow, rows: readonly BenchRow[]): object {
  const { id, kind, label } = row;
  switch (row.kind) {
    case "round-trip": {
      const ratio = floorRatios(row, rows);
      return {
        id,
        kind,
        label,
        floor: row.floor,
        concurrency: row.concurrency,
        n: row.summary.n,
        failed: row.summary.failed,
        first_failure: row.summary.firstFailure,
        p50_ms: row.summary.p50Ms,
        p99_ms: row.summary.p99Ms,
        ops_per_sec: row.summary.opsPerSec,
        p50_vs_floor: ratio?.p50 ?? null,
        ops_per_sec_vs_floor: ratio?.opsPerSec ?? null,
      };
    }
    case "startup":
      return { id, kind, label, n: row.samplesMs.length, ...spread(sortedAscending(row.samplesMs), "ms") };
    case "memory":
      return { id, kind, label, n: row.samplesBytes.length, ...spread(sortedAscending(row.samplesBytes), "bytes") };
    case "pending":
      return { id, kind, label, note: row.note };
  }
}

function spread(sorted: number[], unit: string): Record<string, number | null> {
  const value = (p: number) => (sorted.length ? percentile(sorted, p) : null);
  return { [`p50_${unit}`]: value(50), [`p99_${unit}`]: value(99), [`max_${unit}`]: value(100) };
}
