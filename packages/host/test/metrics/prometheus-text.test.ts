import assert from "node:assert/strict";
import { test } from "node:test";
import { escapeLabelValue, formatValue, renderPrometheusText } from "../../src/metrics/prometheus-text.ts";

test("each family is its HELP and TYPE lines, then its samples, and the text ends with a line feed", () => {
  const text = renderPrometheusText([
    { name: "a_total", type: "counter", help: "Things.", samples: [{ name: "a_total", value: 3, labels: { p: "x" } }] },
    { name: "b", type: "gauge", help: "None yet.", samples: [] },
    {
      name: "h",
      type: "histogram",
      help: "Durations.",
      samples: [
        { name: "h_bucket", labels: { le: "1" }, value: 1 },
        { name: "h_bucket", labels: { le: "+Inf" }, value: 2 },
        { name: "h_sum", value: 2.5 },
        { name: "h_count", value: 2 },
      ],
    },
  ]);
  assert.equal(
    text,
    [
      "# HELP a_total Things.",
      "# TYPE a_total counter",
      'a_total{p="x"} 3',
      "# HELP b None yet.",
      "# TYPE b gauge",
      "# HELP h Durations.",
      "# TYPE h histogram",
      'h_bucket{le="1"} 1',
      'h_bucket{le="+Inf"} 2',
      "h_sum 2.5",
      "h_count 2",
      "",
    ].join("\n"),
  );
  assert.equal(renderPrometheusText([]), "");
});

test("label values escape backslash, double quote and line feed; help texts backslash and line feed", () => {
  assert.equal(escapeLabelValue('a\\b"c\nd'), 'a\\\\b\\"c\\nd');
  const text = renderPrometheusText([
    {
      name: "g",
      type: "gauge",
      help: "two\nlines \\ here",
      samples: [{ name: "g", value: 1, labels: { id: 'x"}\n' } }],
    },
  ]);
  assert.equal(text, '# HELP g two\\nlines \\\\ here\n# TYPE g gauge\ng{id="x\\"}\\n"} 1\n');
});

test("values in Go's float syntax", () => {
  assert.deepEqual([1, 0.25, 1e21, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, Number.NaN].map(formatValue), [
    "1",
    "0.25",
    "1e+21",
    "+Inf",
    "-Inf",
    "NaN",
  ]);
});

test("a bad metric or label name, or a sample of another family, is a programming error", () => {
  assert.throws(() => renderPrometheusText([{ name: "1x", type: "gauge", help: "", samples: [] }]), /metric name/);
  assert.throws(
    () =>
      renderPrometheusText([
        { name: "g", type: "gauge", help: "", samples: [{ name: "g", value: 1, labels: { "a-b": "" } }] },
      ]),
    /label name/,
  );
  assert.throws(
    () => renderPrometheusText([{ name: "g", type: "gauge", help: "", samples: [{ name: "g_sum", value: 1 }] }]),
    /not of family/,
  );
});
