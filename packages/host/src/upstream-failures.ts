/**
 * Failures passed on from one plugin to another (docs/cross-plugin-calls.md#errors-passed-on). Every failure the host
 * delivers to a plugin's `callEntry` / `callEvent` is recorded under a token, sent with it as `WireError.upstream`;
 * when an entry of that plugin answers with an error carrying one of its tokens, the host names the failing call:
 * passed on as is, the answer becomes `UPSTREAM_ERROR` with `details.cause`; an error of the entry's own made from it
 * keeps its code and gets `details.cause`. The cause is the host's record, never what the plugin sent: a plugin can
 * neither make up a cause nor hide where a failure came from, and every cause is bounded in depth and size.
 */
import { createHash, randomUUID } from "node:crypto";
import { ErrorCode, type WireError, type WireResult } from "@neko/protocol";

/** Where a failure came from and what it was: `details.cause` of the answer that passed it on. */
export interface UpstreamCause {
  plugin: string;
  entry: string;
  code: string;
  message: string;
  details?: unknown;
}

interface Recorded {
  cause: UpstreamCause;
  /** The code, message and details the plugin was given: an answer with all three passed the failure on as is. */
  code: string;
  message: string;
  /** A digest of the JSON of the details it was given (the details themselves may be large). */
  details: string;
}

/** Tokens kept per plugin: the oldest is forgotten past this (a failure passed on long after is answered as local). */
const MAX_TOKENS_PER_PLUGIN = 256;
/** A cause's message is cut to this many characters. */
export const MAX_CAUSE_MESSAGE = 1000;
/** A wrapped answer's message is cut to this many characters. */
const MAX_MESSAGE = 2000;
/** A cause's details are kept up to this nesting depth and this JSON size; past either they are left out. */
const MAX_DETAILS_DEPTH = 16;
const MAX_DETAILS_BYTES = 8192;

export class UpstreamFailures {
  private readonly byPlugin = new Map<string, Map<string, Recorded>>();

  /** `error`, a failure `caller` gets from its call to `target`, with the token that names it. */
  record(caller: string, target: { plugin: string; entry: string }, error: WireError): WireError {
    const { upstream: _theirs, ...given } = error;
    const cause: UpstreamCause = {
      plugin: target.plugin,
      entry: target.entry,
      code: cut(String(given.code), 200),
      message: cut(String(given.message), MAX_CAUSE_MESSAGE),
    };
    const details = bounded(given.details);
    if (details !== undefined) cause.details = details;
    let tokens = this.byPlugin.get(caller);
    if (!tokens) {
      tokens = new Map();
      this.byPlugin.set(caller, tokens);
    }
    if (tokens.size >= MAX_TOKENS_PER_PLUGIN) tokens.delete(tokens.keys().next().value as string);
    const token = randomUUID();
    tokens.set(token, { cause, code: given.code, message: given.message, details: digest(given.details) });
    return { ...given, upstream: token };
  }

  /**
   * The answer of `plugin:entry` as its caller gets it: a failure it passed on is wrapped, one of its own caused by
   * one gets `details.cause`, a token it was not given is dropped, and `UPSTREAM_ERROR` without a token of its own is
   * not believed (answered as `ENTRY_FAILED`).
   */
  passOn(plugin: string, entry: string, result: WireResult): WireResult {
    if (result.ok) return result;
    const { upstream, ...error } = result.error;
    const recorded = typeof upstream === "string" ? this.byPlugin.get(plugin)?.get(upstream) : undefined;
    const where = `${plugin}:${entry}`;
    if (!recorded) {
      if (error.code !== ErrorCode.UpstreamError) return upstream === undefined ? result : { ok: false, error };
      return {
        ok: false,
        error: {
          name: "SdkError",
          code: ErrorCode.EntryFailed,
          message: cut(
            `entry '${where}' answered UPSTREAM_ERROR, which only the host gives: ${String(error.message)}`,
            MAX_MESSAGE,
          ),
          // What it claimed, bounded like a cause: kept for reading, never believed.
          details: { plugin, entry, claimedCode: ErrorCode.UpstreamError, ...claimedDetails(error.details) },
        },
      };
    }
    const { cause } = recorded;
    if (
      error.code === recorded.code &&
      error.message === recorded.message &&
      digest(error.details) === recorded.details
    ) {
      const message = `entry '${where}' failed: its call to '${cause.plugin}:${cause.entry}' failed with ${cause.code}: ${cause.message}`;
      return {
        ok: false,
        error: {
          name: "PluginCallError",
          code: ErrorCode.UpstreamError,
          message: cut(message, MAX_MESSAGE),
          details: { plugin, entry, cause },
        },
      };
    }
    // An error of the entry's own, made from the failure: its code and message stand, the cause is the host's.
    const own = error.details;
    if (own === undefined || own === null) return { ok: false, error: { ...error, details: { cause } } };
    if (typeof own === "object" && !Array.isArray(own)) {
      return { ok: false, error: { ...error, details: { ...(own as Record<string, unknown>), cause } } };
    }
    return { ok: false, error };
  }

  /** The cause the host recorded under `token` for `plugin`, if it gave it that token. */
  causeOf(plugin: string, token: unknown): UpstreamCause | undefined {
    return typeof token === "string" ? this.byPlugin.get(plugin)?.get(token)?.cause : undefined;
  }

  /** The plugin's process ended: its tokens go with it. */
  forget(plugin: string): void {
    this.byPlugin.delete(plugin);
  }

  debugCounts(): Record<string, number> {
    let tokens = 0;
    for (const map of this.byPlugin.values()) tokens += map.size;
    return { upstreamFailures: tokens };
  }
}

/** `text` cut to `max` characters with `…`, never between the two halves of a surrogate pair. */
export function cut(text: string, max: number): string {
  if (text.length <= max) return text;
  let end = max - 1;
  const last = text.charCodeAt(end - 1);
  if (last >= 0xd800 && last <= 0xdbff) end -= 1;
  return `${text.slice(0, end)}…`;
}

/** The JSON of `details`, hashed: equal details give equal digests. */
function digest(details: unknown): string {
  let text: string | undefined;
  try {
    text = JSON.stringify(details ?? null);
  } catch {
    text = undefined;
  }
  return createHash("sha256")
    .update(text ?? "unserializable")
    .digest("hex");
}

/** `{ claimed }`: the details an answer claiming UPSTREAM_ERROR came with, if they are within the bounds of a cause. */
function claimedDetails(details: unknown): { claimed?: unknown } {
  const claimed = bounded(details);
  return claimed === undefined ? {} : { claimed };
}

/** `value` if it is at most MAX_DETAILS_DEPTH deep and MAX_DETAILS_BYTES of JSON; otherwise undefined. */
function bounded(value: unknown): unknown {
  if (value === undefined || value === null) return undefined;
  if (!shallowEnough(value, 0)) return undefined;
  let text: string | undefined;
  try {
    text = JSON.stringify(value);
  } catch {
    return undefined;
  }
  if (text === undefined || text.length > MAX_DETAILS_BYTES) return undefined;
  return JSON.parse(text);
}

/** Stops at the first level past the limit, so a value nested thousands deep is never walked through. */
function shallowEnough(value: unknown, depth: number): boolean {
  if (typeof value !== "object" || value === null) return true;
  if (depth >= MAX_DETAILS_DEPTH) return false;
  let seen = 0;
  for (const child of Object.values(value)) {
    // A wide value is refused by the size check; this bounds the walk itself.
    if (++seen > MAX_DETAILS_BYTES) return false;
    if (!shallowEnough(child, depth + 1)) return false;
  }
  return true;
}
