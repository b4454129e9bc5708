/**
 * How a caller cancels a call it made: a `CancelToken` reports `canceled` and calls its listeners once. `Canceler`
 * makes one; `cancelTokenOf` wraps an `AbortSignal`. A plain object rather than an AbortSignal for the host's own
 * calls: on Node 20 an AbortSignal costs several µs to make and listen to, and every HTTP trigger is a cancellable run.
 */
import { type Disposable, toDisposable } from "./disposable.ts";

export interface CancelToken {
  readonly canceled: boolean;
  /** Called once when the token is canceled (at once, if it already is); dispose to stop listening. */
  onCancel(listener: () => void): Disposable;
}

export class Canceler implements CancelToken {
  private listeners: Array<() => void> | undefined;
  private requested = false;

  get canceled(): boolean {
    return this.requested;
  }

  /** Cancels: every listener runs once; later calls do nothing. */
  cancel(): void {
    if (this.requested) return;
    this.requested = true;
    const listeners = this.listeners ?? [];
    this.listeners = undefined;
    for (const listener of listeners) listener();
  }

  onCancel(listener: () => void): Disposable {
    if (this.requested) {
      listener();
      return NONE;
    }
    this.listeners ??= [];
    this.listeners.push(listener);
    return toDisposable(() => {
      const at = this.listeners?.indexOf(listener) ?? -1;
      if (at >= 0) this.listeners?.splice(at, 1);
    });
  }
}

const NONE: Disposable = { dispose: () => undefined };

/** An AbortSignal as a token; undefined stays undefined. */
export function cancelTokenOf(signal: AbortSignal | undefined): CancelToken | undefined {
  if (!signal) return undefined;
  return {
    get canceled() {
      return signal.aborted;
    },
    onCancel(listener) {
      if (signal.aborted) {
        listener();
        return NONE;
      }
      signal.addEventListener("abort", listener, { once: true });
      return toDisposable(() => signal.removeEventListener("abort", listener));
    },
  };
}
