/** The generated forms' values: hostile schemas made safe, starting values, field errors, own properties, ids. */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
  fieldErrorsOf,
  fieldId,
  getOwn,
  initialValue,
  MAX_FORM_DEPTH,
  newItemValue,
  safeSchema,
  setOwn,
} from "../src/app/schema-values.ts";

describe("schema values", () => {
  test("safeSchema drops keywords of the wrong type and what is not a schema", () => {
    assert.equal(safeSchema("nope"), null);
    assert.equal(safeSchema(null), null);
    assert.equal(safeSchema([1]), null);
    const safe = safeSchema({
      type: "object",
      required: "x",
      properties: { a: { enum: "abc", type: 3, minimum: "1", description: 5 }, b: null, c: { type: "string" } },
    });
    assert.deepEqual(JSON.parse(JSON.stringify(safe)), {
      type: "object",
      properties: { a: {}, c: { type: "string" } },
    });
  });

  test("safeSchema bounds nesting: deeper fields become JSON fields, however deep the plugin's schema", () => {
    let deep: Record<string, unknown> = { type: "string" };
    for (let i = 0; i < 5000; i++) deep = { type: "object", properties: { x: deep } };
    let node = safeSchema(deep);
    let depth = 0;
    while (node?.properties?.x) {
      node = node.properties.x;
      depth += 1;
    }
    assert.equal(depth, MAX_FORM_DEPTH);
    assert.equal(node?.type, undefined, "the deepest kept field has no type: it is edited as JSON");
  });

  test("safeSchema keeps a property named __proto__ as an own field", () => {
    const raw = JSON.parse('{"type":"object","properties":{"__proto__":{"type":"string","default":"p"}}}');
    const safe = safeSchema(raw);
    assert.ok(safe?.properties && Object.hasOwn(safe.properties, "__proto__"));
    const value = initialValue(safe) as Record<string, unknown>;
    assert.equal(getOwn(value, "__proto__"), "p");
    assert.equal(Object.getPrototypeOf(value), Object.prototype, "the prototype was not replaced");
    assert.equal(({} as Record<string, unknown>).p, undefined);
  });

  test("initialValue takes defaults, nested ones too, and leaves the rest unset", () => {
    const schema = safeSchema({
      type: "object",
      properties: {
        n: { type: "integer", default: 3 },
        s: { type: "string" },
        o: { type: "object", properties: { flag: { type: "boolean", default: true }, none: { type: "string" } } },
        empty: { type: "object", properties: { x: { type: "string" } } },
      },
    });
    assert.deepEqual(initialValue(schema), { n: 3, o: { flag: true } });
    assert.deepEqual(initialValue(null), {});
  });

  test("a new list item starts as something its control can show", () => {
    assert.equal(newItemValue({ type: "integer", minimum: 4 }), 4);
    assert.equal(newItemValue({ type: "number" }), 0);
    assert.equal(newItemValue({ type: "string" }), "");
    assert.equal(newItemValue({ type: "boolean" }), false);
    assert.deepEqual(newItemValue({ type: "object", properties: { a: { type: "string", default: "x" } } }), { a: "x" });
    assert.equal(newItemValue({ enum: ["b", "c"] }), "b");
  });

  test("fieldErrorsOf reads the server's issues by dot path, the first message per field", () => {
    const errors = fieldErrorsOf({
      issues: [
        { field: "address.city", message: "is required" },
        { field: "address.city", message: "second" },
        { path: ["tags", 0], message: "must be string" },
        { field: 3, message: "ignored" },
        "junk",
      ],
    });
    assert.deepEqual(
      [...errors],
      [
        ["address.city", "is required"],
        ["tags.0", "must be string"],
      ],
    );
    assert.equal(fieldErrorsOf(null).size, 0);
    assert.equal(fieldErrorsOf({ issues: "x" }).size, 0);
  });

  test("setOwn never reaches the prototype", () => {
    const record: Record<string, unknown> = {};
    setOwn(record, "__proto__", { polluted: true });
    assert.equal(Object.getPrototypeOf(record), Object.prototype);
    assert.deepEqual(getOwn(record, "__proto__"), { polluted: true });
    assert.equal(getOwn({}, "constructor"), undefined);
  });

  test("field ids differ for different fields and never meet the --hint and --error suffixes of another", () => {
    const fields = [
      ["a.b"],
      ["a", "b"],
      ["a_b"],
      ["a-b"],
      ["x"],
      ["x", "hint"],
      ["x-hint"],
      ["title"],
      [],
      ["ü"],
      ["a b"],
    ];
    const ids = fields.map((keys) => fieldId("entry-e", keys));
    assert.equal(new Set(ids).size, ids.length);
    const all = new Set(ids.flatMap((id) => [id, `${id}--hint`, `${id}--error`]));
    assert.equal(all.size, ids.length * 3);
    for (const id of ids) assert.match(id, /^entry-e-f-[A-Za-z0-9_]+(-[A-Za-z0-9_]+)*$/);
  });

  test("a boolean schema: true is a field edited as JSON, false no field; a default of the wrong type is left out", () => {
    const safe = safeSchema({
      type: "object",
      properties: {
        any: true,
        none: false,
        s: { type: "string", default: 5 },
        n: { type: "number", default: 2 },
        b: { type: "boolean", default: "yes" },
      },
    });
    assert.deepEqual(Object.keys(safe?.properties ?? {}), ["any", "s", "n", "b"]);
    assert.deepEqual(safe?.properties?.any, {});
    assert.deepEqual(initialValue(safe), { n: 2 });
  });
});
