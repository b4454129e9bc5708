/**
 * The host services behind `this.memory` (SPEC §5.3): `memory.store`, `memory.search`, `memory.get`. Their params are
 * checked by the contract; the value's JSON and size are checked here. The store file is
 * `<host dataDir>/memory.sqlite`, opened on first use and closed with the feature.
 */
import path from "node:path";
import {
  DisposableStore,
  ErrorCode,
  findJsonProblem,
  type JsonValue,
  MAX_MEMORY_VALUE_BYTES,
  MEMORY_GET_LIMIT,
  MEMORY_SEARCH_LIMIT,
  toDisposable,
} from "@neko/protocol";
import type { HostFeature } from "../host-context.ts";
import { failure, validationFailure, type WireFailure } from "../wire-result.ts";
import { MemoryStore } from "./memory-store.ts";

export const MEMORY_FILE_NAME = "memory.sqlite";

/** Where the service records what was stored: the bus's `memory` namespace (only where it went, not the value). */
export interface MemoryRecorder {
  record(namespace: "memory", input: { type: string; pluginId: string; source: string; data: unknown }): unknown;
}

export function memoryService(options: { bus: MemoryRecorder }): HostFeature {
  return ({ services, dataDir }) => {
    const owned = new DisposableStore();
    let store: MemoryStore | undefined;
    const open = () => {
      store ??= MemoryStore.open(path.join(dataDir, MEMORY_FILE_NAME));
      return store;
    };
    owned.add(
      toDisposable(() => {
        store?.close();
        store = undefined;
      }),
    );

    owned.add(
      services.handle("memory.store", ({ key, value, bucket }, ctx) => {
        const bad = findJsonProblem(value);
        if (bad) {
          return validationFailure(
            `memory: the value for key '${key}' is not JSON-compatible: ${bad.path} is ${bad.problem}`,
          );
        }
        const valueJson = JSON.stringify(value);
        const bytes = Buffer.byteLength(valueJson);
        if (bytes > MAX_MEMORY_VALUE_BYTES) {
          return validationFailure(
            `memory: the value for key '${key}' is ${bytes} bytes of JSON; the limit is ${MAX_MEMORY_VALUE_BYTES}`,
          );
        }
        const stored = guarded(() =>
          open().store({ bucket, key, value: value as JsonValue, valueJson, pluginId: ctx.pluginId }),
        );
        // The bus's `memory` namespace mirrors every write, so plugins can query and watch it (SPEC §4.4). Only where
        // it went: the value is in the memory store, and a copy of every value would make the bus hold megabytes.
        if (stored.ok) {
          options.bus.record("memory", {
            type: "stored",
            pluginId: ctx.pluginId,
            source: ctx.pluginId,
            data: { bucket, key },
          });
        }
        return stored;
      }),
    );

    owned.add(
      services.handle("memory.search", ({ query, bucket, limit }) =>
        guarded(() => open().search(query, { bucket, limit: limit ?? MEMORY_SEARCH_LIMIT.default })),
      ),
    );

    owned.add(
      services.handle("memory.get", ({ bucket, limit }) =>
        guarded(() => open().recent(bucket, { limit: limit ?? MEMORY_GET_LIMIT.default })),
      ),
    );
    return owned;
  };
}

function guarded<T>(op: () => T): { ok: true; value: T } | WireFailure {
  try {
    return { ok: true, value: op() };
  } catch (error) {
    return failure(ErrorCode.StoreFailed, `memory: ${(error as Error).message}`);
  }
}
