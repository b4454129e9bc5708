/** The hook pipeline over in-memory seams: hook records, a stub entry and a stub validator. */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { WireResult } from "@neko/protocol";
import type { EntryContext } from "../../src/entry-context.ts";
import { ValidationError } from "../../src/errors.ts";
import { compileHookCondition } from "../../src/hook-condition.ts";
import type { HookTiming } from "../../src/plugin-metadata.ts";
import { Err, Ok } from "../../src/result.ts";
import { type HookHandler, HookPipeline, type HookRecord } from "../../src/runtime/hook-pipeline.ts";

const entryCtx: EntryContext = {
  signal: new AbortController().signal,
  entryId: "save",
  callId: "c1",
  deadline: Date.now() + 60_000,
};

function record(
  timing: HookTiming,
  id: string,
  handler: HookHandler,
  extra: Partial<Omit<HookRecord, "handler">> & { when?: string } = {},
): HookRecord {
  const { when, ...rest } = extra;
  return {
    id,
    source: "plugin",
    timing,
    target: "*",
    priority: 0,
    condition: when === undefined ? undefined : compileHookCondition(when),
    handler,
    ...rest,
  };
}

/** Runs `save` through the pipeline; the entry echoes its args and records that it ran. */
async function run(pipeline: HookPipeline, args: Record<string, unknown> = {}, options: { entryId?: string } = {}) {
  const calls: Array<Record<string, unknown>> = [];
  const result = await pipeline.run({
    entryId: options.entryId ?? "save",
    args,
    entry: entryCtx,
    invoke: async (a) => {
      calls.push(a);
      return { ok: true, value: { echoed: a } };
    },
    validate: (a) => {
      const value = a as Record<string, unknown>;
      if ("n" in value && typeof value.n !== "number") {
        return Err(new ValidationError("invalid arguments: n: must be number"));
      }
      return Ok({ validated: true, ...value });
    },
  });
  return { result, calls };
}

function errorOf(result: WireResult) {
  assert.equal(result.ok, false, `expected an Err, got ${JSON.stringify(result)}`);
  return (result as Extract<WireResult, { ok: false }>).error;
}

describe("hook pipeline", () => {
  test("without hooks the entry runs with the args as they are", async () => {
    const { result, calls } = await run(new HookPipeline(), { a: 1 });
    assert.deepEqual(result, { ok: true, value: { echoed: { a: 1 } } });
    assert.equal(calls.length, 1);
  });

  test("order: lowest replace stands in; before, around (outermost first), after — each by priority", async () => {
    const order: string[] = [];
    const pipeline = new HookPipeline();
    const mark = (name: string, value?: unknown) => () => {
      order.push(name);
      return value;
    };
    const around =
      (name: string): HookHandler =>
      async ({ proceed }) => {
        order.push(`${name}:in`);
        const inner = await proceed();
        order.push(`${name}:out`);
        return inner;
      };
    pipeline.add([
      record("after", "after2", mark("after2"), { priority: 2 }),
      record("before", "before5", mark("before5"), { priority: 5 }),
      record("around", "around10", around("around10"), { priority: 10 }),
      record("replace", "replace3", mark("replace3", "from replace3"), { priority: 3 }),
      record("before", "beforeMinus", mark("before-1"), { priority: -1 }),
      record("around", "around0", around("around0"), { priority: 0 }),
      record("replace", "replace1", mark("replace1", "from replace1"), { priority: 1 }),
      record("after", "after1", mark("after1"), { priority: 1 }),
      record("before", "beforeTie", mark("before5-second"), { priority: 5 }),
    ]);
    const { result, calls } = await run(pipeline);
    assert.deepEqual(order, [
      "before-1",
      "before5",
      "before5-second",
      "around0:in",
      "around10:in",
      "replace1",
      "around10:out",
      "around0:out",
      "after1",
      "after2",
    ]);
    assert.deepEqual(result, { ok: true, value: "from replace1" });
    assert.equal(calls.length, 0, "the entry itself did not run");
  });

  test("before: nothing continues, a new args object replaces the args (re-validated), an Err aborts", async () => {
    const pipeline = new HookPipeline();
    const seen: unknown[] = [];
    pipeline.add([
      record("before", "noop", () => undefined),
      record("before", "rewrite", ({ args }) => ({ ...args, added: 1 }), { priority: 1 }),
      record("before", "look", ({ args }) => void seen.push(args), { priority: 2 }),
    ]);
    const { calls } = await run(pipeline, { a: 1 });
    assert.deepEqual(calls, [{ validated: true, a: 1, added: 1 }], "the rewritten args went through the validator");
    assert.deepEqual(seen, [{ validated: true, a: 1, added: 1 }], "later hooks see the rewritten args");

    const okWrapped = new HookPipeline();
    okWrapped.add([record("before", "asOk", () => Ok({ b: 2 }))]);
    assert.deepEqual((await run(okWrapped, { a: 1 })).calls, [{ validated: true, b: 2 }]);

    const invalid = new HookPipeline();
    invalid.add([record("before", "breaks", () => ({ n: "nope" }))]);
    const bad = await run(invalid, {});
    assert.equal(errorOf(bad.result).code, "VALIDATION_ERROR");
    assert.match(errorOf(bad.result).message, /before hook 'breaks' returned invalid arguments: n: must be number/);
    assert.equal(bad.calls.length, 0);

    const aborting = new HookPipeline();
    const afterRan: string[] = [];
    aborting.add([
      record("before", "guard", () => Err("no entry today")),
      record("before", "later", () => void afterRan.push("later before"), { priority: 1 }),
      record("after", "after", () => void afterRan.push("after")),
    ]);
    const stopped = await run(aborting);
    assert.equal(errorOf(stopped.result).message, "no entry today");
    assert.equal(stopped.calls.length, 0, "the entry did not run");
    assert.deepEqual(afterRan, [], "nothing after the aborting hook ran");
  });

  test("after: nothing keeps the result, a value or a Result replaces it, and Errs are seen too", async () => {
    const keep = new HookPipeline();
    keep.add([record("after", "keep", () => undefined)]);
    assert.deepEqual((await run(keep, { a: 1 })).result, { ok: true, value: { echoed: { a: 1 } } });

    const replace = new HookPipeline();
    replace.add([
      record("after", "wrap", ({ result }) => ({ wrapped: result.value })),
      record("after", "count", ({ result }) => Ok({ ...result.value, counted: true }), { priority: 1 }),
    ]);
    assert.deepEqual((await run(replace, { a: 1 })).result, {
      ok: true,
      value: { wrapped: { echoed: { a: 1 } }, counted: true },
    });

    const toErr = new HookPipeline();
    toErr.add([record("after", "deny", () => Err("hidden"))]);
    assert.equal(errorOf((await run(toErr)).result).message, "hidden");

    const recover = new HookPipeline();
    const seen: unknown[] = [];
    recover.add([
      record("before", "fail", () => undefined),
      record("replace", "failing", () => Err("entry failed")),
      record("after", "recover", ({ result }) => {
        seen.push(result.ok ? "ok" : result.error.message);
        return Ok("recovered");
      }),
    ]);
    assert.deepEqual((await run(recover)).result, { ok: true, value: "recovered" });
    assert.deepEqual(seen, ["entry failed"], "an after hook receives the Err as an SDK Result");
  });

  test("around: proceed(args) changes the args, skipping proceed skips the entry, returning nothing keeps it", async () => {
    const change = new HookPipeline();
    change.add([record("around", "change", ({ args, proceed }) => proceed({ ...args, extra: true }))]);
    assert.deepEqual((await run(change, { a: 1 })).calls, [{ validated: true, a: 1, extra: true }]);

    const shortCircuit = new HookPipeline();
    shortCircuit.add([record("around", "cache", () => Ok({ cached: true }))]);
    const cached = await run(shortCircuit);
    assert.deepEqual(cached.result, { ok: true, value: { cached: true } });
    assert.equal(cached.calls.length, 0);

    const forgetful = new HookPipeline();
    forgetful.add([
      record("around", "time", async ({ proceed }) => {
        await proceed();
      }),
    ]);
    assert.deepEqual((await run(forgetful, { a: 2 })).result, { ok: true, value: { echoed: { a: 2 } } });

    const badArgs = new HookPipeline();
    badArgs.add([record("around", "bad", ({ proceed }) => proceed({ n: "x" }))]);
    const bad = await run(badArgs);
    assert.match(errorOf(bad.result).message, /around hook 'bad' passed proceed\(\) invalid arguments/);
    assert.equal(bad.calls.length, 0);

    const retry = new HookPipeline();
    retry.add([
      record("around", "retry", async ({ proceed }) => {
        const first = await proceed();
        return first.ok ? proceed({ second: true }) : first;
      }),
    ]);
    assert.equal((await run(retry)).calls.length, 2, "proceed can run the rest twice");
  });

  test("replace: the lowest priority whose condition holds stands in for the entry", async () => {
    const pipeline = new HookPipeline();
    pipeline.add([
      record("replace", "fastOnly", () => "fast path", { priority: 0, when: "args.mode == 'fast'" }),
      record("replace", "fallback", ({ args }) => ({ replaced: args }), { priority: 5 }),
    ]);
    assert.deepEqual((await run(pipeline, { mode: "fast" })).result, { ok: true, value: "fast path" });
    assert.deepEqual((await run(pipeline, { mode: "slow" })).result, {
      ok: true,
      value: { replaced: { mode: "slow" } },
    });
  });

  test("a condition that does not hold skips the hook; targets pick the entries", async () => {
    const order: string[] = [];
    const pipeline = new HookPipeline();
    pipeline.add([
      record("before", "fast", () => void order.push("fast"), { when: "args.mode == 'fast'" }),
      record("before", "notLoad", () => void order.push("notLoad"), { when: "entryId != 'load'" }),
      record("before", "loadOnly", () => void order.push("loadOnly"), { target: "load" }),
    ]);
    await run(pipeline, { mode: "slow" });
    assert.deepEqual(order, ["notLoad"]);
    order.length = 0;
    await run(pipeline, { mode: "fast" }, { entryId: "load" });
    assert.deepEqual(order, ["fast", "loadOnly"]);
  });

  test("a hook that throws or returns something it may not gives HOOK_FAILED, never a rejection", async () => {
    for (const timing of ["before", "after", "around", "replace"] as const) {
      const pipeline = new HookPipeline();
      pipeline.add([
        record(timing, `${timing}Boom`, () => {
          throw new Error(`${timing} went wrong`);
        }),
      ]);
      const error = errorOf((await run(pipeline)).result);
      assert.equal(error.code, "HOOK_FAILED");
      assert.equal(error.message, `${timing} hook '${timing}Boom' threw: ${timing} went wrong`);
    }
    const wrongReturn = new HookPipeline();
    wrongReturn.add([record("before", "number", () => 42)]);
    const wrong = await run(wrongReturn);
    assert.match(
      errorOf(wrong.result).message,
      /before hook 'number' must return nothing, a new args object or an Err/,
    );
    assert.equal(wrong.calls.length, 0);
  });

  test("hooks from several sources share one chain and can be removed by source", async () => {
    const order: string[] = [];
    const pipeline = new HookPipeline();
    pipeline.add([record("before", "own", () => void order.push("plugin"), { priority: 1 })]);
    const remove = pipeline.add([
      record("before", "ext", () => void order.push("extension"), { priority: 0, source: "extension:audit" }),
      record(
        "after",
        "extFail",
        () => {
          throw new Error("audit down");
        },
        { source: "extension:audit" },
      ),
    ]);
    const failed = await run(pipeline);
    assert.deepEqual(order, ["extension", "plugin"]);
    assert.match(errorOf(failed.result).message, /after hook 'extFail' \(from extension:audit\) threw: audit down/);
    assert.deepEqual(
      pipeline.list().map((h) => `${h.source}/${h.id}`),
      ["plugin/own", "extension:audit/ext", "extension:audit/extFail"],
    );
    remove();
    order.length = 0;
    assert.equal((await run(pipeline)).result.ok, true);
    assert.deepEqual(order, ["plugin"]);
    assert.deepEqual(
      pipeline.list().map((h) => h.id),
      ["own"],
    );
  });

  test("first: added hooks go ahead of equal priorities; every real change is announced", async () => {
    const pipeline = new HookPipeline();
    const order: string[] = [];
    let changes = 0;
    pipeline.onChange(() => changes++);
    const removeRouter = pipeline.add([record("before", "router", () => void order.push("router"))]);
    pipeline.add([record("before", "own", () => void order.push("own"))], { first: true });
    pipeline.add([]);
    await run(pipeline);
    assert.deepEqual(order, ["own", "router"]);
    assert.equal(changes, 2, "adding nothing announces nothing");
    removeRouter();
    assert.equal(changes, 3);
    assert.deepEqual(
      pipeline.list().map((h) => h.id),
      ["own"],
    );
  });

  test("at equal priority: the plugin's hooks in registration order, then extensions' by id, whenever they came", async () => {
    const pipeline = new HookPipeline();
    const seen: string[] = [];
    const mark = (name: string) => () => {
      seen.push(name);
    };
    const fromB = pipeline.add([record("before", "b", mark("ext-b"), { source: "extension:ext_b" })]);
    pipeline.add([record("before", "a", mark("ext-a"), { source: "extension:ext_a" })]);
    pipeline.add([record("before", "router", mark("router"), { source: "router:R" })]);
    pipeline.add([record("before", "own", mark("plugin"))], { first: true });
    pipeline.add([record("before", "early", mark("ext-b-early"), { source: "extension:ext_b", priority: -1 })]);
    await run(pipeline);
    assert.deepEqual(seen, ["ext-b-early", "plugin", "router", "ext-a", "ext-b"]);
    // ext_b taken out and back: still after ext_a.
    fromB();
    pipeline.add([record("before", "b", mark("ext-b"), { source: "extension:ext_b" })]);
    seen.length = 0;
    await run(pipeline);
    assert.deepEqual(seen, ["ext-b-early", "plugin", "router", "ext-a", "ext-b"]);
  });
});
