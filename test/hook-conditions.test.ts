/**
 * Hook conditions in both SDKs (docs/hooks.md#conditions): one table, test/fixtures/hook-conditions.json, of
 * conditions with their arguments and the expected result or the exact error message, checked against the TypeScript
 * SDK's compileHookCondition and the Python SDK's compile_condition (packages/python-sdk/plugin/sdk/_condition.py, a
 * port of hook-condition.ts). A row is `{ condition, args, entryId?, result }` or `{ condition, error }`; `entryId`
 * defaults to "save"; `note` says what a row is about.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { test } from "node:test";
import { compileHookCondition } from "../packages/sdk/src/hook-condition.ts";
import { PYTHON, PYTHON_SKIP } from "./support/python.ts";

interface Row {
  condition: string;
  args?: unknown;
  entryId?: string;
  result?: boolean;
  error?: string;
  note?: string;
}
type Outcome = { result: boolean } | { error: string };

const table = path.resolve(import.meta.dirname, "fixtures/hook-conditions.json");
const rows: Row[] = JSON.parse(fs.readFileSync(table, "utf8"));
const sdk = path.resolve(import.meta.dirname, "../packages/python-sdk");

const expected = (row: Row): Outcome => (row.error !== undefined ? { error: row.error } : { result: row.result! });

function mismatches(outcomes: Outcome[]): string[] {
  return rows.flatMap((row, i) => {
    const got = JSON.stringify(outcomes[i]);
    const want = JSON.stringify(expected(row));
    return got === want ? [] : [`row ${i} ${JSON.stringify(row.condition)}: expected ${want}, got ${got}`];
  });
}

test("the table is sound: every row has a result or an error, and both kinds are there", () => {
  assert.ok(rows.length >= 150, `${rows.length} rows`);
  for (const row of rows) {
    assert.equal(typeof row.condition, "string");
    assert.ok((row.error === undefined) !== (row.result === undefined), JSON.stringify(row));
  }
  assert.ok(rows.some((row) => row.result === true));
  assert.ok(rows.some((row) => row.result === false));
  assert.ok(rows.some((row) => row.error !== undefined));
});

test("TypeScript: compileHookCondition gives every row's result or error", () => {
  const outcomes = rows.map((row): Outcome => {
    try {
      return {
        result: compileHookCondition(row.condition).evaluate({ args: row.args, entryId: row.entryId ?? "save" }),
      };
    } catch (error) {
      return { error: (error as Error).message };
    }
  });
  assert.deepEqual(mismatches(outcomes), []);
});

// One Python process over the whole table; it prints one outcome per row, as JSON in ASCII.
const script = `
import json, sys
sys.path.insert(0, ${JSON.stringify(sdk)})
from plugin.sdk._condition import HookConditionError, compile_condition
out = []
for row in json.load(open(${JSON.stringify(table)}, encoding="utf-8")):
    try:
        result = compile_condition(row["condition"])(row.get("args"), row.get("entryId", "save"))
        assert result is True or result is False, repr(result)
        out.append({"result": result})
    except HookConditionError as error:
        out.append({"error": str(error)})
print(json.dumps(out))
`;

test("Python: compile_condition gives every row's result or error", { skip: PYTHON_SKIP }, () => {
  const ran = spawnSync(PYTHON as string, ["-B", "-c", script], { encoding: "utf8", timeout: 60_000 });
  assert.equal(ran.status, 0, ran.stderr);
  const outcomes: Outcome[] = JSON.parse(ran.stdout);
  assert.equal(outcomes.length, rows.length);
  assert.deepEqual(mismatches(outcomes), []);
});

// Python ints past a float's range (a before hook may hand on 10**400) are ±Infinity, as JavaScript's Number() makes
// them; JSON cannot carry them, so the table cannot either. Each pair: the condition and JavaScript's result for
// args { n: 10**400, m: 10**401, neg: -10**400, big: 2**53 + 1, d: { Infinity: 1 } }.
const huge = `
import json, sys
sys.path.insert(0, ${JSON.stringify(sdk)})
from plugin.sdk._condition import compile_condition
args = {"n": 10**400, "m": 10**401, "neg": -10**400, "big": 2**53 + 1, "d": {"Infinity": 1}, "list": [10**400]}
out = []
for condition in json.loads(sys.argv[1]):
    try:
        out.append(compile_condition(condition)(args, "save"))
    except Exception as error:
        out.append(f"{type(error).__name__}: {error}")
print(json.dumps(out))
`;

test("Python: ints past a float's range are ±Infinity, as in JavaScript, never OverflowError", {
  skip: PYTHON_SKIP,
}, () => {
  const cases: Array<[string, boolean]> = [
    ["args.n", true],
    ["!args.n", false],
    ["args.n && true", true],
    ["args.n > 1e308", true],
    ["args.n == args.m", true],
    ["args.neg < -1e308", true],
    ["-args.n < 0", true],
    ["args.neg == -args.m", true],
    ["args.n in args.d", true],
    ["args.n in args.list", true],
    ["args.big == 9007199254740992", true],
    ["args.n == 1", false],
  ];
  const ran = spawnSync(PYTHON as string, ["-B", "-c", huge, JSON.stringify(cases.map(([c]) => c))], {
    encoding: "utf8",
    timeout: 30_000,
  });
  assert.equal(ran.status, 0, ran.stderr);
  assert.deepEqual(
    JSON.parse(ran.stdout),
    cases.map(([, result]) => result),
  );
});
