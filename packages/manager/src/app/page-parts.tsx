/**
 * Small pieces every view uses: a plugin's state as a badge, figures formatted for people, a JSON value shown as
 * text, and a line chart of samples drawn as SVG (no chart library).
 */
import type { MetricsSample } from "./live-store.ts";
import { t } from "./strings.ts";

export function StateBadge({ state }: { state: string }) {
  return <span class={`badge state-${state}`}>{state}</span>;
}

export function formatBytes(bytes: number | null | undefined): string {
  if (bytes === null || bytes === undefined) return "–";
  if (bytes < 1024) return `${bytes} B`;
  const units = ["KiB", "MiB", "GiB"];
  let value = bytes / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return `${value.toFixed(value < 10 ? 1 : 0)} ${units[unit]}`;
}

export function formatPercent(value: number | null | undefined): string {
  return value === null || value === undefined ? "–" : `${value.toFixed(1)} %`;
}

export function formatMs(value: number | null | undefined): string {
  return value === null || value === undefined ? "–" : `${value < 10 ? value.toFixed(2) : value.toFixed(0)} ms`;
}

export function formatTime(value: string | number | null | undefined): string {
  if (value === null || value === undefined) return "–";
  const date = new Date(value);
  return Number.isNaN(date.getTime()) ? String(value) : date.toLocaleString();
}

export function formatDuration(seconds: number): string {
  const s = Math.floor(seconds);
  const parts = [
    [Math.floor(s / 86400), "d"],
    [Math.floor((s % 86400) / 3600), "h"],
    [Math.floor((s % 3600) / 60), "m"],
    [s % 60, "s"],
  ] as const;
  const shown = parts.filter(([n], i) => n > 0 || i === parts.length - 1);
  return shown.map(([n, unit]) => `${n}${unit}`).join(" ");
}

export function JsonBlock({ value, label }: { value: unknown; label?: string }) {
  return (
    <section aria-label={label ?? "JSON"}>
      {/* biome-ignore lint/a11y/noNoninteractiveTabindex: a block that scrolls must be reachable by keyboard */}
      <pre class="json" tabIndex={0}>
        {value === undefined ? "undefined" : JSON.stringify(value, null, 2)}
      </pre>
    </section>
  );
}

/** Two lines over the same samples, each scaled to its own range: CPU and memory. */
export function MetricsChart({ samples }: { samples: readonly MetricsSample[] }) {
  const width = 320;
  const height = 80;
  const line = (values: (number | null)[]) => {
    const known = values.filter((v): v is number => v !== null);
    if (known.length < 2) return "";
    const max = Math.max(...known, 1e-9);
    const step = width / Math.max(values.length - 1, 1);
    return values
      .map((v, i) =>
        v === null ? null : `${(i * step).toFixed(1)},${(height - (v / max) * (height - 4) - 2).toFixed(1)}`,
      )
      .filter(Boolean)
      .join(" ");
  };
  const title = t("metrics.chart", { count: samples.length });
  return (
    <figure class="chart">
      <svg viewBox={`0 0 ${width} ${height}`} role="img" aria-label={title} preserveAspectRatio="none">
        <polyline class="line-cpu" points={line(samples.map((s) => s.cpu))} />
        <polyline class="line-rss" points={line(samples.map((s) => s.rss))} />
      </svg>
      <figcaption>
        <span class="key key-cpu">{t("metrics.cpu")}</span> <span class="key key-rss">{t("metrics.rss")}</span> —{" "}
        {title}
      </figcaption>
    </figure>
  );
}
