/**
 * A plugin's figures from the admin socket's metrics ticks: CPU, memory, heap, event-loop lag, calls and errors, a
 * chart of CPU and memory over the samples seen since the page opened, and latency per entry.
 */
import type { LiveStore } from "../live-store.ts";
import { formatBytes, formatMs, formatPercent } from "../figure-format.ts";
import { MetricsChart } from "../metrics-chart.tsx";
import { t } from "../strings.ts";

export function MetricsPanel({ store, pluginId }: { store: LiveStore; pluginId: string }) {
  const m = store.metrics.get(pluginId);
  const samples = store.samples.get(pluginId) ?? [];
  if (!m) return <p class="muted">{t("metrics.waiting")}</p>;
  return (
    <>
      <h2>{t("detail.metrics")}</h2>
      {m.rss_bytes === null && <p class="muted">{t("metrics.noProcess")}</p>}
      <dl class="facts">
        <dt>{t("metrics.cpu")}</dt>
        <dd>{formatPercent(m.cpu_percent)}</dd>
        <dt>{t("metrics.rss")}</dt>
        <dd>{formatBytes(m.rss_bytes)}</dd>
        <dt>{t("metrics.heap")}</dt>
        <dd>{formatBytes(m.heap_used_bytes)}</dd>
        <dt>{t("metrics.lag")}</dt>
        <dd>{formatMs(m.event_loop_lag_ms)}</dd>
        <dt>{t("metrics.calls")}</dt>
        <dd>{m.calls}</dd>
        <dt>{t("metrics.errors")}</dt>
        <dd>{m.errors}</dd>
      </dl>
      <MetricsChart samples={samples} />
      <h3>{t("metrics.perEntry")}</h3>
      <table class="metrics-table">
        <thead>
          <tr>
            <th scope="col">{t("runs.entry")}</th>
            <th scope="col">{t("metrics.calls")}</th>
            <th scope="col">{t("metrics.errors")}</th>
            <th scope="col">{t("metrics.p50")}</th>
            <th scope="col">{t("metrics.p95")}</th>
            <th scope="col">{t("metrics.max")}</th>
          </tr>
        </thead>
        <tbody>
          {Object.entries(m.entries).map(([id, e]) => (
            <tr key={id}>
              <th scope="row">{id}</th>
              <td data-label={t("metrics.calls")}>{e.calls}</td>
              <td data-label={t("metrics.errors")}>{e.errors}</td>
              <td data-label={t("metrics.p50")}>{formatMs(e.p50_ms)}</td>
              <td data-label={t("metrics.p95")}>{formatMs(e.p95_ms)}</td>
              <td data-label={t("metrics.max")}>{formatMs(e.max_ms)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </>
  );
}
