/**
 * The Python runtime's argument check (packages/python-sdk/plugin/sdk/_validation.py) against the same cases as
 * entry-validator.ts: unknown names in linear time and capped, and no false refusals.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import path from "node:path";
import { test } from "node:test";
import { PYTHON, PYTHON_SKIP } from "./support/python.ts";

const sdk = path.resolve(import.meta.dirname, "../packages/python-sdk");

const script = `
import json, sys, time
sys.path.insert(0, ${JSON.stringify(sdk)})
from plugin.sdk._validation import compile_validator
from plugin.sdk.errors import ValidationError
out = {}
props = {"includeDone": {"type": "boolean"}, "createdAfter": {}, "limit": {}}
for label, schema in (("plain", {"type": "object", "properties": props}),
                      ("closed", {"type": "object", "properties": props, "additionalProperties": False})):
    check = compile_validator(schema, refuse_unknown=True)
    args = {f"createdAftx{i}": i for i in range(60000)}
    started = time.time()
    try:
        check(args)
        out[label] = None
    except ValidationError as error:
        out[label] = {"seconds": time.time() - started, "issues": error.details["issues"], "message": str(error)}
def passes(schema, args):
    try:
        compile_validator(schema, refuse_unknown=True)(args)
        return True
    except ValidationError:
        return False
out["passes"] = [
    passes({"type": "object", "properties": {"a": {}}, "required": ["b"]}, {"b": 1}),
    passes({"type": "object", "properties": {"a": {}}, "dependentRequired": {"a": ["b"]}}, {"a": 1, "b": 1}),
    passes({"$defs": {"x": {"properties": {"b": {}}}}, "$ref": "#/$defs/x", "properties": {"a": {}}}, {"a": 1, "b": 2}),
    passes({"properties": {"kind": {}}, "if": {"properties": {"kind": {"const": "x"}}}, "then": {"properties": {"x": {}}}}, {"kind": "x", "x": 1}),
    passes({"properties": {"a": {}}, "dependentSchemas": {"a": {"properties": {"b": {}}}}}, {"a": 1, "b": 2}),
    passes({"properties": {"a": {}}, "propertyNames": {"maxLength": 3}}, {"a": 1, "bb": 2}),
    passes({"allOf": [{"allOf": [{"properties": {"a": {}}}]}, {"properties": {"b": {}}}]}, {"a": 1, "b": 2}),
]
out["refuses"] = [
    passes({"allOf": [{"allOf": [{"properties": {"a": {}}}]}]}, {"a": 1, "zz": 2}),
    passes({"type": "object", "properties": {"a": {}}, "required": ["b"]}, {"b": 1, "c": 1}),
]
print(json.dumps(out))
`;

test("Python: unknown names capped and fast; required, $ref, if/then, dependentSchemas, propertyNames, nesting", {
  skip: PYTHON_SKIP,
}, () => {
  const ran = spawnSync(PYTHON as string, ["-c", script], { encoding: "utf8", timeout: 60_000 });
  assert.equal(ran.status, 0, ran.stderr);
  const out = JSON.parse(ran.stdout);
  for (const label of ["plain", "closed"]) {
    const result = out[label];
    assert.ok(result.seconds < 2, `${label}: ${result.seconds} s`);
    assert.equal(result.issues.length, 21, label);
    assert.deepEqual(result.issues[0], {
      field: "createdAftx0",
      message: "is not an allowed argument; did you mean 'createdAfter'?",
      suggestion: "createdAfter",
    });
    assert.deepEqual(result.issues[20], { field: "… and 59980 more", message: "are not allowed arguments either" });
    assert.equal((result.message.match(/createdAftx/g) ?? []).length, 20);
  }
  assert.deepEqual(out.passes, [true, true, true, true, true, true, true]);
  assert.deepEqual(out.refuses, [false, false]);
});
