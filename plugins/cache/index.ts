/**
 * Cache: get/set with a time to live, for other plugins to call (`this.plugins.callEntry("cache:get", …)`). Entries
 * live in the plugin's store, so a restart keeps them; an expired entry is dropped when it is next read.
 */
import { NekoPluginBase, nekoPlugin, Ok, pluginEntry, z } from "@neko/plugin-sdk/plugin";

interface CacheEntry {
  value: unknown;
  /** Ms since the epoch. */
  expiresAt: number;
}

const PREFIX = "entry:";
const cacheKey = z.string().min(1).max(400);

@nekoPlugin
export class CachePlugin extends NekoPluginBase {
  private hits = 0;
  private misses = 0;

  @pluginEntry({
    id: "get",
    description: "The cached value of a key: { hit, value }",
    params: z.object({ key: cacheKey }),
  })
  async get({ key }: { key: string }) {
    const found = await this.store.get<CacheEntry>(PREFIX + key);
    if (!found.ok) return found;
    const entry = found.value;
    if (entry && entry.expiresAt > Date.now()) {
      this.hits += 1;
      return Ok({ hit: true, value: entry.value, expiresAt: entry.expiresAt });
    }
    if (entry) await this.store.delete(PREFIX + key);
    this.misses += 1;
    return Ok({ hit: false, value: null });
  }

  @pluginEntry({
    id: "set",
    description: "Cache a JSON value for ttl_seconds (default 300)",
    params: z.object({
      key: cacheKey,
      value: z.unknown(),
      ttl_seconds: z.number().positive().max(31_536_000).default(300),
    }),
  })
  async set({ key, value, ttl_seconds }: { key: string; value: unknown; ttl_seconds: number }) {
    const expiresAt = Date.now() + ttl_seconds * 1000;
    const saved = await this.store.set(PREFIX + key, { value: value ?? null, expiresAt } satisfies CacheEntry);
    return saved.ok ? Ok({ key, expiresAt }) : saved;
  }

  @pluginEntry({ id: "delete", description: "Forget a key", params: z.object({ key: cacheKey }) })
  async delete({ key }: { key: string }) {
    const deleted = await this.store.delete(PREFIX + key);
    return deleted.ok ? Ok({ deleted: deleted.value }) : deleted;
  }

  @pluginEntry({ id: "clear", description: "Forget every key" })
  async clear() {
    const cleared = await this.store.clear();
    return cleared.ok ? Ok({ cleared: cleared.value }) : cleared;
  }

  @pluginEntry({ id: "stats", description: "Hits and misses since start, and the number of stored entries" })
  async stats() {
    const count = await this.store.count();
    return count.ok ? Ok({ hits: this.hits, misses: this.misses, entries: count.value }) : count;
  }
}
