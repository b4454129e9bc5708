/**
 * Bus record lists in both SDKs (docs/bus.md#watches): one table, test/fixtures/bus-list-steps.json, of records and
 * queries (`where`, `whereIn`, `sort`, `limit` steps) with the ids they keep, checked against the TypeScript SDK's
 * BusRecordList and the Python SDK's (packages/python-sdk/plugin/sdk/_bus_watch.py), which ports its comparisons.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { test } from "node:test";
import type { BusRecord } from "@neko/protocol";
import { BusRecordList } from "../packages/sdk/src/bus/bus-record-list.ts";
import { PYTHON, PYTHON_SKIP } from "./support/python.ts";

type Step =
  | { where: Record<string, unknown> }
  | { whereIn: [string, unknown[]] }
  | { sort: string; desc?: boolean }
  | { limit: number };
interface Table {
  records: BusRecord[];
  queries: Array<{ steps: Step[]; ids: number[]; note?: string }>;
}

const table = path.resolve(import.meta.dirname, "fixtures/bus-list-steps.json");
const { records, queries }: Table = JSON.parse(fs.readFileSync(table, "utf8"));
const sdk = path.resolve(import.meta.dirname, "../packages/python-sdk");

test("the table is sound: -0 survives the JSON, and every query names its ids", () => {
  assert.ok(Object.is((records[1].data as { n: number }).n, -0));
  assert.ok(queries.length >= 25);
});

test("TypeScript: BusRecordList keeps every query's ids", () => {
  const got = queries.map(({ steps }) => {
    let list = new BusRecordList({ namespace: "events", filters: {}, revision: 0, base: records });
    for (const step of steps) {
      if ("where" in step) list = list.where(step.where);
      else if ("whereIn" in step) list = list.whereIn(...step.whereIn);
      else if ("sort" in step) list = list.sort(step.sort, { desc: step.desc });
      else list = list.limit(step.limit);
    }
    return list.toArray().map((r) => r.id);
  });
  assert.deepEqual(
    got,
    queries.map((q) => q.ids),
  );
});

const script = `
import json, sys
sys.path.insert(0, ${JSON.stringify(sdk)})
from plugin.sdk._bus_watch import BusRecordList
table = json.load(open(${JSON.stringify(table)}, encoding="utf-8"))
out = []
for query in table["queries"]:
    listed = BusRecordList({"namespace": "events", "filters": {}, "revision": 0, "base": table["records"]})
    for step in query["steps"]:
        if "where" in step:
            listed = listed.where(step["where"])
        elif "whereIn" in step:
            listed = listed.where_in(*step["whereIn"])
        elif "sort" in step:
            listed = listed.sort(step["sort"], desc=step.get("desc", False))
        else:
            listed = listed.limit(step["limit"])
    out.append([r["id"] for r in listed])
nan = BusRecordList({"namespace": "events", "filters": {}, "revision": 0,
                     "base": [{"id": 1, "n": float("nan")}, {"id": 2, "n": 1}, {"id": 3, "n": 10**400}]})
out.append([r["id"] for r in nan.where(n=float("nan"))])
out.append([r["id"] for r in nan.where(n=float("inf"))])
out.append([r["id"] for r in nan.sort("n", desc=True)])
print(json.dumps(out))
`;

test("Python: BusRecordList keeps every query's ids; NaN is NaN and a huge int is Infinity, as in JavaScript", {
  skip: PYTHON_SKIP,
}, () => {
  const ran = spawnSync(PYTHON as string, ["-B", "-c", script], { encoding: "utf8", timeout: 30_000 });
  assert.equal(ran.status, 0, ran.stderr);
  const got: number[][] = JSON.parse(ran.stdout);
  const extra = got.splice(queries.length);
  const wrong = queries.flatMap((q, i) =>
    JSON.stringify(got[i]) === JSON.stringify(q.ids) ? [] : [`${JSON.stringify(q.steps)}: ${got[i]} ≠ ${q.ids}`],
  );
  assert.deepEqual(wrong, []);
  // NaN equals NaN (Object.is) and compares equal to every number in a sort; 10**400 is Infinity.
  assert.deepEqual(extra, [[1], [3], [1, 3, 2]]);
});
