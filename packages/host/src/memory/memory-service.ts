/**
 * The host services behind `this.memory` (SPEC §5.3): `memory.store`, `memory.search`, `memory.get`. The store
 * file is `<host dataDir>/memory.sqlite`, opened on first use and closed when the host stops.
 */
import path from "node:path";
import { ErrorCode, findJsonProblem, type JsonValue, type WireResult } from "@neko/protocol";
import type { PluginHost } from "../plugin-host.ts";
import { failure, validationFailure } from "../wire-result.ts";
import { MemoryStore } from "./memory-store.ts";

export const MEMORY_FILE_NAME = "memory.sqlite";
export const MAX_MEMORY_KEY_LENGTH = 512;
export const MAX_MEMORY_BUCKET_LENGTH = 128;
export const MAX_MEMORY_VALUE_BYTES = 1024 * 1024;
export const MAX_MEMORY_QUERY_LENGTH = 2000;
const SEARCH_LIMIT = { default: 10, max: 100 };
const GET_LIMIT = { default: 20, max: 1000 };

export function registerMemoryService(host: PluginHost): void {
  let store: MemoryStore | undefined;
  const open = () => {
    store ??= MemoryStore.open(path.join(host.dataDir, MEMORY_FILE_NAME));
    return store;
  };
  host.onStop(() => {
    store?.close();
    store = undefined;
  });

  host.services.handle("memory.store", (params: Record<string, unknown>, ctx) => {
    const { key, value, bucket } = params ?? {};
    const problem =
      textProblem("key", key, MAX_MEMORY_KEY_LENGTH) ?? textProblem("bucket", bucket, MAX_MEMORY_BUCKET_LENGTH);
    if (problem) return validationFailure(problem);
    const bad = findJsonProblem(value);
    if (bad)
      return validationFailure(
        `memory: the value for key '${key}' is not JSON-compatible: ${bad.path} is ${bad.problem}`,
      );
    const valueJson = JSON.stringify(value);
    const bytes = Buffer.byteLength(valueJson);
    if (bytes > MAX_MEMORY_VALUE_BYTES) {
      return validationFailure(
        `memory: the value for key '${key}' is ${bytes} bytes of JSON; the limit is ${MAX_MEMORY_VALUE_BYTES}`,
      );
    }
    const stored = guarded(() =>
      open().store({
        bucket: bucket as string,
        key: key as string,
        value: value as JsonValue,
        valueJson,
        pluginId: ctx.pluginId,
      }),
    );
    // The bus's `memory` namespace mirrors every write, so plugins can query and watch it (SPEC §4.4). Only where it
    // went: the value is in the memory store, and a copy of every value would make the bus hold megabytes per write.
    if (stored.ok) {
      host.bus.record("memory", {
        type: "stored",
        pluginId: ctx.pluginId,
        source: ctx.pluginId,
        data: { bucket, key },
      });
    }
    return stored;
  });

  host.services.handle("memory.search", (params: Record<string, unknown>) => {
    const { query, bucket, limit } = params ?? {};
    if (typeof query !== "string") return validationFailure("memory.search: the query must be a string");
    if (query.length > MAX_MEMORY_QUERY_LENGTH) {
      return validationFailure(`memory.search: the query is longer than ${MAX_MEMORY_QUERY_LENGTH} characters`);
    }
    const problem =
      (bucket === undefined ? undefined : textProblem("bucket", bucket, MAX_MEMORY_BUCKET_LENGTH)) ??
      limitProblem(limit, SEARCH_LIMIT.max);
    if (problem) return validationFailure(problem);
    return guarded(() =>
      open().search(query, {
        bucket: bucket as string | undefined,
        limit: (limit as number | undefined) ?? SEARCH_LIMIT.default,
      }),
    );
  });

  host.services.handle("memory.get", (params: Record<string, unknown>) => {
    const { bucket, limit } = params ?? {};
    const problem = textProblem("bucket", bucket, MAX_MEMORY_BUCKET_LENGTH) ?? limitProblem(limit, GET_LIMIT.max);
    if (problem) return validationFailure(problem);
    return guarded(() =>
      open().recent(bucket as string, { limit: (limit as number | undefined) ?? GET_LIMIT.default }),
    );
  });
}

function textProblem(name: string, value: unknown, max: number): string | undefined {
  if (typeof value !== "string" || value.length === 0) return `memory: the ${name} must be a non-empty string`;
  if (value.length > max) return `memory: the ${name} is ${value.length} characters long; the limit is ${max}`;
  return undefined;
}

function limitProblem(limit: unknown, max: number): string | undefined {
  if (limit === undefined) return undefined;
  if (typeof limit === "number" && Number.isInteger(limit) && limit >= 1 && limit <= max) return undefined;
  return `memory: limit must be a whole number from 1 to ${max}`;
}

function guarded(op: () => unknown): WireResult {
  try {
    return { ok: true, value: op() };
  } catch (error) {
    return failure(ErrorCode.StoreFailed, `memory: ${(error as Error).message}`);
  }
}
