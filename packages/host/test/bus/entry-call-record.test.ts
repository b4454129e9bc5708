import assert from "node:assert/strict";
import { test } from "node:test";
import { payloadBytes } from "@neko/protocol";
import { entryCallRecord, MAX_ERROR_CODE_LENGTH } from "../../src/bus/entry-call-record.ts";
import type { FinishedCall } from "../../src/supervisor/plugin-supervisor.ts";

function call(over: Partial<FinishedCall>): FinishedCall {
  return {
    pluginId: "p",
    entryId: "echo",
    runId: undefined,
    result: { ok: true, value: 1 },
    durationMs: 1.23456,
    ...over,
  };
}

test("entryCallRecord counts its data's size by hand exactly as payloadBytes does", () => {
  const cases: FinishedCall[] = [
    call({}),
    call({ runId: "7b58e83c-a166-488b-8873-48d6921c483d" }),
    call({
      entryId: "ünïcödé_日本",
      result: { ok: false, error: { name: "TimeoutError", code: "TIMEOUT", message: "late" } },
    }),
    call({ result: { ok: false, error: { name: "E", code: "X".repeat(500), message: "" } }, durationMs: 0 }),
  ];
  for (const c of cases) {
    const { data, dataBytes } = entryCallRecord(c);
    assert.equal(dataBytes, payloadBytes(data), JSON.stringify(data));
  }
});

test("entryCallRecord: the record's fields as the bus shows them", () => {
  assert.deepEqual(entryCallRecord(call({ runId: "r1" })).data, {
    entryId: "echo",
    ok: true,
    errorCode: null,
    durationMs: 1.235,
    runId: "r1",
  });
  const long = entryCallRecord(
    call({ result: { ok: false, error: { name: "E", code: "E".repeat(500), message: "m" } } }),
  );
  assert.equal(long.data.errorCode, "E".repeat(MAX_ERROR_CODE_LENGTH));
  assert.equal(long.data.ok, false);
});
