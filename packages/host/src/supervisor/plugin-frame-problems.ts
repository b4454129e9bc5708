/**
 * What can be wrong with what a plugin process says about itself: the descriptor lists of its `hello` (entries,
 * events, hooks, timers, message handlers), an `entries_changed` list, a result, and the stats of a `pong`. The host relies on these shapes
 * (looking entries up, arming deadlines, listing them in `/plugins`), so each is checked before it is used; each
 * check answers a sentence naming the first problem, or undefined.
 */

import { descriptorJsonProblem, extensionStatusProblem, MAX_EXTENSION_STATUSES } from "@neko/protocol";

/** The longest timeout a plugin may declare (24 days): Node's timers cannot wait much longer (2^31-1 ms). */
export const MAX_DESCRIPTOR_TIMEOUT_SECONDS = 24 * 86_400;

type Checks = Record<string, (value: unknown) => boolean>;

const isString = (v: unknown) => typeof v === "string";
const isBoolean = (v: unknown) => typeof v === "boolean";
const isTable = (v: unknown) => typeof v === "object" && v !== null && !Array.isArray(v);
const isTableOrNull = (v: unknown) => v === null || isTable(v);
const isStringListOrNull = (v: unknown) => v === null || (Array.isArray(v) && v.every(isString));
const optional = (check: (v: unknown) => boolean) => (v: unknown) => v === undefined || v === null || check(v);
const isTimeout = (v: unknown) =>
  typeof v === "number" && Number.isFinite(v) && v > 0 && v <= MAX_DESCRIPTOR_TIMEOUT_SECONDS;
const TIMEOUT_RULE = `a number of seconds above 0 and at most ${MAX_DESCRIPTOR_TIMEOUT_SECONDS} (24 days)`;

/** The fields of a descriptor held to `descriptorJsonProblem`'s bounds (64 KiB as JSON, 64 levels). */
const BOUNDED = ["metadata", "inputSchema"];

const ENTRY: Checks = {
  name: isString,
  description: isString,
  inputSchema: isTableOrNull,
  kind: isString,
  timeout: isTimeout,
  llmResultFields: isStringListOrNull,
  autoStart: optional(isBoolean),
  persist: optional(isBoolean),
  enabled: isBoolean,
  dynamic: isBoolean,
  metadata: isTableOrNull,
  extensionId: optional(isString),
};
const EVENT: Checks = { eventType: isString, timeout: optional(isTimeout) };
const TIMER: Checks = {
  seconds: (v) => typeof v === "number" && Number.isFinite(v) && v > 0,
  secondsFrom: optional((v) => typeof v === "string" && v.length > 0 && v.length <= 256),
};
const NONE: Checks = {};
const isAmount = (v: unknown) => typeof v === "number" && Number.isFinite(v) && v >= 0;
const STATS: Checks = {
  rssBytes: isAmount,
  heapUsedBytes: isAmount,
  heapTotalBytes: isAmount,
  cpuUserUs: isAmount,
  cpuSystemUs: isAmount,
  uptimeMs: isAmount,
  loopLagP50Ms: optional(isAmount),
  loopLagMaxMs: optional(isAmount),
};

/** The whole entry list of an `entries_changed`, and its hook, extension and timer lists when it has them. */
export function entriesChangedProblem(message: {
  entries: unknown;
  hooks?: unknown;
  extensions?: unknown;
  timers?: unknown;
}): string | undefined {
  return (
    listProblem("entries", message.entries, ENTRY) ??
    (message.hooks === undefined || message.hooks === null ? undefined : listProblem("hooks", message.hooks, NONE)) ??
    (message.timers === undefined || message.timers === null
      ? undefined
      : listProblem("timers", message.timers, TIMER)) ??
    extensionsProblem(message.extensions)
  );
}

/** An optional list of extension statuses (hello, `entries_changed`). */
function extensionsProblem(value: unknown): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (!Array.isArray(value)) return `'extensions' must be an array (got ${show(value)})`;
  if (value.length > MAX_EXTENSION_STATUSES) return `'extensions' lists more than ${MAX_EXTENSION_STATUSES}`;
  for (const [index, item] of value.entries()) {
    const problem = extensionStatusProblem(item);
    if (problem) return `extensions[${index}] ${problem}`;
  }
  return undefined;
}

export function helloProblem(hello: Record<string, unknown>): string | undefined {
  return (
    listProblem("entries", hello.entries, ENTRY) ??
    listProblem("events", hello.events, EVENT) ??
    listProblem("hooks", hello.hooks, NONE) ??
    listProblem("timers", hello.timers, TIMER) ??
    (hello.messages === undefined || hello.messages === null
      ? undefined
      : listProblem("messages", hello.messages, NONE)) ??
    extensionsProblem(hello.extensions)
  );
}

/** The `stats` of a `pong`: every figure a finite number ≥ 0 (the loop-lag ones may be absent). */
export function statsProblem(stats: unknown): string | undefined {
  if (!isTable(stats)) return `'stats' must be an object (got ${show(stats)})`;
  const bad = fieldProblem(stats as Record<string, unknown>, STATS);
  return bad && `'stats' has an invalid '${bad.field}' (${show(bad.value)}): it must be a finite number ≥ 0`;
}

/** An array of objects, each with a non-empty string id and the fields `checks` names. */
function listProblem(list: string, value: unknown, checks: Checks): string | undefined {
  if (!Array.isArray(value)) return `'${list}' must be an array (got ${show(value)})`;
  for (const [index, item] of value.entries()) {
    if (!isTable(item)) return `${list}[${index}] must be an object (got ${show(item)})`;
    const { id } = item as Record<string, unknown>;
    if (typeof id !== "string" || id === "") return `${list}[${index}].id must be a non-empty string (got ${show(id)})`;
    const bad = fieldProblem(item as Record<string, unknown>, checks);
    if (bad) {
      const rule = bad.field === "timeout" ? `: it must be ${TIMEOUT_RULE}` : "";
      return `${list}[${index}] ('${id}') has an invalid '${bad.field}' (${show(bad.value)})${rule}`;
    }
    for (const field of BOUNDED) {
      const problem = descriptorJsonProblem((item as Record<string, unknown>)[field]);
      if (problem) return `${list}[${index}] ('${id}'): its '${field}' ${problem}`;
    }
  }
  return undefined;
}

/** The first field of `item` that fails its check. */
function fieldProblem(item: Record<string, unknown>, checks: Checks): { field: string; value: unknown } | undefined {
  for (const [field, check] of Object.entries(checks)) {
    if (!check(item[field])) return { field, value: item[field] };
  }
  return undefined;
}

function show(value: unknown): string {
  if (typeof value === "number" || typeof value === "bigint") return String(value);
  if (typeof value === "string") return `'${value.length > 40 ? `${value.slice(0, 37)}…` : value}'`;
  if (Array.isArray(value)) return "an array";
  return value === null ? "null" : value === undefined ? "nothing" : typeof value;
}
