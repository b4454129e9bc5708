/**
 * `this.memory` (SPEC §5.3): the host's memory store, shared by every plugin, with full-text search ranked by
 * relevance. Records live in buckets; storing a key again in the same bucket replaces it. Docs:
 * docs/store-and-memory.md.
 */
import { DEFAULT_MEMORY_BUCKET, findJsonProblem, type MemoryHit, type MemoryRecord } from "@neko/protocol";
import { type SdkError, ValidationError } from "./errors.ts";
import { Err, type Result } from "./result.ts";
import type { HostBridge } from "./runtime/host-client.ts";
import { toResult } from "./wire-result.ts";

export class MemoryClient {
  constructor(private readonly bridge: HostBridge) {}

  /** Stores (or replaces) `key` in the bucket (default `"default"`); the value must be JSON-compatible. */
  async store(key: string, value: unknown, options: { bucket?: string } = {}): Promise<Result<MemoryRecord, SdkError>> {
    const problem = findJsonProblem(value);
    if (problem) {
      return Err(
        new ValidationError(
          `memory: the value for key '${key}' is not JSON-compatible: ${problem.path} is ${problem.problem}`,
          { details: { key, path: problem.path, problem: problem.problem } },
        ),
      );
    }
    const bucket = options.bucket ?? DEFAULT_MEMORY_BUCKET;
    return toResult<MemoryRecord>(await this.bridge.request("memory.store", { key, value, bucket }));
  }

  /** Records matching any word of `query`, most relevant first (all buckets unless one is given). */
  async search(
    query: string,
    options: { bucket?: string; limit?: number } = {},
  ): Promise<Result<MemoryHit[], SdkError>> {
    return toResult<MemoryHit[]>(await this.bridge.request("memory.search", { query, ...options }));
  }

  /** The records of a bucket, most recently stored first. */
  async get(bucket: string, options: { limit?: number } = {}): Promise<Result<MemoryRecord[], SdkError>> {
    return toResult<MemoryRecord[]>(await this.bridge.request("memory.get", { bucket, ...options }));
  }
}
