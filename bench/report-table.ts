/**
 * The bench's results: one row per figure of SPEC §9 and of its references, each row's ratios to the row it is
 * compared with (its `ref`, named in the table's `vs` column), and their rendering as an aligned text table or as JSON.
 */
import {
  formatBytes,
  formatDuration,
  formatMegabytesPerSec,
  formatRate,
  formatRatio,
  type LatencySummary,
  percentile,
  sortedAscending,
} from "./stats.ts";

interface RowBase {
  id: string;
  label: string;
  /** How the `vs` column of a row compared with this one names it (default: the label). */
  short?: string;
  /** The id of the row this one is compared with: its ratio columns divide by that row. */
  ref?: string;
}

export type BenchRow =
  /** Request → answer, timed one by one; `payloadBytes` (the args' size) gives it a MB/s figure. */
  | (RowBase & { kind: "round-trip"; concurrency: number; summary: LatencySummary; payloadBytes?: number })
  /** Something started a few times (or once); each sample is one wall-clock duration. */
  | (RowBase & { kind: "startup"; samplesMs: number[] })
  | (RowBase & { kind: "memory"; samplesBytes: number[] })
  /** A figure that could not be measured here (or has not landed yet). */
  | (RowBase & { kind: "pending"; note: string });

export interface MachineInfo {
  cpus: number;
  cpuModel: string;
  node: string;
  platform: string;
  /** 1-minute load average when the run began: above the core count, other work shared the CPUs. */
  loadAverageAtStart: number;
}

export interface RowRatios {
  /** This row's p50 ÷ its reference's p50 (latency, duration or bytes: lower is better). */
  p50: number;
  /** This row's ops/s ÷ its reference's ops/s (round trips only: higher is better). */
  opsPerSec: number | null;
}

/** The row's median: p50 latency, duration or bytes. */
function median(row: BenchRow): number {
  switch (row.kind) {
    case "round-trip":
      return row.summary.p50Ms;
    case "startup":
      return percentile(sortedAscending(row.samplesMs), 50);
    case "memory":
      return percentile(sortedAscending(row.samplesBytes), 50);
    case "pending":
      return Number.NaN;
  }
}

/** The ratios of `row` to its reference row; undefined when it has none or the reference was not measured. */
export function refRatios(row: BenchRow, rows: readonly BenchRow[]): RowRatios | undefined {
  if (row.ref === undefined) return undefined;
  const ref = rows.find((r) => r.id === row.ref);
  if (ref === undefined || ref.kind === "pending" || row.kind === "pending") return undefined;
  return {
    p50: median(row) / median(ref),
    opsPerSec:
      row.kind === "round-trip" && ref.kind === "round-trip" ? row.summary.opsPerSec / ref.summary.opsPerSec : null,
  };
}

/** What the `vs` column says: the reference's short name (with its concurrency), or that it was not run. */
export function refName(row: BenchRow, rows: readonly BenchRow[]): string {
  if (row.ref === undefined) return "";
  const ref = rows.find((r) => r.id === row.ref);
  if (ref === undefined) return `${row.ref} (not run)`;
  const name = ref.short ?? ref.label;
  return ref.kind === "round-trip" ? `${name} @${ref.concurrency}` : name;
}

/** Payload bytes per second, one way (the args sent; the same bytes come back): round trips with a payload only. */
export function megabytesPerSec(row: BenchRow): number | undefined {
  if (row.kind !== "round-trip" || row.payloadBytes === undefined) return undefined;
  return (row.payloadBytes * row.summary.opsPerSec) / 1e6;
}

const HEADER = ["measurement", "conc", "n", "failed", "p50", "p99", "ops/s", "MB/s", "vs", "p50 ×", "ops/s ×"];
/** The `vs` column is text: left-aligned like the first; the others are numbers. */
const LEFT_ALIGNED = new Set([0, 8]);

export function renderTable(rows: readonly BenchRow[], machine: MachineInfo): string {
  const cells = rows.map((row) => rowCells(row, rows));
  const widths = HEADER.map((h, i) =>
    Math.max(h.length, ...rows.map((row, j) => (row.kind === "pending" && i > 0 ? 0 : (cells[j][i] ?? "").length))),
  );
  const line = (c: string[]) =>
    c
      .map((text, i) => (LEFT_ALIGNED.has(i) ? text.padEnd(widths[i]) : text.padStart(widths[i])))
      .join("  ")
      .trimEnd();
  const rule = widths.map((w) => "─".repeat(w)).join("  ");
  const body = rows.map((row, j) =>
    row.kind === "pending" ? `${row.label.padEnd(widths[0])}  not measured: ${row.note}` : line(cells[j]),
  );
  const title = [
    "neko-plugin bench",
    `${machine.cpus} × ${machine.cpuModel}`,
    `Node ${machine.node}`,
    machine.platform,
    `load average ${machine.loadAverageAtStart.toFixed(2)} at start`,
  ].join(" · ");
  const legend = "p50 × = p50 ÷ the vs row's p50 (lower is better); ops/s × = ops/s ÷ the vs row's (higher is better)";
  return [title, "", line(HEADER), rule, ...body, "", legend, ...failureNotes(rows)].join("\n");
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

function rowCells(row: BenchRow, rows: readonly BenchRow[]): string[] {
  const ratios = refRatios(row, rows);
  const compared = [
    refName(row, rows),
    row.ref === undefined ? "" : formatRatio(ratios?.p50 ?? Number.NaN),
    ratios?.opsPerSec == null ? "" : formatRatio(ratios.opsPerSec),
  ];
  switch (row.kind) {
    case "round-trip": {
      const s = row.summary;
      const mbps = megabytesPerSec(row);
      return [
        row.label,
        String(row.concurrency),
        String(s.n),
        String(s.failed),
        formatDuration(s.p50Ms),
        formatDuration(s.p99Ms),
        formatRate(s.opsPerSec),
        mbps === undefined ? "" : formatMegabytesPerSec(mbps),
        ...compared,
      ];
    }
    case "startup": {
      const sorted = sortedAscending(row.samplesMs);
      const [p50, p99] = [50, 99].map((p) => formatDuration(percentile(sorted, p)));
      return [row.label, "", String(sorted.length), "", p50, p99, "", "", ...compared];
    }
    case "memory": {
      const sorted = sortedAscending(row.samplesBytes);
      if (sorted.length === 0) return [row.label, "", "0", "", "n/a (no /proc)", "", "", "", "", "", ""];
      const [p50, p99] = [50, 99].map((p) => formatBytes(percentile(sorted, p)));
      return [row.label, "", String(sorted.length), "", p50, p99, "", "", ...compared];
    }
    case "pending":
      return [row.label];
  }
}

/** The same results for machines: raw numbers in ms, bytes and ops/s, each row with its reference and ratios. */
export function toJson(rows: readonly BenchRow[], machine: MachineInfo): object {
  return { machine, rows: rows.map((row) => rowJson(row, rows)) };
}

function rowJson(row: BenchRow, rows: readonly BenchRow[]): object {
  const { id, kind, label } = row;
  const ratios = refRatios(row, rows);
  const compared = { ref: row.ref ?? null, p50_vs_ref: ratios?.p50 ?? null };
  switch (row.kind) {
    case "round-trip":
      return {
        id,
        kind,
        label,
        concurrency: row.concurrency,
        n: row.summary.n,
        failed: row.summary.failed,
        first_failure: row.summary.firstFailure,
        p50_ms: row.summary.p50Ms,
        p99_ms: row.summary.p99Ms,
        ops_per_sec: row.summary.opsPerSec,
        payload_bytes: row.payloadBytes ?? null,
        megabytes_per_sec: megabytesPerSec(row) ?? null,
        ...compared,
        ops_per_sec_vs_ref: ratios?.opsPerSec ?? null,
      };
    case "startup":
      return { id, kind, label, n: row.samplesMs.length, ...spread(sortedAscending(row.samplesMs), "ms"), ...compared };
    case "memory":
      return {
        id,
        kind,
        label,
        n: row.samplesBytes.length,
        ...spread(sortedAscending(row.samplesBytes), "bytes"),
        ...compared,
      };
    case "pending":
      return { id, kind, label, note: row.note };
  }
}

function spread(sorted: number[], unit: string): Record<string, number | null> {
  const value = (p: number) => (sorted.length ? percentile(sorted, p) : null);
  return { [`p50_${unit}`]: value(50), [`p99_${unit}`]: value(99), [`max_${unit}`]: value(100) };
}
