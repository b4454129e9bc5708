/**
 * One typed event source, in place of hand-written listener sets: `event(listener)` subscribes and returns the
 * `Disposable` that unsubscribes; `fire(value)` calls every listener. A listener that throws is reported to
 * `onListenerError` and never stops the others (nor the code that fired).
 */
import { type Disposable, toDisposable } from "./disposable.ts";

export type Event<T> = (listener: (value: T) => void) => Disposable;

export class Emitter<T> implements Disposable {
  private readonly listeners = new Set<(value: T) => void>();

  constructor(private readonly onListenerError: (error: unknown) => void = reportLater) {}

  readonly event: Event<T> = (listener) => {
    // Wrapped, so subscribing the same function twice gives two independent subscriptions.
    const entry = (value: T) => listener(value);
    this.listeners.add(entry);
    return toDisposable(() => this.listeners.delete(entry));
  };

  /** How many listeners are subscribed now. */
  get size(): number {
    return this.listeners.size;
  }

  fire(value: T): void {
    for (const listener of this.listeners) {
      try {
        listener(value);
      } catch (error) {
        this.onListenerError(error);
      }
    }
  }

  dispose(): void {
    this.listeners.clear();
  }
}

/** Without an error handler: the error surfaces as an uncaught exception, after every listener has run. */
function reportLater(error: unknown): void {
  queueMicrotask(() => {
    throw error;
  });
}
