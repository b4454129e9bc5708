import assert from "node:assert/strict";
import { test } from "node:test";
import { z } from "zod";
import { closestName, compileArgsValidator } from "../src/entry-validator.ts";

test("a Zod schema whose refine throws, or is async, fails validation instead of throwing", () => {
  const throwing = compileArgsValidator({
    params: z.object({ n: z.number() }).refine(() => {
      throw new Error("refine blew up");
    }),
  });
  const r1 = throwing?.({ n: 1 });
  assert.equal(r1?.ok, false);
  assert.match(r1 && !r1.ok ? r1.error.message : "", /could not be validated: refine blew up/);
  const asyncRefine = compileArgsValidator({ params: z.object({ n: z.number() }).refine(async () => true) });
  const r2 = asyncRefine?.({ n: 1 });
  assert.equal(r2?.ok, false);
  assert.equal(r2 && !r2.ok ? r2.error.code : "", "VALIDATION_ERROR");
});

test("an asynchronous JSON Schema is refused when the entry is declared", () => {
  assert.throws(
    () => compileArgsValidator({ inputSchema: { $async: true, type: "object" } }),
    /asynchronous schemas \(\$async\) are not supported/,
  );
});

test("two entries may share a schema $id, and compiling the same schema again reuses it", () => {
  const schema = { $id: "urn:neko:args", type: "object", properties: { n: { type: "number" } } };
  const a = compileArgsValidator({ inputSchema: schema });
  const b = compileArgsValidator({ inputSchema: { ...schema } });
  const c = compileArgsValidator({ inputSchema: { ...schema, required: ["n"] } });
  assert.equal(a?.({ n: 1 }).ok, true);
  assert.equal(b?.({ n: "x" }).ok, false);
  assert.equal(c?.({}).ok, false);
});

test("an unknown argument is named itself, in JSON Schema and Zod alike", () => {
  const json = compileArgsValidator({
    inputSchema: { type: "object", properties: { a: { type: "string" } }, additionalProperties: false },
  });
  const zod = compileArgsValidator({ params: z.object({ a: z.string() }).strict() });
  for (const check of [json, zod]) {
    const result = check?.({ a: "x", include_done: true });
    assert.equal(result?.ok, false);
    const details = result?.ok === false ? (result.error.details as { issues: { field: string }[] }) : undefined;
    assert.equal(details?.issues[0]?.field, "include_done");
  }
});

test("optional properties named like Object.prototype's members are read from the arguments only", () => {
  const check = compileArgsValidator({
    inputSchema: {
      type: "object",
      properties: { toString: { type: "boolean" }, constructor: { type: "number" }, valueOf: { type: "string" } },
    },
  });
  assert.equal(check?.({ constructor: 3 }).ok, true);
  assert.equal(check?.({}).ok, true);
  assert.equal(check?.({ toString: "no" }).ok, false);
});

test("unknown argument names are refused with the closest known name, unless the schema or the entry allows them", () => {
  const props = { includeDone: { type: "boolean" }, limit: { type: "integer" } };
  const refuse = { unknownArgs: "refuse" } as const;
  const open = compileArgsValidator({ inputSchema: { type: "object", properties: props } }, refuse);
  const strict = compileArgsValidator(
    { inputSchema: { type: "object", properties: props, additionalProperties: false } },
    refuse,
  );
  const zod = compileArgsValidator(
    { params: z.object({ includeDone: z.boolean().optional(), limit: z.number().optional() }) },
    refuse,
  );
  for (const check of [open, strict, zod]) {
    const result = check?.({ include_done: true, limt: 3, zzz: 1 });
    assert.equal(result?.ok, false);
    if (result?.ok !== false) continue;
    assert.equal(
      result.error.message,
      "invalid arguments: include_done: is not an allowed argument; did you mean 'includeDone'?; " +
        "limt: is not an allowed argument; did you mean 'limit'?; zzz: is not an allowed argument",
    );
    assert.deepEqual((result.error.details as { issues: unknown[] }).issues, [
      {
        field: "include_done",
        message: "is not an allowed argument; did you mean 'includeDone'?",
        suggestion: "includeDone",
      },
      { field: "limt", message: "is not an allowed argument; did you mean 'limit'?", suggestion: "limit" },
      { field: "zzz", message: "is not an allowed argument" },
    ]);
    assert.equal(check?.({ includeDone: true }).ok, true);
  }
  // Other problems are reported beside the unknown names.
  const both = open?.({ includeDone: "yes", limitt: 1 });
  assert.equal(
    both?.ok === false ? both.error.message : "",
    "invalid arguments: limitt: is not an allowed argument; did you mean 'limit'?; includeDone: must be boolean",
  );
  // Let through: additionalProperties true or a schema, Zod's loose/passthrough/catchall, patternProperties, the
  // entry's own opt-out (unknownArgs "allow"), no properties declared, and the config-schema default.
  const allowing = [
    compileArgsValidator({ inputSchema: { type: "object", properties: props, additionalProperties: true } }, refuse),
    compileArgsValidator({ inputSchema: { type: "object", properties: props, additionalProperties: {} } }, refuse),
    compileArgsValidator({ params: z.object({ includeDone: z.boolean().optional() }).loose() }, refuse),
    compileArgsValidator({ params: z.object({ includeDone: z.boolean().optional() }).passthrough() }, refuse),
    compileArgsValidator(
      { inputSchema: { type: "object", properties: props, patternProperties: { "^x": {} } } },
      refuse,
    ),
    compileArgsValidator({ inputSchema: { type: "object", properties: props } }, { unknownArgs: "allow" }),
    compileArgsValidator({ inputSchema: { type: "object" } }, refuse),
    compileArgsValidator({ inputSchema: { type: "object", properties: props } }),
  ];
  for (const check of allowing) assert.equal(check?.({ include_done: true }).ok, true);
  // Names from allOf members count.
  const composed = compileArgsValidator(
    { inputSchema: { type: "object", allOf: [{ properties: { a: {} } }, { properties: { b: {} } }] } },
    refuse,
  );
  assert.equal(composed?.({ a: 1, b: 2 }).ok, true);
  assert.equal(composed?.({ c: 1 }).ok, false);
});

test("closestName: case, '_' and '-' set aside, then at most a third of the name's edits", () => {
  const names = ["includeDone", "limit", "query", "pageSize"];
  assert.equal(closestName("include_done", names), "includeDone");
  assert.equal(closestName("INCLUDE-DONE", names), "includeDone");
  assert.equal(closestName("limti", names), "limit", "a swap of two neighbours is one edit");
  assert.equal(closestName("page_sise", names), "pageSize");
  assert.equal(closestName("qurey", names), "query");
  assert.equal(closestName("colour", names), undefined);
  assert.equal(closestName("x", names), undefined);
  assert.equal(closestName("a".repeat(100_000), names), undefined, "a huge key is not compared");
});

test("thousands of unknown argument names: linear time, at most 20 named, one issue each", () => {
  const refuse = { unknownArgs: "refuse" } as const;
  const args: Record<string, number> = {};
  for (let i = 0; i < 60_000; i += 1) args[`createdAftx${i}`] = i;
  const props = { includeDone: { type: "boolean" }, createdAfter: {}, limit: {} };
  for (const schema of [
    { inputSchema: { type: "object", properties: props } },
    { inputSchema: { type: "object", properties: props, additionalProperties: false } },
    { params: z.object({ includeDone: z.boolean().optional(), createdAfter: z.string().optional() }).strict() },
  ]) {
    const check = compileArgsValidator(schema, refuse);
    const started = performance.now();
    const result = check?.(args);
    const took = performance.now() - started;
    // Linear work takes milliseconds; a quadratic walk over 60 000 names would take minutes. 10 s leaves room for a
    // loaded CI machine (1 s failed at load 20) without letting the quadratic one through.
    assert.ok(took < 10_000, `took ${Math.round(took)} ms`);
    assert.equal(result?.ok, false);
    if (result?.ok !== false) continue;
    const issues = (result.error.details as { issues: { field: string; suggestion?: string }[] }).issues;
    assert.equal(issues.length, 21, "20 named, then one line counting the rest");
    assert.equal(issues[0].field, "createdAftx0");
    assert.equal(issues[0].suggestion, "createdAfter");
    assert.equal(issues[20].field, "… and 59980 more");
    assert.equal((result.error.message.match(/createdAftx/g) ?? []).length, 20);
  }
  // The schema's own complaint about an unknown key is not reported twice, and other problems stay.
  const strict = compileArgsValidator(
    { inputSchema: { type: "object", properties: props, additionalProperties: false } },
    refuse,
  );
  const mixed = strict?.({ include_done: true, limit: "x", includeDone: "no" });
  assert.equal(mixed?.ok, false);
  if (mixed?.ok === false) {
    const fields = (mixed.error.details as { issues: { field: string }[] }).issues.map((i) => i.field);
    assert.deepEqual(fields, ["include_done", "includeDone"]);
  }
  // Without the refusal, a schema's additionalProperties complaints are capped too.
  const allowing = compileArgsValidator(
    { inputSchema: { type: "object", properties: props, additionalProperties: false } },
    { unknownArgs: "allow" },
  );
  const capped = allowing?.(args);
  assert.equal(capped?.ok, false);
  if (capped?.ok === false) {
    const issues = (capped.error.details as { issues: { field: string }[] }).issues;
    assert.equal(issues.length, 51);
    assert.equal(issues[50].field, "… and 59950 more");
  }
});

test("closestName: long names are not compared; the distance stops early", () => {
  assert.equal(closestName("n".repeat(65), ["n".repeat(65)]), undefined);
  assert.equal(closestName("n".repeat(64), [`${"n".repeat(63)}m`]), "n".repeat(63) + "m");
  const names = Array.from({ length: 200 }, (_, i) => `${"n".repeat(60)}${i}`);
  const started = performance.now();
  for (let i = 0; i < 200; i += 1) closestName(`${"m".repeat(60)}${i}`, names);
  // A guard against a pathological slowdown, not a speed test (1 s failed on a machine at load 20).
  const took = performance.now() - started;
  assert.ok(took < 10_000, `took ${Math.round(took)} ms`);
});

test("argumentNames: names the schema may let through are not refused; cannot-say schemas refuse none", () => {
  const refuse = { unknownArgs: "refuse" } as const;
  const A = z.object({ a: z.string() });
  const B = z.object({ b: z.string() });
  const C = z.object({ c: z.string() });
  const passes: [string, Parameters<typeof compileArgsValidator>[0], Record<string, unknown>][] = [
    ["zod 3-way intersection (nested allOf)", { params: A.and(B).and(C) }, { a: "1", b: "2", c: "3" }],
    ["zod union", { params: z.union([A, B]) }, { a: "1" }],
    [
      "zod discriminated union",
      {
        params: z.discriminatedUnion("k", [
          z.object({ k: z.literal("x"), x: z.number() }),
          z.object({ k: z.literal("y"), y: z.number() }),
        ]),
      },
      { k: "y", y: 1 },
    ],
    ["zod record", { params: z.record(z.string(), z.number()) }, { foo: 1 }],
    ["zod intersection with a record", { params: A.and(z.record(z.string(), z.unknown())) }, { a: "x", q: 1 }],
    ["zod union with a loose member", { params: z.union([A, B.loose()]) }, { b: "x", q: 1 }],
    [
      "allOf member with $ref",
      {
        inputSchema: {
          type: "object",
          $defs: { base: { type: "object", properties: { b: { type: "string" } } } },
          allOf: [{ $ref: "#/$defs/base" }],
          properties: { a: { type: "string" } },
        },
      },
      { a: "1", b: "2" },
    ],
    [
      "$ref beside properties",
      { inputSchema: { $defs: { base: { properties: { b: {} } } }, $ref: "#/$defs/base", properties: { a: {} } } },
      { a: 1, b: 2 },
    ],
    [
      "if / then / else",
      {
        inputSchema: {
          type: "object",
          properties: { kind: { type: "string" } },
          if: { properties: { kind: { const: "x" } } },
          // biome-ignore lint/suspicious/noThenProperty: the JSON Schema keyword
          then: { properties: { x: { type: "number" } } },
          else: { properties: { y: { type: "number" } } },
        },
      },
      { kind: "x", x: 1 },
    ],
    [
      "dependentSchemas",
      { inputSchema: { type: "object", properties: { a: {} }, dependentSchemas: { a: { properties: { b: {} } } } } },
      { a: 1, b: 2 },
    ],
    [
      "nested allOf",
      { inputSchema: { allOf: [{ allOf: [{ properties: { a: {} } }] }, { properties: { b: {} } }] } },
      { a: 1, b: 2 },
    ],
    [
      "anyOf member with additionalProperties true",
      { inputSchema: { properties: { a: {} }, anyOf: [{ properties: { b: {} }, additionalProperties: true }] } },
      { a: 1, zz: 2 },
    ],
    ["propertyNames", { inputSchema: { properties: { a: {} }, propertyNames: { maxLength: 3 } } }, { a: 1, bb: 2 }],
    ["a name only in required", { inputSchema: { type: "object", properties: { a: {} }, required: ["b"] } }, { b: 1 }],
    [
      "a name only in dependentRequired",
      { inputSchema: { type: "object", properties: { a: {} }, dependentRequired: { a: ["b"] } } },
      { a: 1, b: 1 },
    ],
    [
      "an anyOf member that is true",
      { inputSchema: { properties: { a: {} }, anyOf: [true, { required: ["a"] }] } },
      { zz: 1 },
    ],
  ];
  for (const [label, schema, args] of passes) {
    const result = compileArgsValidator(schema, refuse)?.(args);
    assert.equal(result?.ok, true, `${label}: ${result?.ok === false ? result.error.message : ""}`);
  }
  // Still refused: a plain object, names from nested members known but others not.
  const refused: [string, Parameters<typeof compileArgsValidator>[0], Record<string, unknown>][] = [
    ["zod strict", { params: A.strict() }, { a: "x", foo: 1 }],
    ["zod 3-way intersection", { params: A.and(B).and(C) }, { a: "1", b: "2", c: "3", d: 4 }],
    ["nested allOf", { inputSchema: { allOf: [{ allOf: [{ properties: { a: {} } }] }] } }, { a: 1, zz: 2 }],
    ["required", { inputSchema: { type: "object", properties: { a: {} }, required: ["b"] } }, { b: 1, c: 1 }],
  ];
  for (const [label, schema, args] of refused) {
    const result = compileArgsValidator(schema, refuse)?.(args);
    assert.equal(result?.ok, false, label);
  }
});
