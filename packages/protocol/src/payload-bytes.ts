/**
 * How many bytes a bus payload takes, about as its JSON or msgpack encoding would: what the bus counts against its
 * byte bounds and its per-payload limit. Walks without recursion (a deeply nested payload cannot overflow the
 * stack) and never throws.
 */
import { Buffer } from "node:buffer";
import { MAX_JSON_DEPTH } from "./json-value.ts";

/** The most one bus event payload or conversation record's data from a plugin may take (as `payloadBytes` counts). */
export const MAX_BUS_PAYLOAD_BYTES = 1024 * 1024;

/**
 * How deep a value from a plugin that the host keeps and hands to others (a bus payload, a message's metadata, a run's
 * result, a status) may nest: as deep as a JSON value the memory takes. msgpack decodes values far deeper than it can encode again, so a deeper one would
 * poison every later batch, query or answer that carries it.
 */
export const MAX_VALUE_DEPTH = MAX_JSON_DEPTH;

/** Whether `value` nests deeper than `maxDepth` arrays and objects; walks without recursion and never throws. */
export function nestsDeeperThan(value: unknown, maxDepth = MAX_VALUE_DEPTH): boolean {
  if (typeof value !== "object" || value === null) return false;
  // Two parallel stacks: a bus event's payload is walked on every emit, and a pair per value is garbage.
  const items: unknown[] = [value];
  const depths: number[] = [0];
  while (items.length > 0) {
    const item = items.pop();
    const depth = depths.pop() as number;
    if (typeof item !== "object" || item === null || ArrayBuffer.isView(item)) continue;
    if (depth >= maxDepth) return true;
    for (const element of Array.isArray(item) ? item : Object.values(item)) {
      if (typeof element !== "object" || element === null) continue;
      items.push(element);
      depths.push(depth + 1);
    }
  }
  return false;
}

export function payloadBytes(value: unknown): number {
  let total = 0;
  const seen = new Set<object>();
  const stack: unknown[] = [value];
  while (stack.length > 0) {
    const item = stack.pop();
    switch (typeof item) {
      case "string":
        total += Buffer.byteLength(item) + 2;
        continue;
      case "number":
      case "bigint":
        total += 8;
        continue;
      case "boolean":
        total += 5;
        continue;
      case "object":
        break;
      default:
        total += 4;
        continue;
    }
    if (item === null) {
      total += 4;
      continue;
    }
    // A cycle (only possible in host-made payloads) is counted once.
    if (seen.has(item)) continue;
    seen.add(item);
    if (ArrayBuffer.isView(item)) total += item.byteLength;
    else if (item instanceof ArrayBuffer) total += item.byteLength;
    else if (item instanceof Date) total += 24;
    else if (Array.isArray(item)) {
      total += 2 + item.length;
      for (const element of item) stack.push(element);
    } else {
      total += 2;
      for (const [key, element] of Object.entries(item)) {
        total += Buffer.byteLength(key) + 4;
        stack.push(element);
      }
    }
  }
  return total;
}
