/**
 * Follows one bus query as records are added to and evicted from its namespace. The host keeps the watch (with
 * the query's filters) and pushes deltas; this side replays the list's `filter`/`where`/`sort`/`limit` steps and
 * tells subscribers what entered and left the result. The host watch opens with the first subscriber and closes
 * with the last, or on `close()`.
 */
import type { Answer, BusFilters, BusNamespaceName, BusQueryAnswer, BusRecord, BusWatchDelta } from "@neko/protocol";
import type { SdkError } from "../errors.ts";
import { Ok, type Result } from "../result.ts";
import { toResult } from "../wire-result.ts";
import { applyBusListSteps, type BusListOrigin, type BusListStep } from "./bus-record-list.ts";

export type BusWatchEvent = "add" | "del" | "change";

export interface BusWatchChange {
  /** Records that entered the result. */
  added: BusRecord[];
  /**
   * Records that left it: evicted from the namespace, deleted by their writer, or pushed out by `limit` / `maxCount`.
   * When records inside a `maxCount` window are deleted, older ones matching the query move in (as `added`), so the
   * result stays what `get()` would answer now.
   */
  removed: BusRecord[];
  /** The whole result now. */
  current: BusRecord[];
  revision: number;
}

/** How a watcher reaches the host; the plugin's bus connection implements it. */
export interface BusWatchChannel {
  open(
    namespace: BusNamespaceName,
    filters: BusFilters,
    onDelta: (delta: BusWatchDelta) => void,
  ): { watchId: string; snapshot: Promise<Answer<BusQueryAnswer>> };
  close(watchId: string): void;
  reportError(message: string, error: unknown): void;
}

interface Subscriber {
  on: Set<BusWatchEvent>;
  fn: (change: BusWatchChange) => unknown;
}

export class BusWatcher {
  private readonly subscribers = new Set<Subscriber>();
  private readonly base = new Map<number, BusRecord>();
  private result: BusRecord[];
  private revision: number;
  private watchId: string | undefined;
  /** Deltas that arrived before the host's snapshot did. */
  private early: BusWatchDelta[] | undefined;
  private opened: Promise<Result<void, SdkError>> = Promise.resolve(Ok(undefined));

  constructor(
    private readonly channel: BusWatchChannel,
    private readonly origin: BusListOrigin,
    private readonly steps: readonly BusListStep[],
  ) {
    this.result = applyBusListSteps(origin.base, steps);
    this.revision = origin.revision;
  }

  /** Settles once the host holds the watch (after the first `subscribe`): from then on no change is missed. */
  get ready(): Promise<Result<void, SdkError>> {
    return this.opened;
  }

  get current(): BusRecord[] {
    return [...this.result];
  }

  /** Calls `fn` with `{ added, removed, current }` on the chosen changes; returns the unsubscribe. */
  subscribe(options: { on: BusWatchEvent | BusWatchEvent[] }, fn: (change: BusWatchChange) => unknown): () => void {
    if (typeof fn !== "function") throw new TypeError("subscribe(options, fn): fn must be a function");
    const on = new Set(Array.isArray(options?.on) ? options.on : [options?.on]);
    for (const event of on) {
      if (event !== "add" && event !== "del" && event !== "change") {
        throw new TypeError(`subscribe: 'on' must be "add", "del" or "change" (got ${String(event)})`);
      }
    }
    const subscriber = { on, fn };
    this.subscribers.add(subscriber);
    if (this.watchId === undefined) this.open();
    return () => {
      this.subscribers.delete(subscriber);
      if (this.subscribers.size === 0) this.close();
    };
  }

  /** Ends the host watch; subscribers get nothing more. */
  close(): void {
    this.subscribers.clear();
    if (this.watchId === undefined) return;
    this.channel.close(this.watchId);
    this.watchId = undefined;
    this.early = undefined;
  }

  private open(): void {
    const { namespace, filters } = this.origin;
    this.early = [];
    const { watchId, snapshot } = this.channel.open(namespace, filters, (delta) => this.onDelta(watchId, delta));
    this.watchId = watchId;
    this.opened = snapshot.then((answer) => {
      if (this.watchId !== watchId) return Ok(undefined);
      const result = toResult(answer);
      if (!result.ok) {
        this.watchId = undefined;
        this.channel.reportError("a bus watch could not be opened", result.error);
        return result;
      }
      this.base.clear();
      for (const record of result.value.records) this.base.set(record.id, record);
      this.revision = result.value.revision;
      const early = this.early ?? [];
      this.early = undefined;
      for (const delta of early) this.applyDelta(delta);
      this.publish();
      return Ok(undefined);
    });
  }

  private onDelta(watchId: string, delta: BusWatchDelta): void {
    if (this.watchId !== watchId) return;
    if (this.early) {
      this.early.push(delta);
      return;
    }
    this.applyDelta(delta);
    this.publish();
  }

  private applyDelta(delta: BusWatchDelta): void {
    for (const id of delta.removed) this.base.delete(id);
    for (const record of delta.added) this.base.set(record.id, record);
    const max = this.origin.filters.maxCount;
    if (max !== undefined && this.base.size > max) {
      // The latest `max` by id (a refill after a delete arrives after newer records).
      const ids = [...this.base.keys()].sort((a, b) => a - b);
      for (const id of ids.slice(0, ids.length - max)) this.base.delete(id);
    }
    this.revision = Math.max(this.revision, delta.revision);
  }

  /** Recomputes the result and tells the subscribers what changed. */
  private publish(): void {
    const next = applyBusListSteps(
      [...this.base.values()].sort((a, b) => a.id - b.id),
      this.steps,
    );
    const before = new Set(this.result.map((r) => r.id));
    const after = new Set(next.map((r) => r.id));
    const added = next.filter((r) => !before.has(r.id));
    const removed = this.result.filter((r) => !after.has(r.id));
    this.result = next;
    if (added.length === 0 && removed.length === 0) return;
    const change: BusWatchChange = { added, removed, current: [...next], revision: this.revision };
    for (const subscriber of [...this.subscribers]) {
      const { on } = subscriber;
      if (!(on.has("change") || (on.has("add") && added.length > 0) || (on.has("del") && removed.length > 0))) continue;
      try {
        const returned = subscriber.fn(change);
        if (returned instanceof Promise) {
          returned.catch((error) => this.channel.reportError("a bus watch subscriber failed", error));
        }
      } catch (error) {
        this.channel.reportError("a bus watch subscriber failed", error);
      }
    }
  }
}
