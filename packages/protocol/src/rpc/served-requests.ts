/**
 * The answering half of the one request/response engine: the work done for each of the peer's requests, by id, so
 * that the peer's cancel, a shutdown or the peer going away stops it. The host serves plugins' `request`s with it
 * (stopped by `request.cancel` or the process's exit); the SDK serves the host's calls with it (stopped by `cancel`,
 * the call's deadline or `shutdown`).
 */
import type { Disposable } from "../disposable.ts";

export class ServedRequests {
  private readonly serving = new Map<string, (reason: unknown) => void>();
  private closed = false;

  /** Requests of the peer being served now. */
  get size(): number {
    return this.serving.size;
  }

  /** Whether request `id` is being served now. */
  has(id: string): boolean {
    return this.serving.has(id);
  }

  /**
   * Starts serving request `id`: `stop` runs once, with the reason, when it is stopped from outside (at once if the
   * endpoint is closed). Dispose the handle when the request is answered.
   */
  serve(id: string, stop: (reason: unknown) => void): Disposable {
    if (this.closed) {
      stop(undefined);
      return { dispose: () => undefined };
    }
    this.serving.set(id, stop);
    return { dispose: () => this.serving.get(id) === stop && this.serving.delete(id) };
  }

  /** Stops the work for request `id`; unknown or finished ids are ignored. */
  stop(id: string, reason: unknown): void {
    const stop = this.serving.get(id);
    if (!stop) return;
    this.serving.delete(id);
    stop(reason);
  }

  /** Stops the work for every request being served. */
  stopAll(reason: unknown): void {
    const stops = [...this.serving.values()];
    this.serving.clear();
    for (const stop of stops) stop(reason);
  }

  /** The peer is gone: everything stops, and a request served later stops at once. */
  close(reason?: unknown): void {
    this.closed = true;
    this.stopAll(reason);
  }
}
