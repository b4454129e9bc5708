/**
 * `TokenBucketLimiter`: the rate limit of the default policy, one token bucket per key (a connection id). A bucket
 * holds up to `burst` tokens and gains `perSecond` a second; a request takes one or is refused. Buckets are refilled
 * lazily when used, and at most `maxKeys` are kept: the one used least recently goes first (a full bucket and a
 * forgotten one are the same).
 */

/** The longest `retryAfterMs` said (about 24 days, the longest a timer waits): a tiny `perSecond` says no more. */
const MAX_RETRY_AFTER_MS = 2_147_483_647;

export interface TokenBucketOptions {
  /** Tokens a bucket holds when full: the largest burst let through at once. */
  burst: number;
  /** Tokens added a second: the sustained rate. */
  perSecond: number;
  /** Buckets kept (default 10 000). */
  maxKeys?: number;
  /** Clock in ms (tests pass their own). */
  now?: () => number;
}

interface Bucket {
  tokens: number;
  at: number;
}

export class TokenBucketLimiter {
  // Map order is use order: a used bucket is moved to the end, so the first one is the least recently used.
  private readonly buckets = new Map<string, Bucket>();
  private readonly maxKeys: number;
  private readonly now: () => number;

  constructor(private readonly options: TokenBucketOptions) {
    if (!(options.burst >= 1) || !(options.perSecond > 0) || !Number.isFinite(options.perSecond)) {
      throw new RangeError("a token bucket needs burst ≥ 1 and a finite perSecond > 0");
    }
    this.maxKeys = options.maxKeys ?? 10_000;
    this.now = options.now ?? Date.now;
  }

  /** Takes a token for `key`: `{ allowed: true }`, or false with the ms until one is there. */
  take(key: string): { allowed: true } | { allowed: false; retryAfterMs: number } {
    const { burst, perSecond } = this.options;
    const now = this.now();
    let bucket = this.buckets.get(key);
    if (bucket) {
      this.buckets.delete(key);
      bucket.tokens = Math.min(burst, bucket.tokens + (Math.max(0, now - bucket.at) / 1000) * perSecond);
      bucket.at = now;
    } else {
      if (this.buckets.size >= this.maxKeys) this.buckets.delete(this.buckets.keys().next().value as string);
      bucket = { tokens: burst, at: now };
    }
    this.buckets.set(key, bucket);
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1;
      return { allowed: true };
    }
    const wait = Math.min(MAX_RETRY_AFTER_MS, ((1 - bucket.tokens) / perSecond) * 1000);
    return { allowed: false, retryAfterMs: Math.ceil(wait) };
  }

  get size(): number {
    return this.buckets.size;
  }
}
