import assert from "node:assert/strict";
import { test } from "node:test";
import { z } from "zod";
import { compileArgsValidator } from "../src/entry-validator.ts";

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
