/** Records of the host's memory store (SPEC §5.3), as the host keeps them and `this.memory` returns them. */
import type { JsonValue } from "./json-value.ts";

export const DEFAULT_MEMORY_BUCKET = "default";

export interface MemoryRecord {
  bucket: string;
  key: string;
  value: JsonValue;
  /** The plugin that stored it last. */
  pluginId: string;
  /** Ms since the epoch. */
  createdAt: number;
  updatedAt: number;
}

export interface MemoryHit extends MemoryRecord {
  /** Relevance, higher is better: the negated bm25 rank. */
  score: number;
}
