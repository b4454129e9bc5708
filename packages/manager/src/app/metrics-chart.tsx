/** CPU and memory over the samples seen, as two SVG lines each scaled to its own range (no chart library). */
import type { MetricsSample } from "./live-store.ts";
import { t } from "./strings.ts";

const WIDTH = 320;
const HEIGHT = 80;

function points(values: readonly (number | null)[]): string {
  const known = values.filter((v): v is number => v !== null);
  if (known.length < 2) return "";
  const max = Math.max(...known, 1e-9);
  const step = WIDTH / Math.max(values.length - 1, 1);
  return values
    .map((v, i) =>
      v === null ? null : `${(i * step).toFixed(1)},${(HEIGHT - (v / max) * (HEIGHT - 4) - 2).toFixed(1)}`,
    )
    .filter(Boolean)
    .join(" ");
}

export function MetricsChart({ samples }: { samples: readonly MetricsSample[] }) {
  const title = t("metrics.chart", { count: samples.length });
  return (
    <figure class="chart">
      <svg viewBox={`0 0 ${WIDTH} ${HEIGHT}`} role="img" aria-label={title} preserveAspectRatio="none">
        <polyline class="line-cpu" points={points(samples.map((s) => s.cpu))} />
        <polyline class="line-rss" points={points(samples.map((s) => s.rss))} />
      </svg>
      <figcaption>
        <span class="key key-cpu">{t("metrics.cpu")}</span> <span class="key key-rss">{t("metrics.rss")}</span> —{" "}
        {title}
      </figcaption>
    </figure>
  );
}
