/**
 * API client: async entries that fetch HTTP APIs, with answers cached in the `cache` plugin through cross-plugin
 * calls (SPEC §4.3). If the cache is down the fetch still works, uncached. `ctx.signal` cancels the request when
 * the entry times out.
 */
import { type EntryContext, NekoPluginBase, nekoPlugin, Ok, pluginEntry, SdkError, z } from "@neko/plugin-sdk/plugin";

interface Fetched {
  url: string;
  status: number;
  contentType: string | null;
  /** Parsed when the answer is JSON, text otherwise. */
  body: unknown;
}

const MAX_BODY_BYTES = 1024 * 1024;
const httpUrl = z
  .string()
  .url()
  .refine((u) => /^https?:\/\//i.test(u), "only http and https URLs");

@nekoPlugin
export class ApiClientPlugin extends NekoPluginBase {
  @pluginEntry({
    id: "fetch",
    description: "GET a URL; answers from the cache plugin when it has a fresh copy",
    params: z.object({ url: httpUrl, ttl_seconds: z.number().positive().default(60) }),
    timeout: 20,
    llmResultFields: ["status", "body"],
  })
  async fetch({ url, ttl_seconds }: { url: string; ttl_seconds: number }, ctx: EntryContext) {
    const key = `GET ${url}`;
    const cached = await this.plugins.callEntry<{ hit: boolean; value: Fetched }>("cache:get", { key });
    if (cached.ok && cached.value.hit) return Ok({ ...cached.value.value, cached: true });
    if (!cached.ok) this.logger.warn(`cache unavailable (${cached.error.code}); fetching without it`);

    const fetched = await this.download(url, ctx.signal);
    if (!fetched.ok) return fetched;
    let cache: "stored" | "skipped" | "unavailable" = "skipped";
    if (cached.ok && fetched.value.status >= 200 && fetched.value.status < 300) {
      const stored = await this.plugins.callEntry("cache:set", { key, value: fetched.value, ttl_seconds });
      cache = stored.ok ? "stored" : "unavailable";
    } else if (!cached.ok) {
      cache = "unavailable";
    }
    return Ok({ ...fetched.value, cached: false, cache });
  }

  @pluginEntry({
    id: "fetch_many",
    description: "GET several URLs at once (through the cache); one failure does not fail the others",
    params: z.object({ urls: z.array(httpUrl).min(1).max(20) }),
    timeout: 30,
  })
  async fetchMany({ urls }: { urls: string[] }, ctx: EntryContext) {
    const results = await Promise.all(
      urls.map(async (url) => {
        const r = await this.fetch({ url, ttl_seconds: 60 }, ctx);
        return r.ok ? { ok: true, ...r.value } : { url, ok: false, error: r.error.message };
      }),
    );
    return Ok({ results });
  }

  @pluginEntry({ id: "cache_stats", description: "The cache plugin's statistics" })
  cacheStats() {
    return this.plugins.callEntry("cache:stats");
  }

  private async download(url: string, signal: AbortSignal) {
    let response: Response;
    try {
      response = await fetch(url, { signal, headers: { accept: "application/json, text/*;q=0.9" } });
    } catch (error) {
      const reason = (error as Error & { cause?: Error }).cause?.message ?? (error as Error).message;
      return {
        ok: false as const,
        error: new SdkError(`could not fetch ${url}: ${reason}`, { code: "FETCH_FAILED", details: { url } }),
      };
    }
    const bytes = Buffer.from(await response.arrayBuffer());
    if (bytes.length > MAX_BODY_BYTES) {
      return {
        ok: false as const,
        error: new SdkError(`${url} answered ${bytes.length} bytes; the limit is ${MAX_BODY_BYTES}`, {
          code: "RESPONSE_TOO_LARGE",
          details: { url, bytes: bytes.length },
        }),
      };
    }
    const contentType = response.headers.get("content-type");
    const text = bytes.toString("utf8");
    let body: unknown = text;
    if (contentType?.includes("json")) {
      try {
        body = JSON.parse(text);
      } catch {
        // Not JSON after all: keep the text.
      }
    }
    return Ok<Fetched>({ url, status: response.status, contentType, body });
  }
}
