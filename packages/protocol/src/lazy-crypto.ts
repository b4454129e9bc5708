/**
 * `node:crypto`, loaded on first use. Importing it loads some twenty internal modules (about 3 ms of a plugin
 * process's start, docs/benchmarks.md), and a plugin process needs it only when it makes a UUID (a trigger, a bus
 * watch, a progress id) or a temporary file's name.
 */
import type * as NodeCrypto from "node:crypto";

let crypto: typeof NodeCrypto | undefined;

/** The `node:crypto` module, loaded the first time it is asked for. */
export function nodeCrypto(): typeof NodeCrypto {
  crypto ??= process.getBuiltinModule("node:crypto");
  return crypto;
}

/** `crypto.randomUUID()`, with `node:crypto` loaded on first use. */
export function randomUUID(): string {
  return nodeCrypto().randomUUID();
}
