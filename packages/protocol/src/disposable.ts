/**
 * Disposables, as VS Code has them: everything that can leak (a listener, a timer, an entry in a per-plugin map, a
 * subscription) is a `Disposable` with one owner; a `DisposableStore` owns many and disposes them together, once.
 */

export interface Disposable {
  dispose(): void;
}

export function toDisposable(dispose: () => void): Disposable {
  let done = false;
  return {
    dispose: () => {
      if (done) return;
      done = true;
      dispose();
    },
  };
}

/** A timer as a disposable: disposing it clears it. */
export function disposableTimeout(fn: () => void, ms: number): Disposable {
  const timer = setTimeout(fn, ms);
  timer.unref?.();
  return toDisposable(() => clearTimeout(timer));
}

/**
 * Owns disposables until it is disposed. One that throws while disposed does not keep the others alive: the error
 * goes to `onError` (default: rethrown after the rest are disposed). Adding to a disposed store disposes at once, so a
 * late registration (a listener added after its plugin stopped) cannot leak.
 */
export class DisposableStore implements Disposable {
  private readonly items = new Set<Disposable>();
  private disposed = false;

  constructor(private readonly onError?: (error: unknown) => void) {}

  /** How many disposables it holds now (the host's leak checks count these). */
  get size(): number {
    return this.items.size;
  }

  get isDisposed(): boolean {
    return this.disposed;
  }

  add<T extends Disposable>(item: T): T {
    if (this.disposed) {
      this.disposeOne(item);
      return item;
    }
    this.items.add(item);
    return item;
  }

  /** Disposes one item now and forgets it. */
  delete(item: Disposable): void {
    if (this.items.delete(item)) this.disposeOne(item);
  }

  /** Forgets an item without disposing it (its owner changed, or it disposed itself). */
  release(item: Disposable): void {
    this.items.delete(item);
  }

  /** Disposes every item, newest first (what was added later may depend on what came before); later calls do nothing. */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.clear();
  }

  /** Disposes every item and stays usable. */
  clear(): void {
    const items = [...this.items].reverse();
    this.items.clear();
    const errors: unknown[] = [];
    for (const item of items) {
      try {
        item.dispose();
      } catch (error) {
        if (this.onError) this.onError(error);
        else errors.push(error);
      }
    }
    if (errors.length === 1) throw errors[0];
    if (errors.length > 1) throw new AggregateError(errors, "several disposables failed");
  }

  private disposeOne(item: Disposable): void {
    try {
      item.dispose();
    } catch (error) {
      if (!this.onError) throw error;
      this.onError(error);
    }
  }
}
