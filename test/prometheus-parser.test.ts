/** The strict parser the /metrics tests rely on refuses what a scraper would refuse or misread. */
import assert from "node:assert/strict";
import { test } from "node:test";
import { parsePrometheusText } from "./support/prometheus-parser.ts";

const family = (lines: string[]) => `${lines.join("\n")}\n`;
const HISTOGRAM = ["# HELP h_seconds H.", "# TYPE h_seconds histogram"];

test("a good exposition reads back with its labels unescaped", () => {
  const m = parsePrometheusText(
    family([
      "# HELP c_total C.",
      "# TYPE c_total counter",
      'c_total{p="a\\"b\\\\c\\nd",e="x"} 3',
      ...HISTOGRAM,
      'h_seconds_bucket{le="0.1"} 1',
      'h_seconds_bucket{le="+Inf"} 2',
      "h_seconds_sum 0.3",
      "h_seconds_count 2",
    ]),
  );
  assert.equal(m.value("c_total", { p: 'a"b\\c\nd', e: "x" }), 3);
  assert.equal(m.value("h_seconds_count"), 2);
});

test("each fault is refused", () => {
  const bad: Array<[string, string[], RegExp]> = [
    ["no HELP/TYPE", ["x 1"], /no HELP and TYPE/],
    ["garbage", ["# HELP x X.", "# TYPE x gauge", "x one"], /not a number/],
    ["bad escape", ["# HELP x X.", "# TYPE x gauge", 'x{a="\\t"} 1'], /bad escape/],
    ["duplicate series", ["# HELP x X.", "# TYPE x gauge", 'x{a="1"} 1', 'x{a="1"} 2'], /twice/],
    ["counter name", ["# HELP x X.", "# TYPE x counter", "x 1"], /_total/],
    [
      "split family",
      ["# HELP x X.", "# TYPE x gauge", "x 1", "# HELP y Y.", "# TYPE y gauge", "y 1", 'x{a="b"} 1'],
      /not together/,
    ],
    [
      "not cumulative",
      [
        ...HISTOGRAM,
        'h_seconds_bucket{le="0.1"} 2',
        'h_seconds_bucket{le="+Inf"} 1',
        "h_seconds_sum 1",
        "h_seconds_count 1",
      ],
      /below/,
    ],
    ["no +Inf", [...HISTOGRAM, 'h_seconds_bucket{le="0.1"} 2', "h_seconds_sum 1", "h_seconds_count 2"], /\+Inf/],
    [
      "+Inf is not _count",
      [...HISTOGRAM, 'h_seconds_bucket{le="+Inf"} 2', "h_seconds_sum 1", "h_seconds_count 3"],
      /is not _count/,
    ],
  ];
  for (const [what, lines, error] of bad) assert.throws(() => parsePrometheusText(family(lines)), error, what);
  assert.throws(() => parsePrometheusText("# HELP x X.\n# TYPE x gauge\nx 1"), /line feed/);
});
