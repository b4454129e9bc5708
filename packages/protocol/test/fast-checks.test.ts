/**
 * The hand-written `fast` checks of hot methods against their schemas: whatever a fast check accepts, the schema
 * accepts too and gives the same params; what the schema refuses, the fast check leaves to it. Fed with hand-picked
 * edge cases and with params made at random from the same pieces.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import {
  hostToPluginControls,
  hostToPluginPushes,
  type MethodMap,
  MAX_VALUE_DEPTH,
  nestsDeeperThan,
  pluginToHostNotifications,
  pluginToHostRequests,
} from "../src/index.ts";

function nested(depth: number): unknown {
  let value: unknown = 1;
  for (let i = 0; i < depth; i++) value = [value];
  return value;
}

/** Values a field might hold, good and bad. */
const PIECES: unknown[] = [
  undefined,
  null,
  0,
  1,
  5,
  10,
  11,
  -1,
  2.5,
  Number.NaN,
  Number.POSITIVE_INFINITY,
  "",
  "*",
  "a.b",
  "x".repeat(256),
  "x".repeat(257),
  true,
  [],
  [{ type: "t" }],
  [{ type: 1 }],
  [null],
  [{ watchId: "w" }],
  [{ watchId: 2 }],
  "echo",
  "Bad Id",
  "x".repeat(128),
  "x".repeat(129),
  ["caller"],
  ["caller", "Bad Id"],
  {},
  { a: 1 },
  new Uint8Array(3),
  nested(MAX_VALUE_DEPTH - 1),
  nested(MAX_VALUE_DEPTH + 1),
];

const FIELDS = [
  "type",
  "payload",
  "priority",
  "batch",
  "events",
  "deltas",
  "extra",
  "pluginId",
  "entryId",
  "args",
  "chain",
  "timeoutMs",
  "progressId",
];

function sample(random: () => number): unknown {
  const pick = <T>(items: readonly T[]) => items[Math.floor(random() * items.length)];
  if (random() < 0.1) return pick(PIECES);
  const params: Record<string, unknown> = {};
  for (const field of FIELDS) if (random() < 0.6) params[field] = pick(PIECES);
  return params;
}

/** A small seeded generator, so a failure can be run again. */
function mulberry32(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const MAPS: Record<string, MethodMap> = {
  pluginToHostRequests,
  pluginToHostNotifications,
  hostToPluginControls,
  hostToPluginPushes,
};
const fastMethods = Object.entries(MAPS).flatMap(([mapName, map]) =>
  Object.entries(map)
    .filter(([, spec]) => spec.fast)
    .map(([method, spec]) => ({ name: `${mapName} '${method}'`, spec })),
);

test("the hot methods have fast checks", () => {
  assert.deepEqual(
    fastMethods.map((m) => m.name),
    [
      "pluginToHostRequests 'plugins.call'",
      "pluginToHostNotifications 'bus.emit'",
      "pluginToHostNotifications 'bus.ack'",
      "hostToPluginPushes 'bus.deliver'",
    ],
  );
});

for (const { name, spec } of fastMethods) {
  test(`${name}: the fast check accepts only what the schema accepts, and gives the same params`, () => {
    const random = mulberry32(7);
    const cases: unknown[] = [...PIECES, ...Array.from({ length: 5000 }, () => sample(random))];
    // What each method takes when it is well formed, with and without its optional fields.
    cases.push(
      { type: "a.b" },
      { type: "a.b", payload: { n: 1 }, priority: 0 },
      { type: "a.b", payload: nested(MAX_VALUE_DEPTH), priority: 10 },
      { batch: 3 },
      { batch: 3, events: [{ type: "t", payload: null }], deltas: [{ watchId: "w" }] },
      { batch: 3, events: [], deltas: [] },
      { pluginId: "echo", entryId: "echo" },
      { pluginId: "echo", entryId: "echo", args: { a: 1 }, chain: ["caller"], timeoutMs: 5, progressId: "p" },
      { pluginId: "echo", entryId: "e", args: {}, chain: ["caller"], extra: 1 },
    );
    let accepted = 0;
    for (const params of cases) {
      const fast = spec.fast?.(params);
      const parsed = spec.params.safeParse(params);
      if (fast === undefined) continue;
      accepted += 1;
      assert.ok(parsed.success, `fast accepted what the schema refuses: ${JSON.stringify(params)?.slice(0, 200)}`);
      assert.deepEqual(fast, parsed.data);
    }
    // The fast path is taken for the well-formed params, not only left to the schema.
    assert.ok(accepted >= 2, `the fast check accepted ${accepted} params`);
  });
}

test("nestsDeeperThan counts arrays and objects, not what they hold", () => {
  assert.equal(nestsDeeperThan("text"), false);
  assert.equal(nestsDeeperThan(null), false);
  assert.equal(nestsDeeperThan(nested(MAX_VALUE_DEPTH)), false);
  assert.equal(nestsDeeperThan(nested(MAX_VALUE_DEPTH + 1)), true);
  assert.equal(nestsDeeperThan({ a: { b: { c: 1 } } }, 2), true);
  assert.equal(nestsDeeperThan({ a: { b: 1 } }, 2), false);
  assert.equal(nestsDeeperThan({ a: new Uint8Array(4) }, 1), false);
  assert.equal(nestsDeeperThan([[], { x: [] }], 2), true);
});
