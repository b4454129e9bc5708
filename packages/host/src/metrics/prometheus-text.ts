/**
 * The Prometheus text exposition format, version 0.0.4 (what `GET /metrics` answers): one `# HELP` and one `# TYPE`
 * line per family, then its samples, each `name{label="value",…} number`. Label values and help texts are escaped
 * here, so a plugin or entry id with quotes, backslashes or newlines cannot break a line.
 */

export type MetricType = "counter" | "gauge" | "histogram";

export interface MetricSample {
  /** The family's name, or for a histogram the family's name plus `_bucket`, `_sum` or `_count`. */
  name: string;
  labels?: Record<string, string>;
  value: number;
}

export interface MetricFamily {
  name: string;
  help: string;
  type: MetricType;
  samples: MetricSample[];
}

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const HISTOGRAM_SUFFIXES = ["_bucket", "_sum", "_count"];

export function renderPrometheusText(families: readonly MetricFamily[]): string {
  const lines: string[] = [];
  for (const family of families) {
    if (!METRIC_NAME.test(family.name)) throw new Error(`not a metric name: '${family.name}'`);
    lines.push(`# HELP ${family.name} ${escapeHelp(family.help)}`, `# TYPE ${family.name} ${family.type}`);
    for (const sample of family.samples) {
      if (!belongsTo(sample.name, family)) throw new Error(`sample '${sample.name}' is not of family '${family.name}'`);
      lines.push(`${sample.name}${renderLabels(sample.labels)} ${formatValue(sample.value)}`);
    }
  }
  return lines.length === 0 ? "" : `${lines.join("\n")}\n`;
}

function belongsTo(sampleName: string, family: MetricFamily): boolean {
  if (family.type !== "histogram") return sampleName === family.name;
  return HISTOGRAM_SUFFIXES.some((suffix) => sampleName === family.name + suffix);
}

function renderLabels(labels: Record<string, string> | undefined): string {
  if (!labels) return "";
  const pairs = Object.entries(labels);
  if (pairs.length === 0) return "";
  for (const [name] of pairs) if (!LABEL_NAME.test(name)) throw new Error(`not a label name: '${name}'`);
  return `{${pairs.map(([name, value]) => `${name}="${escapeLabelValue(value)}"`).join(",")}}`;
}

/** In a label value: backslash, double quote and line feed are escaped (the format's three). */
export function escapeLabelValue(value: string): string {
  return value.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");
}

/** In a help text: backslash and line feed. */
function escapeHelp(text: string): string {
  return text.replace(/\\/g, "\\\\").replace(/\n/g, "\\n");
}

/** Go's float syntax as Prometheus reads it: `+Inf`, `-Inf`, `NaN`, else the shortest JavaScript form. */
export function formatValue(value: number): string {
  if (Number.isNaN(value)) return "NaN";
  if (value === Number.POSITIVE_INFINITY) return "+Inf";
  if (value === Number.NEGATIVE_INFINITY) return "-Inf";
  return String(value);
}
