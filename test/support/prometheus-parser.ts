/**
 * A strict reader of the Prometheus text format (0.0.4) for tests of `GET /metrics`: it throws on the first line that
 * is neither a comment nor `name{labels} value`, on a sample whose family has no `# HELP` and `# TYPE` before it, on
 * a family whose samples are not together, on a series given twice, on a counter not named `…_total`, and on a
 * histogram whose buckets are not cumulative, do not end in `+Inf`, or whose `+Inf` bucket is not its `_count`.
 */

export interface ParsedSample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

export interface ParsedFamily {
  name: string;
  help: string;
  type: string;
  samples: ParsedSample[];
}

export interface Exposition {
  families: Map<string, ParsedFamily>;
  /** The value of the one sample with this name and exactly these labels; undefined when there is none. */
  value(name: string, labels?: Record<string, string>): number | undefined;
  /** Every sample with this name whose labels include these. */
  samples(name: string, labels?: Record<string, string>): ParsedSample[];
}

const NAME = "[a-zA-Z_:][a-zA-Z0-9_:]*";
const SAMPLE = new RegExp(`^(${NAME})(\\{.*\\})? (\\S+)$`);
const HELP = new RegExp(`^# HELP (${NAME}) (.*)$`);
const TYPE = new RegExp(`^# TYPE (${NAME}) (counter|gauge|histogram|summary|untyped)$`);
const HISTOGRAM_SUFFIXES = ["_bucket", "_sum", "_count"];

export function parsePrometheusText(text: string): Exposition {
  if (text.length > 0 && !text.endsWith("\n")) throw new Error("the exposition does not end with a line feed");
  const families = new Map<string, ParsedFamily>();
  const help = new Map<string, string>();
  const seenSeries = new Set<string>();
  let current: string | undefined;
  const closed = new Set<string>();
  const lines = text.split("\n").slice(0, -1);
  lines.forEach((line, index) => {
    const where = `line ${index + 1} ('${line}')`;
    if (line.startsWith("#")) {
      const h = HELP.exec(line);
      const t = TYPE.exec(line);
      if (h) {
        if (help.has(h[1] as string)) throw new Error(`${where}: a second HELP for ${h[1]}`);
        help.set(h[1] as string, unescapeHelp(h[2] as string));
        openFamily(h[1] as string, where);
      } else if (t) {
        const name = t[1] as string;
        if (families.has(name)) throw new Error(`${where}: a second TYPE for ${name}`);
        if (!help.has(name)) throw new Error(`${where}: TYPE before HELP for ${name}`);
        if (t[2] === "counter" && !name.endsWith("_total")) throw new Error(`${where}: a counter not named …_total`);
        families.set(name, { name, help: help.get(name) as string, type: t[2] as string, samples: [] });
      } else if (!/^# /.test(line) && line !== "#") {
        throw new Error(`${where}: not a comment`);
      }
      return;
    }
    const m = SAMPLE.exec(line);
    if (!m) throw new Error(`${where}: not 'name{labels} value'`);
    const name = m[1] as string;
    const labels = m[2] ? parseLabels(m[2], where) : {};
    const value = parseValue(m[3] as string, where);
    const family = familyOf(name);
    if (!family) throw new Error(`${where}: no HELP and TYPE for ${name}`);
    if (current !== family.name) throw new Error(`${where}: the samples of ${family.name} are not together`);
    const series = `${name}${JSON.stringify(Object.entries(labels).sort())}`;
    if (seenSeries.has(series)) throw new Error(`${where}: the series ${series} is given twice`);
    seenSeries.add(series);
    family.samples.push({ name, labels, value });
  });
  for (const family of families.values()) if (family.type === "histogram") checkHistogram(family);

  function openFamily(name: string, where: string): void {
    if (current !== undefined) closed.add(current);
    if (closed.has(name)) throw new Error(`${where}: family ${name} opened again`);
    current = name;
  }
  function familyOf(sampleName: string): ParsedFamily | undefined {
    const direct = families.get(sampleName);
    if (direct && direct.type !== "histogram") return direct;
    for (const suffix of HISTOGRAM_SUFFIXES) {
      if (!sampleName.endsWith(suffix)) continue;
      const family = families.get(sampleName.slice(0, -suffix.length));
      if (family?.type === "histogram") return family;
    }
    return undefined;
  }

  const matches = (labels: Record<string, string>, wanted: Record<string, string>) =>
    Object.entries(wanted).every(([k, v]) => labels[k] === v);
  const all = () => [...families.values()].flatMap((f) => f.samples);
  return {
    families,
    samples: (name, labels = {}) => all().filter((s) => s.name === name && matches(s.labels, labels)),
    value(name, labels = {}) {
      const found = all().filter(
        (s) =>
          s.name === name && matches(s.labels, labels) && Object.keys(s.labels).length === Object.keys(labels).length,
      );
      if (found.length > 1) throw new Error(`more than one ${name} with ${JSON.stringify(labels)}`);
      return found[0]?.value;
    },
  };
}

function parseLabels(text: string, where: string): Record<string, string> {
  const labels: Record<string, string> = {};
  let i = 1;
  const end = text.length - 1;
  while (i < end) {
    const name = /^[a-zA-Z_][a-zA-Z0-9_]*/.exec(text.slice(i))?.[0];
    if (!name) throw new Error(`${where}: a bad label name`);
    i += name.length;
    if (text.slice(i, i + 2) !== '="') throw new Error(`${where}: label ${name} without ="`);
    i += 2;
    let value = "";
    for (;;) {
      const c = text[i];
      if (c === undefined || i >= end) throw new Error(`${where}: label ${name} not closed`);
      if (c === '"') break;
      if (c === "\n") throw new Error(`${where}: a raw line feed in a label`);
      if (c === "\\") {
        const next = text[i + 1];
        if (next === "\\") value += "\\";
        else if (next === '"') value += '"';
        else if (next === "n") value += "\n";
        else throw new Error(`${where}: a bad escape \\${next} in label ${name}`);
        i += 2;
        continue;
      }
      value += c;
      i += 1;
    }
    i += 1;
    if (name in labels) throw new Error(`${where}: label ${name} given twice`);
    labels[name] = value;
    if (i < end) {
      if (text[i] !== ",") throw new Error(`${where}: labels not separated by ','`);
      i += 1;
    }
  }
  return labels;
}

function parseValue(text: string, where: string): number {
  if (text === "+Inf") return Number.POSITIVE_INFINITY;
  if (text === "-Inf") return Number.NEGATIVE_INFINITY;
  if (text === "NaN") return Number.NaN;
  if (!/^-?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(text)) throw new Error(`${where}: not a number: ${text}`);
  return Number(text);
}

function unescapeHelp(text: string): string {
  return text.replace(/\\(\\|n)/g, (_m, c: string) => (c === "n" ? "\n" : "\\"));
}

/** Per series (labels but `le`): buckets in ascending `le`, never decreasing, the last `+Inf` and equal to `_count`. */
function checkHistogram(family: ParsedFamily): void {
  const series = new Map<string, { buckets: ParsedSample[]; sum?: number; count?: number }>();
  for (const sample of family.samples) {
    const { le, ...rest } = sample.labels;
    const key = JSON.stringify(Object.entries(rest).sort());
    const s = series.get(key) ?? { buckets: [] };
    series.set(key, s);
    if (sample.name.endsWith("_bucket")) {
      if (le === undefined) throw new Error(`${family.name}: a bucket without le`);
      s.buckets.push(sample);
    } else if (sample.name.endsWith("_sum")) s.sum = sample.value;
    else s.count = sample.value;
  }
  for (const [key, s] of series) {
    const at = `${family.name}${key}`;
    if (s.sum === undefined || s.count === undefined) throw new Error(`${at}: no _sum or no _count`);
    if (s.buckets.length === 0) throw new Error(`${at}: no buckets`);
    let previousLe = Number.NEGATIVE_INFINITY;
    let previous = 0;
    for (const bucket of s.buckets) {
      const le = parseValue(bucket.labels.le as string, at);
      if (!(le > previousLe)) throw new Error(`${at}: buckets not in ascending le`);
      if (bucket.value < previous) throw new Error(`${at}: bucket le=${bucket.labels.le} is below the one before`);
      previousLe = le;
      previous = bucket.value;
    }
    const last = s.buckets.at(-1) as ParsedSample;
    if (last.labels.le !== "+Inf") throw new Error(`${at}: the last bucket is not +Inf`);
    if (last.value !== s.count) throw new Error(`${at}: the +Inf bucket (${last.value}) is not _count (${s.count})`);
  }
}
