/**
 * The answering half of the one request/response engine: the work done for each of the peer's requests, by id, so
 * that the peer's cancel, a shutdown or the peer going away stops it. The host serves plugins' `request`s with it
 * (stopped by `request.cancel` or the process's exit); the SDK serves the host's calls with it (stopped by `cancel`,
 * the call's deadline or `shutdown`).
 */

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
   * endpoint is closed). Returns `stop`; call `done` with it when the request is answered. (No handle object, and
   * no named closure for the caller to make: this is on every call's path, where esbuild's keepNames would name one.)
   */
  serve<F extends (reason: unknown) => void>(id: string, stop: F): F {
    if (this.closed) stop(undefined);
    else this.serving.set(id, stop);
    return stop;
  }

  /** Request `id` is answered: forgotten, unless another request took its id since. */
  done(id: string, stop: (reason: unknown) => void): void {
    if (this.serving.get(id) === stop) this.serving.delete(id);
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
